"""An export audited through the browser's way in (upload, queue, result) against `pathway audit` on the same file.

    python benchmarks/bench_web_upload.py [--rows 1000000] [--repeat 3] [--work DIR]

The web figure is from the first byte of the upload (httpx streaming a
multipart body, as a browser sends it) until the job's page says the result
is there; the command's, `pathway audit FILE -o … --csv … --rejects …` run
as a process. Both write the same three files. Also printed: the server's peak
memory (VmHWM), which stays far below the file's size because the upload is
streamed to disk. The export is made once from the cached benchmark export
(benchmarks/bench_audit.py) or generated, and kept in the work folder.
"""
from __future__ import annotations

import argparse
import csv
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import synth  # noqa: E402
from benchmarks.machine import header  # noqa: E402
from benchmarks.serving import HOST, start_server, stop_server  # noqa: E402
from pathway.loader import load_pathway  # noqa: E402
from pathway.resources import default_pathway_dir  # noqa: E402

CHUNK = 1 << 20


def export(rows: int, work: Path) -> Path:
    """A REDCap-like CSV of `rows` referrals, one column per field of the form (made once)."""
    pathway = load_pathway(default_pathway_dir())
    path = work / f"web-upload-{rows}-{pathway.rules_sha256[:12]}.csv"
    if path.exists():
        return path
    started = time.perf_counter()
    columns = list(pathway.fields)
    part = path.with_name(path.name + ".part")
    cached = work / f"referrals-{rows}-{pathway.rules_sha256[:12]}.csv"   # bench_audit.py's, if made
    with part.open("w", encoding="utf-8", newline="") as f:
        if cached.exists() and _last_column(cached) == "diagnosis":
            # its misspelt column (broken records' own) would refuse the whole file: cut it off
            with cached.open(encoding="utf-8", newline="") as rows_in:
                writer = csv.writer(f)
                for row in csv.reader(rows_in):
                    writer.writerow(row[:-1])
        else:
            writer = csv.writer(f)
            writer.writerow(columns)
            for record in synth.referrals(rows, seed=11, invalid_rate=0.03, pathway=pathway):
                writer.writerow(synth.csv_cells(record, columns))
    part.replace(path)
    print(f"generated {rows:,} referrals in {time.perf_counter() - started:.0f} s: "
          f"{path.stat().st_size / 1e6:,.0f} MB ({path})")
    return path


def _last_column(path: Path) -> str:
    with path.open(encoding="utf-8") as f:
        return f.readline().rstrip("\r\n").rsplit(",", 1)[-1]


def cli_time(path: Path) -> float:
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pathway", "audit", str(path), "-o", f"{out}/audit.html",
                        "--csv", f"{out}/statuses.csv", "--rejects", f"{out}/rejects.csv"],
                       check=True, stderr=subprocess.DEVNULL)
        return time.perf_counter() - started


def _peak_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
    return int(match.group(1)) if match else 0


def _body(path: Path, boundary: str) -> Iterator[bytes]:
    """The multipart body a browser sends for one chosen file, read from disk as it goes."""
    yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{path.name}\"\r\n"
           "Content-Type: text/csv\r\n\r\n").encode()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk
    yield f"\r\n--{boundary}--\r\n".encode()


def web_time(path: Path, work: Path) -> tuple[float, float, int]:
    """Seconds to upload and to the result, and the server's peak memory in KiB."""
    proc, port = start_server(["--work-dir", str(work)])
    base = f"http://{HOST}:{port}"
    boundary = "----pathwaybench7MA4YWxkTrZu0gW"
    try:
        with httpx.Client(base_url=base, timeout=600, headers={"origin": base}) as client:
            started = time.perf_counter()
            answer = client.post("/audit/jobs", content=_body(path, boundary), headers={
                "content-type": f"multipart/form-data; boundary={boundary}"})
            uploaded = time.perf_counter() - started
            assert answer.status_code == 303, answer.text[:300]
            location = answer.headers["location"]
            while "Done." not in (page := client.get(location).text):
                assert "could not run" not in page, page[:2000]
                time.sleep(0.05)
            done = time.perf_counter() - started
            peak = _peak_kib(proc.pid)
            client.post(location + "/delete")
    finally:
        stop_server(proc)
    return uploaded, done, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, in turns (the medians are compared)")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "pathway-bench-audit")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    path = export(args.rows, args.work)
    print(header())
    print(f"{args.rows:,} rows, {path.stat().st_size / 1e6:,.0f} MB CSV")
    clis, webs, uploads, peaks = [], [], [], []
    with tempfile.TemporaryDirectory(dir=args.work) as jobs:
        for _ in range(args.repeat):   # in turns, so a busy moment of the machine falls on both
            clis.append(cli_time(path))
            uploaded, web, peak = web_time(path, Path(jobs))
            webs.append(web)
            uploads.append(uploaded)
            peaks.append(peak)
    cli, web = statistics.median(clis), statistics.median(webs)
    runs = lambda times: ", ".join(f"{x:.1f}" for x in times)  # noqa: E731
    print(f"{'pathway audit (command)':<34} {cli:7.1f} s  median of {runs(clis)}")
    print(f"{'pathway serve /audit (upload+run)':<34} {web:7.1f} s  median of {runs(webs)}; upload alone "
          f"{statistics.median(uploads):.1f} s; server peak {max(peaks) / 1024:,.0f} MiB")
    print(f"{'ratio web / command':<34} {web / cli:7.2f}×  (target ≤ 1.5×)")


if __name__ == "__main__":
    main()
