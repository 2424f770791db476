"""Numeric tables from text files, with errors a person can act on.

A fast path reads clean files: plain decimals (what ``write_imu_csv`` writes) as exact
integers over powers of ten (``plain_decimals``), anything else with ``numpy.loadtxt``;
a long file is parsed as two halves in two processes. When the fast path fails, a
line-by-line pass finds what is wrong, so errors and warnings name the same lines either
way. A few unreadable rows (at most ``max(10, 1 %)`` of them) are dropped with a warning
that names them; more is an error naming the first bad line.
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

_BOM = b"\xef\xbb\xbf"
BAD_ROW_LIMIT_FRACTION = 0.01
BAD_ROW_LIMIT_MIN = 10
PARALLEL_MIN_CHARS = 2_000_000  # parse in two processes above this (about 3 min at 100 Hz)


@dataclass
class Table:
    """Parsed numeric columns of a text file, with each row's file line number and warnings."""

    columns: dict[str, FloatArray]  # views of ``array``'s columns
    line_numbers: np.ndarray  # 1-based file line of each row
    warnings: list[str] = field(default_factory=list)
    array: FloatArray | None = None  # (rows, len(columns)), columns in the order of ``columns``

    def block(self, names: Sequence[str], rows: slice | np.ndarray) -> FloatArray:
        """Columns ``names`` side by side for ``rows``, (n, len(names)), C-contiguous.
        Adjacent columns are copied as one slice, about twice as fast as stacking them."""
        order = list(self.columns)
        idx = [order.index(n) for n in names]
        if self.array is not None and idx == list(range(idx[0], idx[0] + len(idx))):
            return np.ascontiguousarray(self.array[rows, idx[0]:idx[0] + len(idx)])
        return np.column_stack([self.columns[n][rows] for n in names])


def _table(arr: FloatArray, wanted: Sequence[str], line_numbers: np.ndarray,
           notes: list[str] | None = None) -> Table:
    return Table({w: arr[:, j] for j, w in enumerate(wanted)}, line_numbers, notes or [], arr)


def read_text_bytes(path: Path, *, what: str = "a CSV file with a header and data rows",
                    text: str = "a text (CSV) file") -> bytes:
    """Read a whole UTF-8 text file as bytes (a byte-order mark removed), or raise a
    one-line InputError (``what`` the file should hold, ``text`` what kind of text it is,
    for the messages). Checked to decode, but kept as bytes: the fast path parses bytes,
    and decoding 45 MB only to encode it again costs 0.1 s."""
    if not path.exists():
        raise InputError(path, "an existing file", "no such file or folder")
    if path.is_dir():
        raise InputError(path, "a file", "a folder")
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise InputError(path, "a readable file", e.strerror or str(e)) from None
    if not raw or raw.isspace():  # (raw.strip() would copy the whole file)
        raise InputError(path, what, "an empty file")
    if b"\x00" in raw[:65536]:
        raise InputError(path, text, "binary data")
    if not raw.isascii():  # ASCII is UTF-8 already
        try:
            raw.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise InputError(path, "UTF-8 text", f"undecodable byte at offset {e.start}") from None
    return raw[len(_BOM):] if raw.startswith(_BOM) else raw


def check_text_file(path: Path, *, what: str = "a CSV file with a header and data rows",
                    text: str = "a text (CSV) file") -> str:
    """Read a whole text file, or raise a one-line InputError."""
    return read_text_bytes(path, what=what, text=text).decode("utf-8")


def _fmt_lines(lines: Sequence[int]) -> str:
    shown = ", ".join(str(n) for n in lines[:5])
    return shown + (f" and {len(lines) - 5} more" if len(lines) > 5 else "")


def _loadtxt(data: bytes, index: Sequence[int], delimiter: str | None, skiprows: int) -> np.ndarray:
    """``numpy.loadtxt`` over UTF-8 text, decoded 8 KiB at a time (a StringIO of it
    would hold a 4-byte-per-character copy: 180 MB for an hour)."""
    lines = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline="\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "input contained no data": handled by the caller
        return np.loadtxt(lines, delimiter=delimiter, usecols=index, ndmin=2,
                          skiprows=skiprows, dtype=np.float64, comments="#")


