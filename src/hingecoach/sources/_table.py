"""Numeric tables from text files, with errors a person can act on.

A fast path (``numpy.loadtxt``) reads clean files; when it fails, a line-by-line pass
finds what is wrong. A few unreadable rows (at most ``max(10, 1 %)`` of them) are dropped
with a warning that names them; more is an error naming the first bad line.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hingecoach.core.errors import InputError
from hingecoach.core.parallel import ForkedCall, can_fork
from hingecoach.core.timeseries import FloatArray

BAD_ROW_LIMIT_FRACTION = 0.01
BAD_ROW_LIMIT_MIN = 10
PARALLEL_MIN_CHARS = 2_000_000  # parse in two processes above this (about 3 min at 100 Hz)


@dataclass
class Table:
    columns: dict[str, FloatArray]
    line_numbers: np.ndarray  # 1-based file line of each row
    warnings: list[str] = field(default_factory=list)


def check_text_file(path: Path) -> str:
    """Read a whole text file, or raise a one-line InputError."""
    if not path.exists():
        raise InputError(path, "an existing file", "no such file or folder")
    if path.is_dir():
        raise InputError(path, "a file", "a folder")
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise InputError(path, "a readable file", e.strerror or str(e)) from None
    if not raw or raw.isspace():  # (raw.strip() would copy the whole file)
        raise InputError(path, "a CSV file with a header and data rows", "an empty file")
    if b"\x00" in raw[:65536]:
        raise InputError(path, "a text (CSV) file", "binary data")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(path, "UTF-8 text", f"undecodable byte at offset {e.start}") from None


def _fmt_lines(lines: Sequence[int]) -> str:
    shown = ", ".join(str(n) for n in lines[:5])
    return shown + (f" and {len(lines) - 5} more" if len(lines) > 5 else "")


def _loadtxt(text: str, index: Sequence[int], delimiter: str | None, skiprows: int) -> np.ndarray:
    """``numpy.loadtxt`` over text. Lines come from a byte buffer decoded 8 KiB at a time:
    a StringIO of the text would hold a 4-byte-per-character copy (180 MB for an hour)."""
    lines = io.TextIOWrapper(io.BytesIO(text.encode("utf-8")), encoding="utf-8", newline="\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "input contained no data": handled by the caller
        return np.loadtxt(lines, delimiter=delimiter, usecols=index, ndmin=2,
                          skiprows=skiprows, dtype=np.float64, comments="#")


def _line_offset(text: str, line: int) -> int:
    """Character offset where 0-based ``line`` starts, or -1 if the text is shorter."""
    pos = 0
    for _ in range(line):
        pos = text.find("\n", pos) + 1
        if pos == 0:
            return -1
    return pos


def _fast_parse(text: str, index: Sequence[int], delimiter: str | None, first_data_line: int
                ) -> tuple[np.ndarray, bool]:
    """The clean-file path: all data rows as floats, and whether that worked (all finite,
    at least one row). A long text is parsed as two halves split at a line break, the
    second in a forked child process, which halves the wall time (``numpy.loadtxt``
    runs at about 100 MB/s); if the child fails for any reason, the parent parses it."""
    start = _line_offset(text, first_data_line)
    mid = -1
    if start >= 0 and len(text) - start >= PARALLEL_MIN_CHARS and can_fork():
        mid = text.find("\n", start + (len(text) - start) // 2) + 1
    empty = np.empty((0, len(index)))
    try:
        if 0 < mid < len(text):
            second = text[mid:]
            with ForkedCall(lambda: _loadtxt(second, index, delimiter, 0).tobytes()) as child:
                first = _loadtxt(text[start:mid], index, delimiter, 0)
                raw = child.result()
            rest = (np.frombuffer(raw, dtype=np.float64).reshape(-1, len(index)) if raw is not None
                    else _loadtxt(second, index, delimiter, 0))
            parts = [p if p.size else empty for p in (first, rest)]
            arr = np.concatenate(parts) if parts[1].size else parts[0]
        else:
            arr = _loadtxt(text, index, delimiter, first_data_line)
        return arr, bool(np.all(np.isfinite(arr))) and arr.shape[0] > 0
    except ValueError:
        return empty, False


def read_numeric(
    path: Path,
    text: str,
    *,
    header_line: int,
    names: Sequence[str],
    wanted: Sequence[str],
    delimiter: str | None,
    first_data_line: int,
) -> Table:
    """Parse the columns ``wanted`` (a subset of the header ``names``) as floats.

    ``header_line`` and ``first_data_line`` are 0-based indexes into the file's lines.
    """
    index = [list(names).index(w) for w in wanted]
    ncols = len(names)
    arr, ok = _fast_parse(text, index, delimiter, first_data_line)
    n_lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    if ok and n_lines - first_data_line == arr.shape[0]:  # no blank or comment rows
        return Table({w: arr[:, j] for j, w in enumerate(wanted)},
                     np.arange(first_data_line + 1, first_data_line + 1 + arr.shape[0]))
    lines = text.splitlines()
    numbered = [(first_data_line + i + 1, ln) for i, ln in enumerate(lines[first_data_line:])
                if ln.strip() and not ln.lstrip().startswith("#")]
    if not numbered:
        raise InputError(path, "data rows after the header", "none", line=header_line + 1)
    if ok:
        return Table({w: arr[:, j] for j, w in enumerate(wanted)},
                     np.array([n for n, _ in numbered]))
    rows: list[list[float]] = []
    good_lines: list[int] = []
    bad: list[tuple[int, str, str, str]] = []  # line, column, expected, found
    for n, ln in numbered:
        parts = ln.split(delimiter) if delimiter else ln.split()
        if len(parts) < max(index) + 1:
            bad.append((n, "", f"{ncols} fields", f"{len(parts)}"))
            continue
        vals: list[float] = []
        for j, w in zip(index, wanted, strict=True):
            cell = parts[j].strip()
            try:
                v = float(cell)
            except ValueError:
                bad.append((n, w, "a number", repr(cell[:20])))
                break
            if not np.isfinite(v):
                bad.append((n, w, "a finite number", repr(cell[:20])))
                break
            vals.append(v)
        else:
            rows.append(vals)
            good_lines.append(n)
    limit = max(BAD_ROW_LIMIT_MIN, int(BAD_ROW_LIMIT_FRACTION * len(numbered)))
    if len(bad) > limit or not rows:
        n, col, exp, found = bad[0]
        raise InputError(path, exp, found + (f" ({len(bad)} bad rows in all)" if len(bad) > 1 else ""),
                         line=n, column=col or None)
    notes = []
    if bad:
        last_truncated = bad[-1][0] == numbered[-1][0] and bad[-1][1] == ""
        what = "truncated last row" if last_truncated and len(bad) == 1 else "unreadable rows"
        notes.append(f"{path.name}: dropped {len(bad)} {what} (line {_fmt_lines([b[0] for b in bad])})")
    arr = np.asarray(rows, dtype=np.float64)
    return Table({w: arr[:, j] for j, w in enumerate(wanted)}, np.asarray(good_lines), notes)


def clean_time(path: Path, table: Table, time_s: FloatArray) -> tuple[np.ndarray, list[str]]:
    """Rows to keep so that time strictly increases: duplicates are dropped with a
    warning, time going backwards is an error naming the line."""
    d = np.diff(time_s)
    back = np.flatnonzero(d < 0)
    if back.size:
        i = int(back[0]) + 1
        raise InputError(path, f"time increasing from {time_s[i - 1]:.6g} s",
                         f"{time_s[i]:.6g} s (time goes backwards)",
                         line=int(table.line_numbers[i]))
    dup = np.flatnonzero(d == 0) + 1
    keep = np.ones(time_s.size, bool)
    keep[dup] = False
    notes = []
    if dup.size:
        notes.append(f"{path.name}: dropped {dup.size} rows repeating the previous time "
                        f"(line {_fmt_lines([int(table.line_numbers[i]) for i in dup])})")
    return keep, notes


def gap_warnings(name: str, time_s: FloatArray) -> list[str]:
    """Warn about gaps longer than three sample periods."""
    if time_s.size < 3:
        return []
    d = np.diff(time_s)
    period = float(np.median(d))
    gaps = np.flatnonzero(d > 3 * period)
    if not gaps.size:
        return []
    total = float(np.sum(d[gaps]))
    first = ", ".join(f"{time_s[i]:.2f}-{time_s[i + 1]:.2f} s" for i in gaps[:3])
    more = f" and {gaps.size - 3} more" if gaps.size > 3 else ""
    return [f"{name}: {gaps.size} gaps with no samples ({total:.2f} s in all: {first}{more}); "
            "angles are interpolated across them"]
