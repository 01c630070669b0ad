"""Real exports as people make them (issue 17): every shape gives the counts its content means,
or a message naming the file, line and reason; both audit engines agree on every record."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pathway.csvlayout import AS_FOUND, Reading
from pathway.definition import Pathway
from pathway.inputs import iter_records

from .audit_support import Audit, reference, run_audit
from .conftest import Result

HEADER = "referral_id,age_years,diagnosis_cp,notes"


def audits(pathway: Pathway, tmp_path: Path, f: Path,
           reading: Reading = AS_FOUND) -> list[tuple[list[list[str]], list[list[str]]]]:
    """The matrix (less the completeness columns) and rejects of both engines, checked against the
    reference reading (`inputs`, one record at a time)."""
    rows, rejected = reference(pathway, f, reading=reading)
    out = []
    for engine in ("row", "columnar"):
        result = run_audit(pathway, tmp_path / engine, f, engine=engine, batch=2, reading=reading)
        assert [r[:2] + r[6:] for r in result.matrix] == rows, engine
        assert result.rejects == rejected, engine
        assert result.page.records == len(rows) + len(rejected) + result.page.skipped
        out.append((result.matrix, result.rejects))
    return out


def page_of(pathway: Pathway, tmp_path: Path, f: Path, reading: Reading = AS_FOUND,
            engine: str = "columnar") -> Audit:
    return run_audit(pathway, tmp_path / f"page-{engine}", f, engine=engine, batch=2, reading=reading)


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


# --- encodings ---------------------------------------------------------------

def test_excel_cp1252_is_named_once_with_the_line_and_the_fix_and_reads_with_encoding(
        pathway: Pathway, tmp_path: Path) -> None:
    f = tmp_path / "excel.csv"
    f.write_bytes(f"{HEADER}\nR-1,9,yes,fine\nR-2,8,no,caf\u00e9 au lait\nR-3,7,yes,ok\n".encode("cp1252"))
    at = f.read_bytes().index(b"\xe9")
    (matrix, rejects), _ = audits(pathway, tmp_path / "plain", f)
    assert matrix == [] and rejects == [[str(f), f"{f}:3: not UTF-8 text (byte 0xE9, at offset {at}): if Excel saved it"
                                         ' as "CSV (Comma delimited)", read it with --encoding cp1252, or save it as'
                                         ' "CSV UTF-8 (Comma delimited)"']]
    (matrix, rejects), _ = audits(pathway, tmp_path / "cp1252", f, Reading(encoding="cp1252"))
    assert [r[1] for r in matrix] == ["R-1", "R-2", "R-3"] and rejects == []
    (record, *_) = [r for r in iter_records([f], pathway, Reading(encoding="cp1252")) if r.source.endswith(":3")]
    assert record.doc.data["notes"] == "caf\u00e9 au lait"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig"])
def test_utf16_and_utf8_with_a_bom_read_as_they_are(pathway: Pathway, tmp_path: Path, encoding: str) -> None:
    """Excel's "Unicode text" is UTF-16 with a BOM, and tab-delimited."""
    f = tmp_path / "unicode.txt.csv"
    f.write_bytes("referral_id\tage_years\tnotes\r\nR-1\t9\tZo\u00eb\r\nR-2\t8\t\r\n".encode(encoding))
    (matrix, rejects), _ = audits(pathway, tmp_path, f)
    assert [r[1] for r in matrix] == ["R-1", "R-2"] and rejects == []
    assert next(iter(iter_records([f], pathway))).doc.data == {"referral_id": "R-1", "age_years": "9", "notes": "Zo\u00eb"}


# --- delimiters --------------------------------------------------------------

