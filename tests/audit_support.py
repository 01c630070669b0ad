"""Shared by the audit tests: run an audit into a folder, and the row-by-row reference audit."""
from __future__ import annotations

import csv
import datetime as dt
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pathway.audit.page import AuditPage
from pathway.audit.service import Outputs, Runner, audit
from pathway.backends import get_evaluator
from pathway.csvlayout import AS_FOUND, Reading
from pathway.definition import Pathway
from pathway.engine import evaluate
from pathway.inputs import iter_records
from pathway.referral import validate

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import synth  # noqa: E402

AT = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.timezone.utc)
referrals = synth.referrals
write_both = synth.write_both


@dataclass
class Audit:
    page: AuditPage
    html: str
    matrix: list[list[str]]
    rejects: list[list[str]]
    matrix_bytes: bytes
    rejects_bytes: bytes


def run_audit(pathway: Pathway, out: Path, *inputs: Path | str, batch: int = 50_000, keep: int = 1000,
              rejects: bool = True, engine: str = "columnar", runner: Runner | None = None,
              reading: Reading = AS_FOUND) -> Audit:
    out.mkdir(parents=True, exist_ok=True)
    outputs = Outputs(str(out / "audit.html"), str(out / "matrix.csv"), str(out / "rejects.csv") if rejects else None)
    page = audit(pathway, [str(i) for i in inputs], outputs, batch=batch, keep=keep, clock=lambda: AT,
                 engine=engine, runner=runner, reading=reading)
    matrix_bytes = (out / "matrix.csv").read_bytes()
    rejects_bytes = (out / "rejects.csv").read_bytes() if rejects else b""
    return Audit(page, (out / "audit.html").read_text(encoding="utf-8"), _rows(matrix_bytes), _rows(rejects_bytes),
                 matrix_bytes, rejects_bytes)


def _rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(data.decode("utf-8").splitlines(keepends=True)))[1:] if data else []


def reference(pathway: Pathway, *inputs: Path | str,
              reading: Reading = AS_FOUND) -> tuple[list[list[str]], list[list[str]]]:
    """The audit done the slow way: every record read by `inputs`, validated and evaluated one by one
    (REDCap rows of another event or form are not records: `iter_records` leaves them out)."""
    fields = tuple(pathway.fields.values())
    evaluator = get_evaluator("python", pathway)
    items = [i.id for i in pathway.items]
    rows: list[list[str]] = []
    rejected: list[list[str]] = []
    for record in iter_records([str(i) for i in inputs], pathway, reading):
        if record.problem is not None:
            rejected.append([record.source, str(record.problem)])
            continue
        values, problems = validate(record.doc.data, fields, record.doc)
        if values is None:
            rejected.append([record.source, "\n".join(str(p) for p in problems)])
            continue
        statuses = evaluate(pathway, values, evaluator).statuses()
        rows.append([record.source, str(values["referral_id"]), *(statuses[i] for i in items)])
    return rows, rejected


def statuses_of(result: Audit) -> list[list[str]]:
    """Matrix rows without the completeness columns, to compare with `reference`."""
    return [row[:2] + row[6:] for row in result.matrix]


def write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_referrals(folder: Path, records: list[dict[str, Any]], pathway: Pathway) -> dict[str, Path]:
    """The same referrals as a YAML folder, a JSONL file and a CSV file."""
    import json

    import yaml

    yaml_dir = folder / "yaml"
    yaml_dir.mkdir(parents=True)
    for k, record in enumerate(records):
        (yaml_dir / f"r{k:03d}.yaml").write_text(yaml.safe_dump(record, sort_keys=False), encoding="utf-8")
    jsonl = write_jsonl(folder / "r.jsonl", [json.dumps(r) for r in records])
    columns = synth.csv_columns(pathway)
    with (folder / "r.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        writer.writerows(synth.csv_cells(r, columns) for r in records)
    return {"yaml": yaml_dir, "jsonl": jsonl, "csv": folder / "r.csv"}


def audit_matrix_without_sources(source: Path, work: Path) -> list[list[str]]:
    """`pathway audit SOURCE --csv` as a user runs it: the status matrix, less the source column."""
    import io

    from pathway.cli import main

    matrix = work / f"{source.stem}-matrix.csv"
    code = main(["audit", str(source), "-o", str(work / f"{source.stem}.html"), "--csv", str(matrix),
                 "--now", "2026-12-03T09:00:00Z"], stdout=io.StringIO())
    assert code == 0
    return [row[1:] for row in csv.reader(matrix.read_text(encoding="utf-8").splitlines())]
