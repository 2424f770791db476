"""Export a session to JSON, CSV or Parquet, and import it back (into any store).

All three formats carry the same content, losslessly (floats written with 17
significant digits): the session's facts, its person (name and thresholds), the tables
(reps, sets, cues, events, pain, notes) and the sample streams (raw, calibration,
angles; a channel with several columns, like ``lower_acc``, becomes ``lower_acc[0]``,
``lower_acc[1]``...). JSON is one file; CSV and Parquet are a folder with
``session.json`` and one file per table, readable by a spreadsheet or pandas.
Importing a session twice is refused (sessions keep their uid). A camera session's rep
stills travel with it: base64 in the JSON file, image files under ``stills/`` in a CSV
or Parquet folder (listed in ``session.json``).
"""

from __future__ import annotations

import base64
import csv
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hingecoach import __version__
from hingecoach.core.errors import HingecoachError
from hingecoach.core.stills import RepStill
from hingecoach.core.timeseries import ChannelInfo, TimeSeries
from hingecoach.faults import HIP_FLEXION
from hingecoach.store import codec
from hingecoach.store.backend import StoreError, require_extra
from hingecoach.store.convert import REP_COLUMNS, dumps, loads, rep_row
from hingecoach.store.migrations import hip_flexion_of, set_hip_flexion, update_summary
from hingecoach.store.stills import STILL_COLUMNS, still_from_row, still_row
from hingecoach.store.store import Store
from hingecoach.store.streams import STREAM_DTYPES, STREAMS

FORMAT = "hingecoach-session"
FORMAT_VERSION = 1
FORMATS = ("json", "csv", "parquet")
TABLES = ("reps", "sets", "cues", "events", "pain", "notes")
JSON_COLUMNS = {"faults", "extra", "data"}
JSON_TYPES: dict[str, type] = {"faults": list, "extra": dict, "data": dict}  # what each holds
TEXT_COLUMNS = {"moment", "recorded_at", "author", "text", "stage", "exercise", "kind", "fault",
                "note", "name"}
_FLAT = re.compile(r"^(.*)\[(\d+)\]$")
STILLS_DIR = "stills"  # a folder export's rep stills, one image file each

Columns = dict[str, list[Any]]


@contextmanager
def _writing(path: Path) -> Iterator[None]:
    try:
        yield
    except OSError as e:
        raise StoreError(f"{path}: cannot write the export: {e.strerror}") from None


def _flatten(ts: TimeSeries) -> dict[str, NDArray[Any]]:
    cols: dict[str, NDArray[Any]] = {"time_s": ts.time_s}
    for name, a in ts.data.items():
        if a.ndim == 1:
            cols[name] = a
        else:
            flat = a.reshape(a.shape[0], -1)
            for i in range(flat.shape[1]):
                cols[f"{name}[{i}]"] = flat[:, i]
    return cols


def _unflatten(cols: dict[str, NDArray[Any]]) -> tuple[NDArray[Any], dict[str, NDArray[Any]]]:
    t = np.asarray(cols["time_s"], dtype=np.float64)
    groups: dict[str, dict[int, NDArray[Any]]] = {}
    data: dict[str, NDArray[Any]] = {}
    for name, v in cols.items():
        if name == "time_s":
            continue
        m = _FLAT.match(name)
        if m:
            groups.setdefault(m.group(1), {})[int(m.group(2))] = np.asarray(v, dtype=np.float64)
        else:
            data[name] = np.asarray(v, dtype=np.float64)
    for name, parts in groups.items():
        data[name] = np.column_stack([parts[i] for i in sorted(parts)])
    return t, data