@pytest.mark.parametrize(("name", "text"), [
    ("semicolon.csv", "referral_id;age_years;diagnosis_cp;notes\nR-1;9,5;yes;a, b\nR-2;8;no;\n"),
    ("hint.csv", "sep=;\nreferral_id;age_years;diagnosis_cp;notes\nR-1;9,5;yes;a, b\nR-2;8;no;\n"),
    ("tabs.tsv", "referral_id\tage_years\tdiagnosis_cp\tnotes\nR-1\t9,5\tyes\ta, b\nR-2\t8\tno\t\n"),
])
def test_semicolon_tab_and_excel_sep_hint_are_found_from_the_header(pathway: Pathway, tmp_path: Path,
                                                                     name: str, text: str) -> None:
    f = tmp_path / name
    f.write_text(text, encoding="utf-8")
    (matrix, rejects), _ = audits(pathway, tmp_path, f)
    line = 3 if name == "hint.csv" else 2   # the sep= line counts: lines are the file's
    assert [r[1] for r in matrix] == ["R-2"] and [r[0] for r in rejects] == [f"{f}:{line}"]
    assert "'9,5' is not a number" in rejects[0][1]   # a decimal comma is refused, never read as 95 or 9
    records = list(iter_records([f], pathway))
    assert records[0].doc.data["notes"] == "a, b"


def test_delimiter_can_be_forced(pathway: Pathway, tmp_path: Path) -> None:
    f = tmp_path / "odd.csv"
    f.write_text("referral_id;notes\nR-1;a\n", encoding="utf-8")
    (matrix, rejects), _ = audits(pathway, tmp_path / "semi", f, Reading(delimiter=";"))
    assert [r[1] for r in matrix] == ["R-1"]
    (matrix, rejects), _ = audits(pathway, tmp_path / "comma", f, Reading(delimiter=","))
    assert matrix == [] and "names none of the form's fields" in rejects[0][1]


# --- headers -----------------------------------------------------------------

def test_headers_match_ignoring_case_and_spaces(pathway: Pathway, tmp_path: Path) -> None:
    f = tmp_path / "upper.csv"
    f.write_text(" REFERRAL_ID ,Age_Years,DIAGNOSIS_CP, Functional_Impact___Movement\nR-1,9,yes,1\n", encoding="utf-8")
    (matrix, rejects), _ = audits(pathway, tmp_path, f)
    assert rejects == [] and [r[1] for r in matrix] == ["R-1"]
    assert next(iter(iter_records([f], pathway))).doc.data == {
        "referral_id": "R-1", "age_years": "9", "diagnosis_cp": "yes", "functional_impact": ["movement"]}


def test_redcap_own_columns_are_recognised_and_other_columns_listed_once_as_not_used(
        pathway: Pathway, tmp_path: Path) -> None:
    f = tmp_path / "survey.csv"
    f.write_text("referral_id,redcap_survey_identifier,itb_cp_referral_timestamp,redcap_data_access_group,site,"
                 "mrn_hash,age_years,itb_cp_referral_complete\n"
                 "R-1,,2026-03-04 10:00:00,north,Leeds,ab12,9,2\nR-2,,[not completed],north,York,cd34,8,0\n",
                 encoding="utf-8")
    (matrix, rejects), _ = audits(pathway, tmp_path, f)
    assert rejects == [] and [r[1] for r in matrix] == ["R-1", "R-2"]
    notices: list[str] = []
    list(iter_records([f], pathway, notices=notices))
    assert notices == [f"{f}: columns 'site', 'mrn_hash' not used: not a field of this form (its rows are read"
                       " without it)"]
    for engine in ("row", "columnar"):
        page = page_of(pathway, tmp_path, f, engine=engine)
        assert page.page.notices == tuple(notices)
        assert page.html.count("mrn_hash") == 1


