"""What serving behind a proxy costs the server: `POST /api/check` bare, and as nginx forwards it to a proxied server.

    python3 benchmarks/bench_proxy.py [--seconds 3] [--clients 1 16] [--rounds 2]

Two servers, started as a user starts them: `pathway serve` (loopback, no
checks beyond the loopback host names) and `pathway serve --public-url
https://itb.example.org/ --trusted-proxy 127.0.0.1`, sent the headers the
nginx site of docs/deploy.md sends (Host, X-Forwarded-Proto, -Host, -For)
and a browser's Origin: the forwarded headers, the host check, the Origin
check and the referrer policy on every answer. Measured in turns (bare,
proxied, bare, ...) so a busy machine slows both alike. nginx's own hop is
not measured: it is the proxy's cost, not the server's. Figures only.
"""
from __future__ import annotations

import argparse
import json
import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_web import measure, referral_json  # noqa: E402
from machine import header  # noqa: E402
from serving import HOST, start_server, stop_server  # noqa: E402

PUBLIC = "https://itb.example.org/"
NGINX_HEADERS = {"Host": "itb.example.org", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "itb.example.org",
                 "X-Forwarded-For": "192.0.2.7", "Origin": "https://itb.example.org"}


def request_bytes(port: int, body: bytes, proxied: bool) -> bytes:
    headers = dict(NGINX_HEADERS) if proxied else {"Host": f"{HOST}:{port}"}
    headers.update({"Content-Type": "application/json", "Content-Length": str(len(body))})
    head = "POST /api/check HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    return head.encode("ascii") + body


def check_once(port: int, body: bytes, proxied: bool) -> None:
    headers = {k: v for k, v in NGINX_HEADERS.items() if k != "Host"} if proxied else {}
    request = urllib.request.Request(f"http://{HOST}:{port}/api/check", data=body,
                                     headers={"content-type": "application/json", **headers})
    if proxied:
        request.add_unredirected_header("Host", "itb.example.org")
    with urllib.request.urlopen(request, timeout=10) as r:
        assert json.loads(r.read())["referral_id"] == "R-001"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="measured time per turn (default 3)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 16], help="concurrent clients (default 1 16)")
    parser.add_argument("--rounds", type=int, default=2, help="turns of each server per client count (default 2)")
    args = parser.parse_args()
    if not 0 < args.seconds <= 60 or not 0 < args.rounds <= 10:
        raise SystemExit("--seconds must be from 0 to 60 and --rounds from 1 to 10")
    print(header())
    body = referral_json()
    servers = {"bare": start_server([]), "proxied": start_server(["--public-url", PUBLIC, "--trusted-proxy", HOST])}
    try:
        requests = {}
        for name, (_, port) in servers.items():
            check_once(port, body, name == "proxied")
            requests[name] = request_bytes(port, body, name == "proxied")
            measure(port, requests[name], 4, 1.0, 1)  # warm-up
        print(f"POST /api/check on {HOST}, one worker each, {args.seconds:g} s per turn, {args.rounds} turns each; "
              "bare: pathway serve; proxied: --public-url --trusted-proxy, with nginx's headers and an Origin")
        print(f"{'clients':>8} {'server':>8} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6}")
        for clients in args.clients:
            runs: dict[str, list[dict[str, float]]] = {name: [] for name in servers}
            for _ in range(args.rounds):
                for name, (_, port) in servers.items():
                    runs[name].append(measure(port, requests[name], clients, args.seconds, 1))
            for name, results in runs.items():
                best = max(results, key=lambda m: m["rps"])
                print(f"{clients:>8} {name:>8} {best['rps']:>8.0f} {best['p50_ms']:>7.2f} {best['p99_ms']:>7.2f} "
                      f"{sum(m['errors'] for m in results):>6.0f}", flush=True)
    finally:
        for proc, _ in servers.values():
            stop_server(proc)


if __name__ == "__main__":
    main()
