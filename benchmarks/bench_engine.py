"""Referrals per second for each backend, for `check` end to end, and the pydantic floor.

All measured in the same run, in one process (one core), over the same
deterministic synthetic referrals (benchmarks/synth.py). Memory: resident set
size sampled as the run goes, to show it does not grow with the number of
referrals. Prints figures; asserts nothing.

    python benchmarks/bench_engine.py [--n 100000] [--durable-n 20000] [--repeat 3]
"""
from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from synth import referrals  # noqa: E402
from machine import header  # noqa: E402

from pathway.backends import get_evaluator  # noqa: E402
from pathway.engine import evaluate  # noqa: E402
from pathway.errors import BackendUnavailable  # noqa: E402
from pathway.loader import load_pathway  # noqa: E402
from pathway.referral import referral_model, to_values  # noqa: E402
from pathway.render import render  # noqa: E402
from pathway.report import build_report  # noqa: E402
from pathway.resources import default_pathway_dir  # noqa: E402

AT = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.timezone.utc)


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def timed(label: str, n: int, repeat: int, body: Callable[[], None]) -> float:
    rates = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        body()
        rates.append(n / (time.perf_counter() - start))
    rate = statistics.median(rates)
    print(f"  {label:<46} {rate:>11,.0f} referrals/s   (median of {repeat}; RSS {rss_mib():,.0f} MiB)")
    return rate


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--durable-n", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    print(header())

    pathway = load_pathway(default_pathway_dir())
    fields = tuple(pathway.fields.values())
    model = referral_model(fields)
    raw = list(referrals(args.n, seed=7, pathway=pathway))
    values: list[dict[str, Any]] = [to_values(model.model_validate(r)) for r in raw]
    print(f"{args.n:,} synthetic referrals, {len(pathway.items)} items, Python {sys.version.split()[0]}, one process")
    print(f"RSS after generating: {rss_mib():,.0f} MiB")

    python = get_evaluator("python", pathway)

    def floor() -> None:
        for r in raw:
            model.model_validate(r)

    def python_only() -> None:
        for v in values:
            python.truth(v)

    def python_findings() -> None:
        for v in values:
            evaluate(pathway, v, python)

    rates = {}
    rates["floor"] = timed("floor: pydantic validation alone", args.n, args.repeat, floor)
    rates["python"] = timed("python backend: truth values", args.n, args.repeat, python_only)
    rates["python+statuses"] = timed("python backend: statuses + discussion", args.n, args.repeat, python_findings)
    n_check = min(args.n, 20_000)

    def check_n() -> None:
        for r in raw[:n_check]:
            check_one(r)

    def check_one(r: dict[str, Any]) -> None:
        render(build_report(pathway, evaluate(pathway, to_values(model.model_validate(r)), python), AT), "json")

    rates["check"] = timed(f"check end to end (validate+evaluate+JSON) x{n_check:,}", n_check, args.repeat, check_n)
    try:
        durable = get_evaluator("durable", pathway)
    except BackendUnavailable as exc:
        print(f"  durable backend: not available here ({exc})")
    else:
        n_d = min(args.durable_n, args.n)
        subset = values[:n_d]

        def durable_only() -> None:
            for v in subset:
                durable.truth(v)

        rates["durable"] = timed(f"durable backend: truth values x{n_d:,}", n_d, 1, durable_only)

    print("\nMemory while evaluating (RSS, MiB), to show it does not grow with the count:")
    for name in ("python", "durable") if "durable" in rates else ("python",):
        evaluator = get_evaluator(name, pathway)
        samples = []
        chunk = max(1, len(values) // 5) if name == "python" else max(1, min(args.durable_n, len(values)) // 5)
        for k in range(5):
            for v in values[k * chunk:(k + 1) * chunk]:
                evaluate(pathway, v, evaluator)
            gc.collect()
            samples.append(rss_mib())
        print(f"  {name:<8} after " + ", ".join(f"{(k + 1) * chunk:,}: {s:,.1f}" for k, s in enumerate(samples)))
    print(f"\npython backend vs floor: {rates['python'] / rates['floor']:.2f}x; "
          f"target >= 50,000 referrals/s: {'met' if rates['python'] >= 50_000 else 'NOT met'}")


if __name__ == "__main__":
    main()
