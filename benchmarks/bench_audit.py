"""`pathway audit` throughput and peak memory, beside the floor of merely parsing the same file.

For each N (default 100,000 and 1,000,000) a deterministic set of synthetic
referrals (benchmarks/synth.py, ~3% deliberately invalid) is written once as
JSONL and as CSV and cached in a work folder. Then, in the same run and each
in a fresh process:

- the floor: Polars reads the whole file with the audit's reader settings
  (every column as a string), on all cores, and nothing else; timed both as
  the read call alone and as a command (interpreter start, `import polars`,
  the read), which is how the audit is timed;
- the audit, end to end as a user runs it (`pathway audit FILE -o audit.html
  --jobs J`), including interpreter start-up and the page; then again with
  `--csv statuses.csv`, which also writes the referral × item status matrix
  (every record's 17 statuses: about 200 MB for a million referrals).

Wall time and peak resident memory, summed over the audit's processes
(sampled from /proc every 20 ms; Linux). Each figure is the median of
`--repeat` runs (default 3), floor and audit taking turns, with the range
beside it: on a shared machine one run can be half a second off. The package
runs from its compiled bytecode, kept in the work folder, as it does once
installed (pip compiles it), even where PYTHONDONTWRITEBYTECODE is set.
Prints a table and, from the smallest and largest N, each run's fixed cost
(start-up, the page) and its rate per record; asserts nothing.

    python benchmarks/bench_audit.py [--n 100000 1000000] [--jobs 1 2] [--repeat 3] [--work DIR] [--rejects]
"""
from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import synth  # noqa: E402
from machine import header  # noqa: E402

from pathway.loader import load_pathway  # noqa: E402
from pathway.resources import default_pathway_dir  # noqa: E402

SEED = 1
INVALID = 0.03
BLOCK = 100_000
FLOORS = ("floor: read call", "floor: read as a command")

FLOOR = """
import sys, time
import polars as pl
path, fields = sys.argv[1], sys.argv[2].split(",")
schema = {f: pl.String for f in fields}
start = time.perf_counter()
if path.endswith(".jsonl"):
    frame = pl.read_ndjson(path, schema=schema)
else:
    frame = pl.read_csv(path, infer_schema=False, quote_char=None)
print(time.perf_counter() - start, frame.height)
"""


def _block(args: tuple[int, int, str, str]) -> None:
    """One block of referrals, with its own seed, as JSONL and CSV part files."""
    index, n, jsonl, csv_path = args
    pathway = load_pathway(default_pathway_dir())
    records = synth.referrals(n, seed=SEED * 1000 + index, invalid_rate=INVALID, pathway=pathway)
    synth.write_both(records, Path(jsonl), Path(csv_path), pathway)


