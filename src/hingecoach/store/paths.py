"""Where the store lives: ``$HINGECOACH_HOME`` or the platform's user data folder.

No dependency (platformdirs) for three well-known rules: Linux and other Unix
``$XDG_DATA_HOME/hingecoach`` (default ``~/.local/share/hingecoach``), macOS
``~/Library/Application Support/hingecoach``, Windows ``%LOCALAPPDATA%\\hingecoach``.
The folder is created private to the user (mode 0700): it holds health data.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

APP = "hingecoach"
DB_NAME = "hingecoach.db"
HOME_ENV = "HINGECOACH_HOME"
DB_ENV = "HINGECOACH_DB"


def home_dir() -> Path:
    """The folder of the store: ``$HINGECOACH_HOME`` or the platform's user data folder."""
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / APP


def default_url() -> str:
    """``$HINGECOACH_DB`` if set, else the SQLite file in the home folder."""
    return os.environ.get(DB_ENV) or str(home_dir() / DB_NAME)


def is_postgres(url: str) -> bool:
    """True for a ``postgresql://`` (or ``postgres://``) URL."""
    return url.startswith(("postgresql://", "postgres://"))


def sqlite_path(url: str) -> Path:
    """A plain path, or ``sqlite:///relative/path`` / ``sqlite:////absolute/path`` (the
    SQLAlchemy spelling)."""
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///")).expanduser()
    return Path(url).expanduser()


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    if not is_postgres(url):
        return url
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))
