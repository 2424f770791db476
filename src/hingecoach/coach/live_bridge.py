"""The one door to live streaming: ``start_live`` builds a live session, and
``LiveLink`` runs it in a thread and hands its events to whoever waits for them.

``hingecoach.live`` (issue 5) provides the real ``LiveSession``; until it exists,
``start_live`` says so, unless a stand-in was installed: ``install(factory)`` in the
same process (tests), or ``HINGECOACH_FAKE_LIVE=1`` in the environment, which serves
``replay:FILE`` sources with ``hingecoach.coach.scripted`` (the offline analysis of
FILE replayed as timed events; ``HINGECOACH_FAKE_LIVE=4`` plays it 4 times faster).
The stand-in is never chosen by itself: a person only ever gets it by asking for it.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from hingecoach.core.errors import HingecoachError
from hingecoach.store import Store

Event = dict[str, Any]
EventSink = Callable[[Event], None]


class LiveSessionLike(Protocol):
    """What the programme needs of a live session (hingecoach.live.LiveSession)."""

    def run(self) -> Any: ...

    def stop(self) -> None: ...

    @property
    def session_id(self) -> int | None: ...


Factory = Callable[[str, Any, EventSink, Store | None, str | None], LiveSessionLike]
_installed: Factory | None = None
FAKE_ENV = "HINGECOACH_FAKE_LIVE"


def install(factory: Factory | None) -> None:
    """Use ``factory`` instead of hingecoach.live (None: back to the default)."""
    global _installed
    _installed = factory


def start_live(source: str, settings: Any, on_event: EventSink, store: Store | None,
               person: str | None) -> LiveSessionLike:
    """A live session on ``source`` (not yet running: call ``run`` in a thread)."""
    if _installed is not None:
        return _installed(source, settings, on_event, store, person)
    fake = os.environ.get(FAKE_ENV)
    if fake:
        from hingecoach.coach.scripted import scripted_factory

        try:
            speed = float(fake)
        except ValueError:
            speed = 1.0
        return scripted_factory(speed=speed if speed > 0 else 1.0)(source, settings, on_event, store, person)
    try:
        from hingecoach.live import LiveSession  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        raise HingecoachError("live streaming needs issue 5's hingecoach.live (not in this version); "
                              "'hingecoach train --script FILE' runs the programme with set outcomes "
                              "from the file") from None
    session: LiveSessionLike = LiveSession(source, settings, on_event=on_event, store=store, person=person)
    return session


class LiveLink:
    """A live session running in a background thread; its events go to a queue (for a
    blocking reader: the terminal and the script) and to an optional listener (the web
    app, called from the live thread)."""

    def __init__(self, source: str, store: Store | None, person: str | None, *, settings: Any = None,
                 listener: EventSink | None = None, factory: Factory | None = None) -> None:
        self.source = source
        self.events: queue.Queue[Event] = queue.Queue()
        self.listener = listener
        self.ended = threading.Event()
        self.error: BaseException | None = None
        self.summary: Any = None
        self.session = (factory or start_live)(source, settings, self._on_event, store, person)
        self._thread = threading.Thread(target=self._run, name="hingecoach-live", daemon=True)

    def _on_event(self, ev: Event) -> None:
        self.events.put(ev)
        if self.listener is not None:
            self.listener(ev)

    def _run(self) -> None:
        try:
            self.summary = self.session.run()
        except BaseException as e:  # reported to the reader, never lost in a thread
            self.error = e
        finally:
            self.ended.set()
            self._on_event({"type": "status", "state": "ended",
                            **({"error": str(self.error)} if self.error else {})})

    def start(self) -> LiveLink:
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        self.session.stop()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)

    def session_id(self, wait_s: float = 5.0) -> int | None:
        """The store session the live session writes, once it exists."""
        t_end = time.monotonic() + wait_s
        while True:
            sid = self.session.session_id
            if sid is not None or self.ended.is_set() or time.monotonic() >= t_end:
                return sid
            time.sleep(0.01)