@pytest.mark.parametrize(("header", "message"), [
    ("referral_id,referal_date,age_years", "column 2, 'referal_date', is not a field of this form: did you mean"
     " 'referral_date'? The file is not read, since that field's answers would be missing from every row: rename the"
     " column"),
    ("referral_id,functonal_impact___movement", "column 2, 'functonal_impact___movement', is not a field of this form:"
     " did you mean 'functional_impact___movement'?"),
    ("Referral id,Referral date,Age", "the header holds the questions' labels ('Referral id', 'Referral date', 'Age'),"
     ' not their field ids: this looks like a REDCap export of labels. Export the data again as "CSV / Microsoft'
     ' Excel (raw data)"'),
    ("age_years,notes", "no column gives 'referral_id', which every referral needs: add the column"),
])
def test_a_header_problem_is_said_once_for_the_file(pathway: Pathway, tmp_path: Path, header: str,
                                                    message: str) -> None:
    f = tmp_path / "bad-header.csv"
    f.write_text(header + "\n" + "\n".join(f"R-{k},2026-01-0{k},9" for k in range(1, 6)) + "\n", encoding="utf-8")
    (matrix, rejects), _ = audits(pathway, tmp_path, f)
    assert matrix == [] and len(rejects) == 1 and rejects[0][0] == str(f)
    assert rejects[0][1].startswith(f"{f}:1") and message in rejects[0][1]


def test_a_title_line_above_the_header_is_one_message(pathway: Pathway, tmp_path: Path) -> None:
    f = tmp_path / "titled.csv"
    f.write_text("ITB referrals, export of March\nreferral_id,age_years\nR-1,9\nR-2,8\n", encoding="utf-8")
    (matrix, rejects), _ = audits(pathway, tmp_path, f)
    assert matrix == [] and rejects == [[str(f), f"{f}:1: line 1 ('ITB referrals, export of March') is not the header:"
                                         " the header seems to be line 2; delete the line above it"]]


# --- REDCap ------------------------------------------------------------------

LONGITUDINAL = ("referral_id,redcap_event_name,redcap_repeat_instrument,redcap_repeat_instance,age_years,"
                "functional_impact___movement,followup_score,itb_cp_referral_complete\n"
                "R-1,referral_arm_1,,,9,1,,2\n"
                "R-1,followup_arm_1,,,,0,12,\n"         # another event's row: this form is not in it
                "R-1,followup_arm_1,visits,1,,0,,\n"    # a repeat instance of another form
                "R-2,referral_arm_1,,,8,0,,0\n"          # this form, not started: a referral with nothing documented
                "R-2,followup_arm_1,,,,0,UNK,\n"
                "R-3,referral_arm_1,,,7,,,2\n"
                "R-3,referral_arm_1,itb_cp_referral,2,7,1,,1\n")   # a repeat instance of this form: the id again


def test_redcap_longitudinal_and_repeating_rows_are_skipped_and_counted(pathway: Pathway, tmp_path: Path) -> None:
    f = tmp_path / "ITBReferrals_DATA_2026-12-03.csv"
    f.write_text(LONGITUDINAL, encoding="utf-8")
    (matrix, rejects), _ = audits(pathway, tmp_path, f)
    assert [r[1] for r in matrix] == ["R-1", "R-2", "R-3", "R-3"] and rejects == []
    for engine in ("row", "columnar"):
        result = page_of(pathway, tmp_path, f, engine=engine)
        page = result.page
        assert (page.records, page.evaluated, page.rejected, page.skipped) == (7, 4, 0, 3)
        assert "Records read: 7 = 4 evaluated + 0 that could not be evaluated + 3 REDCap rows skipped." in result.html
        assert "a record's row for another event or another form" in result.html
        assert (page.duplicate_ids, page.duplicates) == (1, (("R-3", 2),))
        assert "1 referral id is given more than once</strong> (2 evaluated records)" in result.html
    notices: list[str] = []
    assert len(list(iter_records([f], pathway, notices=notices))) == 4
    assert notices[-1] == (f"{f}: 3 rows skipped, REDCap event or repeat rows holding none of this form's answers"
                           " (the record's row for another event or form)")


def test_without_redcap_event_columns_a_row_with_only_an_id_is_a_referral(pathway: Pathway, tmp_path: Path) -> None:
    f = tmp_path / "plain.csv"
    f.write_text("referral_id,age_years\nR-1,\nR-2,8\n", encoding="utf-8")
    (matrix, rejects), _ = audits(pathway, tmp_path, f)
    assert [r[1] for r in matrix] == ["R-1", "R-2"]


