"""Throughput and latency of `POST /api/check` on loopback, with the server started as a user starts it.

    python3 benchmarks/bench_web.py [--seconds 5] [--clients 1 16] [--workers 1] [--load-procs 1]

Starts `python -m pathway serve --port 0` (127.0.0.1, a free port), checks one
answer against the CLI's JSON, then for each client count runs a keep-alive
load generator in separate process(es) that posts the bundled example
referral as fast as the server answers, for a bounded time. Prints requests/s
and p50/p99 latency. Figures only: nothing is asserted. Loopback only.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import re
import statistics
import sys
import time
import urllib.request
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serving import HOST, ROOT, start_server, stop_server  # noqa: E402
from machine import header  # noqa: E402

EXAMPLE = ROOT / "examples" / "referral-R-001.yaml"


def referral_json() -> bytes:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    return json.dumps({k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in data.items()}).encode()


def request_bytes(port: int, body: bytes) -> bytes:
    head = (f"POST /api/check HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode("ascii") + body


async def _client(port: int, request: bytes, until: float, latencies: list[float], errors: list[int]) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        while time.perf_counter() < until:
            start = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            found = re.search(rb"(?i)content-length: *(\d+)", head)
            length = int(found.group(1)) if found else 0
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            if not head.startswith(b"HTTP/1.1 200"):
                errors.append(int(head[9:12]))
    finally:
        writer.close()


def _load(port: int, request: bytes, clients: int, seconds: float, out: mp.Queue) -> None:  # type: ignore[type-arg]
    """One load process: `clients` keep-alive connections, each sending the next request on each answer."""
    latencies: list[float] = []
    errors: list[int] = []

    async def run() -> None:
        until = time.perf_counter() + seconds
        await asyncio.gather(*(_client(port, request, until, latencies, errors) for _ in range(clients)))

    began = time.perf_counter()
    asyncio.run(run())
    out.put((latencies, errors, time.perf_counter() - began))


def measure(port: int, request: bytes, clients: int, seconds: float, procs: int) -> dict[str, float]:
    ctx = mp.get_context("spawn")
    out: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    shares = [clients // procs + (1 if i < clients % procs else 0) for i in range(procs)]
    workers = [ctx.Process(target=_load, args=(port, request, n, seconds, out)) for n in shares if n]
    for w in workers:
        w.start()
    results = [out.get(timeout=seconds + 60) for _ in workers]
    for w in workers:
        w.join()
    latencies = sorted(x for r in results for x in r[0])
    errors = [e for r in results for e in r[1]]
    elapsed = max(r[2] for r in results)
    return {
        "requests": len(latencies),
        "errors": len(errors),
        "rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "max_ms": latencies[-1] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measured time per client count (default 5)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 16], help="concurrent clients (default 1 16)")
    parser.add_argument("--workers", type=int, default=1, help="pathway serve --workers (default 1)")
    parser.add_argument("--load-procs", type=int, default=1, help="load generator processes (default 1)")
    args = parser.parse_args()
    print(header())
    if not 0 < args.seconds <= 120:
        raise SystemExit("--seconds must be from 0 to 120")
    body = referral_json()
    proc, port = start_server(["--workers", str(args.workers)])
    try:
        check = urllib.request.Request(f"http://{HOST}:{port}/api/check", data=body,
                                       headers={"content-type": "application/json"})
        with urllib.request.urlopen(check, timeout=10) as r:
            assert json.loads(r.read())["referral_id"] == "R-001"
        request = request_bytes(port, body)
        measure(port, request, 4, 1.0, 1)  # warm-up
        print(f"POST /api/check on {HOST}, pathway serve --workers {args.workers}, load in {args.load_procs} "
              f"process(es), {args.seconds:g} s each, {os.cpu_count()} CPUs, {len(body)}-byte referral")
        print(f"{'clients':>8} {'requests':>9} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'errors':>6}")
        for clients in args.clients:
            m = measure(port, request, clients, args.seconds, min(args.load_procs, clients))
            print(f"{clients:>8} {m['requests']:>9.0f} {m['rps']:>8.0f} {m['p50_ms']:>7.2f} {m['p99_ms']:>7.2f} "
                  f"{m['max_ms']:>7.2f} {m['errors']:>6.0f}", flush=True)
    finally:
        stop_server(proc)


if __name__ == "__main__":
    main()
