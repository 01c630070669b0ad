"""The promises of the set-up: the README's two commands, and a wheel that works from anywhere."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from .conftest import EXAMPLE, ROOT


def quick_start() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Quick start\n\n```sh\n(.*?)```", readme, re.S)
    assert block, "README has a Quick start block"
    return block.group(1).strip().splitlines()


def test_readme_has_exactly_two_first_commands_and_ci_runs_them() -> None:
    commands = quick_start()
    assert len(commands) == 2
    install_and_run, run_tests = commands
    assert "pip install ." in install_and_run and "pathway check examples/" in install_and_run
    assert run_tests.endswith("python3 -m pytest")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for command in commands:
        assert command in ci.splitlines()
    assert (ROOT / commands[0].split("pathway check ")[1].split()[0]).is_file()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        capture_output=True, text=True, check=False,
    )
    if proc.returncode != 0:
        pytest.fail(f"building the wheel failed:\n{proc.stderr}")
    [built] = out.glob("itb_pathway-*.whl")
    return built


def test_wheel_carries_rules_templates_seeds_and_schema(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in (
        "pathway/_data/rules/itb-cp/pathway.yaml",
        "pathway/_data/rules/itb-cp/items.yaml",
        "pathway/_data/rules/itb-cp/form.yaml",
        "pathway/_data/templates/report.html",
        "pathway/_data/templates/report.md",
        "pathway/_data/seeds/manifest.yaml",
        "pathway/_data/seeds/000_db4ad87d1ed8ab18.txt",
        "pathway/_data/seeds/002_46f1345da9a237e1.txt",
        "pathway/schema/report.schema.json",
        "pathway/_data/templates/web/form.html",
        "pathway/web/static/app.js",
        "pathway/web/static/app.css",
    ):
        assert name in names
    assert any(n.startswith("pathway/_data/rules/itb-cp/examples/") for n in names)


def test_installed_command_works_from_any_directory(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--ignore-installed", str(wheel)],
                   check=True, capture_output=True)
    clean_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    clean_env["SOURCE_DATE_EPOCH"] = "1796288400"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = subprocess.run([str(env_dir / "bin" / "pathway"), "check", str(EXAMPLE), "--format", "json"],
                          cwd=elsewhere, env=clean_env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert '"referral_id": "R-001"' in proc.stdout
    where = subprocess.run([str(python), "-c", "import pathway.resources as r; print(r.data_root())"],
                           cwd=elsewhere, env=clean_env, capture_output=True, text=True, check=True).stdout.strip()
    assert where.endswith("site-packages/pathway/_data")
