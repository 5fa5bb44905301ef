"""Measuring helpers shared by the benchmarks."""

from __future__ import annotations

import subprocess
import sys
import time

_PROBE = ("import resource, runpy, sys; sys.argv = sys.argv[1:]; "
          "code = 0\ntry:\n    runpy.run_module('qgis_noisyseg', run_name='__main__')\n"
          "except SystemExit as e:\n    code = e.code\n"
          "sys.stderr.write('MAXRSS %d\\n' % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\nsys.exit(code)")


def peak_rss_mb(noisyseg_args: list[str]) -> float:
    """Peak RSS of one ``noisyseg`` process, read by the process itself at exit."""
    proc = subprocess.run([sys.executable, "-c", _PROBE, "noisyseg", *noisyseg_args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"noisyseg {' '.join(noisyseg_args[:1])} failed: {proc.stderr[-2000:]}")
    line = next(l for l in proc.stderr.splitlines() if l.startswith("MAXRSS"))
    return int(line.split()[1]) / 1024


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start