def generate(n: int, work: Path) -> tuple[Path, Path]:
    """The N referrals as JSONL and CSV, made once (in blocks, on all cores) and cached."""
    sha = load_pathway(default_pathway_dir()).rules_sha256[:12]
    jsonl, csv_path = work / f"referrals-{n}-{sha}.jsonl", work / f"referrals-{n}-{sha}.csv"
    if jsonl.exists() and csv_path.exists():
        return jsonl, csv_path
    started = time.perf_counter()
    blocks = [(k, min(BLOCK, n - k * BLOCK), str(work / f".part{k}.jsonl"), str(work / f".part{k}.csv"))
              for k in range((n + BLOCK - 1) // BLOCK)]
    with ProcessPoolExecutor() as pool:
        list(pool.map(_block, blocks))
    for target, column in ((jsonl, 2), (csv_path, 3)):
        tmp = target.with_name(target.name + ".part")
        with tmp.open("wb") as out:
            for k, block in enumerate(blocks):
                part = Path(block[column])
                with part.open("rb") as f:
                    if column == 3 and k:
                        f.readline()  # the CSV header once
                    while chunk := f.read(1 << 24):
                        out.write(chunk)
                part.unlink()
        tmp.replace(target)
    print(f"generated {n:,} referrals in {time.perf_counter() - started:.0f} s: {jsonl.stat().st_size / 2**20:,.0f} MiB"
          f" JSONL, {csv_path.stat().st_size / 2**20:,.0f} MiB CSV ({work})")
    return jsonl, csv_path


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


def measure(cmd: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """Wall time, peak summed RSS and stdout of a command."""
    peak = 0
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
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
    return wall, peak, out + err


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--jobs", type=int, nargs="+", default=[os.cpu_count() or 1, 1])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each command; the median is shown")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "pathway-bench-audit")
    parser.add_argument("--rejects", action="store_true", help="also time --rejects FILE (every reason worded)")
    args = parser.parse_args()
    print(header())
    args.work.mkdir(parents=True, exist_ok=True)
    env = _installed_like(args.work)
    fields = ",".join(load_pathway(default_pathway_dir()).fields)
    print(f"{os.cpu_count()} cores; Python {sys.version.split()[0]}; load average {os.getloadavg()[0]:.2f} at start;"
          f" median of {args.repeat} runs [range]")
    print("floor = Polars reading the file: the read call alone, and as a command (interpreter start, import, read);")
    print("the audit's figure is its whole command, so 'vs read' charges it its start-up and 'vs command' does not")
    print(f"{'N':>10} {'format':6} {'run':<24} {'wall s':>7} {'range s':>11} {'records/s':>11} {'peak MiB':>9}"
          f" {'vs read':>8} {'vs command':>10}")
    medians: dict[tuple[str, str], dict[int, float]] = {}   # (format, run) → {N: median wall}
    for n in args.n:
        files = generate(n, args.work)
        for path in files:
            kind = path.suffix[1:]
            matrix = ["--csv", str(args.work / "statuses.csv")]
            runs = [(f"audit --jobs {j}", j, []) for j in args.jobs]
            runs += [(f"audit --jobs {j} --csv", j, matrix) for j in args.jobs]
            if args.rejects:
                runs.append((f"audit --jobs {args.jobs[0]} --rejects", args.jobs[0],
                             ["--rejects", str(args.work / "rejects.csv")]))
            floor_cmd = [sys.executable, "-c", FLOOR, str(path), fields]
            commands = [floor_cmd] + [[sys.executable, "-m", "pathway", "audit", str(path), "-o",
                                       str(args.work / "audit.html"), "--jobs", str(jobs), *extra]
                                      for _, jobs, extra in runs]
            walls: list[list[float]] = [[] for _ in commands]
            peaks = [0] * len(commands)
            reads: list[float] = []
            for _ in range(args.repeat):   # in turns, so a slow spell of the machine slows them all
                for k, cmd in enumerate(commands):
                    wall, peak, out = measure(cmd, env)
                    walls[k].append(wall)
                    peaks[k] = max(peaks[k], peak)
                    if k == 0:
                        reads.append(float(out.split()[0]))
            floor, command = statistics.median(reads), statistics.median(walls[0])
            medians.setdefault((kind, FLOORS[0]), {})[n] = floor
            medians.setdefault((kind, FLOORS[1]), {})[n] = command
            print(f"{n:>10,} {kind:6} {FLOORS[0]:<24} {floor:>7.2f} {_range(reads):>11} {n / floor:>11,.0f}"
                  f" {peaks[0] / 2**20:>9,.0f}")
            print(f"{n:>10,} {kind:6} {FLOORS[1]:<24} {command:>7.2f} {_range(walls[0]):>11}"
                  f" {n / command:>11,.0f} {peaks[0] / 2**20:>9,.0f}")
            for (label, _, _), times, peak in zip(runs, walls[1:], peaks[1:]):
                wall = statistics.median(times)
                medians.setdefault((kind, label), {})[n] = wall
                print(f"{n:>10,} {kind:6} {label:<24} {wall:>7.2f} {_range(times):>11} {n / wall:>11,.0f}"
                      f" {peak / 2**20:>9,.0f} {floor / wall:>8.2f} {command / wall:>10.2f}")
    if len(set(args.n)) > 1:
        _rates(medians, min(args.n), max(args.n))
    print(f"load average {os.getloadavg()[0]:.2f} at the end (other work on the machine slows every figure)")


def _rates(medians: dict[tuple[str, str], dict[int, float]], small: int, big: int) -> None:
    """Each run's wall time split, from its two sizes, into a fixed cost and a rate per record
    (wall = fixed + N / rate): what a bigger input adds, apart from start-up. Shown beside the
    end-to-end figures above, which are the ones the targets are stated in."""
    print(f"\nfixed cost and rate per record, from N = {small:,} and {big:,} (wall = fixed + N / rate):")
    print(f"{'format':6} {'run':<24} {'fixed s':>8} {'records/s':>11} {'rate vs read':>13} {'rate vs command':>16}")
    for kind in sorted({k for k, _ in medians}):
        floors = [_fit(medians[(kind, f)], small, big) for f in FLOORS]
        for (k, label), walls in medians.items():
            if k != kind:
                continue
            fit = _fit(walls, small, big)
            if fit is None:
                print(f"{kind:6} {label:<24} no fit: the larger N was not slower (noise: try larger sizes)")
                continue
            fixed, rate = fit
            ratios = "" if label in FLOORS else " ".join(
                f"{rate / f[1]:>{w}.2f}" if f else f"{'-':>{w}}" for f, w in zip(floors, (13, 16)))
            print(f"{kind:6} {label:<24} {fixed:>8.2f} {rate:>11,.0f} {ratios}".rstrip())


def _fit(walls: dict[int, float], small: int, big: int) -> tuple[float, float] | None:
    """(fixed seconds, records a second), or None when the sizes are too close to tell apart."""
    if walls[big] <= walls[small]:
        return None
    rate = (big - small) / (walls[big] - walls[small])
    return walls[small] - small / rate, rate


def _range(times: list[float]) -> str:
    return f"{min(times):.2f}-{max(times):.2f}"


def _installed_like(work: Path) -> dict[str, str]:
    """The environment the commands run in: this checkout's package, from bytecode compiled
    once into the work folder (as pip compiles an installed package), not recompiled each run."""
    cache = work / "pycache"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONPYCACHEPREFIX": str(cache)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    sys.pycache_prefix = str(cache)
    compileall.compile_dir(ROOT / "pathway", quiet=1)
    for warm in ("import polars", "import pathway.audit.task, pathway.audit.service"):   # libraries off the disk once
        subprocess.run([sys.executable, "-c", warm], env=env, check=True)
    return env

if __name__ == "__main__":
    main()
