"""Between the analysis' objects and the store's JSON: settings, thresholds, reps, and a
person's clinician-set thresholds merged with the command line.

Rebuilding tolerates change: fields a newer code version added get their defaults,
fields an older version had and this one dropped are ignored, so old sessions keep
opening after upgrades.
"""

from __future__ import annotations

import dataclasses
import json
import math
import typing
from typing import Any, TypeVar

import numpy as np

from hingecoach.analysis import AnalysisSettings
from hingecoach.core.conventions import PLACEMENTS, normalise_placement
from hingecoach.core.errors import ParameterError
from hingecoach.faults import EXERCISES, MAX_FLEXION_SHARE, TOO_FAST_S, RepMetrics, Thresholds

T = TypeVar("T")


def _default(o: Any) -> Any:
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    if dataclasses.is_dataclass(o) and not isinstance(o, type):
        return dataclasses.asdict(o)
    if isinstance(o, set | frozenset):
        return sorted(o)
    return str(o)


def _finite(o: Any) -> Any:
    """NaN and infinities become None (JSON has no NaN; PostgreSQL's json refuses it)."""
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if isinstance(o, dict):
        return {str(k): _finite(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_finite(v) for v in o]
    return o


def dumps(o: Any) -> str:
    """Compact JSON of ``o`` (NumPy values, dataclasses and sets converted; NaN and
    infinities as null)."""
    return json.dumps(_finite(json.loads(json.dumps(o, default=_default))), separators=(",", ":"))


def loads(s: str | None, default: Any = None) -> Any:
    """The JSON in ``s``, or ``default`` when the column is empty (NULL or '')."""
    if s is None or s == "":
        return default
    return json.loads(s)


def from_dict(cls: type[T], d: dict[str, Any] | None) -> T:
    """A (nested) frozen dataclass from a dict; unknown keys ignored, missing defaulted."""
    d = d or {}
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name not in d:
            continue
        v = d[f.name]
        t = hints.get(f.name)
        if isinstance(t, type) and dataclasses.is_dataclass(t) and isinstance(v, dict):
            v = from_dict(t, v)
        elif isinstance(v, list):
            v = tuple(v)
        kwargs[f.name] = v
    return cls(**kwargs)


def settings_json(st: AnalysisSettings) -> dict[str, Any]:
    """Analysis settings as a JSON-ready dict (what a session stores)."""
    return typing.cast(dict[str, Any], json.loads(dumps(dataclasses.asdict(st))))


def settings_from_json(d: dict[str, Any] | None) -> AnalysisSettings:
    """Analysis settings from a stored dict (unknown keys ignored, missing ones defaulted)."""
    return from_dict(AnalysisSettings, d)


def thresholds_json(th: Thresholds) -> dict[str, Any]:
    """Fault thresholds as a JSON-ready dict (degrees, seconds)."""
    return typing.cast(dict[str, Any], json.loads(dumps(dataclasses.asdict(th))))


def thresholds_from_json(d: dict[str, Any] | None) -> Thresholds | None:
    """Fault thresholds from a stored dict, or None when nothing is stored."""
    if not d:
        return None
    names = {f.name for f in dataclasses.fields(Thresholds)}
    return Thresholds(**{k: v for k, v in d.items() if k in names})


REP_FIELDS = tuple(f.name for f in dataclasses.fields(RepMetrics))
REP_COLUMNS = ("idx", "start_s", "bottom_s", "end_s", "complete", "peak_lumbar_flexion_deg",
               "peak_pelvis_tilt_deg", "peak_trunk_inclination_deg", "lumbar_share",
               "top_extension_deg", "descent_s")
REP_COLUMN_FIELDS = ("index", *REP_COLUMNS[1:])
REP_EXTRA_FIELDS = tuple(f for f in REP_FIELDS if f not in REP_COLUMN_FIELDS and f != "faults")


def _f(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def rep_row(m: Any) -> tuple[list[Any], str, str]:
    """(column values, faults JSON, extra JSON) for a RepMetrics or any object with the
    same attributes; attributes beyond RepMetrics (a camera path's extra metrics) go to
    ``extra``."""
    d = dataclasses.asdict(m) if dataclasses.is_dataclass(m) and not isinstance(m, type) else dict(vars(m))
    vals = [int(d["index"]), _f(d["start_s"]), _f(d["bottom_s"]), _f(d["end_s"]),
            int(bool(d["complete"]))] + [_f(d.get(c)) for c in REP_COLUMNS[5:]]
    faults = [str(f) for f in d.get("faults", ())]
    # RepMetrics fields without a column of their own (the camera's knee/hip ratio and
    # neck extension) and any attributes beyond RepMetrics go to ``extra``
    extra = {k: (_f(v) if isinstance(v, float) else v) for k, v in d.items()
             if k not in REP_COLUMN_FIELDS and k != "faults"}
    extra = {k: v for k, v in extra.items() if v is not None}
    return vals, dumps(faults), dumps(extra)


def rep_from_row(row: tuple[Any, ...]) -> RepMetrics:
    """From (idx, start, bottom, end, complete, 6 metrics..., faults JSON[, extra JSON])."""
    nan = float("nan")
    v = [nan if x is None else float(x) for x in row[5:11]]
    extra = loads(row[12], {}) if len(row) > 12 and row[12] else {}
    # a missing value keeps the field's default (NaN for an IMU rep's camera metrics)
    more = {k: float(extra[k]) for k in REP_EXTRA_FIELDS if extra.get(k) is not None}
    return RepMetrics(int(row[0]), float(row[1]), float(row[2]), float(row[3]), bool(row[4]),
                      v[0], v[1], v[2], v[3], v[4], v[5], faults=tuple(loads(row[11], [])), **more)


# -- a person's thresholds --------------------------------------------------------------
# What a clinician may set per person, with the valid range; each maps onto the
# AnalysisSettings field of the same name.
PERSON_KEYS: dict[str, tuple[str, Any]] = {
    "lumbar_rounding_deg": ("degrees, 3 to 90", (3.0, 90.0)),
    "share_of_max": ("a share of the maximum flexion, 0.2 to 1.0", (0.2, 1.0)),
    "too_fast_s": ("seconds of descent (10-90 %), 0.1 to 5", (0.1, 5.0)),
    "placement": (f"one of {', '.join(PLACEMENTS)}", None),
    "exercise": (f"one of {', '.join(EXERCISES)}", None),
    # not a threshold: the body height scales a camera session's landmarks to metres
    # (export --format trc/c3d)
    "height_cm": ("the body height in cm, 50 to 250", (50.0, 250.0)),
}
DEFAULTS: dict[str, Any] = {"lumbar_rounding_deg": None, "share_of_max": MAX_FLEXION_SHARE,
                            "too_fast_s": TOO_FAST_S, "placement": None, "exercise": "hinge"}


def check_person_value(key: str, value: Any) -> Any:
    """``value`` checked and normalised for the person threshold ``key`` (see
    ``PERSON_KEYS``), or a ParameterError that says the valid range."""
    if key not in PERSON_KEYS:
        raise ParameterError("threshold", f"one of {', '.join(PERSON_KEYS)}", key)
    expected, rng = PERSON_KEYS[key]
    if key == "placement":
        return normalise_placement(str(value))
    if key == "exercise":
        if value not in EXERCISES:
            raise ParameterError(key, expected, value)
        return str(value)
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ParameterError(key, expected, value) from None
    if not (math.isfinite(x) and rng[0] <= x <= rng[1]):
        raise ParameterError(key, expected, value)
    return x


def resolve_settings(overrides: dict[str, Any], person_name: str | None = None,
                     person_thresholds: dict[str, dict[str, Any]] | None = None,
                     ) -> tuple[AnalysisSettings, dict[str, str]]:
    """Analysis settings from, in order of precedence, the command line (``overrides``,
    None meaning not given), the person's clinician-set thresholds, and the defaults.
    Returns the settings and, per key, where its value came from (to tell the user)."""
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for key, default in DEFAULTS.items():
        if overrides.get(key) is not None:
            values[key], origin[key] = overrides[key], "command line"
        elif person_thresholds and key in person_thresholds:
            entry = person_thresholds[key]
            who = f" by {entry['set_by']}" if entry.get("set_by") else ""
            when = f" on {str(entry.get('set_at', ''))[:10]}" if entry.get("set_at") else ""
            values[key], origin[key] = entry["value"], f"person {person_name!r} (set{who}{when})"
        else:
            values[key], origin[key] = default, "default"
    st = AnalysisSettings(placement=values["placement"], exercise=values["exercise"],
                          share_of_max=float(values["share_of_max"]),
                          lumbar_rounding_deg=None if values["lumbar_rounding_deg"] is None
                          else float(values["lumbar_rounding_deg"]),
                          too_fast_s=float(values["too_fast_s"]))
    return st, origin
