"""The ``hingecoach`` console command: the CLI (typer, rich, NumPy and the pipeline) is
imported inside the Ctrl-C guard, so an interrupt during those imports ends quietly too."""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from hingecoach.cli import main as cli_main
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise SystemExit(130) from None
    cli_main()