def _line_offset(data: bytes, line: int) -> int:
    """Byte offset where 0-based ``line`` starts, or -1 if the text is shorter."""
    pos = 0
    for _ in range(line):
        pos = data.find(b"\n", pos) + 1
        if pos == 0:
            return -1
    return pos


_POW10 = 10.0 ** np.arange(23)  # exact in float64 up to 1e22
_PLAIN_CHARS = b"0123456789.,-\n"
_NL_TO_COMMA_NO_DOT = bytes.maketrans(b"\n", b",")


def plain_decimals(data: bytes, ncols: int) -> np.ndarray | None:
    """Rows of ``ncols`` plain decimals, or None when ``data`` is anything else.

    "Plain": every field is ``[-]digits.digits`` with one point and at most 15 digits,
    fields are separated by "," and every row, the last too, ends with a line feed (what
    ``write_imu_csv`` and most loggers write). Such a field is the integer of its digits
    over a power of ten, both exact in float64, so the one division is correctly rounded:
    the same double ``float()`` and ``numpy.loadtxt`` give (negative zero included). Parsing
    integers is about four times faster than parsing floats. Anything else (exponents,
    spaces, comments, blank lines, CR LF, a missing field) returns None and the caller
    uses ``numpy.loadtxt``.
    """
    if not data.endswith(b"\n") or data.translate(None, _PLAIN_CHARS):
        return None
    u = np.frombuffer(data, dtype=np.uint8)
    seps = np.flatnonzero(u <= 44)  # "," is 44, LF is 10; the other allowed bytes are >= 45
    nf = seps.size
    if nf % ncols:
        return None
    rows = nf // ncols
    if data.count(b"\n") != rows or not np.all(u[seps[ncols - 1::ncols]] == 10):
        return None  # some row has another number of fields
    dots = np.flatnonzero(u == 46)
    if dots.size != nf or not (np.all(dots < seps) and np.all(dots[1:] > seps[:-1])):
        return None  # as many points as fields, sorted, each after the previous field: one each
    # In place from here on: each fresh temporary array costs page faults (a tenth of
    # the whole analysis's time went to them).
    seps[:-1] += 1  # field starts, one past each separator
    neg = np.empty(nf, dtype=bool)
    neg[0] = u[0] == 45
    np.equal(u[seps[:-1]], 45, out=neg[1:])
    seps[:-1] -= 1
    if np.count_nonzero(neg) != data.count(b"-"):
        return None  # a minus sign that does not start its field
    width = np.diff(seps, prepend=-1)
    width -= 1
    width -= neg  # digits and the point
    if width.min() < 2 or width.max() > 16:  # 15 digits at most: the integer is exact (< 2**53)
        return None
    del width
    frac = seps
    frac -= dots
    frac -= 1  # digits after the point
    del dots
    mantissa = np.fromstring(data[:-1].translate(_NL_TO_COMMA_NO_DOT, b"."), dtype=np.int64, sep=",")
    if mantissa.size != nf:  # cannot happen after the checks above; stay safe anyway
        return None
    values = _POW10[frac]
    del frac, seps
    np.divide(mantissa, values, out=values)
    values[neg & (mantissa == 0)] = -0.0
    return values.reshape(rows, ncols)


def _parse_rows(data: bytes, index: Sequence[int], delimiter: str | None, ncols: int
                ) -> tuple[np.ndarray, int]:
    """The rows of ``data`` (data lines only), columns ``index``, and the number of line
    feeds in it; raises ValueError on a row ``numpy.loadtxt`` cannot read."""
    if delimiter == ",":
        arr = plain_decimals(data, ncols)
        if arr is not None:  # then every line is a row
            return (arr if list(index) == list(range(ncols)) else arr[:, list(index)]), arr.shape[0]
    return _loadtxt(data, index, delimiter, 0), data.count(b"\n")


