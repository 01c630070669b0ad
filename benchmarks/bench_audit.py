"""`pathway audit` against an analyst's DuckDB baseline: wall time, peak memory, and the same counts.

For each N (default 100,000 and 1,000,000) a deterministic set of synthetic
referrals (benchmarks/synth.py, ~3% deliberately invalid) is written once as
CSV, as JSONL that leaves unknown answers out, and as JSONL that writes every
field with `null` where the answer is unknown (`jsonl-null`), and cached in a
work folder. For each file:

- first the check: the audit run once with `--csv`, the baseline
  (benchmarks/duckdb_baseline.py) once; the evaluated and rejected totals,
  every item × status count, each evaluated referral's source, id, documented
  and applicable, and the least complete list (the audit's, derived from its
  status matrix and read off its page) must be equal, or the script stops
  with the differences;
- then, each in a fresh process and taking turns (`--repeat` rounds, so that a
  slow spell of a shared machine slows them all): `pathway audit FILE -o
  audit.html`; the same with `--csv statuses.csv` (the referral × item status
  matrix, about 200 MB for a million referrals); the baseline as a command
  (`duckdb_baseline.py --run query.sql`: interpreter start, `import duckdb`,
  the query; the query is written once beforehand from the pathway and the
  file's columns, as an analyst writes it once and runs it); and the baseline
  without each record's place in the file (`--unordered`: the counts alone,
  no sources and ties by referral id), since DuckDB runs `row_number() OVER
  ()`, and so the whole query, in one thread.

Wall time and peak resident memory summed over each command's processes
(sampled from /proc every 20 ms; Linux); each the median of the runs, the
range beside it. The table gives DuckDB ÷ audit (wall time of the baseline,
of the unordered baseline, and peak memory), so above 1 means the audit is
faster or smaller. Then the start-up cost: the audit of a one-record
CSV and JSONL, the baseline on the one-record CSV, and `pathway check` of one
referral, medians of five. The package runs from bytecode compiled once into
the work folder, as it does once installed (pip compiles it). Asserts nothing
about time; `--markdown FILE` also writes the tables as Markdown.

    python benchmarks/bench_audit.py [--n 100000 1000000] [--formats csv jsonl jsonl-null] [--repeat 3]
                                     [--work DIR] [--markdown FILE]
"""
from __future__ import annotations

import argparse
import compileall
import html
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import duckdb_baseline  # noqa: E402
import synth  # noqa: E402
from machine import header  # noqa: E402

from pathway.loader import load_pathway  # noqa: E402
from pathway.resources import default_pathway_dir  # noqa: E402

SEED = 1
INVALID = 0.03
BLOCK = 100_000
FORMATS = {"csv": ".csv", "jsonl": ".jsonl", "jsonl-null": "-null.jsonl"}
"""Format label → how its file name ends."""
STARTUP_REPEAT = 5
BASELINE = ROOT / "benchmarks" / "duckdb_baseline.py"
TOTALS = re.compile(r"audit: ([\d,]+) records = ([\d,]+) evaluated \+ ([\d,]+) not evaluated")


# --- the files ----------------------------------------------------------------

def _block(args: tuple[int, int, dict[str, str]]) -> None:
    """One block of referrals, with its own seed, into part files of the formats asked for."""
    index, n, parts = args
    pathway = load_pathway(default_pathway_dir())
    records = synth.referrals(n, seed=SEED * 1000 + index, invalid_rate=INVALID, pathway=pathway)
    synth.write_files(records, pathway, jsonl=_part(parts, "jsonl"), csv_path=_part(parts, "csv"),
                      jsonl_null=_part(parts, "jsonl-null"))


def _part(parts: dict[str, str], kind: str) -> Path | None:
    return Path(parts[kind]) if kind in parts else None


