"""Replay a recording into the store as if it were live (the crash-safety test's driver:
a process killed in the middle must leave a session that opens).

The recording is analysed offline first; then its samples, angles, reps and cues are
appended through a ``SessionWriter`` at the pace they happened (``speed`` times real
time): samples every ``step_s`` of recording time, each rep when the recording reaches
its end, a ``lumbar_rounding`` cue at the first sample of a rep above the threshold.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from hingecoach.analysis import AnalysisSettings, analyze_recording
from hingecoach.core.timeseries import TimeSeries
from hingecoach.store.store import Store


def replay_into_store(store: Store, rec: TimeSeries, *, speed: float = 1.0, step_s: float = 0.1,
                      person: str | None = None, settings: AnalysisSettings | None = None,
                      on_ready: Callable[[int, float], None] | None = None) -> int:
    """Returns the session id. ``on_ready(session_id, wall_time)`` is called once the
    session exists, with the wall-clock time (``time.time()``) that corresponds to the
    recording's first sample."""
    a = analyze_recording(rec, None, settings)
    ang = a.angles
    lum = ang["lumbar_flexion_deg"]
    th = a.thresholds.lumbar_rounding_deg
    cues: list[tuple[float, float]] = []
    for m in a.reps:
        if "lumbar_rounding" in m.faults:
            i0, i1 = np.searchsorted(ang.time_s, [m.start_s, m.end_s])
            above = np.flatnonzero(lum[i0:i1 + 1] > th)
            if above.size:
                k = int(i0 + above[0])
                cues.append((float(ang.time_s[k]), float(lum[k])))
    reps = sorted([*a.reps], key=lambda m: m.end_s)
    w = store.writer(person=person, source=f"replay:{rec.meta.get('source', '')}", settings=settings,
                     thresholds=a.thresholds, info=a.info)
    t = rec.time_s
    t0 = float(t[0])
    wall0 = time.time()
    mono0 = time.monotonic()
    if on_ready is not None:
        on_ready(w.id, wall0)
    edge = t0
    i = 0
    while i < len(t):
        edge += step_s
        due = mono0 + (edge - t0) / speed
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        j = int(np.searchsorted(t, edge, side="left"))
        if j > i:
            w.append_samples(rec.slice_index(i, j))
            w.append_angles(ang.slice_index(i, j))
        while cues and cues[0][0] < edge:
            ct, value = cues.pop(0)
            w.add_cue(ct, "lumbar_rounding", value, th)
        while reps and reps[0].end_s < edge:
            w.add_rep(reps.pop(0))
        i = j
    for m in a.incomplete:
        w.add_rep(m)
    w.close()
    return w.id
