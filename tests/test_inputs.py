"""Reading many referrals: every record keeps its source, bad ones are records with problems."""
from __future__ import annotations

import csv
import gzip
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from pathway.definition import Pathway
from pathway.errors import Code
from pathway.filekinds import ALL_SUFFIXES
from pathway.inputs import csv_record, expand, iter_records, jsonl_record
from pathway.referral import validate

from .conftest import EXAMPLE, Result

AT = "2026-12-03T09:00:00Z"
NOT_REFERRAL = f"not a referral file (expected one of: {', '.join(ALL_SUFFIXES)})"


def records(pathway: Pathway, *paths: Path) -> list[tuple[str, object, str | None]]:
    return [(r.source, r.doc.data, str(r.problem) if r.problem else None) for r in iter_records(paths, pathway)]


def test_csv_multi_choice_as_pipes_and_as_redcap_checkboxes(pathway: Pathway, tmp_path: Path) -> None:
    f = tmp_path / "r.csv"
    f.write_text(
        "record_id,redcap_event_name,referral_id,functional_impact,risks_discussed___infection,"
        "risks_discussed___withdrawal,referral_form_complete\n"
        "1,baseline,R-1, movement | posture ,1,0,2\n"
        "2,baseline,R-2,,0,1,2\n"
        "3,baseline,R-3,|,,,\n",
        encoding="utf-8",
    )
    got = records(pathway, f)
    assert got == [
        (f"{f}:2", {"referral_id": "R-1", "functional_impact": ["movement", "posture"], "risks_discussed": ["infection"]}, None),
        (f"{f}:3", {"referral_id": "R-2", "risks_discussed": ["withdrawal"]}, None),
        (f"{f}:4", {"referral_id": "R-3", "functional_impact": []}, None),   # '|' chooses nothing: unknown
    ]
    values, problems = validate(got[0][1], tuple(pathway.fields.values()), next(iter_records([f], pathway)).doc)
    assert problems == [] and values is not None
    assert values["functional_impact"] == ("movement", "posture")


def test_redcap_bookkeeping_columns_are_ignored_and_a_misspelt_column_stops_the_file(pathway: Pathway,
                                                                                      tmp_path: Path) -> None:
    f = tmp_path / "r.csv"
    f.write_text("record_id,redcap_repeat_instance,referral_id,site,age_years,x_complete\n1,,R-1,Leeds,9,2\n",
                 encoding="utf-8")
    (record,) = list(iter_records([f], pathway))
    assert record.doc.data == {"referral_id": "R-1", "age_years": "9"}
    f.write_text("record_id,redcap_repeat_instance,referral_id,diagnosis_cpp,x_complete\n1,,R-1,yes,2\n",
                 encoding="utf-8")
    (record,) = list(iter_records([f], pathway))
    assert str(record.problem) == (f"{f}:1:4: column 4, 'diagnosis_cpp', is not a field of this form: did you mean"
                                   " 'diagnosis_cp'? The file is not read, since that field's answers would be missing"
                                   " from every row: rename the column")


def test_a_bad_checkbox_cell_is_reported_as_its_column(pathway: Pathway, tmp_path: Path) -> None:
    f = tmp_path / "r.csv"
    f.write_text("referral_id,risks_discussed___infection\nR-1,yes\n", encoding="utf-8")
    (record,) = list(iter_records([f], pathway))
    _, problems = validate(record.doc.data, tuple(pathway.fields.values()), record.doc)
    assert [str(p) for p in problems] == [
        f"{f}:2:2: unknown field 'risks_discussed___infection' (did you mean 'risks_discussed'?)"]


def test_csv_rows_blank_ragged_and_multiline(pathway: Pathway, tmp_path: Path) -> None:
    f = tmp_path / "r.csv"
    f.write_text('referral_id,notes\n\n , \nR-1,"two\nlines"\nR-2,a,b\n', encoding="utf-8")
    got = records(pathway, f)
    assert got[0] == (f"{f}:5", {"referral_id": "R-1", "notes": "two\nlines"}, None)  # the line the row ends on
    assert got[1][0] == f"{f}:6"
    assert got[1][2] == f"{f}:6: row has 3 cells but the header has 2 columns"
    assert len(got) == 2   # blank rows are not records


