"""A soak of the real server at CI size (benchmarks/soak_web.py): every answer right, memory flat.

`pathway serve` is started as a user starts it (a subprocess on 127.0.0.1, a
free port) and 8 keep-alive clients in 2 processes send varied synthetic
referrals, every 50th broken on purpose. Every valid one must get a report
for that referral (its id, and the statuses the core gives it), every broken
one a 422 naming the field. The server's RSS from the 20% mark to the end
must grow by less than MAX_GROWTH_MIB: a leak check, not a timing one. A leak
of about 1.5 KB a request already shows here, and durable-rules state kept
between referrals (about 0.5 MB each) at once. The full 100,000:

    python3 benchmarks/soak_web.py [--cross-check]
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import soak_web  # noqa: E402

MAX_GROWTH_MIB = 5
"""Measured growth after the 20% mark is 0.1-0.3 MiB on either engine."""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the server's memory from /proc (Linux)")
@pytest.mark.parametrize(("requests", "cross_check"), [(5000, False), (2000, True)], ids=["python", "cross-check"])
def test_soak_answers_every_request_right_with_flat_memory(requests: int, cross_check: bool) -> None:
    if cross_check:
        pytest.importorskip("durable", reason="durable-rules is not installed")
    config = soak_web.Soak(requests=requests, clients=8, procs=2, cross_check=cross_check, pool=500, max_seconds=120)
    outcome = soak_web.run_soak(config)
    report = soak_web.describe(config, outcome)
    print(report)
    assert outcome.error_count == 0, report
    assert outcome.ok + outcome.rejected == requests
    assert outcome.rejected == requests // soak_web.INVALID_EVERY
    assert outcome.growth_kib < MAX_GROWTH_MIB * 1024, report
