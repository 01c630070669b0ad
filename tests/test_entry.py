"""The command's entry point: a Ctrl+C ends every command the same way, from its first moment."""
from __future__ import annotations

from pathlib import Path

import pytest

from .scripts import python_module


def test_ctrl_c_in_code_built_by_exec_still_exits_130_under_python_m(tmp_path: Path) -> None:
    """CPython notes a Ctrl+C that strikes inside code built by `exec` (a dataclass being made
    while a module imports) as uncaught, and `python -m` would then end by SIGINT, not 130."""
    proc = python_module(
        tmp_path, "interrupted_pathway",
        "from pathway import cli\n"
        "def cmd_schema(args, out):\n"
        "    exec('raise KeyboardInterrupt')\n"
        "cli.cmd_schema = cmd_schema\n"
        "from pathway.entry import main_entry\n"
        "main_entry()\n", "schema")
    assert (proc.returncode, proc.stderr) == (130, "pathway: interrupted\n")


@pytest.mark.parametrize("loading", ["pathway.cli", "pathway.audit.command"])
def test_ctrl_c_while_the_command_line_loads_exits_130_without_a_traceback(tmp_path: Path, loading: str) -> None:
    """The first tens of milliseconds of a command import the command line itself (then, to build
    its options, each command's module): a Ctrl+C there, made certain here by an import hook that
    raises it, ends as any other does. (Only the entry point's own module came before.)"""
    proc = python_module(
        tmp_path, "interrupted_start",
        "import sys\n"
        "class Strike:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name == {loading!r}:\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Strike())\n"
        "from pathway.entry import main_entry\n"
        "main_entry()\n", "schema")
    assert (proc.returncode, proc.stdout, proc.stderr) == (130, "", "pathway: interrupted\n")