def test_jsonl_sources_are_line_numbers_and_positions_are_the_files(pathway: Pathway, tmp_path: Path) -> None:
    f = tmp_path / "r.jsonl"
    f.write_text('{"referral_id": "R-1"}\n\n  \n{"referral_id": "R-2", "gmfcs_level": "VI"}\n{"referral_id": \n',
                 encoding="utf-8")
    got = list(iter_records([f], pathway))
    assert [r.source for r in got] == [f"{f}:1", f"{f}:4", f"{f}:5"]
    _, problems = validate(got[1].doc.data, tuple(pathway.fields.values()), got[1].doc)
    assert [str(p) for p in problems] == [
        f"{f}:4:39: field 'gmfcs_level': 'VI' is not an allowed value; allowed: I, II, III, IV, V (or unknown)"]
    assert str(got[2].problem) == f"{f}:5:17: not valid JSON: Expecting value"


def test_bad_files_are_records_with_problems(pathway: Pathway, tmp_path: Path) -> None:
    (tmp_path / "latin1.jsonl").write_bytes(b'{"referral_id": "caf\xe9"}\n')
    (tmp_path / "broken.yaml").write_text("referral_id: [R\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a referral\n", encoding="utf-8")
    got = records(pathway, tmp_path / "latin1.jsonl", tmp_path / "broken.yaml", tmp_path / "notes.txt",
                  tmp_path / "absent.json")
    assert [(source, problem) for source, _, problem in got] == [
        (f"{tmp_path}/latin1.jsonl", f"{tmp_path}/latin1.jsonl:1: not UTF-8 text (byte 0xE9, at offset 20): save it as UTF-8, or"
                                         " name the encoding it was saved in with --encoding"),
        (f"{tmp_path}/broken.yaml", f"{tmp_path}/broken.yaml:1:14: not valid YAML: the list opened at line 1,"
                                    " column 14 is never closed: the file ends at line 2, column 1 without its ']'"),
        (f"{tmp_path}/notes.txt", f"{tmp_path}/notes.txt: not a referral file (expected one of: .yaml, .yml, .json,"
                                  " .jsonl, .ndjson, .csv, .tsv)"),
        (f"{tmp_path}/absent.json", f"{tmp_path}/absent.json: file not found"),
    ]


def test_folders_are_expanded_sorted_without_hidden_files(tmp_path: Path) -> None:
    for name in ("b.yaml", "a/c.json", "a/d.csv", ".hidden/e.yaml", "f.txt", "a/.g.yaml"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}", encoding="utf-8")
    # f.txt is listed, for `read_file` to say it is not a referral file: only hidden names are left out
    assert [p.relative_to(tmp_path).as_posix() for p in expand([tmp_path])] == ["a/c.json", "a/d.csv", "b.yaml",
                                                                                "f.txt"]


def test_single_records_read_the_same_as_whole_files(pathway: Pathway, tmp_path: Path) -> None:
    f = tmp_path / "r.jsonl"
    f.write_text('{"referral_id": "R-1"}\n{"referral_id": "R-2", "age_years": 99}\n', encoding="utf-8")
    whole = list(iter_records([f], pathway))
    assert jsonl_record('{"referral_id": "R-2", "age_years": 99}', str(f), 2) == whole[1]
    assert csv_record(["referral_id"], ["  "], "r.csv", 2, pathway) is None


