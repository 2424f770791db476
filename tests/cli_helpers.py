"""Run the ``hingecoach`` command in a subprocess (shared by the CLI and analysis tests)."""

from __future__ import annotations

import subprocess
import sys


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m hingecoach.cli ARGS`` with text output captured."""
    return subprocess.run([sys.executable, "-m", "hingecoach.cli", *args],
                          capture_output=True, text=True, timeout=120)
