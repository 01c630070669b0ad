"""Time `pathway mdt` for a meeting of synthetic referrals: wall time and page count, PDF and HTML.

The referrals come from synth.py (the same seed, the same referrals), written as one JSONL file.
Each command runs `--repeat` times in turns and the median is shown; with `--before DIR` (an
earlier checkout: `git worktree add DIR COMMIT`) the same commands run with that code too, side
by side. Prints figures only; the tests never assert a time.

The PDF's parts are printed on every core the command may use (pathway/mdt/pdf.py), so its CPU
time is more than its wall time; `taskset -c 0 python benchmarks/bench_mdt.py` gives the figures
of a one-core machine (the same bytes, printed in one process). `--profile` profiles the command's
own process: with workers, that is mostly waiting for them; under `taskset -c 0` it is everything.

    python benchmarks/bench_mdt.py [--n 30] [--repeat 3] [--before /tmp/before] [--profile]
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.machine import header  # noqa: E402
from benchmarks.synth import referrals, write_jsonl  # noqa: E402

PAGES = re.compile(r"\(pdf, (\d+) pages?\)")


def env_for(root: Path) -> dict[str, str]:
    """Run the package of the checkout at `root` (not whatever is installed)."""
    env = {**os.environ, "PYTHONPATH": str(root), "SOURCE_DATE_EPOCH": "1796288400"}
    return env


def command(inputs: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "pathway", "mdt", str(inputs), "-o", str(out), "--meeting-date", "2026-12-03"]


def _cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall time, CPU time (user + system: what the command costs whatever else the machine is doing), stderr."""
    started, cpu = time.perf_counter(), _cpu()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tempfile.gettempdir())
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    return wall, _cpu() - cpu, proc.stderr


def profile(inputs: Path, out: Path, top: int = 25) -> None:
    """Where the time goes, in this process (this checkout): the functions with the most cumulative time."""
    from pathway.cli import main as cli_main

    profiler = cProfile.Profile()
    profiler.enable()
    cli_main(["mdt", str(inputs), "-o", str(out), "--meeting-date", "2026-12-03"])
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=30, help="referrals in the meeting (default 30)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each command; the median is shown")
    parser.add_argument("--before", type=Path, metavar="DIR", help="also time the code of an earlier checkout in DIR")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "pathway-bench-mdt")
    parser.add_argument("--profile", action="store_true", help="then profile one PDF run of this checkout")
    args = parser.parse_args()
    print(header())
    args.work.mkdir(parents=True, exist_ok=True)
    inputs = args.work / f"meeting-{args.n}.jsonl"
    write_jsonl(inputs, referrals(args.n))
    codes = [("this checkout", ROOT)] + ([("before", args.before.resolve())] if args.before else [])
    runs = [(f"{label}: pathway mdt {args.n} referrals -o packet.{fmt}", root, fmt)
            for fmt in ("pdf", "html") for label, root in codes]
    walls: dict[str, list[float]] = {name: [] for name, _, _ in runs}
    cpus: dict[str, list[float]] = {name: [] for name, _, _ in runs}
    pages: dict[str, str] = {}
    for _ in range(args.repeat):
        for name, root, fmt in runs:   # in turns, so a busy moment on the machine falls on every command alike
            wall, cpu, err = timed(command(inputs, args.work / f"packet.{fmt}"), env_for(root))
            walls[name].append(wall)
            cpus[name].append(cpu)
            found = PAGES.search(err)
            pages[name] = f"{found.group(1)} pages" if found else ""
    print(f"median of {args.repeat} runs in turns: wall [fastest–slowest], CPU (user + system)")
    width = max(len(n) for n in walls)
    for name, times in walls.items():
        print(f"{name:<{width}}  {statistics.median(times):6.2f} s [{min(times):.2f}–{max(times):.2f}]"
              f"  CPU {statistics.median(cpus[name]):6.2f} s  {pages[name]}")
    if args.profile:
        profile(inputs, args.work / "profiled.pdf")


if __name__ == "__main__":
    main()