@pytest.fixture
def odd_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder as people leave one: a referral, and around it what is not read. Root may read
    anything, so the folder and the file the system would refuse are refused by `os.scandir` and
    `Path.read_bytes` here, with the system's own error."""
    folder = tmp_path / "referrals"
    (folder / "clinic" / "locked").mkdir(parents=True)
    (folder / ".git").mkdir()
    (folder / ".git" / "HEAD.yaml").write_text("{}", encoding="utf-8")    # hidden: not read, not listed
    (folder / ".~lock.book.xlsx#").write_text("", encoding="utf-8")
    shutil.copy(EXAMPLE, folder / "R-001.yaml")
    (folder / "notes.txt").write_text("to do\n", encoding="utf-8")
    (folder / "export.csv.gz").write_bytes(gzip.compress(b"referral_id\nR-2\n"))
    (folder / "book.xlsx").write_bytes(b"PK\x03\x04")
    (folder / "moved.yaml").symlink_to("elsewhere/R-3.yaml")
    os.mkfifo(folder / "pipe.csv")                    # reading it would wait for a writer for ever
    (folder / "clinic" / "secret.json").write_text('{"referral_id": "R-5"}', encoding="utf-8")
    (folder / "clinic" / "again").symlink_to("..")   # the folder itself once more: read once
    locked, secret = folder / "clinic" / "locked", folder / "clinic" / "secret.json"
    scandir, read_bytes = os.scandir, Path.read_bytes

    def refused_scandir(path: str | Path) -> object:
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)

    def refused_read(self: Path) -> bytes:
        if self == secret:
            raise PermissionError(13, "Permission denied", str(self))
        return read_bytes(self)

    monkeypatch.setattr(os, "scandir", refused_scandir)
    monkeypatch.setattr(Path, "read_bytes", refused_read)
    return folder


def not_read(folder: Path) -> list[tuple[str, str]]:
    """What `odd_folder` holds that is not read, each once, in the order read: (source, problem)."""
    return [(f"{folder}/{name}", f"{folder}/{name}: {why}") for name, why in [
        ("book.xlsx", 'a workbook (.xlsx), not a referral file: save it as "CSV UTF-8 (Comma delimited)" and name'
                      " the .csv file"),
        ("clinic/locked", "cannot read folder: Permission denied"),
        ("clinic/secret.json", "cannot read: Permission denied"),
        ("export.csv.gz", "a compressed file (.gz), not read: decompress it (gunzip export.csv.gz) and name the .csv"
                          " file it holds"),
        ("moved.yaml", "broken link: it points to elsewhere/R-3.yaml, which is not there"),
        ("notes.txt", NOT_REFERRAL),
        ("pipe.csv", "not a regular file (a FIFO): not read"),
    ]]


def test_what_a_folder_holds_that_is_not_read_is_said_once_each(pathway: Pathway, odd_folder: Path) -> None:
    got = list(iter_records([odd_folder], pathway))
    assert [(r.source, str(r.problem)) for r in got] == [(f"{odd_folder}/R-001.yaml", "None"), *not_read(odd_folder)]
    assert [r.problem.code for r in got if r.problem] == [
        Code.NOT_A_REFERRAL_FILE, Code.CANNOT_READ, Code.CANNOT_READ, Code.COMPRESSED_FILE, Code.BROKEN_LINK,
        Code.NOT_A_REFERRAL_FILE, Code.NOT_A_REGULAR_FILE]


@pytest.mark.parametrize("engine", ["row", "columnar"])
def test_the_audit_lists_what_a_folder_holds_that_is_not_read(runner: Callable[..., Result], odd_folder: Path,
                                                              tmp_path: Path, engine: str) -> None:
    rejects = tmp_path / "rejects.csv"
    r = runner("audit", str(odd_folder), "-o", str(tmp_path / "audit.html"), "--rejects", str(rejects), "--now", AT,
               "--engine", engine)
    assert r.code == 0, r.err
    assert r.err.startswith("audit: 8 records = 1 evaluated + 7 not evaluated (")
    with rejects.open(encoding="utf-8", newline="") as f:
        assert list(csv.reader(f))[1:] == [list(row) for row in not_read(odd_folder)]


