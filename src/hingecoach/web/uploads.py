"""Receiving an uploaded file: streamed to a temporary file of the server's choosing,
under a size limit, and checked before it is queued.

The request body is parsed as it arrives (``python-multipart``'s streaming parser), so
a file over ``MAX_UPLOAD_BYTES`` is refused after that many bytes, not after the disk
filled up. The client's file name is only shown, never used as a path: the temporary
file gets a random name in the app's upload folder and a suffix from a fixed list (the
readers go by it), or one sniffed from the content when the name has none.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from hingecoach.core.errors import HingecoachError, InputError
from hingecoach.core.extras import require
from hingecoach.sources.detect import detect_format
from hingecoach.sources.video import VIDEO_SUFFIXES

MAX_UPLOAD_BYTES = 500 * 1024 * 1024
MAX_FIELD_BYTES = 1024  # person, exercise
RECORDING_SUFFIXES = (".csv", ".txt", ".zip")  # a CSV, or a zipped export (QSense, Sensor Logger...)
FIELDS = ("file", "person", "exercise")


class TooLarge(HingecoachError):
    """The upload is over the size limit (HTTP 413)."""


class BadUpload(HingecoachError):
    """The request is not an upload the server takes (HTTP 400)."""


class BadFile(HingecoachError):
    """The uploaded file is no video or recording that ``analyze`` reads (HTTP 400)."""


def shown_name(name: str | None) -> str:
    """The client's file name, made safe to show and to log: its last path part,
    printable, at most 80 characters; ``upload`` when there is none."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(c for c in unicodedata.normalize("NFC", base) if c.isprintable()).strip()
    return base[-80:] or "upload"


def sniff_suffix(head: bytes) -> str | None:
    """A container's usual suffix from its first bytes (MP4/QuickTime, Matroska/WebM, AVI,
    zip), or None."""
    if head[4:8] == b"ftyp":
        return ".mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return ".webm"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        return ".avi"
    if head.startswith(b"PK\x03\x04"):
        return ".zip"
    return None


def safe_suffix(name: str, head: bytes) -> str:
    """The suffix the temporary file gets: the name's, when it is one the readers know,
    else what the content looks like (a video container, a zip, or text)."""
    suffix = Path(name).suffix.lower()
    if suffix in VIDEO_SUFFIXES or suffix in RECORDING_SUFFIXES:
        return suffix
    return sniff_suffix(head) or ".csv"


@dataclass
class Received:
    """What came with the upload: the temporary file, its shown name, the small fields."""

    path: Path | None = None
    name: str = "upload"
    size: int = 0
    fields: dict[str, str] = field(default_factory=dict)


class _Form:
    """Callbacks for the streaming multipart parser: the ``file`` part goes to a
    temporary file, the small fields to memory; anything else is refused."""

    def __init__(self, upload_dir: Path, limit: int) -> None:
        self.upload_dir, self.limit = upload_dir, limit
        self.out = Received()
        self.headers: dict[str, str] = {}
        self.header_field = b""
        self.header_value = b""
        self.part: str | None = None
        self.value = b""
        self.fh: IO[bytes] | None = None
        self.head = b""

    def callbacks(self) -> dict[str, Any]:
        """The parser's callbacks."""
        return {"on_part_begin": self._begin, "on_header_field": self._hfield, "on_header_value": self._hvalue,
                "on_header_end": self._hend, "on_headers_finished": self._headers_done,
                "on_part_data": self._data, "on_part_end": self._end}

    def _begin(self) -> None:
        self.headers, self.part, self.value = {}, None, b""

    def _hfield(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def _hvalue(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def _hend(self) -> None:
        self.headers[self.header_field.decode("latin-1").lower()] = self.header_value.decode("utf-8", "replace")
        self.header_field = self.header_value = b""

    def _headers_done(self) -> None:
        disp = self.headers.get("content-disposition", "")
        m = re.search(r'\bname="([^"]*)"', disp)
        name = m.group(1) if m else ""
        if name not in FIELDS:
            raise BadUpload(f"upload: expected the fields {', '.join(FIELDS)}, found {name[:40]!r}")
        if name == "file":
            if self.out.path is not None:
                raise BadUpload("upload: one file at a time")
            fm = re.search(r'\bfilename="([^"]*)"', disp)
            self.out.name = shown_name(fm.group(1) if fm else None)
        self.part = name

    def _data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self.part != "file":
            self.value += chunk
            if len(self.value) > MAX_FIELD_BYTES:
                raise BadUpload(f"upload: the field {self.part!r} is too long")
            return
        self.out.size += len(chunk)
        if self.out.size > self.limit:
            raise TooLarge(f"{self.out.name}: expected a file up to {self.limit // 2**20} MB, found more")
        if self.fh is None:  # wait for enough bytes to sniff a container
            self.head += chunk
            if len(self.head) < 16:
                return
            self._open()
            chunk, self.head = self.head, b""
        assert self.fh is not None
        self.fh.write(chunk)

    def _open(self) -> None:
        fd, path = tempfile.mkstemp(prefix="upload-", suffix=safe_suffix(self.out.name, self.head),
                                    dir=self.upload_dir)
        self.fh = os.fdopen(fd, "wb")
        self.out.path = Path(path)

    def _end(self) -> None:
        if self.part == "file":
            if self.fh is None:
                self._open()
                assert self.fh is not None
                self.fh.write(self.head)
            self.fh.close()
        elif self.part is not None:
            self.out.fields[self.part] = self.value.decode("utf-8", "replace")
        self.part = None

    def discard(self) -> None:
        """Drop the temporary file (the request failed)."""
        if self.fh is not None:
            self.fh.close()
        if self.out.path is not None:
            with contextlib.suppress(OSError):
                self.out.path.unlink()
            self.out.path = None


async def receive(stream: AsyncIterator[bytes], content_type: str, upload_dir: Path,
                  limit: int = MAX_UPLOAD_BYTES) -> Received:
    """Parse a ``multipart/form-data`` body from ``stream``; the file is written to a new
    temporary file in ``upload_dir``. On any error nothing is left behind."""
    pm = require("web", "python_multipart", "uploads to hingecoach serve")
    ctype, params = pm.multipart.parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise BadUpload("upload: expected multipart/form-data with a boundary")
    form = _Form(upload_dir, limit)
    parser = pm.MultipartParser(boundary, form.callbacks())
    try:
        async for chunk in stream:
            parser.write(chunk)
        parser.finalize()
        if form.out.path is None:
            raise BadUpload("upload: expected a file in the field 'file', found none")
    except pm.exceptions.MultipartParseError as e:
        form.discard()
        raise BadUpload(f"upload: a malformed multipart body ({e})") from None
    except BaseException:
        form.discard()
        raise
    return form.out


def check(path: Path, shown_as: str) -> str:
    """The format of the uploaded file (``video`` or an IMU format), checked as far as can
    be without analysing it; BadFile, with the command line's message about ``shown_as``,
    when it is no recording."""
    try:
        kind = detect_format(path)
        if kind == "video":
            from hingecoach.sources.video import probe_video

            info = probe_video(path)
            if info.frames is not None and 0 <= info.frames < 2:
                raise InputError(path, "a video of the exercise", f"{info.frames} frame(s)")
        return kind
    except HingecoachError as e:
        raise BadFile(str(e).replace(str(path), shown_as)) from None
