"""Outputs are whole or absent: never a half-written file that looks whole."""
from __future__ import annotations

from pathlib import Path

import pytest

from pathway.errors import InputError
from pathway.outputs import atomic_output, write_atomic


def test_a_completed_write_replaces_the_target(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_text("earlier\n", encoding="utf-8")
    write_atomic(target, "new\n")
    assert target.read_text(encoding="utf-8") == "new\n"
    write_atomic(target, b"\x00bytes")
    assert target.read_bytes() == b"\x00bytes"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


@pytest.mark.parametrize("interruption", [KeyboardInterrupt, RuntimeError])
def test_an_interrupted_write_leaves_the_earlier_file_and_no_part(tmp_path: Path, interruption: type) -> None:
    target = tmp_path / "audit.csv"
    target.write_text("earlier\n", encoding="utf-8")
    with pytest.raises(interruption), atomic_output(target) as out:
        out.write("half a ")
        raise interruption()
    assert target.read_text(encoding="utf-8") == "earlier\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit.csv"]


def test_unwritable_targets_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        write_atomic(tmp_path, "x")
    assert str(info.value) == f"{tmp_path}: cannot write: is a folder"
    with pytest.raises(InputError) as info:
        write_atomic(tmp_path / "missing" / "r.html", "x")
    assert str(info.value) == f"{tmp_path}/missing/r.html: cannot write: No such file or directory"
