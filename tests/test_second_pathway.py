"""A second pathway, written from docs/rules.md alone (tests/data/hip-check), through every job.

The bundled pathway shapes much of what the code meets (a `referral_date`, its field ids, its
words); this one has none of those, so code that assumes them fails here: the columnar audit
once asked every batch for `referral_date`, and the web pages called every pathway "ITB".
"""
from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pathway.cli import main
from pathway.definition import Pathway
from pathway.loader import load_pathway
from pathway.web.app import create_app

from .audit_support import reference, run_audit, statuses_of
from .conftest import FIXED, ROOT

HIP = ROOT / "tests" / "data" / "hip-check"
COLUMNS = ("referral_id", "age", "xray_date", "level", "seen", "aids", "migration", "note")


@pytest.fixture(scope="module")
def hip() -> Pathway:
    return load_pathway(HIP)


def _cells(rng: random.Random, k: int) -> list[str]:
    """One CSV row: valid answers, blanks, unknowns and values the form refuses, mixed."""
    return [
        f"H-{k}",
        rng.choice(["", "7", "17", "18", "3.5", "unknown", "19", "x", " 12 "]),
        rng.choice(["", "2026-01-05", "2026-02-30", "soon", "unknown"]),
        rng.choice(["", "I", "II", "III", " III", "IV", "unknown"]),
        rng.choice(["", "yes", "no", "Yes", "maybe", "unknown"]),
        rng.choice(["", "afo", "afo|kafo", "none", "none|afo", "kafo|zzz"]),
        rng.choice(["", "10", "31", "100", "101", "30.5"]),
        rng.choice(["", "short", "x" * 21, "=cmd"]),
    ]


def _json(row: list[str], nulls: bool) -> str:
    """The row as a JSON line: lists for the multi-choice, numbers where the cell is one."""
    out: dict[str, object] = {}
    for column, cell in zip(COLUMNS, row):
        if cell == "":
            if nulls:
                out[column] = None
            continue
        value: object = cell
        if column == "aids":
            value = cell.split("|")
        elif column in ("age", "migration") and cell.replace(".", "", 1).isdigit():
            value = float(cell) if "." in cell else int(cell)
        out[column] = value
    return json.dumps(out)


def _exports(folder: Path, n: int) -> dict[str, Path]:
    rng = random.Random(7)
    rows = [_cells(rng, k) for k in range(n)]
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "hip.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    (folder / "hip.jsonl").write_text("".join(_json(r, False) + "\n" for r in rows), encoding="utf-8")
    (folder / "hip-nulls.jsonl").write_text("".join(_json(r, True) + "\n" for r in rows), encoding="utf-8")
    return {p.name: p for p in folder.iterdir()}


def test_its_example_cases_pass(hip: Pathway) -> None:
    assert len(hip.cases) == 4
    assert "referral_date" not in hip.fields and hip.short_title == hip.title


@pytest.mark.parametrize("name", ["hip.csv", "hip.jsonl", "hip-nulls.jsonl"])
def test_both_audit_engines_agree_with_the_row_validator(hip: Pathway, tmp_path: Path, name: str) -> None:
    source = _exports(tmp_path / "in", 900)[name]
    rows, rejected = reference(hip, source)
    assert len(rows) > 50 and len(rejected) > 50   # both kinds of record are met
    columnar = run_audit(hip, tmp_path / "columnar", source, batch=250, engine="columnar")
    row = run_audit(hip, tmp_path / "row", source, batch=250, engine="row")
    assert statuses_of(columnar) == statuses_of(row) == rows
    assert columnar.rejects == row.rejects == rejected
    assert columnar.matrix_bytes == row.matrix_bytes
    assert all(r[2] == "" for r in columnar.matrix)   # no referral date: the column is empty, not made up
    assert columnar.page.period is None and columnar.page.undated == len(rows)


def test_check_and_packet_speak_of_this_pathway(tmp_path: Path) -> None:
    referral = tmp_path / "r.yaml"
    referral.write_text("referral_id: H-9\nage: 7\nseen: yes\nmigration: 45\naids: [afo]\n", encoding="utf-8")
    out = io.StringIO()
    assert main(["check", str(referral), "--rules", str(HIP), "--format", "md"], stdout=out) == 0
    text = out.getvalue()
    assert text.startswith("# Hip surveillance referral (test pathway)\n")
    assert "3 of 4 applicable items documented; no points to discuss." in text
    assert "ITB" not in text
    html = tmp_path / "packet.html"
    assert main(["mdt", str(referral), "--rules", str(HIP), "-o", str(html), "--meeting-date", "2026-12-03"],
                stdout=io.StringIO()) == 0
    assert "Hip surveillance referral (test pathway)" in html.read_text(encoding="utf-8")


def test_web_pages_and_cds_card_are_named_by_the_pathway() -> None:
    with TestClient(create_app(HIP, clock=lambda: FIXED)) as client:
        for path, status in (("/", 200), ("/audit", 200), ("/mdt", 200), ("/audit/jobs/0000000000000000", 404),
                             ("/mdt/jobs/0000000000000000", 404)):
            page = client.get(path)
            assert page.status_code == status, path
            title = page.text.split("<title>")[1].split("</title>")[0]
            assert "Hip surveillance referral (test pathway)" in title and "ITB" not in title, path
        service = client.get("/cds-services").json()["services"][0]
        assert service["title"] == "Hip surveillance referral (test pathway) (advisory)"
