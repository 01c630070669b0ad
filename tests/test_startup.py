"""What `pathway check` does as it starts: it loads none of the other commands' libraries, it reads
the pathway's files with libyaml exactly as PyYAML's own reader (the reference) reads them, and its
compiled templates are only a cache. How long it takes is for benchmarks/ to print, never a test."""
from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from pathway import yamlsrc
from pathway.definition import Pathway
from pathway.render import compiled_templates, environment, render
from pathway.service import check, read_document, referral_values
from pathway.yamlsrc import LoadFailure

from .conftest import EXAMPLE, FIXED, ROOT, RULES
from .scripts import repo_env

OTHER_COMMANDS_LIBRARIES = {"polars", "numpy", "matplotlib", "weasyprint", "fastapi", "starlette", "uvicorn", "httpx",
                            "durable", "dask", "distributed"}

CHECK = """
import sys
from pathway.cli import main
code = main(["check", sys.argv[1], "-o", sys.argv[2]])
print(code)
print(sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[3].split(","))))
print(sorted(m for m in sys.modules if m.startswith(("pathway.web.", "pathway.mdt.", "pathway.audit."))))
"""


def test_check_loads_no_library_of_another_command(tmp_path: Path) -> None:
    """Of `serve`, `mdt` and `audit`, a check loads only the modules that give their options."""
    done = subprocess.run([sys.executable, "-c", CHECK, str(EXAMPLE), str(tmp_path / "r.html"),
                           ",".join(sorted(OTHER_COMMANDS_LIBRARIES))],
                          capture_output=True, text=True, cwd=ROOT, env=repo_env(), check=True, timeout=120)
    assert done.stdout.splitlines() == [
        "0", "[]", "['pathway.audit.command', 'pathway.mdt.command', 'pathway.web.command', 'pathway.web.limits',"
        " 'pathway.web.proxy', 'pathway.web.security']"]   # serve's option types: the standard library only


BUNDLED = sorted([*RULES.rglob("*.yaml"), *(ROOT / "seeds").glob("*.yaml"), *(ROOT / "examples").rglob("*.yaml")])


def outcome(text: str, *, libyaml: bool = True) -> Any:
    """What `load_yaml` reads (or refuses); with `libyaml=False`, the reference's reading."""
    try:
        doc = yamlsrc.load_yaml(text, "f.yaml", libyaml=libyaml)
    except LoadFailure as exc:
        return "refused", str(exc.problem), exc.problem.code, exc.duplicate
    except ValueError as exc:  # a date that is no date: raised, as by yaml.safe_load
        return "raised", str(exc)
    return "read", repr(doc.data), doc.values, doc.keys, doc.written  # repr: True and 1, 1.0 and 1 differ


def reference(text: str) -> Any:
    return outcome(text, libyaml=False)


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML without libyaml")
@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: str(p.relative_to(ROOT)))
def test_libyaml_reads_every_bundled_file_and_as_the_reference_does(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    doc = yamlsrc._libyaml(text, "f.yaml")  # raises if libyaml were not trusted with it
    assert ("read", repr(doc.data), doc.values, doc.keys, doc.written) == reference(text)


TRICKY = [
    "[m?ovement]", "a: !\n", "---", "a: [b, {c: }]\n", "a: |#c\n  x\n", "a: &x 1\nb: *x\n", "a: 1\na: 2\n",
    "a:\tb\n", "\ufeffa: 1\n", "a: 1\r\nb: 2\r\n", "%YAML 1.1\n---\na: 1\n", "a: [:x]\n", "{a:b}", "[a#b]",
    "a: 2026-02-30\n", "? [a]\n: 1\n", "[" * 64 + "]" * 64, "[" * 65 + "]" * 65, "a: |2\n   x\n", "a: >-\n  x\n\n  y\n",
]


@pytest.mark.parametrize("text", TRICKY)
def test_what_libyaml_and_pyyaml_read_apart_reads_as_before(text: str) -> None:
    """Where the two parsers differ (PyYAML refuses '[m?ovement]', reads a lone '!' as null, places an
    empty document elsewhere, takes '|#c' as no header...), the result is the reference's."""
    assert outcome(text) == reference(text)


SCALARS = st.sampled_from([
    "a", "x y", "yes", "on", "~", "1", "-2.5", "1e3", "0x1f", "1:20", "2026-12-03", "a:b", "a #b", "-a", "?a", ":a",
    "a?", "a,b", "[a]", "'q'", '"q"', "it's", "é", "😀", "\\", "#", "|", ">", "!t", "&x", "*y", "@a", "%p", "", " ",
])
TREES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(SCALARS, inner, max_size=4),
                     max_leaves=12)
