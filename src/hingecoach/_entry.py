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
    """The console script: import the CLI inside the Ctrl-C guard, then run it. A Ctrl-C
    during the imports is held until they end (NumPy prints the traceback of an interrupt
    inside its C-extension import itself, and raises an ImportError with no trace of it),
    then ends the command quietly."""
    import signal

    held: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: held.append(signum))
    try:
        from hingecoach.cli import main as cli_main
    except BaseException as e:
        if not (held or caused_by_interrupt(e)):
            raise
        _interrupted()
    finally:
        signal.signal(signal.SIGINT, previous)
    if held:
        _interrupted()
    cli_main()


def _interrupted() -> None:
    sys.stderr.write("interrupted\n")
    raise SystemExit(130) from None