def test_the_packet_lists_what_a_folder_holds_that_is_not_read(runner: Callable[..., Result], odd_folder: Path,
                                                               tmp_path: Path) -> None:
    r = runner("mdt", str(odd_folder), "-o", str(tmp_path / "p.html"), "--now", AT)
    assert r.code == 0
    assert r.err.splitlines() == [problem for _, problem in not_read(odd_folder)] + [
        f"wrote {tmp_path}/p.html (html): 1 referral included, 7 not included (listed on the cover)"]


def test_a_broken_link_named_is_said_to_be_one(runner: Callable[..., Result], tmp_path: Path) -> None:
    (tmp_path / "R-9.yaml").symlink_to(tmp_path / "gone" / "R-9.yaml")
    r = runner("mdt", str(tmp_path / "R-9.yaml"), "-o", str(tmp_path / "p.html"))
    assert (r.code, r.err) == (2, f"{tmp_path}/R-9.yaml: broken link: it points to {tmp_path}/gone/R-9.yaml, which is"
                                  " not there\npathway: 1 problem(s); nothing was produced.\n")


EMPTY = {
    "empty.jsonl": (b"", "the file is empty"),
    "blank.jsonl": (b"\n  \r\n", "the file is blank lines only"),
    "bom.csv": (b"\xef\xbb\xbf", "the file is empty"),
    "header.csv": (b"referral_id,age_years\r\n", "the file has a header row and no row under it"),
    "header-blank-rows.csv": (b"referral_id,age_years\n\n,\n", "no row under the header holds one"),
    "empty.yaml": (b"", "the file is empty"),
}


def test_a_file_that_holds_no_referral_says_so_once(pathway: Pathway, runner: Callable[..., Result],
                                                    tmp_path: Path) -> None:
    for name, (content, _) in EMPTY.items():
        (tmp_path / name).write_bytes(content)
    expected = [(f"{tmp_path}/{name}", f"{tmp_path}/{name}: holds no referral: {why}") for name, (_, why) in EMPTY.items()]
    got = list(iter_records([tmp_path / name for name in EMPTY], pathway))
    assert [(r.source, str(r.problem)) for r in got] == expected
    assert {r.problem.code for r in got if r.problem} == {Code.EMPTY_INPUT}
    r = runner("mdt", *(str(tmp_path / name) for name in EMPTY), "-o", str(tmp_path / "p.html"), "--now", AT)
    assert r.code == 2
    assert r.err.splitlines() == [problem for _, problem in expected] + [
        f"wrote {tmp_path}/p.html (html): 0 referrals included, 6 not included (listed on the cover)",
        "pathway mdt: no referral could be included; the packet lists why"]


def test_an_audit_with_no_record_at_all_says_so(runner: Callable[..., Result], tmp_path: Path) -> None:
    (tmp_path / "header.csv").write_text("referral_id,age_years\n\n\n", encoding="utf-8")
    r = runner("audit", str(tmp_path / "header.csv"), "-o", str(tmp_path / "audit.html"), "--now", AT)
    assert r.code == 0
    assert r.err.startswith("audit: 0 records = 0 evaluated + 0 not evaluated; no record found in the inputs (")
    html = (tmp_path / "audit.html").read_text(encoding="utf-8")
    assert ('<p class="notice" role="alert"><strong>No record was found in the inputs:</strong> there is nothing to'
            " audit, and every count below is zero.") in html
    assert "<p>None: no record was read.</p>" in html and "every record read was evaluated" not in html
    (tmp_path / "empty.yaml").write_text("", encoding="utf-8")
    r = runner("audit", str(tmp_path / "empty.yaml"), "-o", str(tmp_path / "audit.html"), "--now", AT)
    assert (r.code, r.err.split(" (")[0]) == (0, "audit: 1 record = 0 evaluated + 1 not evaluated")
    assert ('<p class="notice" role="alert"><strong>No record could be evaluated:</strong> every count below is'
            " zero.") in (tmp_path / "audit.html").read_text(encoding="utf-8")
