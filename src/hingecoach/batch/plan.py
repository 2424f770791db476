"""Planning a batch: inputs and a manifest become jobs, without reading a recording.

An input is a file, a folder (searched recursively for every format ``analyze`` reads:
CSV files, QSense folders, videos) or a glob. A manifest is a CSV with a ``path`` column
and optional ``person``, ``exercise``, ``placement`` and ``calibration`` columns (the
per-recording settings); any other column is a label, kept in the output. A header may
give a label's type as ``name:type`` (str, int, float or bool; str when not given).

Everything a worker needs travels in the job; the client only lists folders and reads
file sizes and modification times (to skip what an earlier run already analysed).
"""

from __future__ import annotations

import csv
import glob
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hingecoach import __version__
from hingecoach.core.conventions import normalise_placement
from hingecoach.core.errors import HingecoachError
from hingecoach.sources import qsense
from hingecoach.sources.detect import VIDEO_SUFFIXES
from hingecoach.store.convert import check_person_value

SETTING_COLUMNS = ("person", "exercise", "placement", "calibration")
LABEL_TYPES = ("str", "int", "float", "bool")
RECORDING_SUFFIXES = (".csv", *VIDEO_SUFFIXES)
TRUTH_SUFFIX = ".truth.csv"  # the simulator's ground truth beside a recording: not a recording
_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f"}


class BatchError(HingecoachError):
    """Bad arguments for a batch (an input that matches nothing, a bad manifest, an
    unreachable scheduler): one line, exit code 2, before any work starts."""


@dataclass(frozen=True)
class Job:
    """One recording to analyse and everything the worker needs for it (plain data)."""

    path: str  # absolute, as the workers must see it
    recording_id: str  # a stable id of the path (the angles dataset's partition)
    found_in_folder: bool = False  # not named explicitly: a file that is no recording is skipped
    person: str | None = None
    exercise: str | None = None
    placement: str | None = None
    calibration: str | None = None  # absolute path
    person_thresholds: dict[str, Any] | None = None  # the person's clinician-set thresholds
    labels: dict[str, Any] = field(default_factory=dict)
    settings_key: str = ""  # what the result depends on besides the file's content
    input_sig: str = ""  # size and modification time of the file(s), "" when missing
    error: str | None = None  # known at planning time (no such file): a failed row

    def overrides(self) -> dict[str, Any]:
        """The settings given for this recording, as ``resolve_settings`` takes them."""
        return {"placement": self.placement, "exercise": self.exercise, "share_of_max": None,
                "lumbar_rounding_deg": None}


@dataclass
class Plan:
    """The jobs of a batch, in input order, and the types of the manifest's labels."""

    jobs: list[Job]
    label_types: dict[str, str]


def recording_id(path: str) -> str:
    """A short stable id of an absolute path (hex, 16 characters)."""
    return hashlib.blake2b(path.encode("utf-8", "surrogateescape"), digest_size=8).hexdigest()


def input_signature(path: Path) -> str:
    """Size and modification time (ns) of a file, or of every file in a folder; "" when
    missing. Equal signatures mean an earlier result can be reused without reading."""
    try:
        if path.is_dir():
            parts = []
            for p in sorted(path.iterdir()):
                if p.is_file():
                    st = p.stat()
                    parts.append(f"{p.name}:{st.st_size}:{st.st_mtime_ns}")
            return hashlib.blake2b("|".join(parts).encode(), digest_size=12).hexdigest()
        st = path.stat()
    except OSError:
        return ""
    return f"{st.st_size}:{st.st_mtime_ns}"


def _is_qsense_folder(path: Path) -> bool:
    return qsense.folder_of(path) == path


def scan_folder(folder: Path) -> list[Path]:
    """Every recording under ``folder``: QSense folders (not descended into), CSV files
    (not the simulator's ``*.truth.csv``) and videos; hidden files and folders are left out."""
    if _is_qsense_folder(folder):
        return [folder]
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        keep = []
        for d in dirnames:
            if _is_qsense_folder(here / d):
                found.append(here / d)
            else:
                keep.append(d)
        dirnames[:] = keep
        for name in sorted(filenames):
            low = name.lower()
            if not name.startswith(".") and low.endswith(RECORDING_SUFFIXES) and not low.endswith(TRUTH_SUFFIX):
                found.append(here / name)
    return found


