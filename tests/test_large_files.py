"""`pathway check` of a 4 MB referral file, of each shape benchmarks/bench_check.py times: it completes
and says what the file means (a few seconds and under 200 MB each: figures for the benchmark to print,
never a test's to assert)."""
from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import ROOT, Result

sys.path.insert(0, str(ROOT / "benchmarks"))
import bench_check  # noqa: E402

ALLOWED = ("allowed: a list of movement, daily_activities, quality_of_life, comfort_pain, pain, ease_of_care,"
           " posture, none")
TOO_LONG = "field 'notes' is too long; allowed: text of at most 4000 characters"


@pytest.mark.parametrize(
    ("shape", "code", "err"),
    [
        ("notes-json", 2, [f"1:183: {TOO_LONG}"]),
        ("notes-yaml", 2, [f"8:8: {TOO_LONG}"]),
        ("list-json", 0, []),
        ("list-yaml-crlf", 0, []),
        ("bad-values-json", 2, ["1:48: field 'functional_impact': 'walking' is not an allowed value, nor are 363,635"
                                f" other values of this list; {ALLOWED}"]),
        ("numbers-json", 2, ["1:45: field 'functional_impact': 0 is not an allowed value, nor are 1,999,999 other"
                             f" values of this list; {ALLOWED}"]),
    ],
)
def test_a_4_mb_referral_is_read_as_it_is_written(runner: Callable[..., Result], tmp_path: Path, shape: str,
                                                  code: int, err: list[str]) -> None:
    path = bench_check.write_shape(shape, tmp_path)
    assert 3_000_000 < path.stat().st_size < 5_000_000
    r = runner("check", str(path), "-o", str(tmp_path / "report.json"))
    assert r.code == code
    if code == 0:
        assert r.err == (f"wrote {tmp_path / 'report.json'} (json): referral R-BIG, 4 of 24 applicable items"
                         " documented; no points to discuss.\n")
    else:
        assert r.err.splitlines() == [f"{path}:{line}" for line in err] + [
            f"pathway: {len(err)} problem(s); nothing was produced."]


def test_a_4_mb_file_of_fields_the_form_has_not_lists_the_first_100(runner: Callable[..., Result],
                                                                     tmp_path: Path) -> None:
    path = bench_check.write_shape("unknown-yaml", tmp_path)
    r = runner("check", str(path), "-o", str(tmp_path / "report.json"))
    assert r.code == 2
    lines = r.err.splitlines()
    assert lines[0] == f"{path}:8:1: unknown field 'extra_field_000000'"
    assert lines[99] == f"{path}:107:1: unknown field 'extra_field_000099'"
    assert lines[100:] == [f"{path}:108:1: and 124,900 more problems in this referral, not listed",
                           "pathway: 101 problem(s); nothing was produced."]
