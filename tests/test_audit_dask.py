"""The audit on a Dask cluster (`pathway audit --dask ADDRESS`): a real local cluster of two
worker processes gives the same files, byte for byte, as the audit run in this process."""
from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from pathway.audit.cluster import runner
from pathway.cli import main
from pathway.definition import Pathway

from .audit_support import referrals, run_audit, write_both


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0", scheduler_port=0) as cluster:
        yield cluster.scheduler_address


def test_a_two_worker_cluster_gives_the_files_of_the_plain_audit(pathway: Pathway, tmp_path: Path,
                                                                 scheduler: str) -> None:
    write_both(referrals(3000, seed=7, invalid_rate=0.05, pathway=pathway), tmp_path / "r.jsonl",
               tmp_path / "r.csv", pathway)
    folder = tmp_path / "files"
    folder.mkdir()
    for k, record in enumerate(referrals(30, seed=8, invalid_rate=0.2, pathway=pathway)):
        (folder / f"r{k:02d}.yaml").write_text(yaml.safe_dump(record), encoding="utf-8")
    inputs = (tmp_path / "r.jsonl", folder, tmp_path / "r.csv")
    plain = run_audit(pathway, tmp_path / "plain", *inputs, batch=400)
    assert plain.page.records == 6030 and plain.page.rejected > 0 and len(plain.matrix) == plain.page.evaluated
    for engine in ("columnar", "row"):
        out = tmp_path / f"dask-{engine}"
        on = run_audit(pathway, out, *inputs, batch=400, engine=engine, runner=runner(scheduler))
        assert on.matrix_bytes == plain.matrix_bytes
        assert on.rejects_bytes == plain.rejects_bytes
        assert on.html.replace(str(out), "") == plain.html.replace(str(tmp_path / "plain"), "")


def test_the_command_runs_on_the_cluster(pathway: Pathway, tmp_path: Path, scheduler: str) -> None:
    write_both(referrals(500, seed=9, invalid_rate=0.05, pathway=pathway), tmp_path / "r.jsonl",
               tmp_path / "r.csv", pathway)
    pages = []
    for extra in ([], ["--dask", scheduler]):
        page = tmp_path / f"audit{len(extra)}.html"
        code = main(["audit", str(tmp_path / "r.csv"), "-o", str(page), "--engine", "columnar", "--batch-size", "100",
                     "--now", "2026-12-03T09:00:00Z", *extra], stdout=io.StringIO())
        assert code == 0
        pages.append(page.read_text(encoding="utf-8").replace(str(page), ""))
    assert pages[0] == pages[1]


def test_no_scheduler_at_the_address_is_exit_4_and_writes_nothing(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "r.jsonl").write_text('{"referral_id": "R-1"}\n', encoding="utf-8")
    code = main(["audit", str(tmp_path / "r.jsonl"), "-o", str(tmp_path / "a.html"), "--dask", "127.0.0.1:9"],
                stdout=io.StringIO())
    assert code == 4
    assert "--dask 127.0.0.1:9: no Dask scheduler answered" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.jsonl"]