def session_bundle(store: Store, sid: int) -> dict[str, Any]:
    """Everything about one session as plain data (streams as numpy columns)."""
    rec = store.session(sid)
    person = store.person(rec.summary.person) if rec.summary.person else None
    reps: Columns = {c: [] for c in (*REP_COLUMNS, "faults", "extra", "set_idx")}
    for m, set_idx in zip(rec.reps, rec.rep_sets, strict=True):
        vals, faults, extra = rep_row(m)
        for c, v in zip((*REP_COLUMNS, "faults", "extra", "set_idx"), (*vals, faults, extra, set_idx),
                        strict=True):
            reps[c].append(v)

    def table(rows: list[Any]) -> Columns:
        dicts = [asdict(r) for r in rows]
        keys = list(dicts[0]) if dicts else []
        return {k: [dumps(d[k]) if k in JSON_COLUMNS else d[k] for d in dicts] for k in keys}

    tables = {"reps": reps, "sets": table(rec.sets), "cues": table(rec.cues),
              "events": table(rec.events), "pain": table(rec.pain), "notes": table(rec.notes)}
    streams: dict[str, Any] = {}
    for name in rec.streams:
        ts = store.stream(sid, name)
        if ts is not None:
            streams[name] = {"info": {k: [v.unit, v.frame, v.source] for k, v in ts.info.items()},
                             "meta": json.loads(dumps(ts.meta)), "columns": _flatten(ts)}
    s = rec.summary
    return {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "exported_by": f"hingecoach {__version__}",
        "person": None if person is None else {"name": person.name, "thresholds": person.thresholds},
        "session": {"uid": s.uid, "started_at": s.started_at, "kind": s.kind, "source": s.source,
                    "device": s.device, "complete": s.complete,
                    "software_version": rec.software_version, "settings": rec.settings,
                    "calibration": rec.calibration, "thresholds": rec.thresholds, "info": rec.info,
                    "warnings": rec.warnings, "extra": rec.extra},
        "tables": tables, "streams": streams, "stills": store.stills(sid),
    }


# -- writing ----------------------------------------------------------------------------
def _json_value(col: str, v: Any) -> Any:
    return loads(v) if col in JSON_COLUMNS and isinstance(v, str) else v


def _finite_list(a: NDArray[Any]) -> list[Any]:
    out = np.asarray(a, dtype=np.float64)
    return [None if not np.isfinite(x) else float(x) for x in out] if not np.isfinite(out).all() \
        else out.tolist()


def _head(bundle: dict[str, Any]) -> dict[str, Any]:
    head = {k: v for k, v in bundle.items() if k not in ("tables", "streams", "stills")}
    head["streams"] = {n: {"info": s["info"], "meta": s["meta"]} for n, s in bundle["streams"].items()}
    return head


def write_bundle(bundle: dict[str, Any], fmt: str, out: Path) -> list[Path]:
    """Write an export; returns the files written."""
    if fmt not in FORMATS:
        raise StoreError(f"export format: expected one of {', '.join(FORMATS)}, found {fmt!r}")
    if fmt == "json":
        doc = _head(bundle)
        doc["tables"] = {t: [{c: _json_value(c, cols[c][i]) for c in cols}
                             for i in range(len(next(iter(cols.values()), [])))]
                         for t, cols in bundle["tables"].items()}
        for name, s in bundle["streams"].items():
            doc["streams"][name]["columns"] = {c: _finite_list(v) for c, v in s["columns"].items()}
        doc["stills"] = [{**_still_head(x), "data": base64.b64encode(x.data).decode("ascii")}
                         for x in bundle.get("stills", [])]
        with _writing(out):
            out.write_text(json.dumps(doc, separators=(",", ":")), encoding="utf-8")
        return [out]
    if fmt == "parquet":
        purpose = "export --format parquet (--format csv or json need no extra)"
        pa = require_extra("parquet", "pyarrow", purpose)
        pq = require_extra("parquet", "pyarrow.parquet", purpose)
    written = []
    with _writing(out):
        out.mkdir(parents=True, exist_ok=True)
        head = _head(bundle)
        head["stills"] = []
        for x in bundle.get("stills", []):
            f = out / STILLS_DIR / x.file_name()
            f.parent.mkdir(exist_ok=True)
            f.write_bytes(x.data)
            written.append(f)
            head["stills"].append({**_still_head(x), "file": f"{STILLS_DIR}/{f.name}"})
        (out / "session.json").write_text(json.dumps(head, indent=1), encoding="utf-8")
        written.append(out / "session.json")
        tables: dict[str, dict[str, Any]] = dict(bundle["tables"])
        for name, s in bundle["streams"].items():
            tables[f"stream_{name}"] = s["columns"]
        for name, cols in tables.items():
            path = out / f"{name}.{fmt}"
            if fmt == "csv":
                _write_csv(path, cols)
            else:
                pq.write_table(pa.table({c: (np.asarray(v) if isinstance(v, np.ndarray) else v)
                                         for c, v in cols.items()}), path, compression="zstd")
            written.append(path)
    return written


def _still_head(x: RepStill) -> dict[str, Any]:
    """A still's columns for the export (faults as a list), without its image."""
    return {c: (list(x.faults) if c == "faults" else v)
            for c, v in zip(STILL_COLUMNS, still_row(x)[:len(STILL_COLUMNS)], strict=True)}


