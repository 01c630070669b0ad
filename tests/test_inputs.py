"""Reading many referrals: every record keeps its source, bad ones are records with problems."""
from __future__ import annotations

from pathlib import Path

from pathway.definition import Pathway
from pathway.inputs import csv_record, expand, iter_records, jsonl_record
from pathway.referral import validate


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


def test_redcap_bookkeeping_columns_are_ignored_but_unknown_columns_are_not(pathway: Pathway, tmp_path: Path) -> None:
    f = tmp_path / "r.csv"
    f.write_text("record_id,redcap_repeat_instance,referral_id,diagnosis,x_complete\n1,,R-1,yes,2\n", encoding="utf-8")
    (record,) = list(iter_records([f], pathway))
    assert record.doc.data == {"referral_id": "R-1", "diagnosis": "yes"}
    _, problems = validate(record.doc.data, tuple(pathway.fields.values()), record.doc)
    assert [str(p) for p in problems] == [f"{f}:2:4: unknown field 'diagnosis' (did you mean 'diagnosis_cp'?)"]


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
        (f"{tmp_path}/latin1.jsonl", f"{tmp_path}/latin1.jsonl: not UTF-8 text (byte 20)"),
        (f"{tmp_path}/broken.yaml", f"{tmp_path}/broken.yaml:2:1: not valid YAML: while parsing a flow sequence"
                                    " expected ',' or ']', but got '<stream end>'"),
        (f"{tmp_path}/notes.txt", f"{tmp_path}/notes.txt: not a referral file (expected one of: .yaml, .yml, .json,"
                                  " .jsonl, .ndjson, .csv)"),
        (f"{tmp_path}/absent.json", f"{tmp_path}/absent.json: file not found"),
    ]


def test_folders_are_expanded_sorted_without_hidden_files(tmp_path: Path) -> None:
    for name in ("b.yaml", "a/c.json", "a/d.csv", ".hidden/e.yaml", "f.txt", "a/.g.yaml"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}", encoding="utf-8")
    assert [p.relative_to(tmp_path).as_posix() for p in expand([tmp_path])] == ["a/c.json", "a/d.csv", "b.yaml"]


def test_single_records_read_the_same_as_whole_files(pathway: Pathway, tmp_path: Path) -> None:
    f = tmp_path / "r.jsonl"
    f.write_text('{"referral_id": "R-1"}\n{"referral_id": "R-2", "age_years": 99}\n', encoding="utf-8")
    whole = list(iter_records([f], pathway))
    assert jsonl_record('{"referral_id": "R-2", "age_years": 99}', str(f), 2) == whole[1]
    assert csv_record(["referral_id"], ["  "], "r.csv", 2, pathway) is None
