"""hingecoach: learn and safeguard the hip hinge.

Exercise guidance, not a diagnosis. If back pain persists, or red flags appear, see a
doctor or physical therapist.

Importing the package imports nothing else (the console command imports it before its
Ctrl-C guard); ``Event``, ``TimeSeries``, ``HingecoachError`` and ``InputError`` load on
first use.
"""

__all__ = ["Event", "HingecoachError", "InputError", "TimeSeries", "__version__"]
__version__ = "0.1.0"

_LAZY = {"Event": "hingecoach.core.timeseries", "TimeSeries": "hingecoach.core.timeseries",
         "HingecoachError": "hingecoach.core.errors", "InputError": "hingecoach.core.errors"}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hingecoach' has no attribute {name!r}")
