"""The columnar audit decides and evaluates every record exactly as the single-referral engine does.

Reference: every record read by `inputs`, validated by `referral.validate` and
evaluated by the python backend, one at a time. Compared on generated
referrals, on inputs written to trip the fast reader, and on the pathway's
own example cases.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from pathway.audit import codec
from pathway.definition import FormField, Pathway
from pathway.loader import load_pathway
from pathway.resources import default_pathway_dir

from .audit_support import reference, referrals, run_audit, statuses_of, write_both, write_jsonl

ODD_JSONL = [
    '{"referral_id":"A1","diagnosis_cp":true,"age_years":9,"oral_tried":false}',
    '{"referral_id":"A2","diagnosis_cp":"YES ","gmfcs_level":" IV","orthotics":"True"}',
    '{"referral_id":"A3","notes":"He said \\"ok\\""}',
    '{"referral_id":"A4","diagnosis_cp":null,"age_years":null,"functional_impact":null}',
    '{"referral_id":"A5","diagnosis":null}',
    '{"referral_id":"A6","referral_id":"A6b"}',
    '{"referral_id":"A7","diagnosis_cp":"yes","diagnosis_cp":null}',
    '{"referral_id":"A7b","diagnosis_cp":null,"diagnosis_cp":"yes"}',
    '{"referral_id":"A7c","diagnosis_cp":null,"diagnosis_cp":null}',
    '{"referral_id":"A7d","notes":"said:null","age_years":null}',
    '{"referral_id":"A7e","notes":"x\\":null","oral_tried":null}',
    '{"referral_id":null}',
    '{"referral_id":"A7f","diagnosis_cp": null}',
    '{"referral_id":123}',
    '{"referral_id":true}',
    '{"referral_id":1.0}',
    '{"referral_id":"A9","functional_impact":[]}',
    '{"referral_id":"A10","functional_impact":"movement","risks_discussed":"unknown"}',
    '{"referral_id":"A11","functional_impact":["movement","none"]}',
    '{"referral_id":"A12","functional_impact":["movement","movement"]}',
    '{"referral_id":"A13","functional_impact":[" movement "]}',
    '{"referral_id":"A14","functional_impact":["movement",1]}',
    '{"referral_id":"A15","functional_impact":["movement|posture"]}',
    '{"referral_id":"A16","functional_impact":[""]}',
    '{"referral_id":"A17","age_years":"9"}',
    '{"referral_id":"A18","age_years":1e1}',
    '{"referral_id":"A19","age_years":17.999999999999999999}',
    '{"referral_id":"A20","age_years":25.0001}',
    '{"referral_id":"A21","age_years":-0}',
    '{"referral_id":"A22","age_years":NaN}',
    '{"referral_id":"A23","age_years":" 9"}',
    '{"referral_id":"A24","referral_date":"2026-02-30"}',
    '{"referral_id":"A25","referral_date":"20261001"}',
    '{"referral_id":"A26","notes":{"a":1}}',
    '{"referral_id":"A27","notes":["a"]}',
    '["not","an","object"]',
    '{"referral_id":"A29"',
    "   ",
    '{"referral_id":"A31",\t"diagnosis_cp":"yes"}',
    '{"referral_id" : "A32"}',
    '{ "referral_id": "A33", "diagnosis_cp": "Unknown", "oral_tried": "", "gmfcs_level": "unknown" }',
    '{"referral_id":"  A34  "}',
    '{"referral_id":"A35\u00a0"}',
    '{"referral_id":"A36","potential_contraindications":"none","spasticity_severity":"Severe"}',
    '{"referral_id":"A37","diagnosis_cp":"maybe","local_tried":1}',
    '{"referral_id":"A38","notes":"a\u2028b"}',
    '{"referral_id":"A39","risks_discussed":["infection","catheter_malfunction","pump_failure","withdrawal"]}',
    "{}",
    '{"referral_id":"A41","notes":"true","trial_status":"done","trial_response":"positive"}',
    '{"referral_id":"A42","notes":"' + "x" * 4001 + '"}',
    '{"referral_id":"A43","gmfcs_level":"I","gmfcs_level":"II"}',
    '{"referral_id":"A44","oral_side_effects":["sedation","none"],"local_agents":["phenol"]}',
    '{"referral_id":"A45","age_years":" 99 ","notes":"a\u00a0"}',
    '{"referral_id":"A46","age_years":99.5,"spasticity_severity":"extreme","diagnosis":"yes"}',
    '{"referral_id":"A47","spasticity_severity":"Severe ","gmfcs_level":"IV\u00a0"}',
]

ODD_CSV = (
    "\ufeffreferral_id, diagnosis_cp ,gmfcs_level,functional_impact,age_years,notes,record_id,unknown_col,"
    "risks_discussed___infection,risks_discussed___withdrawal,risks_discussed___none,x_complete\r\n"
    "C1, yes , IV , movement | posture ,9,some notes,1,,1,1,,2\r\n"
    "C2,Yes,V,unknown,9.5,,2,,0,,1,\r\n"
    "C3,no,III,|,007,,3,oops,,,,\r\n"
    "C4,maybe,VI,walking,nine,,4,,2,,,\r\n"
    "\r\n"
    " , , , , , , , , , , , \r\n"
    "C7,yes,IV,movement,9,,7,,1,,1,\r\n"
    "C8,yes,IV,movement,9,,8,,,,,,extra\r\n"
    "C9,TRUE,II\r\n"
    ",yes\r\n"
    "\u00a0C11,unknown,,none,25,\u00a0,11,,,,,\r\n"
    # certain rejections (counted without a second reading) beside cells only Python's strip empties
    "C12,yes,IV,movement, 99 ,,12,\u00a0,1\u00a0,,,\r\n"
    "C13,yes,IV,movement,9,,13,\u00a0,1\u00a0,0 ,,\r\n"
    "C14,yes,IV,movement,9,,14,,x,,,\r\n"
    "C15,yes,IV,movement,9,,15,,x\u00a0,,1,\r\n"
    "C16,maybe,IV,movement,9,,16,\u00a0,,,,\r\n"
    "C17,yes,IV,movement,9,,17,filled,,,,\r\n"
)


def compare(pathway: Pathway, out: Path, *inputs: Path) -> int:
    """Audit and reference agree on every record, its statuses and its reasons; returns records re-checked."""
    result = run_audit(pathway, out, *inputs, batch=40)
    rows, rejected = reference(pathway, *inputs)
    assert statuses_of(result) == rows
    assert result.rejects == rejected
    assert result.page.records == len(rows) + len(rejected)
    return result.page.rechecked


def test_generated_referrals_jsonl_and_csv(pathway: Pathway, tmp_path: Path) -> None:
    write_both(referrals(1500, seed=11, invalid_rate=0.05, pathway=pathway), tmp_path / "g.jsonl", tmp_path / "g.csv",
               pathway)
    for name in ("g.jsonl", "g.csv"):
        result = run_audit(pathway, tmp_path / name.replace(".", "-"), tmp_path / name, batch=400)
        rows, rejected = reference(pathway, tmp_path / name)
        assert statuses_of(result) == rows
        assert result.rejects == rejected
        # the fast path did the work: records certainly refused (a value refused on its own, a misspelt
        # field) are counted without a second reading; their reasons are the row validator's
        assert result.page.rechecked == 0 < len(rejected)


def test_generated_referrals_quoted_csv(pathway: Pathway, tmp_path: Path) -> None:
    write_both(referrals(600, seed=12, invalid_rate=0.05, pathway=pathway), tmp_path / "g.jsonl", tmp_path / "q.csv",
               pathway, quoting=csv.QUOTE_ALL)
    assert compare(pathway, tmp_path / "out", tmp_path / "q.csv") < 600 * 0.1


def test_inputs_that_trip_a_fast_reader(pathway: Pathway, tmp_path: Path) -> None:
    jsonl = write_jsonl(tmp_path / "odd.jsonl", ODD_JSONL)
    (tmp_path / "odd.csv").write_text(ODD_CSV, encoding="utf-8", newline="")
    (tmp_path / "quoted.csv").write_text('referral_id,notes,diagnosis_cp\nQ1,"two\nlines, one cell",yes\n'
                                         'Q2,"say ""hi""",maybe\n"Q3"\n', encoding="utf-8", newline="")
    (tmp_path / "lone-cr.csv").write_text("referral_id,diagnosis_cp\rR1,yes\rR2,no\n", encoding="utf-8", newline="")
    (tmp_path / "breaks.jsonl").write_text('{"referral_id":"B1"}\x0b{"referral_id":"B2"}\r{"referral_id":"B3"}\n',
                                           encoding="utf-8", newline="")
    (tmp_path / "bom.jsonl").write_text('\ufeff{"referral_id":"M1"}\n', encoding="utf-8")
    (tmp_path / "latin1.csv").write_bytes(b"referral_id\nR1\ncaf\xe9\n")
    (tmp_path / "empty.csv").write_text("", encoding="utf-8")
    (tmp_path / "header-only.csv").write_text("referral_id,notes\n", encoding="utf-8")
    (tmp_path / "blank-header.csv").write_text("\nR1,yes\n", encoding="utf-8")
    (tmp_path / "short-first.csv").write_text("referral_id,diagnosis_cp,notes\nR1\nR2,yes,n\n\nR4,no,a,b\n", encoding="utf-8")
    inputs = [jsonl, tmp_path / "odd.csv", tmp_path / "quoted.csv", tmp_path / "lone-cr.csv", tmp_path / "breaks.jsonl",
              tmp_path / "bom.jsonl", tmp_path / "latin1.csv", tmp_path / "empty.csv", tmp_path / "header-only.csv",
              tmp_path / "blank-header.csv", tmp_path / "short-first.csv"]
    compare(pathway, tmp_path / "out", *inputs)


