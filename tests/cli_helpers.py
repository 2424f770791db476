"""Run the hingecoach CLI in a subprocess (shared by the reader, CLI, live and BVH tests)."""

from __future__ import annotations

import subprocess
import sys


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m hingecoach.cli ARGS``: the exit code, stdout and stderr, text."""
    return subprocess.run([sys.executable, "-m", "hingecoach.cli", *args],
                          capture_output=True, text=True, timeout=120)
