"""Soak `POST /api/check` on loopback: many varied referrals, every answer checked, server memory sampled.

    python3 benchmarks/soak_web.py [--requests 100000] [--clients 8] [--procs 2] [--cross-check | --engine E]

Starts `python -m pathway serve --port 0` (127.0.0.1, a free port) as a user
would, then `--clients` keep-alive connections, spread over `--procs` load
processes, send `--requests` referrals between them: varied answers drawn by
benchmarks/synth.py, each with its own referral id, and every 50th made invalid
on purpose. Every answer is checked: a valid referral must get 200 with a
report for *that* referral (its id, and the statuses and summary the core
gives it here: a report shown for another child is the hazard this looks
for), an invalid one 422 naming the broken field. Meanwhile the server's
resident memory (VmRSS in /proc/PID/status) is sampled: after warming up it
must stay flat, which with `--cross-check` shows that durable-rules keeps no
state from one referral to the next. Loopback only; bounded in count and time
(`--max-seconds`); the server is stopped by its process id.

Prints throughput, errors and RSS samples; exit status 1 when an answer was
wrong or memory grew by more than `--max-growth-mib` after the 20% mark.
tests/test_soak.py runs the same at CI size.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import multiprocessing as mp
import os
import queue
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import synth  # noqa: E402
from machine import header  # noqa: E402
from serving import start_server, stop_server  # noqa: E402

from pathway.loader import load_pathway  # noqa: E402
from pathway.resources import default_pathway_dir  # noqa: E402
from pathway.service import check, referral_values  # noqa: E402
from pathway.yamlsrc import Located  # noqa: E402

HOST = "127.0.0.1"
INVALID_EVERY = 50
BREAKS = (("spasticity_severity", "extreme"), ("age_years", 99), ("diagnosis", "yes"))
"""How every INVALID_EVERY-th referral is broken, in turn: the field named in the 422, and the bad value."""
REQUEST_TIMEOUT = 60.0

Expected = tuple[dict[str, Any], list[str]]
"""A valid referral's report: its summary and its item statuses, in order."""


@dataclass(frozen=True)
class Soak:
    requests: int = 100_000
    clients: int = 8
    procs: int = 2
    engine: str = "python"
    cross_check: bool = False
    pool: int = 1000
    seed: int = 1
    max_seconds: float = 900.0
    sample_every: float = 0.2


@dataclass
class Outcome:
    requests: int
    ok: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)
    error_count: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    samples: list[tuple[float, int, int]] = field(default_factory=list)
    """(seconds since the load started, answers so far, server VmRSS in KiB)."""
    server_log: str = ""

    @property
    def rps(self) -> float:
        return (self.ok + self.rejected) / self.seconds if self.seconds else 0.0

    def rss_at(self, share: float) -> int:
        """RSS (KiB) at the first sample with at least `share` of the requests answered."""
        return next(rss for _, done, rss in self.samples if done >= share * self.requests)

    @property
    def rss_end(self) -> int:
        return self.samples[-1][2]

    @property
    def growth_kib(self) -> int:
        """Growth from the 20% mark (warmed up: caches and allocator pools filled) to the end."""
        return self.rss_end - self.rss_at(0.2)


def build_pool(size: int, seed: int) -> tuple[list[dict[str, Any]], list[Expected]]:
    """`size` varied valid referrals (without ids) and what the core reports for each."""
    pathway = load_pathway(default_pathway_dir())
    at = dt.datetime(2026, 12, 3, tzinfo=dt.timezone.utc)
    records: list[dict[str, Any]] = []
    expected: list[Expected] = []
    for record in synth.referrals(size, seed=seed, pathway=pathway):
        report = json.loads(check(pathway, referral_values(pathway, Located("pool", record)), at=at).to_json())
        record.pop("referral_id")
        records.append(record)
        expected.append((report["summary"], [i["status"] for i in report["items"]]))
    return records, expected


