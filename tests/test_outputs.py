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


def test_a_signal_landing_inside_open_leaves_no_part_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The window CI caught: the part file exists, `open` has not returned, Ctrl+C or SIGTERM arrives."""
    import builtins

    from pathway import outputs

    def open_then_interrupted(path: Path, *args: object, **kwargs: object) -> object:
        builtins.open(path, *args, **kwargs).close()  # type: ignore[call-overload]
        raise KeyboardInterrupt

    monkeypatch.setattr(outputs, "open", open_then_interrupted, raising=False)
    with pytest.raises(KeyboardInterrupt), atomic_output(tmp_path / "out.html"):
        pass
    assert list(tmp_path.iterdir()) == []


def test_a_part_path_this_call_could_not_open_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / ".r.html.part").mkdir()
    with pytest.raises(InputError) as info:
        write_atomic(tmp_path / "r.html", "x")
    assert str(info.value) == f"{tmp_path}/r.html: cannot write: Is a directory"
    assert (tmp_path / ".r.html.part").is_dir()
