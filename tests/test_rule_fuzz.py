"""Broken rule files always give located errors: never a crash, a traceback or a hang."""
from __future__ import annotations

import shutil
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pathway.errors import RulesError
from pathway.loader import load_pathway

from .conftest import ROOT, RULES

FILES = ("items.yaml", "form.yaml", "pathway.yaml")
ORIGINAL = {name: (RULES / name).read_text(encoding="utf-8") for name in FILES}
JUNK = st.sampled_from([
    "", "x", "-", ":", "{", "}", "[", "]", "&a", "*a", "!!python/object:os.system", "null", "yes", "12", "1e999",
    "  ", "\t", "'", '"', "#", "? ", "|", ">", "field:", "all:", "not:", "- {field: nope, is: yes}", "\x00", "é",
])


@contextmanager
def hang_guard(seconds: int) -> Iterator[None]:
    """Fail (not wait forever) if loading ever hangs: a guard against hangs, not a speed target."""
    def alarm(signum: int, frame: object) -> None:
        raise AssertionError(f"loading took more than {seconds}s: a hang")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def copy_rules(tmp: Path) -> Path:
    target = tmp / "rules" / "itb-cp"
    if not target.exists():
        shutil.copytree(RULES, target)
        shutil.copytree(ROOT / "seeds", tmp / "seeds")
    return target


def assert_loads_or_fails_cleanly(folder: Path) -> None:
    with hang_guard(30):
        try:
            load_pathway(folder)
        except RulesError as exc:
            assert exc.problems
            for p in exc.problems:
                assert p.file.startswith(str(folder.parent.parent)), p
                assert p.message and "Traceback" not in p.message
                if not p.message.startswith(("file is larger", "not valid YAML: nested too deeply")):
                    assert p.line is not None, str(p)


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, str]:
    name = draw(st.sampled_from(FILES))
    lines = ORIGINAL[name].splitlines()
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        kind = draw(st.integers(0, 4))
        if kind == 0:
            del lines[i]
        elif kind == 1:
            lines.insert(i, lines[i])
        elif kind == 2:
            lines[i] = " " * draw(st.integers(0, 9)) + lines[i].lstrip()
        else:
            words = lines[i].split(" ")
            j = draw(st.integers(0, len(words) - 1))
            words[j] = draw(JUNK) if kind == 3 else words[j][::-1]
            lines[i] = " ".join(words)
    return name, "\n".join(lines) + "\n"


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutated())
def test_mutated_rule_files_fail_with_locations(tmp_path: Path, case: tuple[str, str]) -> None:
    folder = copy_rules(tmp_path)
    name, text = case
    try:
        (folder / name).write_text(text, encoding="utf-8")
        assert_loads_or_fails_cleanly(folder)
    finally:
        (folder / name).write_text(ORIGINAL[name], encoding="utf-8")


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("items.yaml", 'a: &a ["x","x","x","x","x","x","x","x","x"]\n'
         + "".join(f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
                   for p, c in zip("abcdefgh", "bcdefghi")),
         "items.yaml:2:8: YAML aliases (*name) are not allowed in pathway or referral files"),
        ("form.yaml", "sections: " + "[" * 200 + "]" * 200 + "\n", "form.yaml:1:74: nesting deeper than 64 levels"),
        ("pathway.yaml", "id: x\n" + "# padding\n" * 600_000, "pathway.yaml: file is larger than 5,000,000 bytes"),
        ("items.yaml", "items: !!python/object/apply:os.system ['true']\n",
         "items.yaml:1:8: YAML tags such as 'tag:yaml.org,2002:python/object/apply:os.system' are not allowed"),
        ("items.yaml", "items: [!!python/name:os.system x]\n",
         "items.yaml:1:9: not valid YAML: could not determine a constructor for the tag"
         " 'tag:yaml.org,2002:python/name:os.system'"),
        ("items.yaml", "- just\n- a list\n", "items.yaml:1:1: expected a mapping of keys to values, not a list"),
    ],
)
def test_hostile_rule_files_are_refused(tmp_path: Path, name: str, text: str, message: str) -> None:
    folder = copy_rules(tmp_path)
    (folder / name).write_text(text, encoding="utf-8")
    with hang_guard(30), pytest.raises(RulesError) as info:
        load_pathway(folder)
    shown = [str(p).replace(str(folder) + "/", "") for p in info.value.problems]
    assert shown[0] == message