def _rows_bytes(data: bytes, index: Sequence[int], delimiter: str | None, ncols: int) -> bytes:
    arr, feeds = _parse_rows(data, index, delimiter, ncols)
    return np.int64(feeds).tobytes() + arr.tobytes()


def _fast_parse(data: bytes, index: Sequence[int], delimiter: str | None, first_data_line: int,
                ncols: int) -> tuple[np.ndarray, bool, int]:
    """The clean-file path: all data rows as floats, whether that worked (all finite, at
    least one row), and the number of lines in ``data``. A long text is parsed as two
    halves split at a line break, the second in a forked child process, which halves the
    wall time; if the child fails for any reason, the parent parses that half too."""
    start = _line_offset(data, first_data_line)
    mid = -1
    if start >= 0 and len(data) - start >= PARALLEL_MIN_CHARS and can_fork():
        mid = data.find(b"\n", start + (len(data) - start) // 2) + 1
    empty = np.empty((0, len(index)))
    last = 0 if data.endswith(b"\n") else 1  # an unterminated last line
    try:
        if 0 < mid < len(data):
            second = data[mid:]
            with ForkedCall(lambda: _rows_bytes(second, index, delimiter, ncols)) as child:
                first, feeds = _parse_rows(data[start:mid], index, delimiter, ncols)
                raw = child.result()
            if raw is not None:
                feeds += int(np.frombuffer(raw, dtype=np.int64, count=1)[0])
                rest = np.frombuffer(raw, dtype=np.float64, offset=8).reshape(-1, len(index))
            else:
                rest, more = _parse_rows(second, index, delimiter, ncols)
                feeds += more
            parts = [p if p.size else empty for p in (first, rest)]
            arr = np.concatenate(parts) if parts[1].size else parts[0]
            n_lines = first_data_line + feeds + last
        elif start >= 0:
            arr, feeds = _parse_rows(data[start:], index, delimiter, ncols)
            n_lines = first_data_line + feeds + last
        else:
            arr = _loadtxt(data, index, delimiter, first_data_line)
            n_lines = data.count(b"\n") + last
        return arr, bool(np.all(np.isfinite(arr))) and arr.shape[0] > 0, n_lines
    except ValueError:
        return empty, False, data.count(b"\n") + last


def read_numeric(
    path: Path,
    text: str | bytes,
    *,
    header_line: int,
    names: Sequence[str],
    wanted: Sequence[str],
    delimiter: str | None,
    first_data_line: int,
) -> Table:
    """Parse the columns ``wanted`` (a subset of the header ``names``) as floats.

    ``text``: the file's text, or its UTF-8 bytes (``read_text_bytes``). ``header_line``
    and ``first_data_line`` are 0-based indexes into the file's lines.
    """
    missing = [w for w in wanted if w not in names]
    if missing:  # a header the format was recognised by, with a column misspelt
        raise InputError(path, f"a column {missing[0]!r} in the header", "none", line=header_line + 1)
    index = [list(names).index(w) for w in wanted]
    ncols = len(names)
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    arr, ok, n_lines = _fast_parse(data, index, delimiter, first_data_line, ncols)
    if ok and n_lines - first_data_line == arr.shape[0]:  # no blank or comment rows
        return _table(arr, wanted, np.arange(first_data_line + 1, first_data_line + 1 + arr.shape[0]))
    lines = (text if isinstance(text, str) else data.decode("utf-8")).splitlines()
    numbered = [(first_data_line + i + 1, ln) for i, ln in enumerate(lines[first_data_line:])
                if ln.strip() and not ln.lstrip().startswith("#")]
    if not numbered:
        raise InputError(path, "data rows after the header", "none", line=header_line + 1)
    if ok:
        return _table(arr, wanted, np.array([n for n, _ in numbered]))
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
    return _table(arr, wanted, np.asarray(good_lines), notes)


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
