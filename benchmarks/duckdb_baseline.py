"""An analyst's DuckDB baseline for `pathway audit`: the same counts from one SQL query.

What someone fluent in SQL would write to audit a REDCap-style export with
DuckDB: read the CSV as text (`read_csv(all_varchar=true)`) or the JSONL with
DuckDB's reader (`read_json(format='newline_delimited')`, answers as text,
multi-choice lists as arrays), check each answer against the form (exact-value
IN lists for choices and tri-states, a pattern of the allowed values for a
multi-choice cell `a|b`, ranges for numbers, a date check, text lengths),
reject a record with any refused answer or a filled column the form does not
define, give each item its status with SQL's three-valued logic (AND, OR and
NOT on NULL are Kleene's, as the pathway's conditions are; multi-choice cells
split with `string_split` and tested with list functions), and count: per item
and status, per referral documented and applicable, and the 1,000 least
complete referrals (lowest completeness first, ties in input order). The SQL
is generated from the pathway's condition tree, the query an analyst would
write by hand; `--sql` prints it, `--run` runs a query printed before (then
only the interpreter and DuckDB start: the pathway is not loaded).

    python benchmarks/duckdb_baseline.py FILE [--json-out counts.json] [--referrals-out referrals.csv]
    python benchmarks/duckdb_baseline.py FILE --sql > query.sql
    python benchmarks/duckdb_baseline.py --run query.sql [--json-out counts.json]

Where it reads differently from the audit (none of it occurs in the synthetic
exports of benchmarks/synth.py, on which the counts are equal):
- unknown is an empty cell or `unknown`, `Unknown`, `UNKNOWN`; yes and no (and
  true, false) in those three spellings too: the audit takes any capitalisation;
- `trim` strips spaces only (Python every kind of white space), and spaces
  around the bars of `a | b` are refused; a date must be written YYYY-MM-DD;
- JSON: a number or true/false is read as its text, so `true` in a text field
  is taken and in a yes/no choice refused; a multi-choice answer given as one
  string rather than a list stops DuckDB with an error; a list's items are not
  trimmed and a null item is ignored;
- a JSONL key the form does not define is seen only if DuckDB's schema sample
  (its first 20,480 records) holds it, and only where its value is not null;
- sources are `FILE:N`, N counted in DuckDB's row order: the line only in a
  file without empty lines or (CSV) cells that span lines; duplicate CSV
  column names are refused.
"""
from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb

    from pathway.conditions import Condition
    from pathway.definition import FormField, Pathway

ROOT = Path(__file__).resolve().parents[1]
STATUSES = ("met", "not_met", "missing", "not_applicable")
LEAST = 1000
SEP = "|"
"""Between item id and status in the names of the count columns (item ids hold dots, never a bar)."""


