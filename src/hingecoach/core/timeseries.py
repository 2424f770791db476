"""The one time-series type that flows through the pipeline.

``time_s`` is 1-D and strictly increasing; ``data`` maps channel names to arrays whose
axis 0 is time; ``events`` are named instants or spans (reps, faults, cues); ``info``
describes each channel (unit, frame, source); ``meta`` holds recording-level facts
(format, placement, file, warnings). Invariants are checked once in the constructor and
every operation returns a new object.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from hingecoach.core.errors import ParameterError

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class ChannelInfo:
    """What one channel holds."""

    unit: str
    frame: str = ""
    source: str = ""


@dataclass(frozen=True)
class Event:
    """A named instant (``duration_s`` 0) or span in a time series."""

    name: str
    time_s: float
    duration_s: float = 0.0
    data: Mapping[str, Any] = field(default_factory=dict)


class TimeSeries:
    """Samples over time: ``time_s``, ``data``, ``events``, ``info``, ``meta``."""

    __slots__ = ("_data", "_time", "events", "info", "meta")

    def __init__(
        self,
        time_s: ArrayLike,
        data: Mapping[str, ArrayLike],
        *,
        events: Iterable[Event] = (),
        info: Mapping[str, ChannelInfo] | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        t = np.asarray(time_s, dtype=np.float64)
        if t.ndim != 1:
            raise ParameterError("time_s", "a 1-D array", f"shape {t.shape}")
        if t.size and not np.all(np.isfinite(t)):
            raise ParameterError("time_s", "finite times", "NaN or infinite values")
        if t.size > 1:
            d = np.diff(t)
            if np.any(d <= 0):
                i = int(np.argmax(d <= 0))
                raise ParameterError(
                    "time_s", "strictly increasing times", f"{t[i]:.6g} then {t[i + 1]:.6g} at index {i + 1}"
                )
        arrays: dict[str, FloatArray] = {}
        for name, values in data.items():
            a = np.asarray(values, dtype=np.float64)
            if a.ndim == 0 or a.shape[0] != t.size:
                raise ParameterError(
                    f"data[{name!r}]", f"{t.size} samples along axis 0", f"shape {a.shape}"
                )
            a.setflags(write=False)
            arrays[name] = a
        info = dict(info or {})
        unknown = set(info) - set(arrays)
        if unknown:
            raise ParameterError("info", "entries only for existing channels", sorted(unknown))
        t.setflags(write=False)
        self._time = t
        self._data = arrays
        self.events: tuple[Event, ...] = tuple(events)
        self.info: dict[str, ChannelInfo] = info
        self.meta: dict[str, Any] = dict(meta or {})

    # -- access ---------------------------------------------------------------------
    @property
    def time_s(self) -> FloatArray:
        """Sample times in seconds (read-only, strictly increasing)."""
        return self._time

    @property
    def data(self) -> Mapping[str, FloatArray]:
        """Channel name -> read-only array, axis 0 is time."""
        return self._data

    @property
    def channels(self) -> list[str]:
        """The channel names, in order."""
        return list(self._data)

    def __getitem__(self, name: str) -> FloatArray:
        try:
            return self._data[name]
        except KeyError:
            raise ParameterError("channel", f"one of {sorted(self._data)}", name) from None

    def __contains__(self, name: object) -> bool:
        return name in self._data

    def __len__(self) -> int:
        return int(self._time.size)

    def __repr__(self) -> str:
        dur = self.duration_s
        return f"TimeSeries({len(self)} samples, {dur:.2f} s, channels={self.channels})"

    @property
    def duration_s(self) -> float:
        """Last minus first sample time (s); 0 with fewer than two samples."""
        return float(self._time[-1] - self._time[0]) if len(self) > 1 else 0.0

    @property
    def sample_rate_hz(self) -> float:
        """Median sample rate (robust to gaps and jitter)."""
        if len(self) < 2:
            raise ParameterError("time_s", "at least 2 samples for a sample rate", len(self))
        return float(1.0 / np.median(np.diff(self._time)))

    # -- new objects ----------------------------------------------------------------
    def replace(
        self,
        *,
        time_s: ArrayLike | None = None,
        data: Mapping[str, ArrayLike] | None = None,
        events: Iterable[Event] | None = None,
        info: Mapping[str, ChannelInfo] | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> TimeSeries:
        """A new series with the given parts replaced (checked again)."""
        return TimeSeries(
            self._time if time_s is None else time_s,
            self._data if data is None else data,
            events=self.events if events is None else events,
            info=self.info if info is None else info,
            meta=self.meta if meta is None else meta,
        )

    def with_channels(
        self, data: Mapping[str, ArrayLike], info: Mapping[str, ChannelInfo] | None = None
    ) -> TimeSeries:
        """A copy with channels added or replaced."""
        new_data = {**self._data, **data}
        new_info = {**self.info, **(info or {})}
        return self.replace(data=new_data, info=new_info)

    def select(self, names: Iterable[str]) -> TimeSeries:
        """A copy with only the named channels (ParameterError for a missing one)."""
        names = list(names)
        for n in names:
            self[n]  # raises a clear error for a missing channel
        return self.replace(
            data={n: self._data[n] for n in names},
            info={n: i for n, i in self.info.items() if n in names},
        )

    def with_meta(self, **meta: Any) -> TimeSeries:
        """A copy with recording-level facts added or replaced."""
        return self.replace(meta={**self.meta, **meta})

    def slice_index(self, start: int, stop: int) -> TimeSeries:
        """Samples ``start`` to ``stop`` (exclusive), with the events inside their span."""
        t = self._time[start:stop]
        evs = [e for e in self.events if t.size and t[0] <= e.time_s <= t[-1]]
        return self.replace(
            time_s=t, data={k: v[start:stop] for k, v in self._data.items()}, events=evs
        )

    def slice_time(self, t0: float, t1: float) -> TimeSeries:
        """Samples with t0 <= time_s < t1."""
        i0, i1 = np.searchsorted(self._time, [t0, t1])
        return self.slice_index(int(i0), int(i1))

    def shift_time(self, offset_s: float) -> TimeSeries:
        """A copy with every time (samples and events) moved by ``offset_s`` seconds."""
        evs = [
            Event(e.name, e.time_s + offset_s, e.duration_s, e.data) for e in self.events
        ]
        return self.replace(time_s=self._time + offset_s, events=evs)
