"""A live session, appended as it happens (``Store.writer`` opens one)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from hingecoach.analysis import AnalysisSettings
from hingecoach.core.errors import ParameterError
from hingecoach.core.timeseries import TimeSeries
from hingecoach.faults import HIP_FLEXION, RepMetrics, Thresholds
from hingecoach.store.backend import Backend, StoreError
from hingecoach.store.convert import dumps, settings_json, thresholds_json
from hingecoach.store.migrations import set_hip_flexion, stored_hip_flexion, update_summary
from hingecoach.store.streams import ANGLE_DTYPE, series_columns

if TYPE_CHECKING:
    from hingecoach.store.store import Store


class SessionWriter:
    """Appends a live session as it happens.

    Samples are buffered and committed as one chunk per stream every
    ``flush_interval_s`` of wall-clock time (0.5 s), by the appending thread or, when
    the samples stop coming (a stalled sensor), by a small background flusher, so a
    crash loses at most that interval; reps, cues, events, sets and pain commit at once,
    together with any buffered samples. ``close`` writes the rest, merges the small
    live chunks into minute chunks, and marks the session complete; a session whose
    process died stays marked incomplete with everything up to its last flush.
    Safe to call from several threads (the store's lock serialises them).
    """

    def __init__(self, store: Store, sid: int, flush_interval_s: float = 0.5,
                 autoflush: bool = True) -> None:
        self.store = store
        self.id = sid
        self.flush_interval_s = flush_interval_s
        self._buf: dict[str, list[dict[str, NDArray[Any]]]] = {}
        self._seq: dict[str, int] = {}
        self._last_t: dict[str, float] = {}
        self._channels: dict[str, list[str]] = {}
        self._last_flush = time.monotonic()
        self.closed = False
        self.flush_error: StoreError | None = None  # what the background flusher met, if anything
        self._stop = threading.Event()
        self._flusher: threading.Thread | None = None
        if autoflush and flush_interval_s > 0:
            self._flusher = threading.Thread(target=self._autoflush, name=f"hingecoach-flush-{sid}",
                                             daemon=True)
            self._flusher.start()

    def _autoflush(self) -> None:
        while not self._stop.wait(self.flush_interval_s / 2):
            with self.db.lock:
                if self.closed:
                    return
                if time.monotonic() - self._last_flush < self.flush_interval_s:
                    continue
                try:
                    self.flush()
                except StoreError as e:  # the next append or close raises it too
                    self.flush_error = e

    @property
    def db(self) -> Backend:
        """The store's backend."""
        return self.store.db

    def _check_open(self) -> None:
        if self.closed:
            raise StoreError(f"session {self.id} is closed")

    # -- samples ----------------------------------------------------------------------------
    def append(self, stream: str, ts: TimeSeries, dtype: Any = None) -> None:
        """Buffer samples of one stream (channels must stay the same within a stream;
        samples at or before the last appended time are dropped: a replayed or
        re-sent packet must not break the time order)."""
        with self.db.lock:
            self._check_open()
            if not len(ts):
                return
            last = self._last_t.get(stream)
            if last is not None and ts.time_s[0] <= last:
                keep = int(np.searchsorted(ts.time_s, last, side="right"))
                if keep >= len(ts):
                    return
                ts = ts.slice_index(keep, len(ts))
            known = self._channels.get(stream)
            if known is None:
                with self.db.transaction():
                    self.store._stream_meta(self.id, stream, ts)
                self._channels[stream] = ts.channels
            elif ts.channels != known:
                raise ParameterError(f"stream {stream!r} channels", f"the same as before ({', '.join(known)})",
                                     ", ".join(ts.channels))
            self._buf.setdefault(stream, []).append(series_columns(ts, dtype))
            self._last_t[stream] = float(ts.time_s[-1])
            if time.monotonic() - self._last_flush >= self.flush_interval_s:
                self.flush()

    def append_samples(self, ts: TimeSeries) -> None:
        """Raw sensor samples (kept exactly, for re-analysis)."""
        self.append("raw", ts)

    def append_angles(self, ts: TimeSeries) -> None:
        """Angle samples (stored as float32)."""
        self.append("angles", ts, ANGLE_DTYPE)

    def _write_buffers(self) -> None:
        for stream, parts in self._buf.items():
            if not parts:
                continue
            cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
            seq = self._seq.get(stream)
            if seq is None:
                seq = self.store._next_seq(self.id, stream)
            self._seq[stream] = self.store._write_chunks(self.id, stream, cols, seq,
                                                         chunk_s=float("inf"))
        self._buf = {}
        self._last_flush = time.monotonic()

    def flush(self) -> None:
        """Commit the buffered samples now."""
        with self.db.lock:
            if any(self._buf.values()):
                with self.db.transaction():
                    self._write_buffers()
            else:
                self._last_flush = time.monotonic()

    @contextmanager
    def _commit(self) -> Iterator[None]:
        with self.db.lock:
            self._check_open()
            with self.db.transaction():
                self._write_buffers()
                yield

    # -- what happens in the session --------------------------------------------------------
    def add_rep(self, rep: RepMetrics | Any, set_idx: int | None = None) -> None:
        """A finished (or abandoned) rep, with the set it belongs to."""
        with self._commit():
            self.store._insert_reps(self.id, [rep], set_idx)
            update_summary(self.db, self.id)

    def add_cue(self, t_s: float, fault: str, value_deg: float | None = None,
                threshold_deg: float | None = None, **data: Any) -> None:
        """A cue given at sample time ``t_s`` for ``fault`` (value and threshold in degrees)."""
        with self._commit():
            self.store._insert_cue(self.id, t_s, fault, value_deg, threshold_deg, data)

    def add_event(self, kind: str, t_s: float | None = None, **data: Any) -> None:
        """Anything worth keeping with the session: a gap, a sensor that dropped out,
        a stage change, the red-flag screen's answers."""
        with self._commit():
            self.store._insert_event(self.id, kind, t_s, data)

    def start_set(self, idx: int, *, stage: str = "", exercise: str = "",
                  started_s: float | None = None, **data: Any) -> None:
        """Set ``idx`` starts (at sample time ``started_s``)."""
        with self._commit():
            self.store._start_set(self.id, idx, stage, exercise, started_s, data)

    def end_set(self, idx: int, ended_s: float | None = None, **data: Any) -> None:
        """Set ``idx`` ends; ``data`` is merged into what its start stored."""
        with self._commit():
            self.store._end_set(self.id, idx, ended_s, data)

    def add_pain(self, value: int, moment: str, *, set_idx: int | None = None, note: str = "") -> None:
        """A pain rating 0-10 (see ``Store.add_pain``), after the buffered samples."""
        self._check_open()
        self.flush()
        self.store.add_pain(self.id, value, moment, set_idx=set_idx, note=note)

    def update(self, *, thresholds: Thresholds | None = None, info: dict[str, Any] | None = None,
               calibration: dict[str, Any] | None = None, warnings: Sequence[str] | None = None,
               settings: AnalysisSettings | None = None, extra: dict[str, Any] | None = None) -> None:
        """Session facts learnt along the way (after calibration, a warning, the
        programme's stage in ``extra``, merged into what is there)."""
        if extra:
            self.store.update_extra(self.id, extra)
        columns: dict[str, str] = {}
        if thresholds is not None:
            columns["thresholds"] = dumps(thresholds_json(thresholds))
        if info is not None:
            columns["info"] = dumps(info)
        if calibration is not None:
            columns["calibration"] = dumps(calibration)
        if warnings is not None:
            columns["warnings"] = dumps(list(warnings))
        if settings is not None:
            columns["settings"] = dumps(settings_json(settings))
        if columns:
            with self._commit():
                self.store._update_session(self.id, columns)

    # -- the end --------------------------------------------------------------------------
    def close(self, complete: bool = True) -> None:
        """Write what is left, compact the live chunks, mark the session complete."""
        self._stop.set()
        with self.db.lock:
            if self.closed:
                return
            with self.db.transaction():
                self._write_buffers()
                for stream in list(self._seq):
                    self.store._compact_chunks(self.id, stream)
                if HIP_FLEXION in self._channels.get("angles", ()):  # a camera's range of hinge
                    set_hip_flexion(self.db, self.id, stored_hip_flexion(self.db, self.id))
                if complete:
                    self.store._update_session(self.id, {"complete": 1})
            self.closed = True
        if self._flusher is not None and self._flusher is not threading.current_thread():
            self._flusher.join(timeout=5)

    def __enter__(self) -> SessionWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: object) -> None:
        if self.closed:
            return
        if exc_type is None or issubclass(exc_type, KeyboardInterrupt):
            self.close()  # Ctrl-C is how a person ends a live session
        else:
            try:
                self.add_event("error", None, message=str(exc)[:500])
                self.close(complete=False)
            except StoreError:
                pass  # the original error matters more; what was committed stays
