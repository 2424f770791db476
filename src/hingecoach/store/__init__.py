"""Sessions that are never lost: people, sessions, reps, cues, pain, notes, recordings.

SQLite by default (one file under ``$HINGECOACH_HOME``, WAL mode, numbered migrations),
PostgreSQL for a clinic's shared server (``postgresql://...``, needs the ``postgres``
extra). Offline analyses are saved whole (``Store.save_analysis``); live sessions are
appended as they go (``Store.writer`` -> ``SessionWriter``).

Where things are: ``store`` (opening, checks, ``Store``), one query mixin per group of
tables (``people``, ``sessions``, ``streams``, ``entries``, ``clearances``, ``forget``), ``writer``
(live sessions), ``backend`` (SQLite and PostgreSQL, error messages), ``migrations``
(the schema), ``codec`` (sample chunks), ``convert`` (JSON columns), ``records`` (what
is returned), ``exchange`` (export and import), ``paths`` (where the file lives).
"""

from hingecoach.store.backend import (
    StoreError,
    StoreExtraMissingError,
    StoreFullError,
    StoreLockedError,
    StoreNotFoundError,
)
from hingecoach.store.convert import PERSON_KEYS, resolve_settings
from hingecoach.store.migrations import LATEST as SCHEMA_VERSION
from hingecoach.store.paths import default_url, home_dir
from hingecoach.store.records import (
    PAIN_MOMENTS,
    Clearance,
    Cue,
    ForgetReport,
    Note,
    PainRating,
    Person,
    SessionEvent,
    SessionRecord,
    SessionSummary,
    SetRecord,
)
from hingecoach.store.store import SessionWriter, Store, open_store

__all__ = [
    "PAIN_MOMENTS",
    "PERSON_KEYS",
    "SCHEMA_VERSION",
    "Clearance",
    "Cue",
    "ForgetReport",
    "Note",
    "PainRating",
    "Person",
    "SessionEvent",
    "SessionRecord",
    "SessionSummary",
    "SessionWriter",
    "SetRecord",
    "Store",
    "StoreError",
    "StoreExtraMissingError",
    "StoreFullError",
    "StoreLockedError",
    "StoreNotFoundError",
    "default_url",
    "home_dir",
    "open_store",
    "resolve_settings",
]