def expand_inputs(inputs: Sequence[str]) -> list[tuple[Path, bool]]:
    """Each input's recordings, as (absolute path, found in a folder or by a glob)."""
    out: list[tuple[Path, bool]] = []
    for raw in inputs:
        p = Path(raw)
        found: list[tuple[Path, bool]] = []
        if p.is_dir():
            found = [(f, True) for f in scan_folder(p)]
        elif p.exists():
            found = [(p, False)]
        elif glob.has_magic(raw):
            for m in sorted(glob.glob(raw, recursive=True)):
                mp = Path(m)
                if mp.is_dir():
                    found += [(f, True) for f in scan_folder(mp)]
                elif _is_qsense_folder(mp.parent) and mp.name.startswith("Sensor "):
                    if (mp.parent, True) not in found:  # a QSense sensor file: its folder is the recording
                        found.append((mp.parent, True))
                elif not m.lower().endswith(TRUTH_SUFFIX):
                    found.append((mp, True))
        if not found:
            what = "a folder without recordings" if p.is_dir() else "nothing"
            raise BatchError(f"{raw}: expected recordings (a file, a folder or a glob), found {what}")
        out += [(Path(os.path.abspath(f)), flag) for f, flag in found]
    return out


def _parse_header(manifest: Path, header: list[str]) -> list[tuple[str, str]]:
    cols: list[tuple[str, str]] = []
    for h in header:
        name, _, typ = h.strip().partition(":")
        name, typ = name.strip(), (typ.strip() or "str")
        if not name:
            raise BatchError(f"{manifest}, line 1: expected a column name in every header cell, found an empty one")
        if typ not in LABEL_TYPES:
            raise BatchError(f"{manifest}, line 1, column {h.strip()!r}: expected a type of "
                             f"{', '.join(LABEL_TYPES)} (as name:type), found {typ!r}")
        if name in (*SETTING_COLUMNS, "path") and typ != "str":
            raise BatchError(f"{manifest}, line 1, column {h.strip()!r}: expected no type for a setting "
                             f"column, found {typ!r}")
        if any(name == c for c, _ in cols):
            raise BatchError(f"{manifest}, line 1: expected each column once, found {name!r} twice")
        cols.append((name, typ))
    if "path" not in [c for c, _ in cols]:
        raise BatchError(f"{manifest}, line 1: expected a 'path' column, found "
                         f"{', '.join(repr(c) for c, _ in cols) or 'no columns'}")
    return cols


def _typed(manifest: Path, line: int, column: str, typ: str, value: str) -> Any:
    v = value.strip()
    if v == "":
        return None
    try:
        if typ == "int":
            return int(v)
        if typ == "float":
            return float(v)
        if typ == "bool":
            if v.lower() in _TRUE | _FALSE:
                return v.lower() in _TRUE
            raise ValueError(v)
    except ValueError:
        raise BatchError(f"{manifest}, line {line}, column {column!r}: expected {typ}, found {v!r}") from None
    return v


