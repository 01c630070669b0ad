"""The `pathway` command as a user runs it: outputs, exit codes, messages, never a traceback."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from .conftest import EXAMPLE, ROOT, Result, edit

Run = Callable[..., Result]


def test_check_writes_html_to_stdout_by_default(runner: Run) -> None:
    r = runner("check", str(EXAMPLE), "--now", "2026-12-03T09:00:00Z")
    assert r.code == 0
    assert r.out.startswith("<!DOCTYPE html>")
    assert "<strong>R-001</strong>" in r.out


@pytest.mark.parametrize(("suffix", "start"), [(".html", "<!DOCTYPE html>"), (".md", "# Intrathecal"), (".json", "{")])
def test_output_format_follows_the_suffix(runner: Run, tmp_path: Path, suffix: str, start: str) -> None:
    out = tmp_path / f"report{suffix}"
    r = runner("check", str(EXAMPLE), "-o", str(out))
    assert r.code == 0
    assert out.read_text(encoding="utf-8").startswith(start)
    assert r.err == f"wrote {out} ({suffix[1:]}): referral R-001, 17 of 22 applicable items documented; 3 points to discuss.\n"
    assert not list(tmp_path.glob(".*part"))


def test_format_option_wins(runner: Run) -> None:
    r = runner("check", str(EXAMPLE), "--format", "json")
    assert json.loads(r.out)["referral_id"] == "R-001"


def test_source_date_epoch_fixes_the_time(runner: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1796288400")
    first = runner("check", str(EXAMPLE), "--format", "json").out
    assert json.loads(first)["generated_at"] == "2026-12-03T09:00:00Z"
    assert runner("check", str(EXAMPLE), "--format", "json").out == first


@pytest.mark.parametrize(
    ("content", "name", "code", "err"),
    [
        ("referral_id: R-1\nspasticity_severity: extreme\n", "r.yaml", 2,
         "r.yaml:2:22: field 'spasticity_severity': 'extreme' is not an allowed value; allowed: mild, moderate,"
         " severe (or unknown)\npathway: 1 problem(s); nothing was produced.\n"),
        ("referral_id: [R\n", "r.yaml", 2,
         "r.yaml:1:14: not valid YAML: the list opened at line 1, column 14 is never closed: the file ends at"
         " line 2, column 1 without its ']'\n"
         "pathway: 1 problem(s); nothing was produced.\n"),
        ("{\"referral_id\": \"R-1\",}", "r.json", 2,
         "r.json:1:23: not valid JSON: Expecting property name enclosed in double quotes\n"
         "pathway: 1 problem(s); nothing was produced.\n"),
        ("just text\n", "r.yaml", 2,
         "r.yaml:1:1: a referral must be a mapping of field id to value, not str\n"
         "pathway: 1 problem(s); nothing was produced.\n"),
    ],
)
def test_bad_referrals_exit_2_with_located_messages(
    runner: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str, name: str, code: int, err: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    Path(name).write_text(content, encoding="utf-8")
    r = runner("check", name)
    assert (r.code, r.out, r.err) == (code, "", err)


def test_missing_file(runner: Run) -> None:
    r = runner("check", "nope.yaml")
    assert (r.code, r.err) == (2, "nope.yaml: file not found\npathway: 1 problem(s); nothing was produced.\n")


def test_broken_rules_exit_3_from_every_command(runner: Run, rules_copy: Path, tmp_path: Path) -> None:
    edit(rules_copy / "items.yaml", "holds: {field: trial_status, is: done}", "holds: {field: trial_state, is: done}")
    message = f"{rules_copy}/items.yaml:224:20: unknown field 'trial_state' (did you mean 'trial_status'?)"
    for args in (["check", str(EXAMPLE), "--rules", str(rules_copy)], ["form", "--rules", str(rules_copy)]):
        r = runner(*args)
        assert r.code == 3
        assert r.err == message + "\npathway: 1 problem(s); the pathway files are broken.\n"
    r = runner("validate", str(rules_copy))
    assert r.code == 3
    assert r.out == f"{message}\n{rules_copy}: 1 problem(s)\n"


def test_validate_reports_ok(runner: Run) -> None:
    r = runner("validate")
    assert r.code == 0
    assert "rules/itb-cp: ok: itb-cp 2.0.0, 47 fields, 24 items," in r.out


def test_blank_form_is_valid_yaml_covering_every_field(runner: Run, pathway, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    r = runner("form")
    data = yaml.safe_load(r.out)
    assert list(data) == list(pathway.fields)
    assert "# one of: mild | moderate | severe | unknown" in r.out
    assert "# Only when: oral_tried = yes" in r.out
    filled = tmp_path / "filled.yaml"
    filled.write_text(r.out.replace('referral_id: ""', "referral_id: R-FORM"), encoding="utf-8")
    checked = runner("check", str(filled), "--format", "json")
    assert checked.code == 0
    assert json.loads(checked.out)["summary"]["missing"] == 24


def test_unfilled_form_asks_for_the_referral_id(runner: Run, tmp_path: Path) -> None:
    blank = tmp_path / "blank.yaml"
    blank.write_text(runner("form").out, encoding="utf-8")
    r = runner("check", str(blank))
    assert r.code == 2
    assert r.err.startswith(f"{blank}:14:14: missing required field 'referral_id' (it is empty)\n")


def test_unknown_option_is_a_usage_error(runner: Run) -> None:
    with pytest.raises(SystemExit) as info:
        runner("check", str(EXAMPLE), "--engine", "drools")
    assert info.value.code == 2


def test_module_entry_point_runs_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("referral_id: R-1\nage_years: old\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "pathway", "check", str(bad)], capture_output=True, text=True,
                          env=env, cwd=tmp_path, check=False)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "field 'age_years': 'old' is not a number; allowed: a number from 0 to 25 years" in proc.stderr


def test_cross_check_produces_the_same_report(runner: Run) -> None:
    pytest.importorskip("durable")
    plain = runner("check", str(EXAMPLE), "--format", "json", "--now", "2026-12-03T09:00:00Z")
    both = runner("check", str(EXAMPLE), "--format", "json", "--now", "2026-12-03T09:00:00Z", "--cross-check")
    durable = runner("check", str(EXAMPLE), "--format", "json", "--now", "2026-12-03T09:00:00Z", "--engine", "durable")
    assert plain.code == both.code == durable.code == 0
    assert plain.out == both.out == durable.out


def test_cross_check_refuses_to_report_when_backends_disagree(
    runner: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    pytest.importorskip("durable")
    from pathway.backends.durable import DurableEvaluator

    real = DurableEvaluator.truth

    def lying(self: DurableEvaluator, values: dict) -> list:  # type: ignore[type-arg]
        truth = list(real(self, values))
        truth[0] = not truth[0] if truth[0] is not None else True  # flip the first condition
        return truth

    monkeypatch.setattr(DurableEvaluator, "truth", lying)
    out = tmp_path / "report.html"
    r = runner("check", str(EXAMPLE), "--cross-check", "-o", str(out))
    assert r.code == 5
    assert r.err == ("pathway: cross-check failed for referral R-001: the backends disagree on population.child_with_cp"
                     " (python: met, durable: not_met). No report was produced.\n")
    assert not out.exists()


def test_pathway_test_runs_every_case_on_both_backends(runner: Run) -> None:
    pytest.importorskip("durable")
    r = runner("test", "--cross-check")
    assert r.code == 0
    assert r.out.splitlines()[0].endswith("rules/itb-cp: 132 passed, 0 failed [python]")
    assert r.out.splitlines()[1].endswith("rules/itb-cp: 132 passed, 0 failed [durable]")


def test_pathway_test_shows_a_diff_for_a_failing_case(runner: Run, rules_copy: Path) -> None:
    cases = rules_copy / "examples" / "complete.yaml"
    text = cases.read_text(encoding="utf-8")
    cases.write_text(text.replace("population.child_with_cp: met", "population.child_with_cp: not_met", 1),
                     encoding="utf-8")
    r = runner("test", str(rules_copy))
    assert r.code == 1
    lines = r.out.splitlines()
    assert lines[0].startswith(f"FAIL {cases}:") and lines[0].endswith("[python]")
    assert "    population.child_with_cp: expected not_met, got met" in lines
    assert lines[-1] == f"{rules_copy}: 131 passed, 1 failed [python]"


IMPORTS = """
import sys
from pathway.cli import build_parser
build_parser()
print(sorted({"polars", "pydantic", "jinja2", "yaml", "weasyprint", "fastapi"} & set(sys.modules)))
import pathway.audit.command, pathway.audit.service, pathway.audit.rows, pathway.loader
print(sorted({"polars", "matplotlib", "numpy"} & set(sys.modules)))
"""


def test_the_command_line_loads_what_a_command_runs_only_when_it_runs() -> None:
    """Every command's options are there without the engine, the templates or pydantic loaded, and
    the audit loads Polars only when its columnar engine runs (never a plotting library)."""
    done = subprocess.run([sys.executable, "-c", IMPORTS], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.splitlines() == ["[]", "[]"]


@pytest.mark.parametrize(("name", "text"), [("r.json", '{"referral_id": "R-1", "age_years": 9}'),
                                            ("r.yaml", "referral_id: R-1\nage_years: 9\n")])
def test_check_reads_a_file_that_starts_with_a_bom(runner: Run, tmp_path: Path, name: str, text: str) -> None:
    """Windows' Notepad and Excel start UTF-8 with a byte order mark; audit and mdt read such files too."""
    path = tmp_path / name
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    r = runner("check", str(path), "--format", "json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["referral_id"] == "R-1"


@pytest.mark.parametrize(("name", "kind"), [("referrals.csv", "CSV"), ("referrals.jsonl", "JSON Lines"),
                                            ("referrals.ndjson", "JSON Lines")])
def test_check_of_a_file_of_many_referrals_names_the_commands_that_read_it(
        runner: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, kind: str) -> None:
    monkeypatch.chdir(tmp_path)
    Path(name).write_text("referral_id\nR-1\n", encoding="utf-8")
    r = runner("check", name)
    assert (r.code, r.out) == (2, "")
    assert r.err == (f"pathway: {name} is a {kind} file of many referrals, and `pathway check` reads one (a .yaml,"
                     f" .yml or .json file): use `pathway audit {name}` or `pathway mdt {name}`\n")


def test_check_names_the_referral_as_written(runner: Run, tmp_path: Path) -> None:
    """YAML 1.1 read `0012` as octal: the report was for referral 10."""
    path = tmp_path / "r.yaml"
    path.write_text("referral_id: 0012\nage_years: 010\n", encoding="utf-8")
    r = runner("check", str(path), "--format", "json")
    assert r.code == 0, r.err
    report = json.loads(r.out)
    assert report["referral_id"] == "0012"
    assert {"field": "age_years", "label": "Age", "value": "10 years", "documented": True} in report["profile"]
