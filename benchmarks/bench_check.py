"""`pathway check` of one large referral file: wall time and peak memory, per shape of file.

Each shape is a single referral of about 4 MB, under the 5,000,000-character
limit of a referral file, written the way a large file comes about: notes
pasted in (JSON with escapes, a YAML block), a long multi-choice list (JSON
indented, YAML with Windows line ends), a file of many columns that are no
fields, a list of values not allowed, two million numbers. Each is checked in
a fresh process (`python -m pathway check FILE -o report.html`), and its wall
time and peak resident memory (the process's own, from `wait4`) are printed,
the median of `--repeat` runs. `--before DIR` runs the same commands with the
code of another checkout (for example `git worktree add DIR HEAD~1`). Asserts
nothing; `tests/test_large_files.py` checks what each shape reads as.

    python benchmarks/bench_check.py [--shapes ...] [--repeat 1] [--before DIR] [--work DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

SIZE = 4_000_000
"""Characters in each file: a 4 MB file, under the limit (`yamlsrc.MAX_BYTES`)."""

_ANSWERS = {
    "referral_id": "R-BIG", "referral_date": "2026-10-14", "age_years": 9, "diagnosis_cp": "yes",
    "gmfcs_level": "IV", "tone_type": "spastic", "spasticity_severity": "severe",
}


def _yaml_head() -> str:
    return "".join(f"{k}: {v}\n" for k, v in _ANSWERS.items())


def notes_json(size: int) -> str:
    """Clinic letters pasted into `notes`: line breaks, tabs, quotes and accents, escaped as JSON writes them."""
    line = 'Seen in clinic; tone reviewed.\n\t"Plan" agreed with the family, who travel far (é).\n'
    return json.dumps({**_ANSWERS, "notes": line * (size // (len(line) + 8))})


def notes_yaml(size: int) -> str:
    """The same notes typed as a folded YAML block, one short line after another."""
    lines = "".join(f"  Seen in clinic {i}; tone reviewed, plan agreed with the family.\n"
                    for i in range(size // 66))
    return _yaml_head() + "notes: >-\n" + lines


def list_json(size: int) -> str:
    """A multi-choice answer repeated (every value allowed): JSON indented by two spaces."""
    values = ["movement", "comfort_pain"] * (size // 40)
    return json.dumps({**_ANSWERS, "functional_impact": values}, indent=2)


def list_yaml_crlf(size: int) -> str:
    """The same list as a YAML block, with Windows line ends."""
    items = "".join(f"- {v}\r\n" for v in ["movement", "comfort_pain"] * (size // 33))
    return _yaml_head().replace("\n", "\r\n") + "functional_impact:\r\n" + items


def unknown_yaml(size: int) -> str:
    """Many columns that are no fields of the form (an export of another instrument)."""
    return _yaml_head() + "".join(f"extra_field_{i:06d}: value {i}\n" for i in range(size // 32))


def bad_values_json(size: int) -> str:
    """A multi-choice list of values the form does not offer."""
    return json.dumps({"referral_id": "R-BIG", "functional_impact": ["walking"] * (size // 11)})


def numbers_json(size: int) -> str:
    """Two million numbers in one list, written compactly: the most values a 4 MB file can hold."""
    return json.dumps({"referral_id": "R-BIG", "functional_impact": [0] * (size // 2)}, separators=(",", ":"))


SHAPES: dict[str, tuple[str, Callable[[int], str]]] = {
    "notes-json": (".json", notes_json),
    "notes-yaml": (".yaml", notes_yaml),
    "list-json": (".json", list_json),
    "list-yaml-crlf": (".yaml", list_yaml_crlf),
    "unknown-yaml": (".yaml", unknown_yaml),
    "bad-values-json": (".json", bad_values_json),
    "numbers-json": (".json", numbers_json),
}


def write_shape(name: str, folder: Path, size: int = SIZE) -> Path:
    """The file of shape `name` in `folder` (written with its line ends as they are)."""
    suffix, make = SHAPES[name]
    path = folder / f"{name}{suffix}"
    path.write_bytes(make(size).encode("utf-8"))
    return path


def run(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, int, int]:
    """(wall seconds, peak resident KiB, exit code) of one command in a fresh process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - start, usage.ru_maxrss, proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shapes", nargs="+", choices=SHAPES, default=list(SHAPES))
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--before", type=Path, metavar="DIR", help="also time the code of this checkout")
    parser.add_argument("--work", type=Path, help="folder for the files (default: a temporary one)")
    args = parser.parse_args()
    from machine import header

    print(header())
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-check-"))
    work.mkdir(parents=True, exist_ok=True)
    codes = [("now", ROOT)] + ([("before", args.before.resolve())] if args.before else [])
    print(f"{'shape':<16} {'bytes':>10} {'code':<7} {'exit':>4} {'seconds':>8} {'peak MiB':>9}")
    for name in args.shapes:
        path = write_shape(name, work)
        for label, root in codes:
            env = {**os.environ, "PYTHONPATH": str(root)}
            cmd = [sys.executable, "-m", "pathway", "check", str(path), "-o", str(work / "report.html")]
            runs = [run(cmd, env, work) for _ in range(args.repeat)]  # not in a checkout: PYTHONPATH's code
            wall = statistics.median(r[0] for r in runs)
            peak = statistics.median(r[1] for r in runs) / 1024
            print(f"{name:<16} {path.stat().st_size:>10,} {label:<7} {runs[0][2]:>4} {wall:>8.2f} {peak:>9.0f}",
                  flush=True)


if __name__ == "__main__":
    main()
