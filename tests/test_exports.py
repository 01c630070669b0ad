"""Real exports as people make them (issue 17): every shape gives the counts its content means,
or a message naming the file, line and reason; both audit engines agree on every record."""
from __future__ import annotations

from pathlib import Path

import pytest

from pathway.definition import Pathway
from pathway.inputs import iter_records

from .audit_support import reference, run_audit

HEADER = "referral_id,age_years,diagnosis_cp,notes"


def audits(pathway: Pathway, tmp_path: Path, f: Path) -> list[tuple[list[list[str]], list[list[str]]]]:
    """The matrix (less the completeness columns) and rejects of both engines, checked against the
    reference reading (`inputs`, one record at a time)."""
    rows, rejected = reference(pathway, f)
    out = []
    for engine in ("row", "columnar"):
        result = run_audit(pathway, tmp_path / engine, f, engine=engine, batch=2)
        assert [r[:2] + r[5:] for r in result.matrix] == rows, engine
        assert result.rejects == rejected, engine
        assert result.page.records == len(rows) + len(rejected)
        out.append((result.matrix, result.rejects))
    return out


@pytest.mark.parametrize("header", ["referral_id,diagnosis_cp,age_years,diagnosis_cp",
                                    "referral_id,functional_impact,functional_impact___movement"])
def test_a_field_given_by_two_columns_refuses_the_file_naming_both(pathway: Pathway, tmp_path: Path,
                                                                   header: str) -> None:
    f = tmp_path / "dup.csv"
    f.write_text(f"{header}\nR-1,yes,9,no\nR-2,,,\n", encoding="utf-8")
    (_, rejects), _ = audits(pathway, tmp_path, f)
    (source, problem), = rejects
    assert source == str(f)
    second = header.split(",")[-1]
    field = "diagnosis_cp" if "diagnosis" in header else "functional_impact"
    assert problem == (f"{f}:1:{header.count(',') + 1}: columns {2} and {header.count(',') + 1} both give '{field}'"
                       f" ('{field}' and '{second}'): keep one of them")


def test_a_short_row_or_a_file_cut_off_mid_row_is_not_evaluated(pathway: Pathway, tmp_path: Path) -> None:
    f = tmp_path / "cut.csv"
    lines = [HEADER] + [f"R-{k},9,yes,fine" for k in range(6)] + ["R-short,9", "R-7,9,yes,fine", "R-cut,9,ye"]
    f.write_text("\n".join(lines), encoding="utf-8")   # no newline at the end: the copy stopped there
    (matrix, rejects), _ = audits(pathway, tmp_path, f)
    assert [r[1] for r in matrix] == [f"R-{k}" for k in range(6)] + ["R-7"]
    assert [r[0] for r in rejects] == [f"{f}:8", f"{f}:10"]
    assert rejects[0][1] == (f"{f}:8: row has 2 cells but the header has 4 columns: the row is short, or the file"
                             " was cut off here; it is not read")
    assert rejects[1][1].startswith(f"{f}:10: row has 3 cells but the header has 4 columns")


def test_a_quoted_cell_left_open_at_the_end_of_the_file_is_not_read(pathway: Pathway, tmp_path: Path) -> None:
    f = tmp_path / "open.csv"
    f.write_text(f'{HEADER}\nR-1,9,yes,"a note, quoted"\nR-2,9,yes,"cut off here\nR-3,9,yes,fine\n', encoding="utf-8")
    (matrix, rejects), _ = audits(pathway, tmp_path, f)
    assert [r[1] for r in matrix] == ["R-1"]
    assert rejects == [[f"{f}:4", f"{f}:4: the file ends inside a quoted cell (it looks cut off): this row is not read"]]


def test_a_quoted_cell_over_128_kib_reads_as_one_cell(pathway: Pathway, tmp_path: Path) -> None:
    """A long letter pasted into the notes: three referrals stay three (the csv module's own limit,
    128 KiB, used to desynchronise the reader and make records of the letter's lines)."""
    letter = "Dear colleague,\n" + "the child's tone was reviewed, and so on.\n" * 6000   # about 250 KB
    f = tmp_path / "letter.csv"
    f.write_text(f'{HEADER}\nR-1,9,yes,"{letter}"\nR-2,8,no,\nR-3,7,yes,short\n', encoding="utf-8")
    assert len(letter) > 128 * 1024
    (matrix, rejects), _ = audits(pathway, tmp_path, f)
    assert [r[1] for r in matrix] == ["R-2", "R-3"]   # R-1's notes are longer than a referral's may be:
    (source, problem), = rejects                      # that record alone is refused, and says why
    assert source == f"{f}:6003" and "'notes'" in problem and "characters" in problem   # the line the row ends on
    assert next(iter(iter_records([f], pathway))).doc.data["notes"] == letter.strip()


def test_a_json_number_in_a_text_field_keeps_its_characters_in_the_audit(pathway: Pathway, tmp_path: Path) -> None:
    f = tmp_path / "ids.jsonl"
    f.write_text('{"referral_id": 1.50, "age_years": 9}\n{"referral_id": "0012"}\n', encoding="utf-8")
    (matrix, rejects), _ = audits(pathway, tmp_path, f)
    assert ([r[1] for r in matrix], rejects) == (["1.50", "0012"], [])
