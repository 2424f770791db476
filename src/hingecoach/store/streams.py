"""Queries on ``streams`` and ``chunks``: a session's sample series, stored as blobs.

A stream (``raw``, ``calibration``, ``angles``, a camera session's ``landmarks``) is a
row in ``streams`` (channel units, frames, the series' meta) and its samples, cut into compressed chunks (``codec``) of
``CHUNK_S`` seconds, in ``chunks``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hingecoach.core.timeseries import ChannelInfo, TimeSeries
from hingecoach.store import codec
from hingecoach.store.backend import StoreError
from hingecoach.store.base import StoreBase
from hingecoach.store.convert import dumps, loads

CHUNK_S = 60.0  # seconds of samples per stored chunk (offline saves and compaction)
ANGLE_DTYPE = np.float32  # derived angles: float32 is far finer than any sensor
LANDMARK_DTYPE = np.float32  # pixels: float32 keeps 1/4000 px at 4000 px, far finer than a pose model
STREAMS = ("raw", "calibration", "angles", "landmarks")
STREAM_DTYPES: dict[str, Any] = {"angles": ANGLE_DTYPE, "landmarks": LANDMARK_DTYPE}  # others: as given


def series_columns(ts: TimeSeries, dtype: Any = None) -> dict[str, NDArray[Any]]:
    """The series as columns for a chunk: ``time_s`` (float64) and every channel (as ``dtype``)."""
    cols: dict[str, NDArray[Any]] = {"time_s": np.asarray(ts.time_s, dtype=np.float64)}
    for name, a in ts.data.items():
        cols[name] = np.asarray(a, dtype=dtype) if dtype is not None else np.asarray(a)
    return cols


class StreamQueries(StoreBase):
    """Sample streams of a session: writing chunks, reading a stream back whole."""

    def _stream_meta(self, sid: int, name: str, ts: TimeSeries) -> None:
        info = {k: [v.unit, v.frame, v.source] for k, v in ts.info.items()}
        self.db.execute("DELETE FROM streams WHERE session_id = ? AND name = ?", (sid, name))
        self.db.execute("INSERT INTO streams (session_id, name, info, meta) VALUES (?, ?, ?, ?)",
                        (sid, name, dumps(info), dumps(ts.meta)))

    def _write_chunks(self, sid: int, name: str, cols: Mapping[str, NDArray[Any]], seq0: int,
                      chunk_s: float = CHUNK_S) -> int:
        """Write columns as chunks of ``chunk_s`` seconds; returns the next seq."""
        t = cols["time_s"]
        if t.size == 0:
            return seq0
        if np.isfinite(chunk_s):
            edges = np.searchsorted(t, np.arange(t[0], t[-1] + chunk_s, chunk_s), side="left")
            edges = np.unique(np.r_[edges, t.size])
        else:
            edges = np.array([t.size])
        rows = []
        seq = seq0
        lo = 0
        for hi in edges[edges > 0]:
            part = {k: v[lo:hi] for k, v in cols.items()}
            rows.append((sid, name, seq, float(t[lo]), float(t[hi - 1]), int(hi - lo),
                         codec.encode(part)))
            seq += 1
            lo = int(hi)
        self.db.executemany("INSERT INTO chunks (session_id, stream, seq, t0, t1, n, payload) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        return seq

    def _next_seq(self, sid: int, stream: str) -> int:
        """The seq the next chunk of ``stream`` takes (0 for a new stream)."""
        row = self.db.execute("SELECT MAX(seq) FROM chunks WHERE session_id = ? AND stream = ?",
                              (sid, stream)).fetchone()
        return 0 if row[0] is None else int(row[0]) + 1

    def _compact_chunks(self, sid: int, stream: str) -> None:
        """Rewrite a stream's chunks as chunks of ``CHUNK_S`` (a live session writes many
        small ones)."""
        rows = list(self.db.execute("SELECT payload FROM chunks WHERE session_id = ? AND stream = ? "
                                    "ORDER BY seq", (sid, stream)))
        if len(rows) < 2:
            return
        parts = [codec.decode(r[0]) for r in rows]
        cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        self.db.execute("DELETE FROM chunks WHERE session_id = ? AND stream = ?", (sid, stream))
        self._write_chunks(sid, stream, cols, 0)

    def _stream_names(self, sid: int) -> list[str]:
        return [x[0] for x in self.db.execute(
            "SELECT DISTINCT stream FROM chunks WHERE session_id = ? ORDER BY stream", (sid,))]

    def stream(self, sid: int, name: str) -> TimeSeries | None:
        """A stored sample stream (``raw``, ``calibration``, ``angles``, ``landmarks``) or None."""
        rows = list(self.db.execute("SELECT seq, payload FROM chunks WHERE session_id = ? AND "
                                    "stream = ? ORDER BY seq", (int(sid), name)))
        if not rows:
            return None
        parts = []
        for seq, payload in rows:
            try:
                parts.append(codec.decode(payload))
            except codec.CodecError as e:
                raise StoreError(f"{self.url}: session {sid}, stream {name!r}, chunk {seq}: {e}"
                                 ) from None
        cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        t = cols.pop("time_s")
        # a live writer killed between two flushes never leaves overlap, but an import of
        # a damaged export might: keep strictly increasing samples only
        if t.size > 1 and np.any(np.diff(t) <= 0):
            keep = np.r_[True, t[1:] > np.maximum.accumulate(t)[:-1]]
            t = t[keep]
            cols = {k: v[keep] for k, v in cols.items()}
        meta_row = self.db.execute("SELECT info, meta FROM streams WHERE session_id = ? AND name = ?",
                                   (int(sid), name)).fetchone()
        info_d, meta = (loads(meta_row[0], {}), loads(meta_row[1], {})) if meta_row else ({}, {})
        info = {k: ChannelInfo(*v) for k, v in info_d.items() if k in cols}
        return TimeSeries(t, {k: v.astype(np.float64) for k, v in cols.items()}, info=info, meta=meta)
