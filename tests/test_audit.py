"""`pathway audit`: counts, accounting (records in = evaluated + rejected), formats, engines, the page, the CLI."""
from __future__ import annotations

import csv
import io
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from pathway.audit.progress import Progress
from pathway.definition import Pathway

from .audit_support import Audit, referrals, run_audit, write_both, write_referrals
from .conftest import EXAMPLE, Result
from .scripts import python_module, repo_env
from .test_wording import DECISION_WORDS, without_disclaimer

Run = Callable[..., Result]

FULL = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
KNOWN = [
    {**FULL, "referral_date": "2026-10-14"},   # 14 met, 3 not met, 5 missing, 2 not applicable
    {"referral_id": "R-EMPTY"},                 # 24 missing
    {"referral_id": "R-NO", "diagnosis_cp": "no", "trial_status": "not_planned"},
    {"referral_id": "R-BAD", "spasticity_severity": "extreme"},
]


@pytest.fixture(scope="module")
def known(pathway: Pathway, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Audit]:
    folder = tmp_path_factory.mktemp("known")
    files = write_referrals(folder / "in", KNOWN, pathway)
    return {kind: run_audit(pathway, folder / kind, path) for kind, path in files.items()}


def test_counts_on_a_known_set(known: dict[str, Audit]) -> None:
    page = known["yaml"].page
    assert (page.records, page.evaluated, page.rejected) == (4, 3, 1)
    rows = {r.id: (r.met, r.not_met, r.missing, r.not_applicable) for r in page.items}
    assert rows["population.child_with_cp"] == (1, 1, 1, 0)
    assert rows["trial.done"] == (0, 2, 1, 0)
    assert rows["trial.response"] == (0, 0, 1, 2)
    assert rows["safety.contraindications_reviewed"] == (1, 0, 2, 0)
    totals = [sum(r[k] for r in rows.values()) for k in range(4)]
    assert totals == [14, 3 + 2, 5 + 24 + 20, 2 + 2]
    rates = {r.id: r.missing_rate for r in page.items}
    assert rates["trial.response"] == 1.0 and rates["population.child_with_cp"] == pytest.approx(1 / 3)
    assert [(r.referral_id, r.documented, r.applicable) for r in page.least] == \
        [("R-EMPTY", 0, 24), ("R-NO", 2, 22), ("R-001", 17, 22)]
    assert page.least[1].missing[:2] == ("indication.tone_type_documented", "indication.diffuse_or_severe")


def test_rejected_records_are_accounted_for_with_source_and_reason(known: dict[str, Audit]) -> None:
    for result in known.values():
        page = result.page
        assert page.records == page.evaluated + page.rejected == len(result.matrix) + len(result.rejects)
        assert [r.source for r in page.rejects] == [row[0] for row in result.rejects]
    folder = Path(known["yaml"].page.inputs[0])
    assert known["yaml"].rejects == [[f"{folder}/r003.yaml", f"{folder}/r003.yaml:2:22: field 'spasticity_severity':"
                                      " 'extreme' is not an allowed value; allowed: mild, moderate, severe (or unknown)"]]
    jsonl = known["jsonl"].page.inputs[0]
    assert known["jsonl"].rejects == [[f"{jsonl}:4", f"{jsonl}:4:49: field 'spasticity_severity': 'extreme' is not an"
                                       " allowed value; allowed: mild, moderate, severe (or unknown)"]]
    csv_file = known["csv"].page.inputs[0]
    assert known["csv"].rejects[0][0] == f"{csv_file}:5"


def test_csv_jsonl_and_yaml_inputs_give_the_same_audit(known: dict[str, Audit]) -> None:
    def essence(result: Audit) -> object:
        p = result.page
        return (p.records, p.evaluated, p.rejected, p.items,
                [(r.referral_id, r.documented, r.applicable, r.missing) for r in p.least],
                [row[1:] for row in result.matrix])

    assert essence(known["yaml"]) == essence(known["jsonl"]) == essence(known["csv"])


