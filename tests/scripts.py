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
    return subprocess.run([sys.executable, "-m", name, *args], env=repo_env(tmp_path), capture_output=True, text=True,
                          check=False, timeout=120)


def repo_env(*before: Path) -> dict[str, str]:
    """This process's environment, with the repo's code importable (after the folders `before`)."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([*map(str, before), str(ROOT)])}
