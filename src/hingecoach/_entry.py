"""The ``hingecoach`` console command: the CLI (typer, rich, NumPy and the pipeline) is
imported inside the Ctrl-C guard, so an interrupt during those imports ends quietly too."""

from __future__ import annotations

import sys


def caused_by_interrupt(e: BaseException) -> bool:
    """A Ctrl-C, or an error raised while handling one (NumPy turns a Ctrl-C during its
    C-extension import into an ImportError)."""
    seen: set[int] = set()
    cur: BaseException | None = e
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, KeyboardInterrupt):
            return True
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return False


def main() -> None:
    """The console script: import the CLI inside the Ctrl-C guard, then run it."""
    try:
        from hingecoach.cli import main as cli_main
    except BaseException as e:
        if not caused_by_interrupt(e):
            raise
        sys.stderr.write("interrupted\n")
        raise SystemExit(130) from None
    cli_main()
