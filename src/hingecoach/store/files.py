"""Saving the analysis of a recording file together with its raw samples."""

from __future__ import annotations

from pathlib import Path

from hingecoach.analysis import Analysis, AnalysisSettings
from hingecoach.core.errors import HingecoachError
from hingecoach.core.timeseries import TimeSeries
from hingecoach.sources.detect import read_recording
from hingecoach.store.store import Store


def save_file_analysis(store: Store, analysis: Analysis, path: str | Path | None, *,
                       calibration: str | Path | None = None, fmt: str = "auto",
                       settings: AnalysisSettings | None = None, person: str | None = None,
                       device: str = "", lower: str | Path | None = None,
                       upper: str | Path | None = None) -> int:
    """Store ``analysis`` of ``path`` with the raw recording (and calibration) read again
    exactly as the analysis read them, so the session can be re-analysed later. A
    source the IMU readers cannot read (a video) is saved without raw samples, with a
    warning in the session."""
    st = settings or AnalysisSettings()
    raw, cal, extra = raw_for_saving(path, calibration=calibration, fmt=fmt, placement=st.placement,
                                     lower=lower, upper=upper)
    return store.save_analysis(analysis, raw=raw, calibration=cal, person=person, settings=st,
                               source=str(path) if path is not None else f"{lower} + {upper}",
                               device=device, extra=extra)


def raw_for_saving(path: str | Path | None, *, calibration: str | Path | None = None, fmt: str = "auto",
                   placement: str | None = None, lower: str | Path | None = None,
                   upper: str | Path | None = None
                   ) -> tuple[TimeSeries | None, TimeSeries | None, dict[str, object]]:
    """The raw recording and calibration read again exactly as the analysis read them, and
    the session's ``extra``: a source the IMU readers cannot read (a video) gives no raw
    samples and says why under ``raw_not_stored``."""
    try:
        raw = read_recording(path, fmt=fmt, placement=placement, lower=lower, upper=upper)
        cal = read_recording(calibration, fmt="auto", placement=placement) if calibration else None
    except HingecoachError as e:
        return None, None, {"raw_not_stored": str(e)}
    return raw, cal, {}
