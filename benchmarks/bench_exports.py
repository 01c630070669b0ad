"""`pathway audit` of the same export saved the ways Excel and REDCap save it: wall time.

One generated export (`synth`, N referrals) is written as a plain UTF-8 CSV,
then as European Excel saves it (semicolons), as Excel's "Unicode text"
(UTF-16 with a BOM, tabs), as "CSV (Comma delimited)" (cp1252, read with
`--encoding cp1252`), and as a REDCap raw export with its own columns and a
column that is no field (`site`). Each is audited in a fresh process, in
turns, the median of `--repeat` runs; every audit must give the same counts,
which the script checks. The plain file and the REDCap one are read in byte
ranges by Polars; the others by Python's csv module (see docs/robustness.md),
which this measures. Wall time only: every run is a fresh process.

    python benchmarks/bench_exports.py [--n 100000] [--repeat 3] [--work DIR]
"""
from __future__ import annotations

import argparse
import csv
import io
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

TOTALS = re.compile(r"audit: ([\d,]+) records = ([\d,]+) evaluated \+ ([\d,]+) not evaluated")


def variants(plain: Path, work: Path) -> dict[str, tuple[Path, list[str]]]:
    """Each way of saving the export: (file, extra options)."""
    text = plain.read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text, newline="")))

    def written(delimiter: str, extra: list[tuple[str, str]] = ()) -> str:   # type: ignore[assignment]
        out = io.StringIO()
        writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
        for k, row in enumerate(rows):
            writer.writerow(row + [name if k == 0 else value for name, value in extra])
        return out.getvalue()

    files = {
        "UTF-8, commas (plain)": (plain, []),
        "UTF-8, semicolons (European Excel)": (work / "semicolon.csv", []),
        "UTF-16 with a BOM, tabs (Unicode text)": (work / "unicode.csv", []),
        "cp1252, commas, --encoding cp1252": (work / "cp1252.csv", ["--encoding", "cp1252"]),
        "REDCap raw: own columns and a site column": (work / "redcap.csv", []),
    }
    files["UTF-8, semicolons (European Excel)"][0].write_text(written(";"), encoding="utf-8", newline="")
    files["UTF-16 with a BOM, tabs (Unicode text)"][0].write_text(written("\t"), encoding="utf-16", newline="")
    files["cp1252, commas, --encoding cp1252"][0].write_text(written(","), encoding="cp1252", newline="")
    files["REDCap raw: own columns and a site column"][0].write_text(
        written(",", [("redcap_data_access_group", "north"), ("site", "Leeds"), ("itb_cp_referral_complete", "2")]),
        encoding="utf-8", newline="")
    return files


def run(cmd: list[str], cwd: Path) -> tuple[float, str]:
    """(wall seconds, stderr) of one command in a fresh process."""
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
    return time.perf_counter() - start, done.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work", type=Path, help="folder for the files (default: a temporary one)")
    args = parser.parse_args()
    import synth
    from machine import header

    from pathway.loader import load_pathway
    from pathway.resources import default_pathway_dir

    print(header())
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-exports-"))
    work.mkdir(parents=True, exist_ok=True)
    plain = work / "plain.csv"
    pathway = load_pathway(default_pathway_dir())
    synth.write_files(synth.referrals(args.n, seed=11, invalid_rate=0.02, pathway=pathway), pathway, csv_path=plain)
    files = variants(plain, work)
    times: dict[str, list[float]] = {name: [] for name in files}
    totals: dict[str, str] = {}
    for _ in range(args.repeat):
        for name, (path, extra) in files.items():   # in turns, so that a slower moment of the machine is shared
            cmd = [sys.executable, "-m", "pathway", "audit", str(path), "-o", str(work / "audit.html"), *extra]
            seconds, err = run(cmd, work)
            found = TOTALS.search(err)
            if found is None:
                raise SystemExit(f"{name}: the audit's totals line was not found:\n{err}")
            totals[name] = found.group(0)
            times[name].append(seconds)
    base = statistics.median(times["UTF-8, commas (plain)"])
    print(f"\n{args.n:,} referrals, median of {args.repeat} in turns\n")
    print(f"{'export':45} {'wall s':>8} {'÷ plain':>8}")
    for name in files:
        wall = statistics.median(times[name])
        print(f"{name:45} {wall:8.2f} {wall / base:8.2f}")
    if len(set(totals.values())) != 1:
        raise SystemExit(f"the audits disagree: {totals}")
    print(f"\nevery audit: {next(iter(totals.values()))}")


if __name__ == "__main__":
    main()
