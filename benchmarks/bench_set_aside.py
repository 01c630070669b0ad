"""What setting aside answers to questions not asked costs (issue 19), beside the same work without it.

Synthetic referrals (benchmarks/synth.py: every field answered at random, so about half of them hold an
answer to a question their own answers say is not asked) are evaluated

- one by one, as `pathway check` and the row audit engine do: `engine.evaluate` (with the rule) beside
  the backend on the raw answers (`engine.findings` of `evaluator.truth`, without it);
- as a batch: `pathway audit` (the columnar engine, in this process) of the same referrals as JSONL,
  beside the same audit with `columnar.set_aside_steps` made empty (no rule).

Prints medians of five runs side by side, in CPU time of this process (all its threads: the machine is
shared, and wall time there measures the neighbours); asserts nothing about time.

    python benchmarks/bench_set_aside.py [--n 20000]
"""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synth  # noqa: E402

from pathway.applicable import applicable  # noqa: E402
from pathway.backends import get_evaluator  # noqa: E402
from pathway.engine import evaluate, findings  # noqa: E402
from pathway.loader import load_pathway  # noqa: E402
from pathway.referral import validate  # noqa: E402
from pathway.resources import default_pathway_dir  # noqa: E402
from pathway.yamlsrc import Located  # noqa: E402


def clock() -> dt.datetime:
    return dt.datetime(2026, 12, 3, tzinfo=dt.timezone.utc)


def median_time(fn: Callable[[], object], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20_000)
    args = parser.parse_args()
    pathway = load_pathway(default_pathway_dir())
    fields = tuple(pathway.fields.values())
    evaluator = get_evaluator("python", pathway)
    records = []
    for record in synth.referrals(args.n, seed=19, pathway=pathway):
        values, _ = validate(record, fields, Located("synth", record))
        if values is not None:
            records.append(values)
    aside = sum(1 for v in records if applicable(pathway, v).set_aside)
    print(f"{len(records)} referrals, {aside} ({aside / len(records):.0%}) with an answer set aside")

    def each(fn: Callable[[dict[str, object]], object]) -> Callable[[], None]:
        def run() -> None:
            for v in records:   # each result dropped, as the row audit drops it
                fn(v)
        return run

    with_rule = median_time(each(lambda v: evaluate(pathway, v, evaluator)))
    without = median_time(each(lambda v: findings(pathway, v, evaluator.truth(v))))
    print(f"one by one (check, row audit): {with_rule * 1e6 / len(records):6.1f} µs a referral with the rule,"
          f" {without * 1e6 / len(records):6.1f} µs without")

    import tempfile

    from pathway.audit import columnar, task
    from pathway.audit.service import Outputs, audit

    with tempfile.TemporaryDirectory() as work:
        source = Path(work) / "r.jsonl"
        synth.write_files(synth.referrals(args.n, seed=19, pathway=pathway), pathway, jsonl=source)
        outputs = Outputs(str(Path(work) / "audit.html"), None, None)
        compiled = columnar.set_aside_steps

        def run(steps: Callable[..., list[object]]) -> float:
            columnar.set_aside_steps = steps  # type: ignore[assignment]
            task._CONTEXT = None
            return median_time(lambda: audit(pathway, [str(source)], outputs, batch=50_000, clock=clock,
                                             engine="columnar"))

        batch_with, batch_without = run(compiled), run(lambda p: [])
        columnar.set_aside_steps = compiled
    print(f"columnar audit of the same as JSONL: {batch_with:6.2f} s with the rule ({len(compiled(pathway))} steps),"
          f" {batch_without:6.2f} s without")


if __name__ == "__main__":
    main()
