"""One set of exit codes for every command, as the README states them: 0 done; 1 example cases
failed (`test`); 2 bad input (a referral, an option value, a file or folder named that is not
there); 3 broken pathway files (a folder that is there but holds no pathway); 4 a backend not
available here; 5 backends disagreed; 130 interrupted.

Every command the parser has is walked, so a new one fails here until its cases are added."""
from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pathway.backends import BACKENDS
from pathway.cli import build_parser

from .conftest import EXAMPLE, Result
from .scripts import repo_env

Run = Callable[..., tuple[int, str]]
Case = tuple[list[str], int, str]
"""The command line, the exit code, and the first line of what stderr says."""

EX = str(EXAMPLE)
ISO = "must be an ISO 8601 time such as 2026-12-03T09:00:00Z, not 'bogus'"


def commands(parser: argparse.ArgumentParser, prefix: str = "") -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every command the user can run (`export redcap`, not `export`), with its parser.
    argparse lists sub-commands only in its private `_actions`."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                nested = list(commands(sub, f"{prefix}{name} "))
                yield from nested or [(f"{prefix}{name}", sub)]


COMMANDS = dict(commands(build_parser()))


def argparse_says(choices: tuple[str, ...], value: str) -> str:
    """argparse's own words for a value not among `choices` (they differ between Python versions)."""
    parser = argparse.ArgumentParser(exit_on_error=False)
    parser.add_argument("--engine", choices=choices)
    with pytest.raises(argparse.ArgumentError) as info:
        parser.parse_args(["--engine", value])
    return str(info.value)


BAD_VALUE: dict[str, Case | None] = {
    "check": (["check", EX, "--now", "bogus"], 2, f"pathway check: error: argument --now: {ISO}"),
    "form": (["form", "-o", "."], 2, ".: cannot write: is a folder"),
    "validate": None,   # it takes no option with a value: see test_a_command_without_a_bad_value_case_takes_no_value
    "test": (["test", "--engine", "drools"], 2, f"pathway test: error: {argparse_says(BACKENDS, 'drools')}"),
    "schema": (["schema", "-o", "."], 2, ".: cannot write: is a folder"),
    "serve": (["serve", "--port", "99999"], 2,
              "pathway serve: error: argument --port: must be from 0 to 65535, not 99999"),
    "mdt": (["mdt", EX, "-o", "p.html", "--now", "bogus"], 2, f"pathway mdt: error: argument --now: {ISO}"),
    "audit": (["audit", EX, "--list", "-1"], 2, "pathway audit: error: argument --list: must be at least 0, not -1"),
    "export questionnaire": (["export", "questionnaire", "-o", "."], 2, ".: cannot write: is a folder"),
    "export redcap": (["export", "redcap", "-o", "."], 2, ".: cannot write: is a folder"),
}

MISSING_PATH: dict[str, list[Case]] = {
    "check": [(["check", "nosuch.yaml"], 2, "nosuch.yaml: file not found"),
              (["check", EX, "--rules", "nosuch"], 2, "nosuch: not found")],
    "form": [(["form", "--rules", "nosuch"], 2, "nosuch: not found")],
    "validate": [(["validate", "nosuch"], 2, "nosuch: not found")],
    "test": [(["test", "nosuch"], 2, "nosuch: not found")],
    "schema": [(["schema", "-o", "nosuch/schema.json"], 2,
                "nosuch/schema.json: cannot write: No such file or directory")],
    "serve": [(["serve", "--rules", "nosuch", "--port", "0"], 2, "nosuch: not found")],
    "mdt": [(["mdt", "nosuch.yaml", "-o", "p.html"], 2, "nosuch.yaml: not found"),
            (["mdt", EX, "-o", "p.html", "--rules", "nosuch"], 2, "nosuch: not found")],
    "audit": [(["audit", "nosuch.jsonl"], 2, "nosuch.jsonl: not found"),
              (["audit", EX, "--rules", "nosuch"], 2, "nosuch: not found")],
    "export questionnaire": [(["export", "questionnaire", "--rules", "nosuch"], 2, "nosuch: not found")],
    "export redcap": [(["export", "redcap", "--rules", "nosuch"], 2, "nosuch: not found")],
}

MORE_BAD_VALUES: list[Case] = [
    (["check", EX, "-o", "report.pdf"], 2, ("pathway check: error: argument -o/--output: must name a .html, .htm, .md,"
                                            " .markdown or .json file (or - for standard output), not 'report.pdf'")),
    (["audit", EX, "-o", "audit.pdf"], 2, ("pathway audit: error: argument -o/--output: must name a .html or .htm file"
                                           " (or - for standard output), not 'audit.pdf'")),
    (["audit", EX, "--now", "bogus"], 2, f"pathway audit: error: argument --now: {ISO}"),
    (["audit", EX, "--jobs", "0"], 2, "pathway audit: error: argument --jobs: must be at least 1, not 0"),
    (["serve", "--port", "x"], 2, "pathway serve: error: argument --port: not a whole number: 'x'"),
    (["serve", "--workers", "0"], 2, "pathway serve: error: argument --workers: must be at least 1, not 0"),
    (["mdt", EX, "-o", "p.html", "--meeting-date", "3/12/2026"], 2,
     "pathway mdt: error: argument --meeting-date: must be a date as YYYY-MM-DD, such as 2026-12-03, not '3/12/2026'"),
]