def _read_stills(doc: dict[str, Any], folder: Path | None, origin: Path) -> list[RepStill]:
    """The stills listed in an export's head: their image inline (JSON) or in a file."""
    out = []
    for i, x in enumerate(doc.get("stills") or []):
        try:
            data = base64.b64decode(x["data"], validate=True) if folder is None else _still_file(folder, x["file"])
            cols = [dumps(x["faults"]) if c == "faults" else x[c] for c in STILL_COLUMNS]
            out.append(still_from_row([*cols, data]))
        except (KeyError, TypeError, ValueError, OSError) as e:
            raise StoreError(f"{origin}: rep still {i + 1}: expected an image and its columns "
                             f"({', '.join(STILL_COLUMNS)}), found unreadable content ({e})") from None
    return out


def _still_file(folder: Path, name: str) -> bytes:
    """A still's image file, which must lie inside the export folder."""
    f = (folder / name).resolve()
    if not f.is_relative_to(folder.resolve()):
        raise ValueError(f"{name} is outside the export folder")
    return f.read_bytes()


def _write_csv(path: Path, cols: dict[str, Any]) -> None:
    names = list(cols)
    if names and all(isinstance(cols[c], np.ndarray) for c in names):
        arr = np.column_stack([np.asarray(cols[c], dtype=np.float64) for c in names])
        np.savetxt(path, arr, delimiter=",", fmt="%.17g", header=",".join(names), comments="")
        return
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(names)
        n = len(cols[names[0]]) if names else 0
        for i in range(n):
            w.writerow(["" if cols[c][i] is None else (repr(cols[c][i]) if isinstance(cols[c][i], float)
                                                       else cols[c][i]) for c in names])


