"""Numbers on their way to JSON, which has no NaN or infinity."""

from __future__ import annotations

import math
from typing import Any, SupportsFloat


def round_or_none(x: SupportsFloat | None, digits: int | None = None) -> float | None:
    """``x`` as a float rounded to ``digits`` (not rounded when None) if it is finite, else None.

    >>> round_or_none(1.23456, 3), round_or_none(float("nan"), 3), round_or_none(None)
    (1.235, None, None)
    """
    if x is None:
        return None
    v = float(x)
    if not math.isfinite(v):
        return None
    return v if digits is None else round(v, digits)


def finite_or_none(o: Any) -> Any:
    """``o`` with every NaN or infinite float, at any depth of dicts, lists and tuples, as
    None (tuples become lists, as JSON has them)."""
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {k: finite_or_none(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [finite_or_none(v) for v in o]
    return o
