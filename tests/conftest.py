"""Shared fixtures. Unit tests run without QGIS (-p no:pytest_qgis); tests/qgis run with it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"
DENMARK = DATA / "denmark_s2_fields"
OLD_MAP = "marker_small_c31bc47.shp"  # the old, incomplete parcel map: the noisy labels
ATLANTA = DATA / "spacenet_atlanta_buildings"
VEGAS = DATA / "spacenet_vegas_roads"


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def events(self) -> list[dict]:
        return [json.loads(line) for line in self.out.splitlines() if line.startswith("{")]


@pytest.fixture
def run_cli(capsys):
    """Runs ``noisyseg ARGS`` in this process and returns exit code, stdout and stderr."""
    from qgis_noisyseg.cli import main

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse errors
            code = exc.code
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def assert_user_error(result: CliResult, *fragments: str) -> None:
    """Exit 2, one line on stderr naming the problem, no traceback."""
    assert result.code == 2, (result.code, result.err)
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, result.err
    assert "Traceback" not in result.err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def sigterm_at_first_progress(*args, env=None, timeout: float = 120) -> CliResult:
    """Runs ``noisyseg ARGS --json`` in a real process and sends SIGTERM at its first progress
    event; returns the exit code, the stdout after that event, and stderr."""
    command = [sys.executable, "-m", "qgis_noisyseg", *map(str, args), "--json"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env)
    for line in process.stdout:
        if line.startswith("{") and json.loads(line)["event"] == "progress":
            process.send_signal(signal.SIGTERM)
            break
    rest, err = process.communicate(timeout=timeout)
    return CliResult(process.returncode, rest, err)


@pytest.fixture(scope="session")
def python_exe() -> str:
    return sys.executable


def export_denmark(out: Path, labels: str = "marker2016_small.shp", **options) -> Path:
    """The Denmark scene exported as in the demo: 64 px tiles, AfgKode grouped by classes.json;
    ``options`` go to ``export_dataset`` (e.g. ``stride=32``)."""
    from qgis_noisyseg.core.export import export_dataset
    from qgis_noisyseg.core.progress import Reporter

    export_dataset(DENMARK / "RGB_small.tif", [str(DENMARK / labels)], out, field="AfgKode",
                   classes=DENMARK / "classes.json", tile=64, reporter=Reporter(quiet=True), **options)
    return out


@pytest.fixture(scope="session")
def denmark_2016(tmp_path_factory) -> Path:
    """The full 2016 parcel map as a dataset; shared by the session, so read it, don't change it."""
    return export_denmark(tmp_path_factory.mktemp("denmark") / "full2016")


@pytest.fixture(scope="session")
def denmark_old_map(tmp_path_factory) -> Path:
    """The old, incomplete parcel map (the noisy labels) as a dataset; read-only, like denmark_2016."""
    return export_denmark(tmp_path_factory.mktemp("denmark") / "old_map", OLD_MAP)
