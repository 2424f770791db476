"""Optional dependencies, imported only when used (as MNE-Python's soft imports).

``require(extra, module)`` imports ``module`` or raises one :class:`ExtraMissingError`
whose message names the extra to install; every optional import in the package goes
through it, so the install advice is written once, here.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from hingecoach.core.errors import ExtraMissingError

# mediapipe==0.10.21 is installed without its own requirements (they pull jax and a GUI
# OpenCV): the camera extra brings what it needs at run time, then MediaPipe itself.
_MEDIAPIPE = "mediapipe==0.10.21"
_HINTS = {
    "camera": f"pip install -e '.[camera]' && pip install --no-deps {_MEDIAPIPE}  (or: make camera)",
}


def install_hint(extra: str) -> str:
    """The command that installs ``extra`` (one line, for an error message)."""
    return _HINTS.get(extra, f"pip install 'hingecoach[{extra}]'")


def require(extra: str, module: str, purpose: str | None = None) -> ModuleType:
    """Import ``module`` (dotted name) from the optional ``extra``, or raise ExtraMissingError.

    ``purpose`` starts the message ("reading video", "hingecoach serve"); without it the
    message says which extra is needed.
    """
    try:
        return importlib.import_module(module)
    except ImportError as e:
        missing = e.name or module
        raise ExtraMissingError(extra, missing, purpose) from None
