"""Outputs are whole or absent: never a half-written file that looks whole, never an input
destroyed, never a device replaced."""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

import pytest

from pathway.cli import INPUT_ARGUMENTS, OUTPUT_OPTIONS
from pathway.errors import InputError
from pathway.outputs import atomic_output, write_atomic
from pathway.resources import schema_path

from .conftest import EXAMPLE, RULES, Result, example
from .scripts import repo_env
from .test_exit_codes import COMMANDS


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


# Outputs never destroy inputs, and what is not a regular file is written into.

@pytest.fixture
def inputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """In an empty working folder: a referral as YAML and as JSON, a CSV export, a folder of
    referrals, a pathway folder, and a link to the YAML referral."""
    monkeypatch.chdir(tmp_path)
    shutil.copy(EXAMPLE, "r.yaml")
    Path("r.json").write_text(json.dumps(example()), encoding="utf-8")
    Path("in.csv").write_text("referral_id\nR-1\n", encoding="utf-8")
    Path("folder/sub").mkdir(parents=True)
    shutil.copy(EXAMPLE, "folder/sub/r.yaml")
    Path("rules").mkdir()
    Path("rules/pathway.yaml").write_text("id: mine\n", encoding="utf-8")
    Path("link.html").symlink_to("r.yaml")
    return tmp_path


def _snapshot(folder: Path) -> dict[str, bytes | str]:
    return {p.relative_to(folder).as_posix(): os.readlink(p) if p.is_symlink() else p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_symlink() or p.is_file()}


CLOBBER: dict[str, list[tuple[list[str], list[str]]]] = {
    "check": [(["check", "r.json", "-o", "./r.json"], ["./r.json: -o would overwrite the input r.json: choose another file"])],
    "mdt": [(["mdt", "r.yaml", "-o", "link.html"], ["link.html: -o would overwrite the input r.yaml: choose another file"]),
            (["mdt", "r.yaml", "--agenda", "agenda.html", "-o", "agenda.html"],
             ["agenda.html: -o would overwrite the input agenda.html: choose another file"])],
    "audit": [
        (["audit", "in.csv", "--csv", "in.csv"], ["in.csv: --csv would overwrite the input in.csv: choose another file"]),
        (["audit", "in.csv", "--csv", "out.csv", "--rejects", "./out.csv"],
         ["./out.csv: --rejects names the same file as --csv out.csv: choose another file"]),
        (["audit", "in.csv", "-o", "a.html", "--rejects", "a.html"],
         ["a.html: --rejects names the same file as -o a.html: choose another file"]),
        (["audit", "folder", "--csv", "folder/sub/statuses.csv"],
         ["folder/sub/statuses.csv: --csv would write into the input folder folder, which reads it as a referral file:"
          " choose a file outside it"]),
        (["audit", "in.csv", "--csv", "in.csv", "--rejects", "in.csv"],
         ["in.csv: --csv would overwrite the input in.csv: choose another file",   # every one, in order of place
          "in.csv: --rejects names the same file as --csv in.csv: choose another file",
          "in.csv: --rejects would overwrite the input in.csv: choose another file"]),
    ],
    "form": [(["form", "--rules", "rules", "-o", "rules/pathway.yaml"],
              ["rules/pathway.yaml: -o would write into the pathway folder rules: choose a file outside it"])],
    "export redcap": [(["export", "redcap", "--rules", "rules", "-o", "rules/seeds/dictionary.csv"],
                       ["rules/seeds/dictionary.csv: -o would write into the pathway folder rules: choose a file"
                        " outside it"])],
    # the bundled pathway, in a folder that is not there: were it not refused, nothing could be written
    "export questionnaire": [(["export", "questionnaire", "-o", f"{RULES}/nosuch/q.json"],
                              [f"{RULES}/nosuch/q.json: -o would write into the pathway folder {RULES}: choose a"
                               " file outside it"])],
    "schema": [],   # it reads nothing: see test_what_is_not_a_regular_file_is_written_into
}


@pytest.mark.parametrize(("args", "messages"), [case for cases in CLOBBER.values() for case in cases])
def test_an_output_that_names_an_input_or_another_output_is_refused(
    runner: Callable[..., Result], inputs: Path, args: list[str], messages: list[str],
) -> None:
    before = _snapshot(inputs)
    r = runner(*args)
    assert (r.code, r.out, r.err.splitlines()) == (
        2, "", [*messages, f"pathway: {len(messages)} problem(s); nothing was produced."])
    assert _snapshot(inputs) == before   # nothing written, nothing replaced