def test_engines_and_batch_sizes_give_identical_files(pathway: Pathway, tmp_path: Path) -> None:
    write_both(referrals(3000, seed=5, invalid_rate=0.05, pathway=pathway), tmp_path / "r.jsonl", tmp_path / "r.csv",
               pathway)
    inputs = (tmp_path / "r.jsonl", tmp_path / "r.csv")
    small = run_audit(pathway, tmp_path / "one", *inputs, batch=700)
    big = run_audit(pathway, tmp_path / "two", *inputs, batch=100_000)   # nor on how the inputs are cut into tasks
    rows = run_audit(pathway, tmp_path / "row", *inputs, batch=1000, engine="row")
    assert small.page.records == 6000 and small.page.rejected > 0
    for other, folder in ((big, "two"), (rows, "row")):
        assert other.matrix_bytes == small.matrix_bytes
        assert other.rejects_bytes == small.rejects_bytes
        assert other.html.replace(str(tmp_path / folder), "") == small.html.replace(str(tmp_path / "one"), "")


def test_the_page_lists_are_capped_and_say_where_the_rest_is(pathway: Pathway, tmp_path: Path) -> None:
    write_both(referrals(400, seed=2, invalid_rate=0.1, pathway=pathway), tmp_path / "r.jsonl", tmp_path / "r.csv",
               pathway)
    full = run_audit(pathway, tmp_path / "full", tmp_path / "r.jsonl")
    capped = run_audit(pathway, tmp_path / "capped", tmp_path / "r.jsonl", keep=5, rejects=False, batch=50)
    assert len(capped.page.least) == 5 and len(capped.page.rejects) == 5
    assert capped.page.least_more == capped.page.evaluated - 5
    assert f"the other {capped.page.least_more:,} are in <span class=\"source\">" in capped.html
    assert f"the other {capped.page.rejects_more:,} are listed, with their reasons, by <code>--rejects FILE</code>" \
        in capped.html
    # the shown rejects are the first ones, worded as the full list words them
    assert [(r.source, "\n".join(r.problems)) for r in capped.page.rejects] == [tuple(r) for r in full.rejects[:5]]
    least = sorted(full.matrix, key=lambda r: float(r[5]))[:5]   # stable: input order breaks ties
    assert [(r.source, r.referral_id) for r in capped.page.least] == [(r[0], r[1]) for r in least]


def test_page_is_self_contained_escaped_deterministic_and_advisory(pathway: Pathway, tmp_path: Path) -> None:
    f = tmp_path / "r.jsonl"
    f.write_text('{"referral_id": "<script>alert(1)</script>"}\n{"referral_id": "R-2", "gmfcs_level": "<b>"}\n',
                 encoding="utf-8")
    first = run_audit(pathway, tmp_path / "a", f)
    again = run_audit(pathway, tmp_path / "a", f)
    assert first.html == again.html
    html = first.html
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&#39;&lt;b&gt;&#39; is not an allowed value" in html
    assert html.count(pathway.disclaimer) >= 3   # running header and footer, and top and bottom of the page
    assert html.index(pathway.disclaimer) < html.index("<h2>Items</h2>") < html.rindex(pathway.disclaimer)
    assert "<svg" in html and "<script" not in html and not re.search(r'(src|href)="(?!#)|<link|url\((?!#)', html)
    assert pathway.rules_sha256 in html and "2026-12-03T09:00:00Z" in html and str(f) in html
    assert "Records read: 2 = 1 evaluated + 1 that could not be evaluated." in html
    assert not DECISION_WORDS.search(without_disclaimer(html, pathway.disclaimer))


