"""The CLI as a whole: light to start, one line per user error."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def test_building_the_parser_imports_no_torch():
    """`noisyseg export`, `predict` and the plugin's calls must not pay for (or depend on) torch."""
    code = "import sys; from qgis_noisyseg.cli import build_parser; build_parser(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True).stdout
    assert out.strip() == "False"


def test_every_command_has_help(run_cli):
    from qgis_noisyseg.cli import COMMANDS

    for name in COMMANDS:
        result = run_cli(name, "--help")
        assert result.code == 0 and "--json" in result.out, name
