"""Fan-out of live events to the WebSocket clients.

The live session calls ``publish`` from its own thread, up to a few hundred times a
second (two 100 Hz sensors). Angles are batched by *sample time*: one message per
``ANGLE_PERIOD_S`` of the sender's clock (25 per second) carries every sample since the
last, so the page updates 25 times a second whatever the sensor rate, and a loaded
server sends the same number of messages, only later. Every other event (cue, rep,
status, prompt) goes out at once, after the angles that came before it. Each client has
a bounded queue: a client that cannot keep up loses old angle batches, never a cue, a
rep or a prompt; a client that leaves is simply dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any

ANGLE_PERIOD_S = 0.04  # 25 updates per second of sample time
QUEUE_MAX = 512  # messages per client (about 20 s of angles)
TRACE_KEYS = ("lumbar_flexion_deg", "trunk_inclination_deg")


class Client:
    """One WebSocket client: a bounded queue filled from any thread, emptied by the client's handler."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=QUEUE_MAX)
        self.dropped = 0

    def _put(self, msg: dict[str, Any]) -> None:  # runs in the event loop
        if self.queue.full():
            if msg["type"] == "angles":
                self.dropped += 1
                return
            self._drop_oldest_angles()
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(msg)

    def _drop_oldest_angles(self) -> None:
        kept = _drain(self.queue)
        for k, m in enumerate(kept):
            if m["type"] == "angles":
                del kept[k]
                self.dropped += 1
                break
        for m in kept:
            with contextlib.suppress(asyncio.QueueFull):
                self.queue.put_nowait(m)

    def send(self, msg: dict[str, Any]) -> None:
        """Queue ``msg`` for this client; callable from any thread."""
        with contextlib.suppress(RuntimeError):  # the loop closed (server shutting down)
            self.loop.call_soon_threadsafe(self._put, msg)


def _drain(q: asyncio.Queue[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    while not q.empty():
        out.append(q.get_nowait())
    return out


class Hub:
    """The clients of today's session and the angle batching described above."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clients: set[Client] = set()
        self._batch: list[list[float | None]] = []
        self._latest: dict[str, Any] | None = None
        self._last_sent_t: float | None = None
        self.sent = 0  # messages handed to clients (for the benchmark)

    def add(self, client: Client) -> None:
        """A client connected: it gets every message from now on."""
        with self._lock:
            self._clients.add(client)

    def remove(self, client: Client) -> None:
        """A client left (unknown clients are ignored)."""
        with self._lock:
            self._clients.discard(client)

    @property
    def clients(self) -> int:
        """How many clients are connected."""
        return len(self._clients)

    def publish(self, ev: dict[str, Any]) -> None:
        """Hand a live event to every client (from any thread): angles batched, the rest at once."""
        with self._lock:
            if ev.get("type") == "angles":
                t = ev.get("t")
                if not isinstance(t, int | float):
                    return
                self._batch.append([float(t), *(ev.get(k) for k in TRACE_KEYS)])
                self._latest = ev
                if self._last_sent_t is None or t - self._last_sent_t >= ANGLE_PERIOD_S - 1e-9:
                    self._flush_angles()
                return
            self._flush_angles()
            self._deliver(ev)

    def _flush_angles(self) -> None:
        if not self._batch or self._latest is None:
            return
        msg = {**self._latest, "type": "angles", "samples": self._batch}
        self._last_sent_t = float(self._latest["t"])
        self._batch = []
        self._deliver(msg)

    def _deliver(self, msg: dict[str, Any]) -> None:
        for c in list(self._clients):
            c.send(msg)
            self.sent += 1

    def reset(self) -> None:
        """A new session: its sample clock starts afresh."""
        with self._lock:
            self._batch, self._latest, self._last_sent_t = [], None, None
