"""`pathway serve`: the referral form in a browser, with the checklist beside it.

Binds 127.0.0.1 unless told otherwise, prints the address and opens nothing.
The socket is bound here, before the server starts, so a port in use is a
clean message (exit 2), and `--port 0` picks a free port and prints it.
A bad option value is argparse's usage error (exit 2); a `--rules` folder that
is not there is bad input (2); one that holds no pathway, or a broken one, exit 3.
Behind a TLS proxy, `--public-url`, `--allowed-host` and `--trusted-proxy` say
how it is reached (`proxy`; docs/deploy.md).
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import os
import socket
import sys
from typing import Any, TextIO

from .. import options
from ..errors import OptionError
from . import proxy
from .proxy import is_loopback
from .limits import EXPIRY, MAX_UPLOAD, duration, upload_size

LOOPBACK_HINT = ("pathway serve: warning: listening beyond this machine ({host}); referral answers would cross the "
                 "network unencrypted. Put it behind a TLS proxy with access control, or use the default 127.0.0.1.")


WORKERS_HINT = ("pathway serve: warning: the meeting packet and audit pages keep each upload in the worker process "
                "that received it; with --workers above 1 their next page may reach another worker and say the job "
                "is not there. Use --workers 1 (the default) for them.")


def register(sub: Any, rules_opt: Any, engine_opts: Any) -> None:
    """Adds `serve` to the `pathway` command."""
    p = sub.add_parser("serve", help="the referral form in a browser, the checklist beside it (http://127.0.0.1:8000)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    p.add_argument("--port", type=options.port, default=8000, help="port (default: 8000; 0 picks a free one)")
    p.add_argument("--workers", type=options.positive, default=1, metavar="N",
                   help="worker processes sharing the port (default: 1)")
    p.add_argument("--log-level", choices=("critical", "error", "warning", "info", "debug"), default="info",
                   help="server log level (default: info; request lines never include what was typed)")
    p.add_argument("--public-url", type=proxy.public_url, metavar="URL",
                   help="the address users open, behind a TLS proxy (https://itb.example.org/): requests for its "
                        "host name are answered, links use it, and forms must come from it")
    p.add_argument("--allowed-host", type=proxy.allowed_host, action="append", default=[], metavar="NAME",
                   help="another host name to answer (repeatable; *.example.org for any name under it)")
    p.add_argument("--trusted-proxy", type=proxy.trusted_proxy, action="append", default=[], metavar="ADDRESS",
                   help="the proxy's IP address or network (repeatable): X-Forwarded-Proto, -Host and -For are read "
                        "only on connections from it (default: none)")
    p.add_argument("--max-upload", type=upload_size, default=MAX_UPLOAD, metavar="SIZE",
                   help="the largest upload the packet and audit pages take, such as 500MB or 2GB (default: 2GB); "
                        "a proxy in front must allow as much (nginx: client_max_body_size)")
    p.add_argument("--work-dir", metavar="DIR",
                   help="where uploads and results are kept while a job needs them, in a private folder "
                        "(default: the system's temporary folder)")
    p.add_argument("--expire-after", type=duration, default=EXPIRY, metavar="TIME",
                   help="how long an upload and its results are kept at most, such as 30m, 90s or 1h "
                        "(default: 30m); they go sooner once downloaded or deleted")
    rules_opt(p)
    engine_opts(p)
    p.set_defaults(func=cmd_serve)


def bind(host: str, port: int) -> socket.socket:
    """A listening-ready socket, or a clear `OptionError` (port in use, unknown address)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio turns Nagle off (TCP_NODELAY) only on sockets that say they are TCP,
    # and with Nagle on, each answer waits ~40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OptionError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def address(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def hosts_for(host: str) -> list[str] | None:
    """On loopback, answer only requests addressed to loopback names (no DNS rebinding); else any."""
    return list(proxy.LOOPBACK_NAMES) if is_loopback(host) else None


def exposure_of(args: argparse.Namespace) -> proxy.Exposure:
    return proxy.exposure_for(args.host, args.public_url, args.allowed_host, args.trusted_proxy)


def cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from ..cli import pathway_folder
    from .app import create_app
    from .logs import log_config

    pathway_folder(args.rules)   # a folder that is not there: exit 2, before the pathway loads
    exposure = exposure_of(args)
    app = create_app(args.rules, engine=args.engine, cross=args.cross_check,  # broken rules fail here, exit 3
                     exposure=exposure, work_dir=args.work_dir, max_upload=args.max_upload,
                     job_expiry=args.expire_after)
    freeze_startup_objects()
    sock = bind(args.host, args.port)
    print(f"pathway serve: {address(sock)}  (Ctrl+C to stop)", file=out, flush=True)
    if args.public_url:
        print(f"pathway serve: public address {args.public_url} (through the proxy)", file=out, flush=True)
    if not is_loopback(args.host):
        print(LOOPBACK_HINT.format(host=args.host), file=sys.stderr, flush=True)
    if args.workers > 1:
        print(WORKERS_HINT, file=sys.stderr, flush=True)
    options: dict[str, Any] = {
        # X-Forwarded-* are read by the app, from --trusted-proxy only (uvicorn's own would trust 127.0.0.1).
        "log_config": log_config(args.log_level), "server_header": False, "proxy_headers": False,
        "timeout_graceful_shutdown": 5,
    }
    if args.workers == 1:
        server = uvicorn.Server(uvicorn.Config(app, **options))
        with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises Ctrl+C after a clean shutdown
            server.run(sockets=[sock])
        return 0 if server.started else 1
    # Each worker process builds its own app from the same options.
    os.environ.update({"PATHWAY_SERVE_RULES": args.rules or "", "PATHWAY_SERVE_ENGINE": args.engine,
                       "PATHWAY_SERVE_CROSS": "1" if args.cross_check else "", "PATHWAY_SERVE_HOST": args.host,
                       "PATHWAY_SERVE_PUBLIC_URL": args.public_url or "",
                       "PATHWAY_SERVE_ALLOWED_HOSTS": ",".join(args.allowed_host),
                       "PATHWAY_SERVE_TRUSTED_PROXIES": ",".join(args.trusted_proxy)})
    os.environ.update({"PATHWAY_SERVE_WORK_DIR": args.work_dir or "", "PATHWAY_SERVE_MAX_UPLOAD": str(args.max_upload),
                       "PATHWAY_SERVE_EXPIRE_AFTER": str(args.expire_after)})
    config = uvicorn.Config("pathway.web.command:app_from_environment", factory=True, workers=args.workers, **options)
    with contextlib.suppress(KeyboardInterrupt):
        Multiprocess(config, sockets=[sock]).run()
    return 0


def app_from_environment() -> Any:
    """The app for a worker process, from the options `cmd_serve` left in the environment."""
    from .app import create_app

    env = os.environ.get
    exposure = proxy.exposure_for(env("PATHWAY_SERVE_HOST", "127.0.0.1"), env("PATHWAY_SERVE_PUBLIC_URL") or None,
                                  list(filter(None, env("PATHWAY_SERVE_ALLOWED_HOSTS", "").split(","))),
                                  list(filter(None, env("PATHWAY_SERVE_TRUSTED_PROXIES", "").split(","))))
    app = create_app(env("PATHWAY_SERVE_RULES") or None, engine=env("PATHWAY_SERVE_ENGINE", "python"),
                     cross=bool(env("PATHWAY_SERVE_CROSS")), exposure=exposure,
                     work_dir=env("PATHWAY_SERVE_WORK_DIR") or None,
                     max_upload=int(env("PATHWAY_SERVE_MAX_UPLOAD") or MAX_UPLOAD),
                     job_expiry=float(env("PATHWAY_SERVE_EXPIRE_AFTER") or EXPIRY))
    freeze_startup_objects()
    return app


def freeze_startup_objects() -> None:
    """The loaded pathway, templates and framework live as long as the server: keep them out of the
    collector's way, so full collections stay short and latency stays even (p99)."""
    gc.collect()
    gc.freeze()