def test_line_numbers_across_tasks_with_other_line_breaks(pathway: Pathway, tmp_path: Path) -> None:
    """Files cut into several tasks (64 KiB at least each) holding characters other than "\\n" that
    `str.splitlines` would break at: JSON Lines break at "\\n" (and "\\r\\n") only."""
    lines = [json.dumps(r, separators=(",", ":")) for r in referrals(400, seed=14, invalid_rate=0.1, pathway=pathway)]
    breaks = ["\n", "\r\n", "\x0b", "\u2028", "\n\n"]
    (tmp_path / "breaks.jsonl").write_text("".join(line + breaks[k % 5] for k, line in enumerate(lines)),
                                           encoding="utf-8", newline="")
    (tmp_path / "crlf.jsonl").write_text("\r\n".join(lines) + "\r\n", encoding="utf-8", newline="")
    (tmp_path / "bom-bad.jsonl").write_bytes("\ufeff".encode() + "\n".join(lines).encode() + b"\n\xff\n")
    for name in ("breaks.jsonl", "crlf.jsonl", "bom-bad.jsonl"):
        compare(pathway, tmp_path / name.replace(".", "-"), tmp_path / name)


def test_checkbox_columns_and_plain_columns_together_are_read_row_by_row(pathway: Pathway, tmp_path: Path) -> None:
    f = tmp_path / "mixed.csv"
    f.write_text("referral_id,risks_discussed,risks_discussed___infection,referral_id\nR1,withdrawal,1,R1b\n"
                 "R2,,0,\n", encoding="utf-8")
    assert not codec.csv_plan(["referral_id", "risks_discussed", "risks_discussed___infection"], pathway).simple
    compare(pathway, tmp_path / "out", f)


