"""A deterministic generator of varied synthetic referrals, for benchmarks and scale tests.

Each referral draws every field from its allowed values or leaves it unknown,
with rates that give a realistic spread of statuses. `invalid_rate` makes a
share of records deliberately bad (an unknown value, an out-of-range age, a
misspelt field) so that rejection accounting is exercised too. The same seed
always gives the same referrals. JSONL leaves unknown answers out, or with
`--nulls` writes every field's key with `null` where the answer is unknown, as
some exports do.

    python benchmarks/synth.py N out.jsonl [--csv out.csv] [--nulls] [--invalid 0.03] [--seed 1]
"""
from __future__ import annotations

import argparse
import csv
import json
import random
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pathway.definition import FormField, Pathway  # noqa: E402
from pathway.loader import load_pathway  # noqa: E402
from pathway.resources import default_pathway_dir  # noqa: E402

VERSION = 2
"""Bumped when the files written change (2: a broken CSV record refuses a value, no misspelt column),
so that benchmarks do not reuse files cached by an older version."""
UNKNOWN_RATE = 0.2
TYPICAL_NUMBERS = {"mcg": (25, 50, 50, 50, 75, 100, 150, 200)}
"""Numbers drawn from typical values by unit: test doses of intrathecal baclofen, in micrograms."""


def _answer(rng: random.Random, field: FormField) -> Any:
    if field.type == "tristate":
        return rng.choice(("yes", "yes", "no"))
    if field.type == "choice":
        return rng.choice(field.values)
    if field.type == "multichoice":
        exclusive = [o.value for o in field.options if o.exclusive]
        plain = [o.value for o in field.options if not o.exclusive]
        if exclusive and rng.random() < 0.1:
            return [exclusive[0]]
        return sorted(rng.sample(plain, rng.randint(1, len(plain))), key=field.values.index)
    if field.type == "number":
        if field.unit in TYPICAL_NUMBERS:
            return rng.choice(TYPICAL_NUMBERS[field.unit])
        low, high = field.min or 0, field.max or 100
        return round(rng.uniform(low, min(high, 19)), 1)  # an age: up to the 19th birthday, and a few older
    if field.type == "date":
        return f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    return None


def _break(rng: random.Random, record: dict[str, Any]) -> None:
    kind = rng.randrange(3)
    if kind == 0:
        record["spasticity_severity"] = "extreme"
    elif kind == 1:
        record["age_years"] = 99
    else:
        record["diagnosis"] = record.pop("diagnosis_cp", "yes")


def referrals(n: int, seed: int = 1, invalid_rate: float = 0.0,
              pathway: Pathway | None = None) -> Iterator[dict[str, Any]]:
    """`n` referrals as plain mappings (unknown answers left out)."""
    pathway = pathway or load_pathway(default_pathway_dir())
    rng = random.Random(seed)
    fields = [f for f in pathway.fields.values() if f.id not in ("referral_id", "notes")]
    for i in range(n):
        record: dict[str, Any] = {"referral_id": f"S-{seed}-{i:07d}"}
        for field in fields:
            if rng.random() >= UNKNOWN_RATE:
                value = _answer(rng, field)
                if value is not None:
                    record[field.id] = value
        if rng.random() < 0.05:
            record["notes"] = "Synthetic referral; <notes> & text."
        if invalid_rate and rng.random() < invalid_rate:
            _break(rng, record)
        yield record


def csv_columns(pathway: Pathway) -> list[str]:
    """The CSV header: one column per field id."""
    return list(pathway.fields)


def csv_cells(record: dict[str, Any], columns: list[str]) -> list[Any]:
    """A record's cells. A broken record's misspelt key cannot be a column of its own (a column that
    looks like a misspelt field stops the whole file): its answer goes, refused, under the field."""
    if "diagnosis" in record:
        record = {**record, "diagnosis_cp": f"diagnosis={record['diagnosis']}"}
    return ["|".join(v) if isinstance(v := record.get(c, ""), list) else v for c in columns]


def with_nulls(record: dict[str, Any], pathway: Pathway) -> dict[str, Any]:
    """The record with every field's key, `None` (JSON null) where the answer is unknown, in form
    order; keys that are not fields (a broken record's misspelt one) follow."""
    out = {f: record.get(f) for f in pathway.fields}
    out.update((k, v) for k, v in record.items() if k not in out)
    return out


def write_files(records: Iterator[dict[str, Any]], pathway: Pathway, *, jsonl: Path | None = None,
                csv_path: Path | None = None, jsonl_null: Path | None = None,
                quoting: int = csv.QUOTE_MINIMAL) -> int:
    """The same referrals in one pass into any of: JSONL (unknown answers left out), CSV, and JSONL
    with unknown answers as null."""
    columns = csv_columns(pathway)
    count = 0
    with ExitStack() as stack:
        j = stack.enter_context(jsonl.open("w", encoding="utf-8")) if jsonl else None
        n = stack.enter_context(jsonl_null.open("w", encoding="utf-8")) if jsonl_null else None
        writer = None
        if csv_path:
            writer = csv.writer(stack.enter_context(csv_path.open("w", encoding="utf-8", newline="")),
                                quoting=quoting)
            writer.writerow(columns)
        for record in records:
            if j:
                j.write(json.dumps(record, separators=(",", ":")) + "\n")
            if n:
                n.write(json.dumps(with_nulls(record, pathway), separators=(",", ":")) + "\n")
            if writer:
                writer.writerow(csv_cells(record, columns))
            count += 1
    return count


def write_both(records: Iterator[dict[str, Any]], jsonl: Path, csv_path: Path, pathway: Pathway,
               quoting: int = csv.QUOTE_MINIMAL) -> int:
    """The same referrals as JSONL and as CSV, generated once (half the time of two passes)."""
    return write_files(records, pathway, jsonl=jsonl, csv_path=csv_path, quoting=quoting)


def write_jsonl(path: Path, records: Iterator[dict[str, Any]], nulls: Pathway | None = None) -> int:
    """One referral a line; with `nulls` (the pathway), every field's key, null where unknown."""
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(with_nulls(record, nulls) if nulls else record, separators=(",", ":")) + "\n")
            count += 1
    return count


def write_csv(path: Path, records: Iterator[dict[str, Any]], pathway: Pathway | None = None) -> int:
    """One column per field id (plus a column for the misspelt field); multi-choice as a|b."""
    pathway = pathway or load_pathway(default_pathway_dir())
    columns = csv_columns(pathway)
    count = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(columns)
        for record in records:
            writer.writerow(csv_cells(record, columns))
            count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int)
    parser.add_argument("jsonl", type=Path)
    parser.add_argument("--csv", type=Path)
    parser.add_argument("--nulls", action="store_true", help="JSONL with every field's key, null where unknown")
    parser.add_argument("--invalid", type=float, default=0.03)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    pathway = load_pathway(default_pathway_dir())
    records = referrals(args.n, args.seed, args.invalid, pathway)
    target = {"jsonl_null" if args.nulls else "jsonl": args.jsonl}
    n = write_files(records, pathway, csv_path=args.csv, **target)
    print(f"wrote {n} referrals to {args.jsonl}" + (f" and {args.csv}" if args.csv else ""))


if __name__ == "__main__":
    main()
