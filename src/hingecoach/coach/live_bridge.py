"""The one door to live streaming: ``start_live`` builds a live session, and
``LiveLink`` runs it in a thread and hands its events to whoever waits for them.

``start_live`` builds ``hingecoach.live.LiveSession``. Tests swap it for a stand-in the
way httpx swaps transports, through a parameter: ``LiveLink(factory=...)``, or
``install(factory)`` for code that builds its links itself (the CLI's ``train``). No
environment variable chooses a stand-in: a person only ever gets the real session.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from hingecoach.store import Store

Event = dict[str, Any]
EventSink = Callable[[Event], None]


class LiveSessionLike(Protocol):
    """What the programme needs of a live session (hingecoach.live.LiveSession)."""

    def run(self) -> Any:
        """Stream until the source ends or ``stop`` is called; returns the session's summary."""

    def stop(self) -> None:
        """Make ``run`` return soon (thread-safe)."""

    @property
    def session_id(self) -> int | None:
        """The store session being written, once it exists (else None)."""


Factory = Callable[[str, Any, EventSink, Store | None, str | None], LiveSessionLike]
_installed: Factory | None = None


def install(factory: Factory | None) -> None:
    """Use ``factory`` instead of hingecoach.live (None: back to the default)."""
    global _installed
    _installed = factory


def start_live(source: str, settings: Any, on_event: EventSink, store: Store | None,
               person: str | None) -> LiveSessionLike:
    """A live session on ``source`` (not yet running: call ``run`` in a thread)."""
    if _installed is not None:
        return _installed(source, settings, on_event, store, person)
    # imported here, not at the top: the live stack (fusion, pose, audio) is needed only
    # once a session starts, not by 'hingecoach plan' or the web app's other pages
    from hingecoach.live import LiveSession

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
        """Start the live session in its thread; returns self."""
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the live session and wait up to ``timeout_s`` seconds for its thread to end."""
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