def test_no_partial_output_when_an_audit_is_interrupted(pathway: Pathway, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "r.jsonl"
    f.write_text('{"referral_id": "R-1"}\n', encoding="utf-8")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "matrix.csv").write_text("earlier audit\n", encoding="utf-8")

    def boom(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("pathway.audit.service.build_page", boom)
    with pytest.raises(KeyboardInterrupt):
        run_audit(pathway, tmp_path / "out", f)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["matrix.csv"]
    assert (tmp_path / "out" / "matrix.csv").read_text(encoding="utf-8") == "earlier audit\n"


def test_progress_bar_only_on_a_terminal() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    quiet, loud, one = io.StringIO(), Tty(), Tty()
    for stream, records in ((quiet, 1234), (loud, 1234), (one, 1)):
        bar = Progress(100, stream)
        bar.update(100, records)
        bar.close()
    assert quiet.getvalue() == ""
    assert "100%" in loud.getvalue() and "1,234 records " in loud.getvalue()
    assert "100%" in one.getvalue() and " 1 record " in one.getvalue()


@pytest.mark.parametrize(("size", "engine", "polars"), [(2, "auto", False), (3000, "auto", True),
                                                      (2, "columnar", True), (3000, "row", False)])
def test_auto_takes_the_row_engine_for_a_small_input_and_imports_no_polars(
    tmp_path: Path, size: int, engine: str, polars: bool,
) -> None:
    """A small audit starts as fast as a check: the row engine, no Polars; a bigger one is columnar."""
    line = '{"referral_id": "R-1", "age_years": 9, "diagnosis_cp": "yes", "notes": "' + "x" * 900 + '"}\n'
    (tmp_path / "r.jsonl").write_text(line * size, encoding="utf-8")
    proc = python_module(
        tmp_path, "engine",
        "import io, sys\n"
        "from pathway.cli import main\n"
        f"code = main(['audit', {str(tmp_path / 'r.jsonl')!r}, '-o', {str(tmp_path / 'a.html')!r},"
        f" '--engine', '{engine}'], stdout=io.StringIO())\n"
        "print(code, 'polars' in sys.modules)\n")
    assert (proc.returncode, proc.stdout) == (0, f"0 {polars}\n"), proc.stderr
    assert re.search(rf"audit: {size:,} records? = {size:,} evaluated \+ 0 not evaluated"
                     rf" \({size if not polars else 0:,} checked row by row", proc.stderr), proc.stderr


def test_cli_counts_one_record_in_the_singular(runner: Run, tmp_path: Path) -> None:
    f = tmp_path / "r.jsonl"
    f.write_text('{"referral_id": "R-1"}\n', encoding="utf-8")
    r = runner("audit", str(f), "-o", str(tmp_path / "audit.html"), "--jobs", "1", "--now", "2026-12-03T09:00:00Z")
    assert r.code == 0, r.err
    assert r.err.startswith("audit: 1 record = 1 evaluated + 0 not evaluated (1 checked row by row; ")


def test_cli_exit_0_with_rejects_and_writes_the_files(runner: Run, tmp_path: Path) -> None:
    f = tmp_path / "r.jsonl"
    f.write_text('{"referral_id": "R-1"}\n{"referral_id": "R-2", "age_years": 99}\nnot json\n', encoding="utf-8")
    out = tmp_path / "audit.html"
    r = runner("audit", str(f), "-o", str(out), "--csv", str(tmp_path / "m.csv"), "--rejects", str(tmp_path / "x.csv"),
               "--jobs", "1", "--now", "2026-12-03T09:00:00Z")
    assert r.code == 0, r.err
    assert r.err.startswith("audit: 3 records = 1 evaluated + 2 not evaluated")
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert (tmp_path / "x.csv").read_text(encoding="utf-8").count(str(f)) == 4
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]
    r = runner("audit", str(f), "--jobs", "1")
    assert r.code == 0 and r.out.startswith("<!DOCTYPE html>")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope.jsonl"], "nope.jsonl: not found\npathway: 1 problem(s); nothing was produced.\n"),
        (["empty"], "empty: no referral files found (expected .yaml, .yml, .json, .jsonl, .ndjson, .csv, .tsv)\n"
                    "pathway: 1 problem(s); nothing was produced.\n"),
        (["r.jsonl", "-o", "missing/dir/audit.html"],
         "missing/dir/audit.html: cannot write: No such file or directory\npathway: 1 problem(s); nothing was produced.\n"),
        (["r.jsonl", "--csv", "."], ".: cannot write: is a folder\npathway: 1 problem(s); nothing was produced.\n"),
    ],
)
def test_cli_refuses_when_the_audit_cannot_run(runner: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               args: list[str], message: str) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    (tmp_path / "r.jsonl").write_text('{"referral_id": "R-1"}\n', encoding="utf-8")
    r = runner("audit", *args, "--jobs", "1")
    assert (r.code, r.out, r.err) == (2, "", message)
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".part")]


def test_cli_bad_options_are_usage_errors(runner: Run, tmp_path: Path) -> None:
    for bad in (["--jobs", "0"], ["--batch-size", "x"]):
        with pytest.raises(SystemExit) as info:
            runner("audit", str(tmp_path), *bad)
        assert info.value.code == 2