def first_line(err: str) -> str:
    """The first line of the message, after argparse's usage block if there is one."""
    lines = err.splitlines()
    while lines and (lines[0].startswith("usage: ") or lines[0].startswith(" ")):
        lines.pop(0)
    return lines[0] if lines else ""


@pytest.fixture
def run(runner: Callable[..., Result], capsys: pytest.CaptureFixture[str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> Run:
    """The command in-process, in an empty folder: its exit code and stderr, a usage error included."""
    monkeypatch.chdir(tmp_path)

    def outcome(*args: str) -> tuple[int, str]:
        try:
            r = runner(*args)
        except SystemExit as exc:
            assert isinstance(exc.code, int)
            code, err = exc.code, capsys.readouterr().err
        else:
            code, err = r.code, r.err
        assert "Traceback" not in err
        return code, err

    return outcome


def test_the_tables_name_every_command_there_is() -> None:
    assert sorted(BAD_VALUE) == sorted(COMMANDS)
    assert sorted(MISSING_PATH) == sorted(COMMANDS)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_bad_option_value_is_bad_input(run: Run, command: str) -> None:
    assert command in BAD_VALUE, f"add `pathway {command}` to BAD_VALUE"
    case = BAD_VALUE[command]
    if case is None:
        pytest.skip(f"`pathway {command}` takes no option with a value")
    args, code, message = case
    got, err = run(*args)
    assert (got, first_line(err)) == (code, message), err


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_path_that_is_not_there_is_bad_input(run: Run, tmp_path: Path, command: str) -> None:
    assert MISSING_PATH.get(command), f"add `pathway {command}` to MISSING_PATH"
    for args, code, message in MISSING_PATH[command]:
        got, err = run(*args)
        assert (got, first_line(err)) == (code, message), err
        assert not list(tmp_path.iterdir()), f"{args} wrote {list(tmp_path.iterdir())}"


@pytest.mark.parametrize(("args", "code", "message"), MORE_BAD_VALUES)
def test_more_bad_option_values(run: Run, tmp_path: Path, args: list[str], code: int, message: str) -> None:
    got, err = run(*args)
    assert (got, first_line(err)) == (code, message), err
    assert not list(tmp_path.iterdir())


def test_a_command_without_a_bad_value_case_takes_no_value() -> None:
    for command, case in BAD_VALUE.items():
        if case is None:
            valued = [a.option_strings for a in COMMANDS[command]._actions if a.option_strings and a.nargs != 0]
            assert valued == [], f"`pathway {command}` has options with values now: add a case to BAD_VALUE"


@pytest.mark.parametrize(("args", "message"), [
    (["validate", "empty"], "empty: no pathway here (a pathway folder holds pathway.yaml)"),
    (["test", "empty"], "empty: no pathway here (a pathway folder holds pathway.yaml)"),
    (["check", EX, "--rules", "empty"], "empty: not a pathway folder (no pathway.yaml)"),
    (["form", "--rules", "empty"], "empty: not a pathway folder (no pathway.yaml)"),
    (["serve", "--rules", "empty", "--port", "0"], "empty: not a pathway folder (no pathway.yaml)"),
    (["export", "redcap", "--rules", "empty"], "empty: not a pathway folder (no pathway.yaml)"),
    (["audit", EX, "--rules", "empty"], "empty: not a pathway folder (no pathway.yaml)"),
])
def test_a_folder_that_is_there_but_holds_no_pathway_is_broken_pathway_files(
    run: Run, tmp_path: Path, args: list[str], message: str,
) -> None:
    (tmp_path / "empty").mkdir()
    code, err = run(*args)
    assert (code, err.splitlines()) == (3, [message, "pathway: 1 problem(s); the pathway files are broken."])


def test_a_bad_source_date_epoch_is_bad_input(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "tomorrow")
    assert run("check", EX) == (2, "pathway: SOURCE_DATE_EPOCH must be a whole number of seconds, not 'tomorrow'\n")


def test_mdt_on_a_path_that_is_not_there_writes_nothing(run: Run, tmp_path: Path) -> None:
    code, err = run("mdt", EX, "typo.yaml", "-o", "packet.html")
    assert (code, err) == (2, "typo.yaml: not found\npathway: 1 problem(s); nothing was produced.\n")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("command", ["audit", "check"])
def test_a_pdf_asked_of_a_command_that_writes_none_writes_nothing(run: Run, tmp_path: Path, command: str) -> None:
    code, err = run(command, EX, "-o", "report.pdf")
    assert code == 2
    assert first_line(err).startswith(f"pathway {command}: error: argument -o/--output: must name a .html")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(("args", "message"), [
    (["audit", "nosuch.jsonl", "--list", "-1"], "pathway audit: error: argument --list: must be at least 0, not -1"),
    (["validate", "nosuch"], "nosuch: not found"),
])
def test_the_installed_command_exits_the_same_way(tmp_path: Path, args: list[str], message: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "pathway", *args], env=repo_env(), cwd=tmp_path, capture_output=True,
                          text=True, check=False, timeout=120)
    assert (proc.returncode, first_line(proc.stderr), proc.stdout) == (2, message, "")
    assert "Traceback" not in proc.stderr