def q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def lit(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _in(values: tuple[str, ...] | list[str]) -> str:
    return "(" + ", ".join(lit(v) for v in values) + ")"


def _list(values: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join(lit(v) for v in values) + "]"


def _num(x: float) -> str:
    return repr(float(x))


# --- the condition tree in SQL ------------------------------------------------

def condition_sql(cond: Condition) -> str:
    """A Boolean SQL expression that is NULL exactly where the condition is unknown: SQL's AND, OR
    and NOT are Kleene's, and a comparison or list test with NULL is NULL."""
    from pathway import conditions as C

    if isinstance(cond, C.All):
        return "(" + " AND ".join(condition_sql(p) for p in cond.parts) + ")"
    if isinstance(cond, C.AnyOf):
        return "(" + " OR ".join(condition_sql(p) for p in cond.parts) + ")"
    if isinstance(cond, C.Not):
        return f"(NOT {condition_sql(cond.part)})"
    column = q(cond.field)
    if isinstance(cond, C.In):
        return f"{column} IN {_in(cond.values)}"
    if isinstance(cond, C.Compare):
        op = {"lt": "<", "le": "<=", "gt": ">", "ge": ">="}[cond.op]
        return f"{column} {op} {_num(cond.number)}"
    if isinstance(cond, C.Contains):
        test = "list_has_any" if cond.mode == "any" else "list_has_all"
        return f"{test}({column}, {_list(cond.values)})"
    if isinstance(cond, C.Unanswered):
        return f"({column} IS NULL)"
    return f"(CASE WHEN {column} IS NOT NULL THEN TRUE END)"   # answered: true, else unknown (never false)


def status_sql(holds: Condition, applies: Condition | None) -> str:
    """Checklist-v1's mapping (`engine.status_of`) on SQL truth values."""
    a = "TRUE" if applies is None else condition_sql(applies)
    h = condition_sql(holds)
    if applies is None:
        return (f"CASE WHEN {h} IS TRUE THEN 'met' WHEN {h} IS FALSE THEN 'not_met' ELSE 'missing' END")
    return (f"CASE WHEN {a} IS FALSE THEN 'not_applicable' WHEN {a} IS NULL THEN 'missing'"
            f" WHEN {h} IS TRUE THEN 'met' WHEN {h} IS FALSE THEN 'not_met' ELSE 'missing' END")


# --- reading and checking one answer ------------------------------------------
# Each reader gives (value, bad) for one cell `c` (trimmed, NULL when empty): the answer as the
# conditions test it (NULL: unknown), and a never-NULL flag that the form refuses the cell.

BLANK = ("unknown", "Unknown", "UNKNOWN")
"""A cell that says unknown (an empty one is NULL already): `codec.BLANK_WORDS`."""
YES = ("yes", "Yes", "YES", "true", "True", "TRUE")
NO = ("no", "No", "NO", "false", "False", "FALSE")


def _tristate(c: str) -> tuple[str, str]:
    return (f"CASE WHEN {c} IN {_in(YES)} THEN 'yes' WHEN {c} IN {_in(NO)} THEN 'no' END",
            f"coalesce({c} NOT IN {_in(YES + NO + BLANK)}, false)")


def _choice(c: str, field: FormField) -> tuple[str, str]:
    return (f"CASE WHEN {c} IN {_in(field.values)} THEN {c} END",
            f"coalesce({c} NOT IN {_in(field.values + BLANK)}, false)")


def _number(c: str, field: FormField) -> tuple[str, str]:
    n = f"TRY_CAST({c} AS DOUBLE)"
    low = _num(field.min) if field.min is not None else "'-infinity'::DOUBLE"
    high = _num(field.max) if field.max is not None else "'infinity'::DOUBLE"
    fits = f"{n} BETWEEN {low} AND {high} AND isfinite({n})"
    return n, f"coalesce({c} NOT IN {_in(BLANK)} AND NOT coalesce({fits}, false), false)"


def _date(c: str) -> tuple[str, str]:
    real = f"{c} LIKE '____-__-__' AND {c} NOT LIKE '0000%' AND TRY_CAST({c} AS DATE) IS NOT NULL"
    return (f"CASE WHEN {c} NOT IN {_in(BLANK)} THEN {c} END",
            f"coalesce({c} NOT IN {_in(BLANK)} AND NOT coalesce({real}, false), false)")


def _text(c: str, field: FormField) -> tuple[str, str]:
    bad = f"coalesce(length({c}) > {field.max_length}, false)" if field.max_length else "false"
    if field.required:
        bad = f"({bad} OR {c} IS NULL)"
    return c, bad


def _multi(chosen: str, field: FormField, *, blanks: bool = False) -> tuple[str, str]:
    """A list of chosen values (with `blanks`, empty strings that stand for boxes not ticked): unknown
    when it names none; refused when it names a value the form lacks, or combines an exclusive option
    with another."""
    values = list(field.values)
    bad = f"NOT list_has_all({_list([*values, ''] if blanks else values)}, {chosen})"
    exclusive = [o.value for o in field.options if o.exclusive]
    others = [v for v in values if v not in exclusive]
    if exclusive and others:
        bad += f" OR (list_has_any({chosen}, {_list(exclusive)}) AND list_has_any({chosen}, {_list(others)}))"
    if len(exclusive) > 1:
        bad += f" OR len(list_intersect({chosen}, {_list(exclusive)})) > 1"
    return f"CASE WHEN list_has_any({chosen}, {_list(values)}) THEN {chosen} END", f"coalesce({bad}, false)"


def _multi_cell(c: str, field: FormField) -> tuple[str, str]:
    """A multi-choice CSV cell `a|b` (empty parts ignored): checked whole, by a pattern of the field's
    values (an exclusive one alone), and split into a list for the conditions."""
    def runs(values: list[str]) -> str:   # values separated by bars, any of them empty
        alt = "|".join(re.escape(v) for v in values)
        return f"({alt})?(\\|({alt})?)*"

    exclusive = [o.value for o in field.options if o.exclusive]
    others = [v for v in field.values if v not in exclusive]
    groups = ([others] if others else []) + [[v] for v in exclusive]   # an exclusive value alone
    pattern = "|".join(runs(group) for group in groups)
    return (f"CASE WHEN replace({c}, '|', '') <> '' THEN string_split({c}, '|') END",
            f"coalesce(NOT regexp_full_match({c}, {lit(pattern)}), false)")


def reader(field: FormField, c: str, *, is_json: bool) -> tuple[str, str]:
    """How one field's cell is read: CSV text as `inputs.csv_row` reads it (multi-choice `a|b`), or a
    JSON value as DuckDB gives it in a VARCHAR column (numbers and true/false as their text; lists
    in a VARCHAR[] column)."""
    from pathway.fieldkinds import FieldKind

    kind = field.type
    if kind is FieldKind.MULTICHOICE:
        return _multi(c, field) if is_json else _multi_cell(c, field)
    if kind is FieldKind.TRISTATE:
        return _tristate(c)
    if kind is FieldKind.CHOICE:
        return _choice(c, field)
    if kind is FieldKind.NUMBER:
        return _number(c, field)
    if kind is FieldKind.DATE:
        return _date(c)
    return _text(c, field)


# --- the query ----------------------------------------------------------------

def csv_header(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return next(csv.reader(f), [])


def json_keys(con: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    """The keys of a JSONL export, as DuckDB's schema detection finds them in its sample of the file."""
    rows = con.execute(f"DESCRIBE SELECT * FROM read_json({lit(str(path))}, format='newline_delimited',"
                       " maximum_depth=1)").fetchall()
    return [r[0] for r in rows]


def build(pathway: Pathway, path: Path, columns: list[str], *, referrals: bool = False,
          unordered: bool = False) -> str:
    """The audit of one export as one SQL query. `columns`: the CSV header, or the JSONL keys found.
    The query gives two rows, the evaluated referrals' figures (counts per item and status, the least
    complete) and the rejected records' count; with `referrals`, one row per evaluated referral
    instead: source, referral_id, documented, applicable.

    Each record's place in the file comes from `row_number() OVER ()`, which DuckDB evaluates in
    one thread, and with it the whole query; `unordered` leaves it out, and with it the sources and
    the tie order of the least complete list (ties by referral id instead): the counts alone, on
    every core."""
    if referrals and unordered:
        raise ValueError("the referrals' sources need their order")
    from pathway.inputs import header_plan

    is_json = path.suffix.lower() in (".jsonl", ".ndjson")
    fields = pathway.fields
    unknown: list[str] = []           # columns the form does not define
    plain: dict[str, str] = {}        # field id → its column
    boxes: dict[str, list[tuple[str, str]]] = {}   # multi-choice field → (code, checkbox column)
    if is_json:
        plain = {f: f for f in fields}
        unknown = [c for c in columns if c not in fields]
        types = {f: "VARCHAR[]" if fields[f].kind.multiple else "VARCHAR" for f in fields}
        types |= {c: "VARCHAR" for c in unknown}
        spec = ", ".join(f"{lit(c)}: {lit(t)}" for c, t in types.items())
        table = f"read_json({lit(str(path))}, format='newline_delimited', columns={{{spec}}})"
        cells = [q(c) if t.endswith("[]") else f"nullif(trim({q(c)}), '') AS {q(c)}" for c, t in types.items()]
        header_lines = 0
    else:
        if len(set(columns)) != len(columns):
            raise SystemExit(f"{path}: duplicate column names are not supported by this baseline")
        for column, (name, fid, code, _multi_col) in zip(columns, header_plan(tuple(columns), pathway)):
            if name is None:
                continue              # REDCap's own bookkeeping columns
            if fid is not None and code is not None:
                boxes.setdefault(fid, []).append((code, column))
            elif name in fields:
                plain[name] = column
            else:
                unknown.append(column)
        if set(plain) & set(boxes):
            raise SystemExit(f"{path}: a field both as a column and as checkbox columns is not supported")
        table = (f"read_csv({lit(str(path))}, header=true, all_varchar=true, delim=',', quote='\"',"
                 " escape='\"')")
        cells = [f"nullif(trim({q(c)}), '') AS {q(c)}" for c in columns]
        header_lines = 1

    values: list[str] = []
    bads: list[str] = []              # the cells the form refuses
    for fid, field in fields.items():
        if fid in plain:
            value, bad = reader(field, q(plain[fid]), is_json=is_json)
        elif fid in boxes:            # REDCap checkboxes field___code: 1 chosen, 0 or empty not
            chosen = "[" + ", ".join(f"CASE WHEN {q(c)} = '1' THEN {lit(code)} ELSE '' END"
                                     for code, c in boxes[fid]) + "]"
            value, bad = _multi(chosen, field, blanks=True)
            bad += "".join(f" OR coalesce({q(c)} NOT IN ('0', '1'), false)" for _, c in boxes[fid])
        else:                         # no column: unknown
            value = "NULL::VARCHAR[]" if field.kind.multiple else "NULL"
            bad = "true" if field.required else "false"
        values.append(f"{value} AS {q(fid)}")
        if bad != "false":
            bads.append(bad)
    if is_json:   # a key the form does not define refuses the line; a CSV's other columns are not used
        bads += [f"{q(c)} IS NOT NULL" for c in unknown]
    blank = "" if is_json else (f"\n  WHERE coalesce({', '.join(q(c) for c in columns)}) IS NOT NULL"
                                "   -- a row of blank cells is no record")
    items = pathway.items
    statuses = [f"{status_sql(i.holds, i.applies_when)} AS {q(i.id)}" for i in items]
    applicable = " + ".join(f"({q(i.id)} <> 'not_applicable')::INTEGER" for i in items)
    documented = " + ".join(f"({q(i.id)} IN ('met', 'not_met'))::INTEGER" for i in items)
    nl = ",\n    "
    ors = "\n    OR "
    order = "NULL::BIGINT AS rn,   -- unordered" if unordered else "row_number() OVER () AS rn,"
    sql = f"""WITH cells AS (
  SELECT {order}
    {nl.join(cells)}
  FROM {table}
), answers AS (   -- each answer as the conditions test it (NULL: unknown); invalid: a cell the form refuses
  SELECT rn,
    {ors.join(bads) or 'false'} AS invalid,
    {nl.join(values)}
  FROM cells{blank}
), statuses AS (
  SELECT rn, invalid, "referral_id",
    {nl.join(statuses)}
  FROM answers
), scored AS (
  SELECT *,
    {applicable} AS applicable,
    {documented} AS documented,
    CASE WHEN applicable = 0 THEN 1.0 ELSE documented / applicable END AS completeness
  FROM statuses
)
"""
    source = "''" if unordered else f"{lit(str(path) + ':')} || (r.rn + {header_lines})"   # file:line
    place = "referral_id" if unordered else "rn"
    if referrals:
        return sql + (f"SELECT {source} AS source, referral_id, documented, applicable FROM scored r"
                      " WHERE NOT invalid ORDER BY rn")
    counts = [f"count(*) FILTER (WHERE {q(i.id)} = {lit(s)}) AS {q(i.id + SEP + s)}" for i in items for s in STATUSES]
    return sql + f"""SELECT * REPLACE ([[{source}, r.referral_id, r.documented::VARCHAR, r.applicable::VARCHAR]
                     FOR r IN least] AS least)
FROM (
  SELECT invalid AS rejected, count(*) AS records,
    min_by({{rn: rn, referral_id: referral_id, documented: documented, applicable: applicable}},
           {{c: completeness, r: {place}}}, {LEAST}) AS least,   -- least complete first, then in input order
    {nl.join(counts)}
  FROM scored
  GROUP BY invalid   -- the evaluated referrals' figures, and the rejected records' count
)"""


def connect() -> duckdb.DuckDBPyConnection:
    import duckdb

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    return con


def run(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, Any]:
    """The query's result as the audit's figures: totals, counts per item and status, least complete."""
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    rows = {row[0]: dict(zip(names, row)) for row in cursor.fetchall()}
    good, bad = rows.get(False, {}), rows.get(True, {})
    counts: dict[str, dict[str, int]] = {}
    for name in names:
        if SEP in name:
            item, status = name.rsplit(SEP, 1)
            counts.setdefault(item, {})[status] = good.get(name, 0)
    least = [[s, r, int(d), int(a)] for s, r, d, a in good.get("least") or []]
    evaluated, rejected = good.get("records", 0), bad.get("records", 0)
    return {"records": evaluated + rejected, "evaluated": evaluated, "rejected": rejected,
            "counts": counts, "least": least}


def query_for(path: Path, *, referrals: bool = False, unordered: bool = False,
              con: duckdb.DuckDBPyConnection | None = None) -> str:
    """The query for one export, from the bundled pathway and the export's columns."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from pathway.loader import load_pathway
    from pathway.resources import default_pathway_dir

    pathway = load_pathway(default_pathway_dir())
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        columns = json_keys(con or connect(), path)
    else:
        columns = csv_header(path)
    return build(pathway, path, columns, referrals=referrals, unordered=unordered)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path, nargs="?", help="a CSV or JSONL export")
    parser.add_argument("--run", type=Path, metavar="QUERY", help="run a query printed before by --sql")
    parser.add_argument("--sql", action="store_true", help="print the query and stop")
    parser.add_argument("--unordered", action="store_true", help="without each record's place in the file"
                        " (row_number, one thread): the counts on every core, no sources, ties by referral id")
    parser.add_argument("--json-out", type=Path, help="write the figures as JSON")
    parser.add_argument("--referrals-out", type=Path, help="also write each evaluated referral's source,"
                        " referral_id, documented and applicable as CSV (a second query)")
    args = parser.parse_args()
    if (args.file is None) == (args.run is None):
        parser.error("give an export FILE, or --run QUERY")
    if args.referrals_out and (args.run or args.unordered):
        parser.error("--referrals-out needs the export FILE, in order")
    started = time.perf_counter()
    con = connect()
    if args.run:
        sql = args.run.read_text(encoding="utf-8")
    else:
        sql = query_for(args.file, unordered=args.unordered, con=con)
        if args.sql:
            print(sql)
            return
    result = run(con, sql)
    if args.referrals_out:
        con.execute(f"COPY ({query_for(args.file, referrals=True, con=con)}) TO {lit(str(args.referrals_out))}"
                " (HEADER, DELIMITER ',')")
    if args.json_out:
        args.json_out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    worst = ", ".join(f"{s or r} {d}/{a}" for s, r, d, a in result["least"][:3])
    print(f"duckdb: {result['records']:,} records = {result['evaluated']:,} evaluated + {result['rejected']:,}"
          f" rejected ({time.perf_counter() - started:.2f} s); least complete: {worst or 'none'}")


if __name__ == "__main__":
    main()