# -- reading ----------------------------------------------------------------------------
def read_bundle(path: Path) -> dict[str, Any]:
    """Read a JSON export, or a CSV or Parquet export folder."""
    if not path.exists():
        raise StoreError(f"{path}: expected a hingecoach export (a .json file or an export "
                         "folder), found nothing there")
    head_path = path / "session.json" if path.is_dir() else path
    try:
        doc = json.loads(head_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise StoreError(f"{head_path}: expected a hingecoach export (JSON), found unreadable "
                         f"content ({e})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise StoreError(f"{head_path}: expected a hingecoach session export (format "
                         f"{FORMAT!r}), found {str(found)!r}")
    with _malformed(head_path):
        return _read_body(path, head_path, doc)


# what a document of the right format but the wrong shape raises while it is taken apart
_SHAPE_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError, HingecoachError)


@contextmanager
def _malformed(where: str | Path) -> Iterator[None]:
    """A document of the wrong shape (a missing key, a value of the wrong type) becomes
    one StoreError naming the file."""
    try:
        yield
    except StoreError as e:
        if type(e) is not StoreError or ": database error: " not in str(e):
            raise
        # the database refused a value of the document (a list where a number belongs)
        raise StoreError(f"{where}: expected a hingecoach session export, found a value the store cannot "
                         f"take ({str(e).split(': database error: ', 1)[1][:160]})") from None
    except _SHAPE_ERRORS as e:
        why = f"no {e.args[0]!r} entry" if isinstance(e, KeyError) and e.args else str(e)
        why = (why.strip().splitlines() or [type(e).__name__])[0][:160]
        raise StoreError(f"{where}: expected a hingecoach session export, found a document it cannot "
                         f"read ({why})") from None


def _read_body(path: Path, head_path: Path, doc: dict[str, Any]) -> dict[str, Any]:
    """The rest of ``read_bundle``, once the document is known to be an export."""
    if int(doc.get("format_version", 0)) > FORMAT_VERSION:
        raise StoreError(f"{head_path}: written by a newer hingecoach (export format "
                         f"{doc['format_version']}; this version reads up to {FORMAT_VERSION})")
    if not path.is_dir():
        for s in doc.get("streams", {}).values():
            s["columns"] = {c: np.array([np.nan if x is None else x for x in v], dtype=np.float64)
                            for c, v in s.get("columns", {}).items()}
        doc["tables"] = {t: _rows_to_columns(rows) for t, rows in doc.get("tables", {}).items()}
        doc["stills"] = _read_stills(doc, None, path)
        return doc
    fmt = "parquet" if any(path.glob("*.parquet")) else "csv"
    doc["tables"] = {}
    for t in TABLES:
        f = path / f"{t}.{fmt}"
        if f.exists():
            doc["tables"][t] = _read_table(f, fmt, numeric=False)
    for name in list(doc.get("streams", {})):
        f = path / f"stream_{name}.{fmt}"
        if not f.exists():
            raise StoreError(f"{path}: expected {f.name} (listed in session.json), found no such file")
        doc["streams"][name]["columns"] = _read_table(f, fmt, numeric=True)
    doc["stills"] = _read_stills(doc, path, head_path)
    return doc


def _rows_to_columns(rows: list[dict[str, Any]]) -> Columns:
    keys = list(rows[0]) if rows else []
    return {k: [dumps(r.get(k)) if k in JSON_COLUMNS else r.get(k) for r in rows] for k in keys}


def _read_table(f: Path, fmt: str, numeric: bool) -> dict[str, Any]:
    try:
        if fmt == "parquet":
            pq = require_extra("parquet", "pyarrow.parquet", f"{f}: reading Parquet")
            table = pq.read_table(f)
            if numeric:
                return {c: table[c].to_numpy() for c in table.column_names}
            return {c: table[c].to_pylist() for c in table.column_names}
        if numeric:
            with f.open(encoding="utf-8") as fh:
                names = fh.readline().strip().split(",")
            arr = np.loadtxt(f, delimiter=",", skiprows=1, ndmin=2, dtype=np.float64)
            if arr.shape[0] == 0:
                arr = np.zeros((0, len(names)))
            return {n: arr[:, i] for i, n in enumerate(names)}
        with f.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        names = rows[0] if rows else []
        return {n: [_parse_cell(n, r[i]) for r in rows[1:]] for i, n in enumerate(names)}
    except (OSError, ValueError, IndexError) as e:
        raise StoreError(f"{f}: expected an export table, found unreadable content ({e})") from None


def _parse_cell(col: str, v: str) -> Any:
    if col in JSON_COLUMNS or col in TEXT_COLUMNS:
        return v
    if v == "":
        return None
    for cast in (int, float):
        try:
            return cast(v)
        except ValueError:
            continue
    return v


# -- importing --------------------------------------------------------------------------
def import_bundle(store: Store, doc: dict[str, Any], origin: str = "") -> int:
    """Add an exported session to ``store``; returns its new id (a StoreError naming
    ``origin`` when the document cannot be imported; nothing is then written)."""
    with _malformed(origin or "import"):
        return _import(store, doc, origin)


def _check_shape(s: dict[str, Any], person: Any) -> None:
    """The parts of an export that are stored as they are and read later must have their
    types (a TypeError, which ``_malformed`` words, otherwise)."""
    tables = {"settings": s.get("settings"), "info": s.get("info"), "extra": s.get("extra"),
              "thresholds": s.get("thresholds")}
    if person:
        tables.update(person=person, **{"person thresholds": person.get("thresholds")})
    for what, v in tables.items():
        if v is not None and not isinstance(v, dict):
            raise TypeError(f"{what}: expected a table of values, found a {type(v).__name__}")
    if not isinstance(s.get("warnings") or [], list):
        raise TypeError(f"warnings: expected a list, found a {type(s['warnings']).__name__}")


def _check_stream(name: str, st: dict[str, Any]) -> None:
    """A stream's channel descriptions and facts as the store reads them back (TypeError otherwise)."""
    info, meta = st.get("info") or {}, st.get("meta") or {}
    if not isinstance(info, dict) or not isinstance(meta, dict):
        raise TypeError(f"stream {name}: expected tables for info and meta")
    for k, v in info.items():
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise TypeError(f"stream {name}, channel {k}: expected a unit, frame and source as text")
        ChannelInfo(*v)


def _import(store: Store, doc: dict[str, Any], origin: str) -> int:
    s = doc["session"]
    _check_shape(s, doc.get("person"))
    row = store.db.execute("SELECT id FROM sessions WHERE uid = ?", (s["uid"],)).fetchone()
    if row is not None:
        raise StoreError(f"{origin or 'import'}: this session is already in {store.url} as session "
                         f"{row[0]} (same uid {s['uid']}); nothing imported")
    person = doc.get("person")
    tables = doc.get("tables", {})
    db = store.db
    with db.transaction():
        name = None
        if person:
            name = person["name"]
            existing = store.person(name)
            p = store.ensure_person(name)
            if existing is None and person.get("thresholds"):
                db.execute("UPDATE people SET thresholds = ? WHERE id = ?",
                           (dumps(person["thresholds"]), p.id))
        extra = {**(s.get("extra") or {}), "imported_from": origin,
                 "imported_at": datetime.now(UTC).isoformat(timespec="seconds")}
        sid = store._new_session(person=name, kind=s["kind"], source=s["source"], device=s["device"],
                                 started_at=s["started_at"], settings=s.get("settings") or {},
                                 thresholds=None, calibration=s.get("calibration"), info=s.get("info"),
                                 warnings=s.get("warnings") or [], complete=bool(s["complete"]),
                                 uid=s["uid"], software_version=s["software_version"], extra=extra)
        db.execute("UPDATE sessions SET thresholds = ? WHERE id = ?", (dumps(s.get("thresholds") or {}), sid))
        cols_by_table = {
            "reps": (*REP_COLUMNS, "faults", "extra", "set_idx"),
            "sets": ("idx", "stage", "exercise", "started_s", "ended_s", "data"),
            "cues": ("t_s", "fault", "value_deg", "threshold_deg", "data"),
            "events": ("t_s", "kind", "data"),
            "pain": ("moment", "value", "recorded_at", "set_idx", "note"),
            "notes": ("recorded_at", "author", "text"),
        }
        for t, cols in cols_by_table.items():
            data = tables.get(t) or {}
            n = len(next(iter(data.values()), []))
            if not n:
                continue
            missing = [c for c in cols if c not in data and c not in ("set_idx", "note", "data", "extra")]
            if missing:
                raise StoreError(f"{origin}: table {t}: expected columns {', '.join(missing)}, found "
                                 f"{', '.join(data) or 'none'}")
            defaults = {"set_idx": None, "note": "", "data": "{}", "extra": "{}"}
            numeric = NUMERIC_COLUMNS.get(t, ())
            kinds = {c: "number" if c in numeric else c if c in JSON_COLUMNS else "" for c in cols}
            rows = [(sid, *[_cell(data.get(c), i, defaults.get(c), kinds[c]) for c in cols]) for i in range(n)]
            db.executemany(f"INSERT INTO {t} (session_id, {', '.join(cols)}) VALUES "
                           f"({', '.join('?' * (len(cols) + 1))})", rows)
        hip: float | None = None  # the median peak hip flexion (deg), from a camera's angles
        for name_, st in doc.get("streams", {}).items():
            if name_ not in STREAMS:
                continue
            _check_stream(name_, st)
            t_, data_ = _unflatten(st["columns"])
            ts = TimeSeries(t_, data_, meta=st.get("meta") or {})
            db.execute("INSERT INTO streams (session_id, name, info, meta) VALUES (?, ?, ?, ?)",
                       (sid, name_, dumps(st.get("info") or {}), dumps(st.get("meta") or {})))
            dtype = STREAM_DTYPES.get(name_, np.float64)
            arrays: dict[str, NDArray[Any]] = {"time_s": ts.time_s}
            arrays.update({k: v.astype(dtype) for k, v in ts.data.items()})
            store._write_chunks(sid, name_, arrays, 0)
            if name_ == "angles" and HIP_FLEXION in arrays and len(ts.time_s):
                hip = hip_flexion_of(db, sid, arrays["time_s"], arrays[HIP_FLEXION])  # as stored, not read back
        store._insert_stills(sid, doc.get("stills") or [])
        update_summary(db, sid)
        set_hip_flexion(db, sid, hip)
    return sid


# columns read back as numbers (a CSV export carries them as text the database converts)
NUMERIC_COLUMNS = {"reps": (*REP_COLUMNS, "set_idx"), "sets": ("idx", "stage", "started_s", "ended_s"),
                   "cues": ("t_s", "value_deg", "threshold_deg"), "events": ("t_s",), "pain": ("value", "set_idx")}


def _cell(col: list[Any] | None, i: int, default: Any, kind: str = "") -> Any:
    """Cell ``i`` of a column to store; ``kind`` "number", or a JSON column's name: text
    must parse as a number, or as JSON of the column's type."""
    if col is None:
        return default
    v = col[i]
    if isinstance(v, np.generic):
        v = v.item()
    if not (v is None or isinstance(v, str | int | float)):
        raise TypeError(f"a table cell holds a {type(v).__name__}, not a number or text")
    if kind and isinstance(v, str):
        try:
            parsed = float(v) if kind == "number" else json.loads(v)
        except ValueError:
            raise TypeError(f"a {kind} column holds {v[:20]!r}") from None
        if kind != "number" and parsed is not None and not isinstance(parsed, JSON_TYPES[kind]):
            raise TypeError(f"the {kind} column holds a {type(parsed).__name__}")
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v


__all__ = ["FORMATS", "codec", "import_bundle", "read_bundle", "session_bundle", "write_bundle"]
