"""Small scripts run as `python -m name` in a fresh interpreter, beside the repo's code: for what
only a new process shows (signals at start-up, what an import does, how the process ends)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT


def python_module(tmp_path: Path, name: str, source: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m name args`, `source` written as that module in `tmp_path`."""
    (tmp_path / f"{name}.py").write_text(source, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    return subprocess.run([sys.executable, "-m", name, *args], env=env, capture_output=True, text=True, check=False,
                          timeout=120)
