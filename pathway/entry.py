"""The `pathway` command's entry point, apart from the command line it runs.

It imports nothing that can take time, so a Ctrl+C (or SIGTERM) is caught from
the very start: one that strikes while the command line itself loads, in its
first tens of milliseconds, ends like any other, "pathway: interrupted" and
exit code 130, never Python's traceback.
"""
from __future__ import annotations

import gc
import signal
import sys


def main_entry() -> None:
    """Console-script entry point (and `python -m pathway`): SIGTERM unwinds like Ctrl+C.

    The cyclic garbage collector is off until the command is known, and stays off for a brief
    one (`cli.BRIEF_COMMANDS`): nearly all a command allocates as it starts (modules, validators,
    the pathway) lives to its end, so collecting only walks it. Once the command is done (its
    outputs written and closed), the objects it made are frozen out of the collector: at exit
    Python would otherwise walk them all once more just before the process ends (a tenth of a
    second after an audit)."""
    signal.signal(signal.SIGTERM, _terminate)
    gc.disable()
    try:
        from .cli import main

        code = main()
    except KeyboardInterrupt:
        code = interrupted()
    gc.freeze()
    sys.exit(code)


def interrupted() -> int:
    """Say so, and give the exit code of a command stopped by Ctrl+C.

    It also tells CPython the Ctrl+C was handled. If it struck while code built by `exec` ran (a
    dataclass or named tuple being made during an import), CPython noted it as uncaught, and
    `python -m pathway` would then end by killing itself with SIGINT instead of exiting 130.
    Running any `exec` clears that note."""
    print("pathway: interrupted", file=sys.stderr)
    exec("")  # noqa: S102 - an empty program, run only for its side effect on that note
    return 130


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM unwinds like Ctrl+C, so partly written outputs are removed, never left behind."""
    raise KeyboardInterrupt