def test_audit_of_bad_input_never_shows_a_traceback(tmp_path: Path) -> None:
    import subprocess
    import sys

    from .conftest import ROOT

    (tmp_path / "bad.csv").write_bytes(b"referral_id,notes\nR-1,caf\xe9\n")
    (tmp_path / "bad.jsonl").write_text("[1, 2]\n{\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "pathway", "audit", str(tmp_path), "-o", str(tmp_path / "a.html"),
                           "--jobs", "2"], capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("audit: 3 records = 0 evaluated + 3 not evaluated")


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as f:
                if entry.isdigit() and int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(entry))
        except (OSError, ValueError):
            continue
    return out


@pytest.fixture
def python_ctrl_c() -> Iterator[None]:
    """Python's own Ctrl+C handler in this process, even when the tests run in the background
    (a shell starts background jobs ignoring Ctrl+C, and Python then installs no handler)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _ctrl_c_as_in_a_terminal() -> None:
    """In the child, before exec: Ctrl+C not ignored, as in a terminal, even when the tests run
    in the background (a shell starts background jobs ignoring it, and Python keeps that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("after", [0.4, 0.8, 1.5])
def test_ctrl_c_in_the_terminal_at_any_moment_exits_130_with_one_line_and_no_file(tmp_path: Path, after: float) -> None:
    """Ctrl+C reaches the whole process group, perhaps while the command still loads the pathway or
    Polars: the audit is one process, so one line, exit 130, and no output or temporary file."""
    (tmp_path / "r.jsonl").write_text('{"referral_id": "R-1"}\n' * 300_000, encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "pathway", "audit", "r.jsonl", "-o", "out.html", "--csv", "m.csv"],
                            cwd=tmp_path, env=repo_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=_ctrl_c_as_in_a_terminal)
    time.sleep(after)
    assert proc.poll() is None, "the audit finished before it could be interrupted"
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert (proc.returncode, err) == (130, "pathway: interrupted\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.jsonl"]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_real_signal_mid_audit_leaves_no_output_file(tmp_path: Path, signum: int) -> None:
    """The installed command, interrupted while it works: no report, no matrix, no temporary file."""
    line = '{"referral_id": "R-1", "age_years": 9, "diagnosis_cp": "yes", "functional_impact": ["movement"]}\n'
    (tmp_path / "big.jsonl").write_text(line * 300_000, encoding="utf-8")
    env = repo_env()
    proc = subprocess.Popen([sys.executable, "-m", "pathway", "audit", "big.jsonl", "-o", "out.html",
                             "--csv", "m.csv"], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_ctrl_c_as_in_a_terminal)
    deadline = time.monotonic() + 60
    while not any(p.name.endswith(".part") for p in tmp_path.iterdir()):  # it is writing: interrupt now
        assert proc.poll() is None, "the audit finished before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err == "pathway: interrupted\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.jsonl"]


def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_written_inert(runner: Run, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """CSV injection: a referral id or a file name starting with = + - @ must not become a formula in Excel."""
    monkeypatch.chdir(tmp_path)
    f = tmp_path / "=cmd.jsonl"
    f.write_text('{"referral_id": "=HYPERLINK(\\"http://x\\")"}\n{"referral_id": "@SUM(A1)", "age_years": 99}\n'
                 '{"referral_id": "R-3"}\n', encoding="utf-8")
    for engine in ("row", "columnar"):
        r = runner("audit", f.name, "-o", "a.html", "--csv", "m.csv", "--rejects", "x.csv", "--engine", engine)
        assert r.code == 0, r.err
        with open("m.csv", encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
        assert [row[:2] for row in rows[1:]] == [["'=cmd.jsonl:1", "'=HYPERLINK(\"http://x\")"], ["'=cmd.jsonl:3", "R-3"]]
        with open("x.csv", encoding="utf-8", newline="") as fh:
            (source, problems), = list(csv.reader(fh))[1:]
        assert source == "'=cmd.jsonl:2" and problems.startswith("'=cmd.jsonl:2:")
        page = Path("a.html").read_text(encoding="utf-8")
        assert "=HYPERLINK(&#34;http://x&#34;)" in page or "=HYPERLINK(&quot;http://x&quot;)" in page