def soak_request(i: int, pool: list[dict[str, Any]]) -> tuple[bytes, str | None]:
    """The i-th request body, and the field its 422 must name (None: it is valid)."""
    record = {"referral_id": f"SOAK-{i:07d}", **pool[i % len(pool)]}
    broken = None
    if i % INVALID_EVERY == INVALID_EVERY - 1:
        broken, value = BREAKS[(i // INVALID_EVERY) % len(BREAKS)]
        if broken == "diagnosis":
            record.pop("diagnosis_cp", None)
        record[broken] = value
    return json.dumps(record).encode("utf-8"), broken


def judge(i: int, status: int, payload: bytes, broken: str | None, expected: Expected) -> str | None:
    """What is wrong with the answer to request i, or None."""
    try:
        body = json.loads(payload)
    except ValueError:
        return f"request {i}: {status} with a body that is not JSON"
    if broken is not None:
        fields = [p.get("field") for p in body.get("problems", [])] if isinstance(body, dict) else []
        if status != 422 or broken not in fields:
            return f"request {i}: broke {broken!r}, expected 422 naming it, got {status} {fields}"
        return None
    if status != 200:
        return f"request {i}: valid referral, got {status}: {payload[:200]!r}"
    if body.get("referral_id") != f"SOAK-{i:07d}":
        return f"request {i}: report for referral {body.get('referral_id')!r}, not SOAK-{i:07d}"
    if (body.get("summary"), [item.get("status") for item in body.get("items", [])]) != (expected[0], expected[1]):
        return f"request {i}: statuses or summary differ from the core's for this referral"
    return None


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> tuple[int, bytes]:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    found = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
    if not head.startswith(b"HTTP/1.1 ") or not found:
        raise ConnectionError(f"unexpected answer head {head[:80]!r}")
    return int(head[9:12]), await reader.readexactly(int(found.group(1)))


async def _client(port: int, first: int, config: Soak, pool: list[dict[str, Any]], expected: list[Expected],
                  deadline: float, tally: Outcome, progress: Any) -> None:
    """One keep-alive connection sending requests first, first + clients, ... in turn (reconnects on failure)."""
    conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    since_report = 0
    for i in range(first, config.requests, config.clients):
        if time.monotonic() > deadline:
            tally.error_count += 1
            tally.errors.append(f"client {first}: time limit reached before request {i}")
            break
        body, broken = soak_request(i, pool)
        head = (f"POST /api/check HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode("ascii")
        start = time.perf_counter()
        try:
            if conn is None:
                conn = await asyncio.open_connection(HOST, port)
            status, payload = await asyncio.wait_for(_exchange(*conn, head + body), REQUEST_TIMEOUT)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError) as exc:
            problem: str | None = f"request {i}: {type(exc).__name__}: {exc}"
            if conn is not None:
                conn[1].close()
            conn = None
        else:
            tally.latencies.append(time.perf_counter() - start)
            problem = judge(i, status, payload, broken, expected[i % len(expected)])
            if problem is None:
                if broken is None:
                    tally.ok += 1
                else:
                    tally.rejected += 1
        if problem is not None:
            tally.error_count += 1
            if len(tally.errors) < 20:
                tally.errors.append(problem)
        since_report += 1
        if since_report == 50:
            with progress.get_lock():
                progress.value += since_report
            since_report = 0
    with progress.get_lock():
        progress.value += since_report
    if conn is not None:
        conn[1].close()


def _load(port: int, firsts: list[int], config: Soak, pool: list[dict[str, Any]], expected: list[Expected],
          deadline_in: float, progress: Any, out: Any) -> None:
    """One load process: a keep-alive connection for each client number in `firsts`."""
    tally = Outcome(requests=0)

    async def run() -> None:
        deadline = time.monotonic() + deadline_in
        await asyncio.gather(*(_client(port, f, config, pool, expected, deadline, tally, progress) for f in firsts))

    asyncio.run(run())
    out.put(tally)


def rss_kib(pid: int) -> int:
    """VmRSS of a process, in KiB (Linux)."""
    status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    found = re.search(r"^VmRSS:\s+(\d+) kB$", status, re.M)
    if not found:
        raise RuntimeError(f"no VmRSS for process {pid}")
    return int(found.group(1))


def run_soak(config: Soak) -> Outcome:
    """Start the server, drive the load, sample its memory, stop it; every wrong answer is in `errors`."""
    if not 0 < config.procs <= config.clients:
        raise ValueError("--procs must be from 1 to --clients")
    pool, expected = build_pool(config.pool, config.seed)
    outcome = Outcome(requests=config.requests)
    with tempfile.TemporaryFile("w+", encoding="utf-8") as log:
        proc, port = start_server(["--cross-check"] if config.cross_check else ["--engine", config.engine], log)
        try:
            ctx = mp.get_context("spawn")
            progress = ctx.Value("q", 0)
            out = ctx.Queue()
            shares = [list(range(p, config.clients, config.procs)) for p in range(config.procs)]
            workers = [ctx.Process(target=_load, args=(port, s, config, pool, expected, config.max_seconds,
                                                       progress, out), daemon=True) for s in shares]
            began = time.monotonic()
            outcome.samples.append((0.0, 0, rss_kib(proc.pid)))
            for w in workers:
                w.start()
            tallies: list[Outcome] = []
            hard_stop = began + config.max_seconds + REQUEST_TIMEOUT + 30
            while len(tallies) < len(workers) and time.monotonic() < hard_stop:
                with contextlib.suppress(queue.Empty):   # no load process has finished yet: sample again
                    tallies.append(out.get(timeout=config.sample_every))
                outcome.samples.append((time.monotonic() - began, progress.value, rss_kib(proc.pid)))
            outcome.seconds = time.monotonic() - began
            for w in workers:
                w.join(timeout=10)
                if w.is_alive():
                    w.kill()
            if len(tallies) < len(workers):
                outcome.error_count += 1
                outcome.errors.append("a load process did not finish in time")
            outcome.samples.append((outcome.seconds, progress.value, rss_kib(proc.pid)))
        finally:
            stop_server(proc)
        log.seek(0)
        outcome.server_log = log.read()
    for t in tallies:
        outcome.ok += t.ok
        outcome.rejected += t.rejected
        outcome.error_count += t.error_count
        outcome.errors.extend(t.errors)
        outcome.latencies.extend(t.latencies)
    if outcome.ok + outcome.rejected + outcome.error_count < config.requests:
        outcome.error_count += 1
        outcome.errors.append(f"only {outcome.ok + outcome.rejected + outcome.error_count} of {config.requests} sent")
    if re.search(r"internal error|Traceback", outcome.server_log):
        outcome.error_count += 1
        outcome.errors.append("the server logged an error: " + outcome.server_log[-500:])
    return outcome


def describe(config: Soak, o: Outcome) -> str:
    engine = "--cross-check (python and durable-rules)" if config.cross_check else f"--engine {config.engine}"
    lat = sorted(o.latencies) or [0.0]
    lines = [
        f"POST /api/check on {HOST}, pathway serve {engine}: {config.requests} requests from {config.clients} "
        f"keep-alive clients in {config.procs} processes, {os.cpu_count()} CPUs",
        f"  {o.ok} reports (200), {o.rejected} invalid referrals refused (422), {o.error_count} errors",
        f"  {o.seconds:.1f} s, {o.rps:,.0f} requests/s, latency p50 {statistics.median(lat) * 1000:.1f} ms, "
        f"p99 {lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000:.1f} ms",
        f"  server RSS: start {o.samples[0][2] / 1024:.1f} MiB, at 20% {o.rss_at(0.2) / 1024:.1f} MiB, "
        f"end {o.rss_end / 1024:.1f} MiB, peak {max(s[2] for s in o.samples) / 1024:.1f} MiB; "
        f"growth after 20%: {o.growth_kib / 1024:+.1f} MiB",
        "  RSS by progress: " + ", ".join(f"{int(share * 100)}% {o.rss_at(share) / 1024:.1f}"
                                          for share in (0.0, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0)) + " (MiB)",
    ]
    lines += [f"  error: {e}" for e in o.errors[:20]]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000, help="requests in all (default 100000)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent keep-alive connections (default 8)")
    parser.add_argument("--procs", type=int, default=2, help="load generator processes (default 2)")
    parser.add_argument("--engine", choices=("python", "durable"), default="python")
    parser.add_argument("--cross-check", action="store_true", help="the server evaluates with both engines")
    parser.add_argument("--pool", type=int, default=1000, help="distinct synthetic referrals (default 1000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-seconds", type=float, default=900, help="time limit of the load (default 900)")
    parser.add_argument("--max-growth-mib", type=float, default=10, help="allowed RSS growth after 20%% (default 10)")
    args = parser.parse_args()
    print(header())
    if not 0 < args.requests <= 10_000_000 or not 0 < args.max_seconds <= 3600:
        raise SystemExit("--requests must be from 1 to 10,000,000 and --max-seconds from 1 to 3600")
    config = Soak(requests=args.requests, clients=args.clients, procs=args.procs, engine=args.engine,
                  cross_check=args.cross_check, pool=args.pool, seed=args.seed, max_seconds=args.max_seconds)
    outcome = run_soak(config)
    print(describe(config, outcome), flush=True)
    if outcome.error_count or outcome.growth_kib > args.max_growth_mib * 1024:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