NOISE = st.sampled_from([" ", "\n", "\n  ", ":", "- ", "#", "'", '"', ",", "[", "]", "{", "}", "?", "|", ">", "!", "&"])


@settings(max_examples=300, deadline=None)
@given(TREES, st.sampled_from([None, False, True]), st.sampled_from([None, "'", '"', "|", ">"]),
       st.lists(st.tuples(st.floats(0, 1), NOISE), max_size=3))
def test_libyaml_reads_like_the_reference(tree: Any, flow: bool | None, style: str | None,
                                          noise: list[tuple[float, str]]) -> None:
    text = yaml.safe_dump(tree, default_flow_style=flow, default_style=style, allow_unicode=True)
    for at, what in noise:
        cut = int(at * len(text))
        text = text[:cut] + what + text[cut:]
    assert outcome(text) == reference(text)


@settings(max_examples=200, deadline=None)
@given(TREES, st.sampled_from([None, False, True]), st.sampled_from([None, "'", '"', "|", ">"]),
       st.lists(st.tuples(st.floats(0, 1), NOISE), max_size=2))
def test_lines_ending_cr_lf_read_as_the_reference_reads_them(tree: Any, flow: bool | None, style: str | None,
                                                            noise: list[tuple[float, str]]) -> None:
    """libyaml reads the text with its CR LF line ends made LF; the reference reads it as it is, alike."""
    text = yaml.safe_dump(tree, default_flow_style=flow, default_style=style, allow_unicode=True)
    for at, what in noise:
        cut = int(at * len(text))
        text = text[:cut] + what + text[cut:]
    assert outcome(text.replace("\n", "\r\n")) == reference(text.replace("\n", "\r\n"))


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML without libyaml")
def test_a_referral_saved_on_windows_is_read_by_libyaml() -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace("\n", "\r\n")
    doc = yamlsrc._libyaml(text.replace("\r\n", "\n"), "f.yaml")  # raises if libyaml were not trusted with it
    assert ("read", repr(doc.data), doc.values, doc.keys, doc.written) == reference(text)


@pytest.fixture
def fresh_environment() -> Iterator[None]:
    """Jinja environments made anew in the test, and dropped after it (they are cached per process)."""
    environment.cache_clear()
    yield
    environment.cache_clear()


def test_compiled_templates_are_only_a_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            pathway: Pathway, fresh_environment: None) -> None:
    """The same report whether its templates were compiled just now, read back compiled, found damaged,
    or could not be kept (no temp folder that can be written)."""
    report = check(pathway, referral_values(pathway, read_document(EXAMPLE)), at=FIXED)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    compiled_now = render(report, "html")
    kept = sorted(tmp_path.glob("_jinja2-cache-*/*.cache"))
    assert kept
    environment.cache_clear()
    assert render(report, "html") == compiled_now
    for path in kept:
        path.write_bytes(path.read_bytes()[:40] + b"damaged")
    environment.cache_clear()
    assert render(report, "html") == compiled_now
    (tmp_path / "a file").write_text("", encoding="utf-8")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "a file"))
    environment.cache_clear()
    assert compiled_templates() is None
    assert render(report, "html") == compiled_now