def generate(n: int, work: Path, kinds: list[str]) -> dict[str, Path]:
    """The N referrals in each format, made once (in blocks, on all cores) and cached: a format
    added later is generated alone, from the same seeds, so every format holds the same referrals."""
    sha = load_pathway(default_pathway_dir()).rules_sha256[:12]
    files = {k: work / f"referrals-{n}-{sha}-v{synth.VERSION}{FORMATS[k]}" for k in kinds}
    missing = [k for k, path in files.items() if not path.exists()]
    if not missing:
        return files
    started = time.perf_counter()
    blocks = [(k, min(BLOCK, n - k * BLOCK), {kind: str(work / f".part{k}{FORMATS[kind]}") for kind in missing})
              for k in range((n + BLOCK - 1) // BLOCK)]
    with ProcessPoolExecutor() as pool:
        list(pool.map(_block, blocks))
    for kind in missing:
        target = files[kind]
        tmp = target.with_name(target.name + ".part")
        with tmp.open("wb") as out:
            for k, (_, _, parts) in enumerate(blocks):
                part = Path(parts[kind])
                with part.open("rb") as f:
                    if kind == "csv" and k:
                        f.readline()  # the CSV header once
                    while chunk := f.read(1 << 24):
                        out.write(chunk)
                part.unlink()
        tmp.replace(target)
    sizes = ", ".join(f"{files[k].stat().st_size / 2**20:,.0f} MiB {k}" for k in missing)
    print(f"generated {n:,} referrals in {time.perf_counter() - started:.0f} s: {sizes} ({work})")
    return files


def one_record(work: Path) -> dict[str, Path]:
    """A one-record CSV and JSONL, for the start-up cost."""
    files = {"csv": work / "one.csv", "jsonl": work / "one.jsonl"}
    pathway = load_pathway(default_pathway_dir())
    synth.write_files(synth.referrals(1, seed=SEED, pathway=pathway), pathway,
                      jsonl=files["jsonl"], csv_path=files["csv"])
    return files


# --- running a command ----------------------------------------------------------

def _tree_rss(root: int) -> int:
    """Resident bytes of a process and all its descendants, now."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry), int(fields[1])
        children.setdefault(ppid, []).append(pid)
        rss[pid] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, []))
    return total


@dataclass
class Run:
    wall: float
    peak: int
    out: str
    err: str


def measure(cmd: list[str], env: dict[str, str]) -> Run:
    """Wall time, peak summed RSS, stdout and stderr of a command (which must succeed)."""
    peak = 0
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=tempfile.gettempdir())   # not a checkout: `python -m` puts the folder first on sys.path
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(proc.pid))
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err}")
    return Run(wall, peak, out, err)


def audit_cmd(path: Path, work: Path, matrix: bool = False) -> list[str]:
    extra = ["--csv", str(work / "statuses.csv")] if matrix else []
    return [sys.executable, "-m", "pathway", "audit", str(path), "-o", str(work / "audit.html"), *extra]


def baseline_cmd(query: Path) -> list[str]:
    return [sys.executable, str(BASELINE), "--run", str(query)]


# --- the check: the baseline's figures are the audit's --------------------------

def audit_figures(stderr: str, matrix: Path, page: Path | None = None) -> dict[str, Any]:
    """The audit's figures: totals from its last line, counts and referrals from its status matrix,
    the least complete list derived from the matrix (lowest completeness, then input order) and,
    where the page lists them, as its page lists them."""
    import polars as pl

    found = TOTALS.search(stderr)
    if not found:
        raise SystemExit(f"the audit's totals line was not found in its output:\n{stderr}")
    records, evaluated, rejected = (int(g.replace(",", "")) for g in found.groups())
    frame = pl.read_csv(matrix, infer_schema=False)
    items = frame.columns[6:]   # after source, referral_id, referral_date, documented, applicable, completeness
    counts = {i: {s: 0 for s in duckdb_baseline.STATUSES} for i in items}
    for item in items:
        for status, n in frame.get_column(item).value_counts().iter_rows():
            counts[item][status] = n
    # a cell a spreadsheet would run as a formula is written with a leading apostrophe
    unformula = [pl.when(pl.col(c).str.contains(r"^'[=+\-@\t\r]")).then(pl.col(c).str.slice(1))
                 .otherwise(pl.col(c)).alias(c) for c in ("source", "referral_id")]
    referrals = frame.select(
        *unformula, pl.col("documented").cast(pl.Int64), pl.col("applicable").cast(pl.Int64))
    complete = (pl.when(pl.col("applicable") == 0).then(pl.lit(1.0))
                .otherwise(pl.col("documented") / pl.col("applicable")))
    least = (referrals.with_row_index("row").with_columns(complete.alias("c")).sort(["c", "row"])
             .head(duckdb_baseline.LEAST).select("source", "referral_id", "documented", "applicable"))
    return {"records": records, "evaluated": evaluated, "rejected": rejected, "counts": counts,
            "referrals": referrals, "least": [list(r) for r in least.iter_rows()],
            "page_least": page_least(page) if page else None}


def page_least(page: Path) -> list[list[Any]] | None:
    """The least complete list as the audit's page shows it (None: the page's table was not found)."""
    text = page.read_text(encoding="utf-8")
    start = text.find("<h2>Least completely documented referrals</h2>")
    if start < 0:
        return None
    end = text.find("<h2>", start + 1)
    rows = re.findall(r'<tr><td class="source" data-label="Source">(.*?)</td><td data-label="Referral">(.*?)</td>'
                      r'<td class="n" data-label="Documented">(\d+) of (\d+) ',
                      text[start:end if end > 0 else len(text)])
    return [[html.unescape(s), html.unescape(r), int(d), int(a)] for s, r, d, a in rows] or None


def baseline_figures(con: Any, query: str, referrals_query: str, scratch: Path) -> dict[str, Any]:
    """The baseline's figures, and each evaluated referral's (written to `scratch` by DuckDB)."""
    import polars as pl

    result = duckdb_baseline.run(con, query)
    con.execute(f"COPY ({referrals_query}) TO {duckdb_baseline.lit(str(scratch))} (HEADER, DELIMITER ',')")
    frame = pl.read_csv(scratch, infer_schema=False)
    result["referrals"] = frame.select(pl.col("source"), pl.col("referral_id"),
                                       pl.col("documented").cast(pl.Int64), pl.col("applicable").cast(pl.Int64))
    return result


def differences(audit: dict[str, Any], base: dict[str, Any], ordered: bool = True) -> list[str]:
    """Where the baseline's figures are not the audit's (empty when they all agree); not `ordered`:
    the totals and counts only."""
    out = [f"{k}: audit {audit[k]:,}, duckdb {base[k]:,}" for k in ("records", "evaluated", "rejected")
           if audit[k] != base[k]]
    for item in sorted(set(audit["counts"]) | set(base["counts"])):
        a, b = audit["counts"].get(item, {}), base["counts"].get(item, {})
        for status in duckdb_baseline.STATUSES:
            if a.get(status, 0) != b.get(status, 0):
                out.append(f"{item} {status}: audit {a.get(status, 0):,}, duckdb {b.get(status, 0):,}")
    if not ordered:
        return out
    ours, theirs = audit["referrals"], base["referrals"]
    if ours.height != theirs.height:
        out.append(f"referrals: audit {ours.height:,} rows, duckdb {theirs.height:,}")
    elif not ours.equals(theirs):
        import polars as pl

        rows = ours.with_row_index("row").join(theirs.with_row_index("row"), on="row", suffix="_duckdb")
        wrong = rows.filter(pl.any_horizontal(pl.col(c) != pl.col(f"{c}_duckdb") for c in ours.columns))
        out.append(f"referrals: {wrong.height:,} rows differ, the first: {wrong.head(3).rows()}")
    if audit["least"] != base["least"]:
        out.append(f"least complete list (from the matrix): audit {audit['least'][:3]}…, duckdb {base['least'][:3]}…")
    if audit["page_least"] is not None and audit["page_least"] != base["least"][:len(audit["page_least"])]:
        out.append(f"least complete list (the page's): audit {audit['page_least'][:3]}…, duckdb {base['least'][:3]}…")
    return out


def check(path: Path, work: Path, env: dict[str, str], query: str, referrals_query: str,
          unordered: str) -> dict[str, Any]:
    """Stop with the differences unless the baseline's figures for this file are the audit's
    (and the unordered baseline's totals and counts)."""
    run = measure(audit_cmd(path, work, matrix=True), env)
    audit = audit_figures(run.err, work / "statuses.csv", work / "audit.html")
    con = duckdb_baseline.connect()
    try:
        base = baseline_figures(con, query, referrals_query, work / "baseline-referrals.csv")
        counts = duckdb_baseline.run(con, unordered)
    finally:
        con.close()
    wrong = differences(audit, base) + [f"unordered: {d}" for d in differences(audit, counts, ordered=False)]
    if wrong:
        raise SystemExit(f"DuckDB baseline and audit DIFFER on {path}:\n  " + "\n  ".join(wrong[:40]))
    page = "" if audit["page_least"] is None else f", the page's {len(audit['page_least']):,}"
    print(f"  check {path.name}: equal — {base['records']:,} records = {base['evaluated']:,} evaluated +"
          f" {base['rejected']:,} rejected, {len(base['counts'])} items × 4 statuses, every referral,"
          f" the least complete {len(base['least']):,}{page}; unordered: the totals and counts")
    return base


# --- the tables -------------------------------------------------------------------

@dataclass
class Row:
    n: int
    kind: str
    run: str
    walls: list[float]
    peak: int
    ratio: tuple[float, float, float] | None = None   # DuckDB ÷ this run: wall, unordered wall, peak

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)


@dataclass
class Tables:
    rows: list[Row] = field(default_factory=list)
    startup: list[tuple[str, list[float], int]] = field(default_factory=list)


COLUMNS = (f"{'N':>10} {'format':10} {'run':<16} {'wall s':>7} {'range s':>11} {'records/s':>11} {'peak MiB':>9}"
           f"   DuckDB÷audit: wall unordered peak")


def line(r: Row) -> str:
    ratio = f" {r.ratio[0]:>19.2f} {r.ratio[1]:>9.2f} {r.ratio[2]:>4.2f}" if r.ratio else ""
    return (f"{r.n:>10,} {r.kind:10} {r.run:<16} {r.wall:>7.2f} {_range(r.walls):>11} {r.n / r.wall:>11,.0f}"
            f" {r.peak / 2**20:>9,.0f}{ratio}")


def markdown(tables: Tables, first_line: str, repeat: int) -> str:
    out = [first_line, "",
           f"{_median_of(repeat).capitalize()} taken in turns [range]; DuckDB ÷ audit above 1: the audit is faster"
           " (smaller).",
           "", "| N | format | run | wall s | range s | records/s | peak MiB | DuckDB ÷ audit: wall | unordered"
           " | peak |", "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in tables.rows:
        ratio = " | ".join(f"{x:.2f}" for x in r.ratio) if r.ratio else " | | "
        out.append(f"| {r.n:,} | {r.kind} | {r.run} | {r.wall:.2f} | {_range(r.walls)} | {r.n / r.wall:,.0f}"
                   f" | {r.peak / 2**20:,.0f} | {ratio} |")
    if tables.startup:
        out += ["", f"Start-up, median of {STARTUP_REPEAT} [range]:", "",
                "| command | wall s | range s | peak MiB |", "|---|---:|---:|---:|"]
        out += [f"| `{label}` | {statistics.median(w):.2f} | {_range(w)} | {peak / 2**20:,.0f} |"
                for label, w, peak in tables.startup]
    return "\n".join(out) + "\n"


def _median_of(repeat: int) -> str:
    return "one run of each" if repeat == 1 else f"median of {repeat} runs"


def _range(times: list[float]) -> str:
    return f"{min(times):.2f}-{max(times):.2f}"


# --- the benchmark ------------------------------------------------------------------

def startup(work: Path, env: dict[str, str], tables: Tables, before_env: dict[str, str] | None = None) -> None:
    files = one_record(work)
    query = work / "one-csv.sql"
    query.write_text(duckdb_baseline.query_for(files["csv"]), encoding="utf-8")
    report = work / "report.html"
    example = str(ROOT / "examples" / "referral-R-001.yaml")
    check = [sys.executable, "-m", "pathway", "check", example, "-o", str(report)]
    runs = [(f"pathway audit one.{k} -o audit.html", audit_cmd(files[k], work), env) for k in ("csv", "jsonl")]
    runs += [("duckdb_baseline.py --run (one.csv)", baseline_cmd(query), env),
             ("pathway check examples/referral-R-001.yaml -o report.html", check, env)]
    if before_env is not None:
        runs += [("before: pathway audit one.csv -o audit.html", audit_cmd(files["csv"], work), before_env),
                 ("before: pathway check examples/referral-R-001.yaml -o report.html", check, before_env)]
    walls: list[list[float]] = [[] for _ in runs]
    peaks = [0] * len(runs)
    for _ in range(STARTUP_REPEAT):
        for k, (_, cmd, run_env) in enumerate(runs):
            run = measure(cmd, run_env)
            walls[k].append(run.wall)
            peaks[k] = max(peaks[k], run.peak)
    print(f"\nstart-up, median of {STARTUP_REPEAT} [range]:")
    for (label, _, _), w, peak in zip(runs, walls, peaks):
        tables.startup.append((label, w, peak))
        print(f"  {label:<58} {statistics.median(w):>5.2f} s {_range(w):>11} {peak / 2**20:>6,.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--formats", nargs="+", choices=list(FORMATS), default=list(FORMATS))
    parser.add_argument("--repeat", type=int, default=3, help="runs of each command; the median is shown")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "pathway-bench-audit")
    parser.add_argument("--markdown", type=Path, help="also write the tables as Markdown, for docs/audit.md")
    parser.add_argument("--before", type=Path, metavar="DIR",
                        help="also time the audit of an earlier checkout in DIR (git worktree add DIR COMMIT)")
    args = parser.parse_args()
    first_line = header()
    print(first_line)
    args.work.mkdir(parents=True, exist_ok=True)
    env = _installed_like(args.work)
    before_env = _installed_like(args.work, args.before) if args.before else None
    print(f"{_median_of(args.repeat)} in turns [range]; DuckDB÷audit above 1: the audit is faster (smaller)")
    tables = Tables()
    medians: dict[tuple[str, str], dict[int, float]] = {}   # (format, run) → {N: median wall}
    for n in args.n:
        files = generate(n, args.work, args.formats)
        for kind, path in files.items():
            queries = {}
            for label, unordered in (("", False), ("-unordered", True)):
                queries[unordered] = args.work / f"query-{n}-{kind}{label}.sql"
                queries[unordered].write_text(duckdb_baseline.query_for(path, unordered=unordered), encoding="utf-8")
            check(path, args.work, env, queries[False].read_text(encoding="utf-8"),
                  duckdb_baseline.query_for(path, referrals=True), queries[True].read_text(encoding="utf-8"))
            runs = [("audit", audit_cmd(path, args.work), env),
                    ("audit --csv", audit_cmd(path, args.work, matrix=True), env),
                    ("duckdb", baseline_cmd(queries[False]), env),
                    ("duckdb unordered", baseline_cmd(queries[True]), env)]
            if before_env is not None:   # the same commands, run by the code before (--before)
                runs += [("audit before", audit_cmd(path, args.work), before_env),
                         ("audit --csv before", audit_cmd(path, args.work, matrix=True), before_env)]
            walls: list[list[float]] = [[] for _ in runs]
            peaks = [0] * len(runs)
            for _ in range(args.repeat):   # in turns, so that a slow spell of the machine slows them all
                for k, (_, cmd, run_env) in enumerate(runs):
                    run = measure(cmd, run_env)
                    walls[k].append(run.wall)
                    peaks[k] = max(peaks[k], run.peak)
            rows = [Row(n, kind, label, w, peak) for (label, _, _), w, peak in zip(runs, walls, peaks)]
            duck, loose = rows[2:4]
            for r in rows[:2] + rows[4:]:
                r.ratio = (duck.wall / r.wall, loose.wall / r.wall, duck.peak / r.peak)
            if not tables.rows:
                print(COLUMNS)
            for r in rows:
                tables.rows.append(r)
                medians.setdefault((kind, r.run), {})[n] = r.wall
                print(line(r), flush=True)
    if len(set(args.n)) > 1:
        _rates(medians, min(args.n), max(args.n))
    startup(args.work, env, tables, before_env)
    print(f"load average {os.getloadavg()[0]:.2f} at the end (other work on the machine slows every figure)")
    if args.markdown:
        args.markdown.write_text(markdown(tables, first_line, args.repeat), encoding="utf-8")
        print(f"wrote {args.markdown}")


def _rates(medians: dict[tuple[str, str], dict[int, float]], small: int, big: int) -> None:
    """Each run's wall time split, from its two sizes, into a fixed cost and a rate per record
    (wall = fixed + N / rate): what a bigger input adds, apart from start-up."""
    print(f"\nfixed cost and rate per record, from N = {small:,} and {big:,} (wall = fixed + N / rate):")
    print(f"{'format':10} {'run':<16} {'fixed s':>8} {'records/s':>11}")
    for (kind, label), walls in sorted(medians.items()):
        fit = _fit(walls, small, big)
        if fit is None:
            print(f"{kind:10} {label:<16} no fit: the larger N was not slower (noise: try larger sizes)")
            continue
        print(f"{kind:10} {label:<16} {fit[0]:>8.2f} {fit[1]:>11,.0f}")


def _fit(walls: dict[int, float], small: int, big: int) -> tuple[float, float] | None:
    """(fixed seconds, records a second), or None when the sizes are too close to tell apart."""
    if walls[big] <= walls[small]:
        return None
    rate = (big - small) / (walls[big] - walls[small])
    return walls[small] - small / rate, rate


def _installed_like(work: Path, root: Path = ROOT) -> dict[str, str]:
    """The environment the commands run in: the package of the checkout at `root`, from bytecode
    compiled once into the work folder (as pip compiles an installed package), not recompiled each
    run; the libraries read off the disk once."""
    cache = work / ("pycache" if root == ROOT else "pycache-before")
    env = {**os.environ, "PYTHONPATH": str(root), "PYTHONPYCACHEPREFIX": str(cache)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    sys.pycache_prefix = str(cache)
    compileall.compile_dir(root / "pathway", quiet=1)
    for warm in ("import polars", "import duckdb", "import pathway.cli"):
        subprocess.run([sys.executable, "-c", warm], env=env, check=True)
    return env


if __name__ == "__main__":
    main()
