"""One piece of work in a forked child process, its result back as bytes.

Used where a long recording has two independent halves of work (parsing the two halves
of a CSV, fusing the two sensors): the child inherits the parent's memory when it is
forked, so nothing is pickled on the way in, and it sends raw bytes back through a pipe.

Safe by construction, or not used at all:

- only ``os.fork`` on Linux and other Unixes that are not macOS (where forking a process
  that has loaded system frameworks is unsafe), and only while the process runs a single
  thread (forking a threaded process can deadlock in the child);
- the child never returns into the caller's code: whatever happens it ends with
  ``os._exit`` (no ``atexit`` handlers, no second flush of stdout buffers);
- a failure in the child (an exception, Ctrl-C, being killed) is reported as ``None``
  and the caller does the work itself, serially, with its usual error messages;
- the parent always reaps the child: on an error or Ctrl-C in the parent the child is
  killed and waited for, so no zombie and no orphan is left behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable
from types import TracebackType

_OK = b"\x00"


def can_fork() -> bool:
    """Whether ``ForkedCall`` may be used in this process now."""
    return hasattr(os, "fork") and sys.platform != "darwin" and threading.active_count() == 1


class ForkedCall:
    """Run ``fn`` in a forked child. Use as a context manager::

        with ForkedCall(lambda: work(b)) as child:
            a = work(a_part)            # the parent works meanwhile
            b_bytes = child.result()    # None if the child failed: do it here instead
    """

    def __init__(self, fn: Callable[[], bytes]) -> None:
        self._pid: int | None = None
        self._fn = fn
        self._reader: int | None = None

    def __enter__(self) -> ForkedCall:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never leaves this block
            code = 1
            try:
                os.close(r)
                try:
                    payload = _OK + self._fn()
                except Exception:
                    payload = b"\x01"
                with os.fdopen(w, "wb") as f:
                    f.write(payload)
                code = 0
            except BaseException:  # Ctrl-C, a closed pipe: the parent sees a failure
                pass
            finally:
                os._exit(code)
        os.close(w)
        self._pid, self._reader = pid, r
        return self

    def result(self) -> bytes | None:
        """Wait for the child; its bytes, or None when it failed."""
        if self._reader is None:
            return None
        with os.fdopen(self._reader, "rb") as f:
            self._reader = None
            data = f.read()
        status = self._reap(kill=False)
        if status != 0 or not data.startswith(_OK):
            return None
        return data[1:]

    def _reap(self, *, kill: bool) -> int:
        """Wait for the child (killing it first if ``kill``); its exit code. The pid is
        forgotten only once it is reaped, so a Ctrl-C while waiting still reaps it."""
        pid = self._pid
        if pid is None:
            return -1
        if kill:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:  # already reaped elsewhere
            status = -1
        self._pid = None
        return os.waitstatus_to_exitcode(status) if status != -1 else -1

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._reader is not None:
            os.close(self._reader)
            self._reader = None
        if self._pid is not None:
            self._reap(kill=True)
