"""The DuckDB baseline of benchmarks/bench_audit.py gives exactly the audit's figures.

On synthetic referrals in every format the benchmark times, and on small
exports written to exercise the readers (REDCap checkboxes, blank rows, the
words for unknown, refused values); and its SQL conditions follow Kleene's
logic as `conditions.evaluate` does. No timing is asserted.
"""
from __future__ import annotations

import csv
import itertools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pathway import conditions as C
from pathway.definition import Pathway

from .conftest import ROOT, Result

duckdb = pytest.importorskip("duckdb")
sys.path.insert(0, str(ROOT / "benchmarks"))
import bench_audit  # noqa: E402
import duckdb_baseline  # noqa: E402
import synth  # noqa: E402


def figures(runner: Callable[..., Result], path: Path, tmp_path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """The audit's figures (its CLI, in-process) and the baseline's, for one export (with the
    unordered baseline's under "unordered")."""
    page, matrix = tmp_path / "audit.html", tmp_path / "statuses.csv"
    result = runner("audit", str(path), "-o", str(page), "--csv", str(matrix))
    assert result.code == 0, result.err
    audit = bench_audit.audit_figures(result.err, matrix, page)
    con = duckdb_baseline.connect()
    try:
        base = bench_audit.baseline_figures(con, duckdb_baseline.query_for(path),
                                            duckdb_baseline.query_for(path, referrals=True), tmp_path / "b.csv")
        base["unordered"] = duckdb_baseline.run(con, duckdb_baseline.query_for(path, unordered=True))
    finally:
        con.close()
    return audit, base


@pytest.mark.parametrize("kind", ["csv", "jsonl", "jsonl-null"])
def test_the_baseline_gives_the_audits_figures(runner: Callable[..., Result], pathway: Pathway, tmp_path: Path,
                                               kind: str) -> None:
    path = tmp_path / f"referrals{bench_audit.FORMATS[kind]}"
    records = synth.referrals(2000, seed=7, invalid_rate=0.03, pathway=pathway)
    synth.write_files(records, pathway, csv_path=path if kind == "csv" else None,
                      jsonl=path if kind == "jsonl" else None, jsonl_null=path if kind == "jsonl-null" else None)
    audit, base = figures(runner, path, tmp_path)
    assert base["records"] == 2000 and 0 < base["rejected"] < 200
    assert bench_audit.differences(audit, base) == []
    assert bench_audit.differences(audit, base["unordered"], ordered=False) == []
    assert len(audit["page_least"]) == 50 and audit["page_least"] == base["least"][:50]   # the page lists 50
    base["counts"]["trial.done"]["met"] += 1   # and a difference is found
    assert bench_audit.differences(audit, base) == [
        f"trial.done met: audit {audit['counts']['trial.done']['met']:,},"
        f" duckdb {base['counts']['trial.done']['met']:,}"]


def test_csv_cells_are_read_as_the_audit_reads_them(runner: Callable[..., Result], tmp_path: Path) -> None:
    header = ["record_id", "referral_id", "age_years", "diagnosis_cp", "tone_type", "functional_impact",
              "tone_assessment___clinical_examination", "tone_assessment___modified_ashworth", "referral_date",
              "trial_status", "trial_dose_mcg", "notes", "itb_complete", "extra_col"]
    rows = [   # referral id, then the cells that differ from blank
        ("E-1", {"age_years": "5", "diagnosis_cp": "YES", "tone_type": "spastic", "functional_impact": "movement||pain",
                 "tone_assessment___clinical_examination": "1", "tone_assessment___modified_ashworth": "0",
                 "referral_date": "2026-01-05", "trial_status": "done", "trial_dose_mcg": "1e1", "itb_complete": "2"}),
        ("E-2", {"age_years": "Unknown", "diagnosis_cp": "unknown", "tone_type": "UNKNOWN",
                 "functional_impact": "none|none", "trial_status": "planned", "notes": "a note, with a comma"}),
        ("E-3", {"age_years": "19", "diagnosis_cp": "no", "functional_impact": "none|movement"}),   # exclusive
        ("E-4", {"diagnosis_cp": "maybe"}),                          # not a tri-state answer
        ("E-5", {"functional_impact": "unknown"}),                   # a multi-choice cell names values
        ("E-6", {"tone_assessment___clinical_examination": "2"}),    # a checkbox is 0 or 1
        ("", {}),                                                    # a blank row is no record
        ("", {"age_years": "5"}),                                    # the id is required
        ("E-9", {"age_years": "25.5"}),                              # out of range
        ("E-10", {"referral_date": "2026-02-30"}),                   # not a date
        ("E-11", {"extra_col": "x"}),                                # a column the form lacks: not used
        ("E-12", {"age_years": " 7 ", "diagnosis_cp": " yes ", "tone_type": " mixed ", "functional_impact": " | ",
                  "tone_assessment___clinical_examination": "1", "tone_assessment___modified_ashworth": "1",
                  "trial_dose_mcg": "-0"}),
        ("X" * 65, {}),                                              # too long
        ("E-14", {"age_years": "nan"}),
        ("E-15", {"diagnosis_cp": "True", "functional_impact": "|", "trial_status": "done"}),
    ]
    path = tmp_path / "edge.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for i, (rid, cells) in enumerate(rows, start=1):
            row = {"referral_id": rid, **cells} | ({"record_id": str(i)} if rid or cells else {})
            writer.writerow([row.get(c, "") for c in header])
    audit, base = figures(runner, path, tmp_path)
    assert (base["records"], base["evaluated"]) == (14, 5)
    assert bench_audit.differences(audit, base) == []


def test_jsonl_values_are_read_as_the_audit_reads_them(runner: Callable[..., Result], tmp_path: Path) -> None:
    lines = [
        {"referral_id": "J-1", "diagnosis_cp": True, "age_years": "7", "functional_impact": ["pain"],
         "trial_status": "done", "trial_dose_mcg": 50},
        {"referral_id": "J-2", "diagnosis_cp": "unknown", "functional_impact": [], "tone_type": None, "notes": None},
        {"referral_id": "J-3", "functional_impact": ["none", "pain"]},
        {"referral_id": "J-4", "age_years": True},
        {"referral_id": "J-5", "gmfcs_level": "VI"},
        {"referral_id": "J-6", "extra": "x"},
        {"referral_id": "J-8", "trial_dose_mcg": "1001"},
        {"referral_id": 12345, "referral_date": "2026-12-31", "communicates_symptoms": "partly"},
        {"age_years": 3},
    ]
    path = tmp_path / "edge.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    audit, base = figures(runner, path, tmp_path)
    assert (base["records"], base["evaluated"]) == (9, 3)
    assert bench_audit.differences(audit, base) == []


def test_sql_conditions_are_kleene() -> None:
    """Every truth value `condition_sql` gives is `conditions.evaluate`'s, over all answers of two fields."""
    x, y = C.In("x", ("yes",)), C.In("y", ("yes",))
    trees: list[C.Condition] = [C.All((x, y)), C.AnyOf((x, y)), C.Not(x), C.Not(C.AnyOf((x, C.Not(y)))), C.Answered("x"),
             C.Unanswered("x"), C.All((C.Answered("x"), C.Not(y))), C.Compare("n", "lt", 19.0),
             C.Contains("m", ("a", "b"), "any"), C.Contains("m", ("a", "b"), "all")]
    con = duckdb.connect()
    answers = list(itertools.product(["yes", "no", None], ["yes", "no", None], [3.0, 19.0, None],
                                     [["a"], ["a", "b"], ["c"], None]))
    con.execute("CREATE TABLE t (x VARCHAR, y VARCHAR, n DOUBLE, m VARCHAR[])")
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", answers)
    for tree in trees:
        got = [r[0] for r in con.execute(f"SELECT {duckdb_baseline.condition_sql(tree)} FROM t ORDER BY rowid").fetchall()]
        want = [C.evaluate(tree, dict(zip("xynm", row))) for row in answers]
        assert got == want, C.describe(tree)