def test_redcap_missing_data_codes_read_as_not_documented(pathway: Pathway, tmp_path: Path) -> None:
    f = tmp_path / "codes.csv"
    f.write_text("referral_id,age_years,diagnosis_cp,gmfcs_level,referral_date,notes\n"
                 "R-1,NA,UNK,NASK,NAVU,ASKU\nR-2,9,yes,IV,2026-03-04,fine\n", encoding="utf-8")
    (matrix, rejects), _ = audits(pathway, tmp_path, f)
    assert rejects == [] and [r[1] for r in matrix] == ["R-1", "R-2"]
    first = next(iter(iter_records([f], pathway)))
    assert first.doc.data == {"referral_id": "R-1"}


@pytest.mark.parametrize(("cell", "hint"), [
    ("Checked", ' (REDCap writes Checked and Unchecked in an export of labels: export the data again as "CSV /'
     ' Microsoft Excel (raw data)")'),
    ("yes", ""),
])
def test_a_checkbox_value_other_than_0_or_1_names_the_column_and_the_value(pathway: Pathway, tmp_path: Path,
                                                                           cell: str, hint: str) -> None:
    f = tmp_path / "boxes.csv"
    f.write_text(f"referral_id,functional_impact___movement\nR-1,{cell}\nR-2,1\n", encoding="utf-8")
    (matrix, rejects), _ = audits(pathway, tmp_path, f)
    assert [r[1] for r in matrix] == ["R-2"]
    assert rejects == [[f"{f}:2", f"{f}:2:2: column 'functional_impact___movement': a checkbox column holds 1 (ticked)"
                        f" or 0, not '{cell}'{hint}"]]


# --- dates -------------------------------------------------------------------

def test_date_times_read_as_the_date_and_reformatted_dates_are_refused(pathway: Pathway, tmp_path: Path) -> None:
    f = tmp_path / "dates.csv"
    f.write_text("referral_id,referral_date\nR-1,2026-03-04 00:00:00\nR-2,2026-03-04T00:00:00\nR-3,04/03/2026\n"
                 "R-4,46085\nR-5,2026-03-04\n", encoding="utf-8")
    (matrix, rejects), _ = audits(pathway, tmp_path, f)
    assert [r[1] for r in matrix] == ["R-1", "R-2", "R-5"]
    assert rejects == [[f"{f}:{n}", f"{f}:{n}:2: field 'referral_date': '{v}' is not a date: use YYYY-MM-DD (Excel may"
                        " have reformatted it)"] for n, v in ((4, "04/03/2026"), (5, "46085"))]
    values = [r.doc.data for r in iter_records([f], pathway)]
    assert values[0]["referral_date"] == "2026-03-04 00:00:00"   # read as written; the date when validated


# --- the commands' options ---------------------------------------------------

def test_check_reads_utf16_and_a_named_encoding_and_says_what_to_do_otherwise(runner: Callable[..., Result],
                                                                               tmp_path: Path) -> None:
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("referral_id: R-1\nnotes: café\n".encode("cp1252"))
    r = runner("check", str(latin), "--format", "json")
    assert r.code == 2 and r.err.startswith(f"{latin}:2: not UTF-8 text (byte 0xE9, at offset 27): save it as UTF-8,"
                                            " or name the encoding it was saved in with --encoding\n")
    r = runner("check", str(latin), "--format", "json", "--encoding", "cp1252")
    assert r.code == 0 and '"referral_id": "R-1"' in r.out
    wide = tmp_path / "wide.yaml"
    wide.write_bytes("referral_id: R-16\n".encode("utf-16"))
    r = runner("check", str(wide), "--format", "json")
    assert r.code == 0 and '"referral_id": "R-16"' in r.out