def test_coded_values_are_decided_once_across_tasks_and_new_ones_in_later_tasks(
        pathway: Pathway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A coded column's decisions are kept from task to task: each distinct cell is put to the
    referral model once, a task holding values not met before decides just those, and every
    record's statuses and reasons are still the row validator's."""
    from pathway.audit import service, task

    header = "referral_id,diagnosis_cp,gmfcs_level,functional_impact,oral_tried,age_years,notes\n"
    known = ["yes,IV,movement|posture,no,9", "no,II,movement,yes,12", "yes,V,,no,"]
    odd = ["maybe,IV,movement,no,9,n", " yes ,III,posture,,7,", "yes,IV", ",,,,,", "yes,IV,walking,no,9,n",
           "yes,IV,movement|movement,unknown,9,n", "no"]
    notes = "," + "n" * 100   # long rows: a task is 64 KiB at least, about 500 of them
    rows = [f"R{k}," + (odd[(k // 150) % len(odd)] if k >= 1500 and k % 150 == 0 else known[k % 3] + notes)
            for k in range(3000)]
    f = tmp_path / "coded.csv"
    f.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    decided: list[tuple[str, str]] = []
    real = codec.Dictionary.decide

    def spy(self: codec.Dictionary, field: FormField, cell: str) -> int | None:
        decided.append((field.id, cell))
        return real(self, field, cell)

    monkeypatch.setattr(codec.Dictionary, "decide", spy)
    monkeypatch.setattr(task, "_CONTEXT", None)   # no decision kept from an earlier test
    monkeypatch.setattr(service, "THREADS", 1)   # tasks one after another: which meets a value first is fixed
    compare(pathway, tmp_path / "out", f)
    assert len(decided) == len(set(decided))   # no value decided twice, though ~6 tasks read the column
    assert ("functional_impact", "walking") in decided   # met first in the third task, on line 1652


def test_every_example_case_through_the_columnar_path(pathway: Pathway, tmp_path: Path) -> None:
    cases = [c for c in pathway.cases]
    lines = [json.dumps(c.referral, default=str) for c in cases]
    result = run_audit(pathway, tmp_path / "out", write_jsonl(tmp_path / "cases.jsonl", lines))
    assert result.page.rejected == 0 and result.page.rechecked <= 2   # values with odd spacing, checked row by row
    items = [i.id for i in pathway.items]
    for case, row in zip(cases, result.matrix, strict=True):
        got = dict(zip(items, row[6:]))
        assert {k: got[k] for k in case.expect} == case.expect, case.name


def test_row_engine_option_gives_the_same_audit(pathway: Pathway, tmp_path: Path) -> None:
    write_both(referrals(300, seed=13, invalid_rate=0.1, pathway=pathway), tmp_path / "g.jsonl", tmp_path / "g.csv",
               pathway)
    fast = run_audit(pathway, tmp_path / "fast", tmp_path / "g.csv", tmp_path / "g.jsonl")
    slow = run_audit(pathway, tmp_path / "slow", tmp_path / "g.csv", tmp_path / "g.jsonl", engine="row")
    assert fast.matrix_bytes == slow.matrix_bytes and fast.rejects_bytes == slow.rejects_bytes
    assert slow.page.rechecked == slow.page.records


@pytest.mark.parametrize(
    ("field", "cell", "json_decision", "csv_decision"),
    [
        ("diagnosis_cp", "true", 0, 0),            # a JSON true and the text "true" both mean yes
        ("diagnosis_cp", " No ", 1, 1),
        ("diagnosis_cp", "1", codec.UNSURE, codec.BAD),      # JSON: a number or text? CSV: refused
        ("diagnosis_cp", "maybe", codec.BAD, codec.BAD),
        ("gmfcs_level", "IV", 3, 3),
        ("gmfcs_level", "UNKNOWN", None, None),
        ("gmfcs_level", "4", codec.UNSURE, codec.BAD),   # a JSON 4 or 4.0: the row reader sees a number
        ("gmfcs_level", "VI", codec.BAD, codec.BAD),
        ("functional_impact", '["posture", "movement"]', 1 | 64, codec.BAD),
        ("functional_impact", "movement|posture", codec.BAD, 1 | 64),   # JSON strings are not split
        ("functional_impact", '["movement", 1]', codec.UNSURE, codec.BAD),
        ("functional_impact", "[]", codec.UNSURE, codec.BAD),   # the text "[]"; a real empty list never gets here
        ("functional_impact", "|", codec.BAD, None),
        ("functional_impact", "none", 128, 128),
        ("functional_impact", '["movement", "none"]', codec.BAD, codec.BAD),   # "none" excludes the others
    ],
)
def test_dictionary_decisions_come_from_the_referral_model(
    pathway: Pathway, field: str, cell: str, json_decision: int | None, csv_decision: int | None,
) -> None:
    f = pathway.fields[field]
    assert codec.Dictionary(pathway, json=True).decide(f, cell) == json_decision
    assert codec.Dictionary(pathway, json=False).decide(f, cell) == csv_decision


def test_dictionary_codes_grow_task_by_task_and_past_the_limit(pathway: Pathway, monkeypatch: pytest.MonkeyPatch) -> None:
    """A value first met in a later task is decided then; past `LIMIT` distinct values a column is
    decided task by task, with the same codes."""
    import polars as pl

    field = pathway.fields["gmfcs_level"]
    first = pl.Series(["IV", None, "II", "IV"])
    later = pl.Series(["V", "IV", "maybe", " I ", None])
    expected = [4, 3, codec.table(field, codec.BAD), 0, None]
    kept = codec.Dictionary(pathway, json=False)
    assert kept.codes(field, first).to_list() == [3, None, 1, 3]
    assert kept.codes(field, later).to_list() == expected
    assert len(kept.known["gmfcs_level"]) == 5
    monkeypatch.setattr(codec.Dictionary, "LIMIT", 3)
    capped = codec.Dictionary(pathway, json=False)
    assert capped.codes(field, first).to_list() == [3, None, 1, 3]
    assert capped.codes(field, later).to_list() == expected
    assert len(capped.known["gmfcs_level"]) == 2   # the first task's values only


LENIENT_JSON = [
    '{"referral_id":"R1",}', '{"referral_id":"R2" "age_years":9}', "{'referral_id':'R3'}", '{"referral_id":"R4"}}',
    '{"referral_id":"R5","age_years":09}', '{"referral_id":"R6","age_years":+9}', '{"referral_id":"R7","age_years":.5}',
    '{"referral_id":"R8","diagnosis_cp":True}', '{"referral_id":"R9","diagnosis_cp":yes}',
    '{"referral_id":"R10",,"age_years":9}', '{"referral_id":"R11","age_years":Infinity}',
    '{"referral_id":"R12","notes":"a"} {"x":1}', '{"referral_id":"R13","age_years":9.}',
    '{"referral_id":"R14","gmfcs_level":"IV"]}', '{"referral_id":"R16","functional_impact":["movement",]}',
    '{"referral_id":"R19","age_years":0x10}', '{"referral_id":"R21","diagnosis_cp":null,}',
]


@pytest.mark.parametrize("line", LENIENT_JSON)
def test_json_a_lenient_parser_might_accept_is_decided_as_the_row_reader_decides(
    pathway: Pathway, tmp_path: Path, line: str,
) -> None:
    """Among good lines, a line only a lenient JSON parser would read: never accepted by the fast path."""
    good = '{"referral_id":"G","diagnosis_cp":"yes"}'
    compare(pathway, tmp_path / "out", write_jsonl(tmp_path / "l.jsonl", [good] * 5 + [line] + [good] * 5))


@pytest.mark.parametrize("block", [1, 2, 3, 7, 64])
def test_the_scan_counts_lines_and_finds_a_lone_carriage_return_across_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int,
) -> None:
    """The scan's numbers, worked out a block at a time, are those of the whole file: the "\\n"
    before every cut, and whether some "\\r" is not followed by "\\n" (even across blocks)."""
    import random
    import re

    from pathway.audit import sources

    monkeypatch.setattr(sources, "BLOCK", block)
    rng = random.Random(block)
    for n in range(60):
        data = bytes(rng.choice(b"ab,\n\r\r\n") for _ in range(rng.randrange(1, 80)))
        if n % 3 == 0:
            data = data.replace(b"\r", b"\r\n").replace(b"\r\n\n", b"\r\n")   # CRLF only: no lone CR
        path = tmp_path / f"{n}.csv"
        path.write_bytes(data)
        scan = sources._scan(path, is_csv=True, batch=1)
        assert scan.lone_cr == (re.search(rb"\r(?!\n)", data) is not None), data
    # cuts come every 64 KiB at least: a bigger file, whose lines end in "\n" or "\r\n"
    data = b"".join(b"x" * rng.randrange(0, 90) + rng.choice([b"\n", b"\r\n"]) for _ in range(6000))
    (tmp_path / "big.jsonl").write_bytes(data)
    monkeypatch.setattr(sources, "BLOCK", block * 997)
    scan = sources._scan(tmp_path / "big.jsonl", is_csv=False, batch=1)
    assert len(scan.cuts) >= 3 and not scan.lone_cr
    assert [lines for _, lines in scan.cuts] == [data[:cut].count(b"\n") for cut, _ in scan.cuts]
    assert scan.newlines == data.count(b"\n")


@pytest.mark.parametrize("ending", [b"\n", b""])
@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_each_csv_range_carries_the_newlines_it_holds(tmp_path: Path, ending: bytes, bom: bytes) -> None:
    """A worker checks that Polars gave one row per line against the count the scan made (it
    does not count them again): that count is the range's own, whatever the file's first and
    last bytes, and the ranges cover every line after the header once."""
    from pathway.audit import sources

    rows = [f"R{k},{'x' * (k % 70)}" for k in range(9000)]
    data = bom + b"referral_id,notes\n" + "\n".join(rows).encode() + ending
    (tmp_path / "r.csv").write_bytes(data)
    tasks = list(sources.plan([tmp_path / "r.csv"], batch=1000, pathway=load_pathway(default_pathway_dir())))
    assert len(tasks) >= 3 and {t.kind for t in tasks} == {"csv"}
    for task in tasks:
        assert task.newlines == data[task.start:task.end].count(b"\n"), task.index
        assert task.first_line == data[:task.start].count(b"\n") + 1
    assert tasks[0].start == len(bom) + len(b"referral_id,notes\n") and tasks[-1].end == len(data)
    assert all(a.end == b.start for a, b in zip(tasks, tasks[1:]))


def test_json_lines_break_at_newlines_only(pathway: Pathway, tmp_path: Path) -> None:
    """A raw U+2028, U+2029 or U+0085 inside a string is valid JSON: the line is one referral,
    evaluated, and the lines after it keep their numbers (as `pathway check` reads them too)."""
    notes = ["before\u2028after", "a\u2029b", "x\u0085y", "form\x0cfeed"]
    lines = [json.dumps({"referral_id": f"R-{k}", "age_years": 9, "notes": text}, ensure_ascii=False)
             for k, text in enumerate(notes)] + ['{"referral_id": "R-last"}']
    f = tmp_path / "breaks.jsonl"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="")
    for engine in ("row", "columnar"):
        result = run_audit(pathway, tmp_path / engine, f, engine=engine)
        assert (result.page.records, result.page.rejected) == (5, 0)
        assert [row[:2] for row in result.matrix] == [[f"{f}:{k + 1}", f"R-{k}"] for k in range(4)] + [
            [f"{f}:5", "R-last"]]


def test_answers_to_questions_not_asked_are_set_aside_in_whole_columns(
    pathway: Pathway, tmp_path: Path,
) -> None:
    """Issue 19: the columnar engine sets aside, in whole columns, what `pathway check` sets aside, for a
    chain of questions (odd spacing and a JSON true included)."""
    from .test_set_aside import chained

    p = chained(pathway)
    lines = [json.dumps(r) for r in (
        {"referral_id": "J1", "diagnosis_cp": "no", "spasticity_severity": "severe", "spasticity_distribution": "diffuse"},
        {"referral_id": "J2", "diagnosis_cp": "yes", "spasticity_severity": "mild", "spasticity_distribution": "diffuse"},
        {"referral_id": "J3", "spasticity_severity": "severe", "spasticity_distribution": "diffuse"},
        {"referral_id": "J4", "diagnosis_cp": " No ", "spasticity_severity": "severe", "spasticity_distribution": "diffuse"},
        {"referral_id": "J5", "oral_tried": "no", "oral_outcome": "adequate_control", "diagnosis_cp": True},
    )]
    compare(p, tmp_path / "out", write_jsonl(tmp_path / "chain.jsonl", lines))
    rows, _ = reference(p, tmp_path / "chain.jsonl")
    at = 2 + [i.id for i in p.items].index("indication.diffuse_or_severe")
    assert [r[at] for r in rows] == ["missing", "missing", "met", "missing", "missing"]
