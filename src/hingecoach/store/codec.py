"""Compact, lossless storage of time series as compressed byte blobs.

A chunk is ``b"HCA1"``, a 4-byte little-endian header length, a JSON header (sample
count, per channel its name, dtype and shape) and one zlib stream of the channels'
bytes. Each array is byte-shuffled first (all first bytes of the values, then all second
bytes...): neighbouring float samples share their exponent and high mantissa bytes, so
the shuffled stream compresses far better (the trick of HDF5's shuffle filter) at no
cost in precision. Raw sensor samples keep their dtype (float64: re-analysis with newer
code sees exactly what the reader produced); derived angle series are stored as float32
(a millionth of a degree is far below any sensor's accuracy) to halve their size.

Values read from text (a CSV with 6 decimals) are decimal numbers: a float64 channel
whose every value equals ``round(x * 10**k) / 10**k`` for some k <= 9 is stored as those
integers (int32 when they fit) with the scale, which decodes to the very same float64
values and compresses several times better than their binary fractions.
"""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any

import numpy as np
from numpy.typing import NDArray

MAGIC = b"HCA1"
ZLIB_LEVEL = 3  # level 3 gives nearly level 6's ratio on shuffled floats at twice the speed


class CodecError(ValueError):
    """A blob that is not a valid chunk (truncated, tampered with, another format)."""


def _shuffle(a: NDArray[Any]) -> bytes:
    a = np.ascontiguousarray(a)
    size = a.dtype.itemsize
    if size == 1 or a.size == 0:
        return a.tobytes()
    return np.ascontiguousarray(a.reshape(-1).view(np.uint8).reshape(-1, size).T).tobytes()


def _unshuffle(buf: bytes, dtype: np.dtype[Any], shape: tuple[int, ...]) -> NDArray[Any]:
    size = dtype.itemsize
    raw = np.frombuffer(buf, dtype=np.uint8)
    if size > 1 and raw.size:
        raw = np.ascontiguousarray(raw.reshape(size, -1).T)
    return raw.view(dtype).reshape(shape).copy()


MAX_DECIMALS = 9


def _decimal_scale(a: NDArray[Any]) -> tuple[int, NDArray[Any]] | None:
    """(k, integers) if every value is exactly a k-decimal number, else None."""
    if a.dtype != np.float64 or a.size == 0:
        return None
    flat = a.reshape(-1)
    probe = flat[:512]
    if not np.all(np.isfinite(probe)):
        return None
    for k in range(MAX_DECIMALS + 1):
        scale = 10.0 ** k
        if not np.array_equal(np.rint(probe * scale) / scale, probe):
            continue
        if not np.all(np.isfinite(flat)) or np.max(np.abs(flat)) * scale >= 2.0**52:
            return None
        ints = np.rint(flat * scale)
        if not np.array_equal(ints / scale, flat):
            return None
        small = np.abs(ints).max() < 2**31
        return k, ints.astype(np.int32 if small else np.int64).reshape(a.shape)
    return None


def encode(columns: dict[str, NDArray[Any]]) -> bytes:
    """Columns (axis 0 is time, all the same length) -> one compressed blob."""
    n = None
    header: list[dict[str, Any]] = []
    parts: list[bytes] = []
    for name, a in columns.items():
        a = np.asarray(a)
        if a.ndim == 0:
            raise ValueError(f"channel {name!r}: expected an array with a time axis, found a scalar")
        if n is None:
            n = a.shape[0]
        elif a.shape[0] != n:
            raise ValueError(f"channel {name!r}: expected {n} samples, found {a.shape[0]}")
        if a.dtype.kind not in "fiub":
            raise ValueError(f"channel {name!r}: expected numbers, found dtype {a.dtype}")
        dt = a.dtype.newbyteorder("<") if a.dtype.byteorder == ">" else a.dtype
        a = a.astype(dt, copy=False)
        entry: dict[str, Any] = {"name": name, "dtype": dt.str, "shape": list(a.shape)}
        dec = _decimal_scale(a)
        if dec is not None:
            entry["decimals"], a = dec[0], dec[1]
            entry["stored"] = a.dtype.str
        header.append(entry)
        parts.append(_shuffle(a))
    head = json.dumps({"n": n or 0, "channels": header}, separators=(",", ":")).encode()
    return MAGIC + struct.pack("<I", len(head)) + head + zlib.compress(b"".join(parts), ZLIB_LEVEL)


def decode(blob: bytes) -> dict[str, NDArray[Any]]:
    """The inverse of ``encode``; raises CodecError for anything else."""
    blob = bytes(blob)
    if len(blob) < 8 or blob[:4] != MAGIC:
        raise CodecError(f"expected a chunk starting with {MAGIC!r}, found {blob[:8]!r}")
    (hlen,) = struct.unpack("<I", blob[4:8])
    try:
        head = json.loads(blob[8:8 + hlen])
        payload = zlib.decompress(blob[8 + hlen:])
        out: dict[str, NDArray[Any]] = {}
        pos = 0
        for ch in head["channels"]:
            dt = np.dtype(ch.get("stored", ch["dtype"]))
            shape = tuple(int(s) for s in ch["shape"])
            nbytes = int(np.prod(shape, dtype=np.int64)) * dt.itemsize
            if pos + nbytes > len(payload):
                raise CodecError(f"channel {ch['name']!r}: payload truncated")
            a = _unshuffle(payload[pos:pos + nbytes], dt, shape)
            if "decimals" in ch:
                a = a.astype(np.float64) / (10.0 ** int(ch["decimals"]))
            out[str(ch["name"])] = a
            pos += nbytes
    except (ValueError, KeyError, TypeError, zlib.error) as e:
        raise CodecError(f"damaged chunk: {e}") from None
    if pos != len(payload):
        raise CodecError(f"damaged chunk: {len(payload) - pos} bytes left over")
    return out