def test_audit_takes_encoding_and_delimiter_and_refuses_names_it_does_not_know(
        runner: Callable[..., Result], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "excel.csv"
    f.write_bytes("referral_id;notes\r\nR-1;Zoë\r\n".encode("cp1252"))
    out = tmp_path / "a.html"
    r = runner("audit", str(f), "-o", str(out), "--encoding", "cp1252", "--delimiter", "semicolon")
    assert r.code == 0 and r.err.startswith("audit: 1 record = 1 evaluated + 0 not evaluated")
    for option, value, message in (("--encoding", "klingon", "not an encoding Python knows: 'klingon'"),
                                   ("--delimiter", "pipe", "must be comma, semicolon or tab, not 'pipe'")):
        with pytest.raises(SystemExit) as info:
            runner("audit", str(f), "-o", str(out), option, value)
        assert info.value.code == 2 and f"argument {option}: {message}" in capsys.readouterr().err


def test_answers_to_questions_not_asked_are_set_aside_by_both_engines(pathway: Pathway, tmp_path: Path) -> None:
    """Issue 19, through a real export: an answer whose question the row's own answers say is not asked is
    not used, by either engine, as `pathway check` decides it (a chain: severity asked when the diagnosis
    is confirmed, the distribution when severity is moderate or severe; unknown keeps the answer)."""
    from .test_set_aside import chained

    p = chained(pathway)
    f = tmp_path / "chain.csv"
    f.write_text("referral_id,diagnosis_cp,spasticity_severity,spasticity_distribution\n"
                 "R-1,no,severe,diffuse\nR-2,yes,severe,diffuse\nR-3,,severe,diffuse\nR-4,yes,mild,diffuse\n"
                 "R-5, YES ,severe,diffuse\n", encoding="utf-8")
    audits(p, tmp_path, f)   # both engines agree with the reference, record by record
    rows, _ = reference(p, f)
    at = 2 + [i.id for i in p.items].index("indication.diffuse_or_severe")
    assert [(r[1], r[at]) for r in rows] == [("R-1", "missing"), ("R-2", "met"), ("R-3", "met"), ("R-4", "missing"),
                                             ("R-5", "met")]


def test_a_semicolon_file_without_quotes_is_read_in_byte_ranges_as_the_row_engine_reads_it(
        pathway: Pathway, tmp_path: Path) -> None:
    from pathway.audit.sources import check_inputs, plan

    f = tmp_path / "semi.csv"
    f.write_text("referral_id;age_years;diagnosis_cp\n" + "".join(f"R-{k};{k % 19};yes\n" for k in range(40))
                 + "R-x;9;maybe\n", encoding="utf-8")
    assert {t.kind for t in plan(check_inputs([str(f)]), 10, pathway)} == {"csv"}   # Polars' byte ranges
    (matrix, rejects), _ = audits(pathway, tmp_path, f)
    assert len(matrix) == 40 and [r[0] for r in rejects] == [f"{f}:42"]


def test_the_packet_reads_exports_as_the_audit_does_and_says_what_it_does_not_use(
        runner: Callable[..., Result], tmp_path: Path) -> None:
    f = tmp_path / "export.csv"
    f.write_bytes("referral_id;redcap_event_name;site;age_years;itb_cp_referral_complete\r\n"
                  "R-1;referral_arm_1;Zoë's;9;2\r\nR-1;followup_arm_1;x;;\r\nR-2;referral_arm_1;y;8;0\r\n"
                  .encode("cp1252"))
    out = tmp_path / "packet.html"
    r = runner("mdt", str(f), "-o", str(out), "--now", "2026-12-03T09:00:00Z")
    assert r.code == 2 and "not UTF-8 text (byte 0xEB" in r.err and "--encoding cp1252" in r.err
    r = runner("mdt", str(f), "-o", str(out), "--now", "2026-12-03T09:00:00Z", "--encoding", "cp1252")
    assert r.code == 0, r.err
    assert r.err.splitlines()[:2] == [
        f"{f}: column 'site' not used: not a field of this form (its rows are read without it)",
        f"{f}: 1 row skipped, REDCap event or repeat row holding none of this form's answers (the record's row for"
        " another event or form)"]
    assert r.err.endswith("2 referrals included, 0 not included\n")