def test_every_command_that_writes_files_has_its_outputs_checked() -> None:
    """A new command, or a new output option, fails here until its outputs are checked and tested."""
    flags = dict(OUTPUT_OPTIONS)
    for command, parser in COMMANDS.items():
        outputs = [a for a in parser._actions if a.dest not in INPUT_ARGUMENTS
                   and (a.dest in flags or a.metavar == "FILE" or "-o" in a.option_strings)]
        for action in outputs:
            assert action.dest in flags and flags[action.dest] == action.option_strings[0], (command, action.dest)
        if outputs:
            assert command in CLOBBER, f"add `pathway {command}` to CLOBBER"
            positional = [a.dest for a in parser._actions if not a.option_strings]
            assert set(positional) <= set(INPUT_ARGUMENTS), (command, positional)


def _reading(fifo: Path) -> tuple[threading.Thread, list[bytes]]:
    got: list[bytes] = []

    def read() -> None:
        with open(fifo, "rb") as f:
            got.append(f.read())

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread, got


def _release(fifo: Path, thread: threading.Thread) -> None:
    """If the command never opened the FIFO, let its reader go."""
    if thread.is_alive():
        with suppress(OSError):
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    thread.join(10)


def test_a_fifo_is_written_into_not_replaced(runner: Callable[..., Result], tmp_path: Path) -> None:
    fifo = tmp_path / "report"    # no suffix: what is written into needs none (HTML, the default)
    os.mkfifo(fifo)
    thread, got = _reading(fifo)
    try:
        r = runner("check", str(EXAMPLE), "-o", str(fifo), "--now", "2026-12-03T09:00:00Z")
    finally:
        _release(fifo, thread)
    assert (r.code, r.err) == (0, f"wrote {fifo} (html): referral R-001, 17 of 22 applicable items documented;"
                                  " 3 points to discuss.\n")
    assert got and got[0].startswith(b"<!DOCTYPE html>")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


def test_what_is_not_a_regular_file_is_written_into(runner: Callable[..., Result], tmp_path: Path) -> None:
    """-o naming /dev/null through a link, as root: the device stays a device (never touched here but
    through the link), and outputs naming it more than once are not refused: nothing is destroyed."""
    for name in ("null.html", "null.csv", "null.json"):
        (tmp_path / name).symlink_to(os.devnull)
    null = {"o": str(tmp_path / "null.html"), "csv": str(tmp_path / "null.csv")}
    r = runner("audit", str(EXAMPLE), "-o", null["o"], "--csv", null["csv"], "--rejects", null["csv"])
    assert r.code == 0 and r.err.startswith("audit: 1 record = 1 evaluated + 0 not evaluated ("), r.err
    assert runner("schema", "-o", str(tmp_path / "null.json")).code == 0
    assert runner("mdt", str(EXAMPLE), "-o", null["o"]).code == 0
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
    assert sorted((p.name, os.readlink(p)) for p in tmp_path.iterdir()) == [
        ("null.csv", os.devnull), ("null.html", os.devnull), ("null.json", os.devnull)]


def test_a_link_to_a_file_is_written_through_and_kept(tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()
    target = tmp_path / "reports" / "latest.html"
    target.write_text("earlier\n", encoding="utf-8")
    (tmp_path / "latest.html").symlink_to("reports/latest.html")
    write_atomic(tmp_path / "latest.html", "new\n")
    assert os.readlink(tmp_path / "latest.html") == "reports/latest.html"
    assert target.read_text(encoding="utf-8") == "new\n"
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == [
        "latest.html", "reports", "reports/latest.html"]


def test_standard_output_named_as_a_file_is_written_into(tmp_path: Path) -> None:
    """/dev/stdout is the system's: written into, even when it leads to a file (appended to, as
    the shell opened it), never replaced."""
    schema = schema_path().read_text(encoding="utf-8")
    command = [sys.executable, "-m", "pathway", "schema", "-o", "/dev/stdout"]
    piped = subprocess.run(command, env=repo_env(), cwd=tmp_path, capture_output=True, text=True, check=False,
                           timeout=120)
    assert (piped.returncode, piped.stdout, piped.stderr) == (0, schema, "")
    log = tmp_path / "log.txt"
    log.write_text("before\n", encoding="utf-8")
    with log.open("a", encoding="utf-8") as out:
        appended = subprocess.run(command, env=repo_env(), cwd=tmp_path, stdout=out, stderr=subprocess.PIPE,
                                  text=True, check=False, timeout=120)
    assert (appended.returncode, appended.stderr) == (0, "")
    assert log.read_text(encoding="utf-8") == "before\n" + schema
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.txt"]