def _setting(manifest: Path, line: int, column: str, value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    v = value.strip()
    try:
        if column == "placement":
            return normalise_placement(v)
        if column == "exercise":
            return str(check_person_value("exercise", v))
    except HingecoachError as e:
        raise BatchError(f"{manifest}, line {line}, column {column!r}: {e}") from None
    if column == "calibration":
        p = Path(v)
        return os.path.abspath(p if p.is_absolute() else manifest.parent / p)
    return v


def read_manifest(manifest: Path) -> tuple[list[tuple[str, dict[str, Any]]], dict[str, str]]:
    """The manifest's rows as (absolute path, {column: value}) and the label types.

    Paths (and calibrations) relative to the manifest are taken from its folder."""
    try:
        f = manifest.open(newline="", encoding="utf-8-sig")
    except OSError as e:
        raise BatchError(f"{manifest}: expected a readable manifest (CSV), found {e.strerror or e}") from None
    try:
        with f:
            return _read_rows(manifest, csv.reader(f))
    except UnicodeDecodeError as e:
        raise BatchError(f"{manifest}: expected a UTF-8 manifest (CSV), found a byte that is not UTF-8 "
                         f"({e.reason})") from None
    except csv.Error as e:
        raise BatchError(f"{manifest}: expected a CSV manifest, found {e}") from None


def _read_rows(manifest: Path, reader: Iterator[list[str]]
               ) -> tuple[list[tuple[str, dict[str, Any]]], dict[str, str]]:
    """The manifest's rows, read from ``reader`` (see ``read_manifest``)."""
    header = next(reader, None)
    if header is None:
        raise BatchError(f"{manifest}: expected a header line with a 'path' column, found an empty file")
    cols = _parse_header(manifest, header)
    rows: list[tuple[str, dict[str, Any]]] = []
    seen: dict[str, int] = {}
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(cols):
            raise BatchError(f"{manifest}, line {line}: expected {len(cols)} cells, found {len(cells)}")
        cells = cells + [""] * (len(cols) - len(cells))
        values: dict[str, Any] = {}
        for (name, typ), cell in zip(cols, cells, strict=True):
            if name == "path":
                continue
            values[name] = (_setting(manifest, line, name, cell) if name in SETTING_COLUMNS
                            else _typed(manifest, line, name, typ, cell))
        raw = cells[[c for c, _ in cols].index("path")].strip()
        if not raw:
            raise BatchError(f"{manifest}, line {line}, column 'path': expected a path, found an empty cell")
        p = Path(raw)
        path = os.path.abspath(p if p.is_absolute() else manifest.parent / p)
        if path in seen:
            raise BatchError(f"{manifest}, line {line}, column 'path': expected each recording once, "
                             f"found {raw!r} again (first on line {seen[path]})")
        seen[path] = line
        rows.append((path, values))
    return rows, {c: t for c, t in cols if c != "path" and c not in SETTING_COLUMNS}


def settings_key(job: Job) -> str:
    """A hash of what a result's rows depend on besides the recording's bytes: the
    settings, the person's thresholds, the calibration, the version, and the labels (an
    edited label is written again)."""
    doc = {"overrides": job.overrides(), "person": job.person, "thresholds": job.person_thresholds,
           "calibration": job.calibration, "version": __version__, "labels": job.labels}
    return hashlib.blake2b(json.dumps(doc, sort_keys=True, default=str).encode(), digest_size=12).hexdigest()


def _job(path: str, values: dict[str, Any], found: bool, thresholds_of: Callable[[str], Any]) -> Job:
    person = values.get("person")
    labels = {k: v for k, v in values.items() if k not in SETTING_COLUMNS}
    p = Path(path)
    sig = input_signature(p)
    cal = values.get("calibration")
    if cal:
        sig += "|" + input_signature(Path(cal))
    error = None
    if not p.exists():
        error = f"{path}: expected an existing file or folder, found no such file or folder"
    job = Job(path=path, recording_id=recording_id(path), found_in_folder=found, person=person,
              exercise=values.get("exercise"), placement=values.get("placement"), calibration=cal,
              person_thresholds=thresholds_of(person) if person else None, labels=labels,
              input_sig=sig, error=error)
    return Job(**{**job.__dict__, "settings_key": settings_key(job)})


def plan_batch(inputs: Iterable[str] = (), manifest: Path | None = None, *,
               thresholds_of: Callable[[str], dict[str, Any] | None] | None = None) -> Plan:
    """The batch's jobs: the manifest's rows (in its order), then the inputs' other
    recordings. ``thresholds_of(person)`` gives a person's stored thresholds (or None)."""
    look = thresholds_of or (lambda _person: None)
    cache: dict[str, Any] = {}

    def cached(person: str) -> Any:
        """One store look-up per person."""
        if person not in cache:
            cache[person] = look(person)
        return cache[person]

    rows: list[tuple[str, dict[str, Any]]] = []
    label_types: dict[str, str] = {}
    if manifest is not None:
        rows, label_types = read_manifest(manifest)
    found = expand_inputs(list(inputs))
    in_manifest = {p for p, _ in rows}
    jobs = [_job(p, v, False, cached) for p, v in rows]
    seen = set(in_manifest)
    if manifest is not None:
        seen.add(os.path.abspath(manifest))  # the manifest in the cohort's folder is no recording
    for p, flag in found:
        s = str(p)
        if s not in seen:
            seen.add(s)
            jobs.append(_job(s, {}, flag, cached))
    if not jobs:
        raise BatchError("batch: expected recordings (INPUT... or --manifest FILE), found none")
    return Plan(jobs, label_types)
