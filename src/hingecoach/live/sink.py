"""Writing a live session to the store without slowing the loop down.

The loop only appends to lists and queues (microseconds); a writer thread hands samples
to ``SessionWriter`` every ``batch_s`` (it commits them at least every 0.5 s) and reps,
cues and events as they come (each commits at once). A crash loses at most the last
``batch_s`` + 0.5 s of samples; Ctrl-C loses nothing (``close`` drains everything and
marks the session complete).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from hingecoach.analysis import AnalysisSettings
from hingecoach.core.timeseries import ChannelInfo, TimeSeries
from hingecoach.faults import RepMetrics, Thresholds
from hingecoach.feedback.cues import Cue
from hingecoach.live.stream import Row
from hingecoach.sources.imu_csv import imu_info
from hingecoach.store import SessionWriter, Store, StoreError

RAW_COLUMNS = ("lower_acc", "lower_gyr", "upper_acc", "upper_gyr")


class StoreSink:
    """A live session's writer to the store: the loop hands samples, reps, cues and events
    over, a thread writes them (see the module)."""

    def __init__(self, store: Store, *, person: str | None, source: str, settings: AnalysisSettings,
                 info: dict[str, Any], batch_s: float = 0.2, extra: dict[str, Any] | None = None) -> None:
        self.writer: SessionWriter = store.writer(person=person, source=source, settings=settings, info=info,
                                                  extra=extra)
        self.id = self.writer.id
        self.batch_s = batch_s
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._raw: list[Row] = []
        self._angles_t: list[float] = []
        self._angles: dict[str, list[float]] = {}
        self._raw_meta: dict[str, Any] = {}
        self._angle_info: dict[str, ChannelInfo] = {}
        self._q: queue.Queue[tuple[str, Any] | None] = queue.Queue()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"hingecoach-store-{self.id}", daemon=True)
        self._thread.start()

    # -- from the loop (cheap) ------------------------------------------------------------
    def raw(self, row: Row, meta: dict[str, Any]) -> None:
        """One IMU row (both sensors) for the samples table; written with the next batch."""
        with self._lock:
            self._raw.append(row)
            if not self._raw_meta:
                self._raw_meta = meta

    def angles(self, t: float, values: dict[str, float], info: dict[str, ChannelInfo] | None = None) -> None:
        """One angle sample (t in s, channels in deg); written with the next batch."""
        with self._lock:
            if not self._angles:
                self._angles = {k: [] for k in values}
                self._angle_info = info or {}
            self._angles_t.append(t)
            for k, lst in self._angles.items():
                lst.append(float(values.get(k, np.nan)))

    def rep(self, m: RepMetrics) -> None:
        """A judged rep; written at once by the writer thread."""
        self._q.put(("rep", m))

    def cue(self, c: Cue) -> None:
        """A cue as it sounded; written at once by the writer thread."""
        self._q.put(("cue", c))

    def event(self, kind: str, t_s: float | None, **data: Any) -> None:
        """A session event (gap, warning, error) at ``t_s`` (s, or None); written at once."""
        self._q.put(("event", (kind, t_s, data)))

    def update(self, **fields: Any) -> None:
        """New session fields (thresholds, info, calibration, extra); written at once."""
        self._q.put(("update", fields))

    def stream(self, name: str, ts: TimeSeries) -> None:
        """A whole extra stream (the calibration recording) under ``name``."""
        self._q.put(("stream", (name, ts)))

    # -- the writer thread ----------------------------------------------------------------
    def _run(self) -> None:
        last = time.monotonic()
        while True:
            timeout = max(0.0, self.batch_s - (time.monotonic() - last))
            try:
                item = self._q.get(timeout=timeout)
            except queue.Empty:
                item = ("flush", None)
            if item is None:
                self._safe(self._write_samples)
                return
            kind, payload = item
            if kind == "flush" or time.monotonic() - last >= self.batch_s:
                self._safe(self._write_samples)
                last = time.monotonic()
            if kind != "flush":
                self._safe(lambda k=kind, p=payload: self._apply(k, p))  # type: ignore[misc]

    def _safe(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except (StoreError, OSError) as e:
            msg = str(e)
            if msg not in self.errors:
                self.errors.append(msg)

    def _apply(self, kind: str, p: Any) -> None:
        w = self.writer
        if kind == "rep":
            w.add_rep(p)
        elif kind == "cue":
            w.add_cue(p.sample_time_s, p.fault, p.value_deg, p.threshold_deg, message=p.message)
        elif kind == "event":
            k, t, data = p
            w.add_event(k, t, **data)
        elif kind == "update":
            w.update(**p)
        elif kind == "stream":
            name, ts = p
            w.append(name, ts)

    def _write_samples(self) -> None:
        with self._lock:
            raw, self._raw = self._raw, []
            at, self._angles_t = self._angles_t, []
            av = self._angles
            self._angles = {k: [] for k in av}
            meta = self._raw_meta
        if raw:
            data = {c: np.array([getattr(r, c) for r in raw], dtype=np.float64) for c in RAW_COLUMNS}
            info = {k: v for k, v in imu_info(str(meta.get("source", "live"))).items() if k in data}
            self.writer.append_samples(TimeSeries(np.array([r.t for r in raw]), data, info=info, meta=meta))
        if at:
            self.writer.append_angles(TimeSeries(np.array(at), {k: np.array(v) for k, v in av.items()},
                                                 info={k: i for k, i in self._angle_info.items() if k in av},
                                                 meta={"source": meta.get("source", "live")}))

    def close(self, *, complete: bool = True, thresholds: Thresholds | None = None,
              info: dict[str, Any] | None = None, extra: dict[str, Any] | None = None,
              timeout_s: float = 30.0) -> None:
        """Write everything left, then mark the session complete."""
        if thresholds is not None or info is not None or extra:
            self.update(thresholds=thresholds, info=info, extra=extra)
        self._q.put(None)
        self._thread.join(timeout=timeout_s)
        try:
            self.writer.close(complete=complete)
        except StoreError as e:
            self.errors.append(str(e))
