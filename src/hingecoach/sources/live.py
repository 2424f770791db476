"""Live IMU sources: what arrives from sensors while a person moves.

Every live IMU source ends in the same place: one ``Packet`` per sensor sample (which
sensor, the sender's own time, accelerometer, gyroscope), stamped with its arrival on
this computer's monotonic clock. The transports only carry bytes or lines; decoding is
shared, so a replayed recording (sent as the UDP path would send it) exercises the same
code as a phone app or an ESP32 sending datagrams.

The UDP datagram (one JSON object, UTF-8, one sample of one sensor)::

    {"sensor": "lower" | "upper", "t": <sender time, s>,
     "acc": [x, y, z] (m/s^2, specific force: +9.81 along up at rest),
     "gyr": [x, y, z] (rad/s)
     [, "mag": [x, y, z] (uT)] [, "seq": <integer, +1 per sample of this sensor>]}

Other keys are ignored. ``t`` is the sensor's (or the sender's) clock in seconds: any
origin, each sensor may have its own clock (the live loop aligns them). ``seq``, when
sent, makes loss and reordering exact to detect.

Serial lines (and BLE UART lines) are the hingecoach CSV schema's rows
(``time_s,lower_acc_x,...,upper_gyr_z``, one row = both sensors at one instant, in the
order of ``IMU_COLUMNS`` unless a ``time_s,...`` header line gives another), or the JSON
object above, one per line.

Bad input never raises out of the live path: ``BadInput`` names what was wrong, the
caller counts and flags it and goes on.
"""

from __future__ import annotations

import contextlib
import json
import math
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from hingecoach.core.errors import InputError, ParameterError
from hingecoach.core.extras import require
from hingecoach.core.timeseries import TimeSeries
from hingecoach.sources.imu_csv import IMU_COLUMNS

SENSORS = ("lower", "upper")
MAX_DATAGRAM = 65_507
DEFAULT_BAUD = 115_200


@dataclass(slots=True)
class Packet:
    """One sample of one sensor as it arrived."""

    sensor: str  # "lower" or "upper"
    t: float  # sender's clock, s
    acc: list[float]  # m/s^2, sensor frame
    gyr: list[float]  # rad/s, sensor frame
    arrival_s: float  # this computer's monotonic clock, s
    seq: int | None = None


class BadInput(Exception):
    """A datagram or line that cannot be used: ``kind`` is the counter it goes to."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


def _vector(obj: dict[str, Any], key: str) -> list[float]:
    v = obj.get(key)
    if not isinstance(v, list) or len(v) != 3:
        raise BadInput("bad_field", f"{key!r}: expected a list of 3 numbers, found {str(v)[:40]}")
    out = []
    for x in v:
        if isinstance(x, bool) or not isinstance(x, int | float):
            raise BadInput("bad_field", f"{key!r}: expected numbers, found {str(x)[:20]!r}")
        out.append(float(x))
    return out


def packet_from_object(obj: Any, arrival_s: float) -> Packet:
    """A decoded JSON object -> Packet (raises BadInput)."""
    if not isinstance(obj, dict):
        raise BadInput("malformed", f"expected a JSON object, found {type(obj).__name__}")
    sensor = obj.get("sensor")
    if sensor not in SENSORS:
        raise BadInput("unknown_sensor", f"expected sensor 'lower' or 'upper', found {str(sensor)[:30]!r}")
    t = obj.get("t")
    if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t):
        raise BadInput("bad_field", f"'t': expected a finite time in seconds, found {str(t)[:30]!r}")
    seq = obj.get("seq")
    if seq is not None and (isinstance(seq, bool) or not isinstance(seq, int)):
        seq = None
    return Packet(str(sensor), float(t), _vector(obj, "acc"), _vector(obj, "gyr"), arrival_s, seq)


def decode_datagram(data: bytes, arrival_s: float) -> Packet:
    """One UDP datagram -> Packet (raises BadInput). NaN values are passed on (the live
    loop holds the last good value); a NaN or missing time cannot be placed and is bad."""
    try:
        obj = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise BadInput("malformed", f"not JSON ({str(e)[:60]})") from None
    return packet_from_object(obj, arrival_s)


def encode_datagram(sensor: str, t: float, acc: Any, gyr: Any, *, seq: int | None = None,
                    **extra: Any) -> bytes:
    """The datagram for one sample (what a sender, the replay and the tests send)."""
    obj: dict[str, Any] = {"sensor": sensor, "t": round(float(t), 6),
                           "acc": [float(x) for x in acc], "gyr": [float(x) for x in gyr]}
    if seq is not None:
        obj["seq"] = int(seq)
    obj.update(extra)
    return json.dumps(obj, separators=(",", ":")).encode()


class LineParser:
    """Serial/BLE lines -> Packets: CSV rows of the IMU schema (both sensors), a header
    line that reorders the columns, or a JSON datagram per line."""

    def __init__(self, columns: list[str] | None = None) -> None:
        self._set_columns(columns or IMU_COLUMNS)

    def _set_columns(self, names: list[str]) -> None:
        missing = [c for c in IMU_COLUMNS if c not in names]
        if missing:
            raise BadInput("bad_line", f"header without column {missing[0]}")
        self.columns = names
        self._idx = {c: names.index(c) for c in IMU_COLUMNS}

    def parse(self, line: str, arrival_s: float) -> list[Packet]:
        """One line -> its packets (none for a blank, comment or header line); raises BadInput."""
        s = line.strip()
        if not s or s.startswith("#"):
            return []
        if s.startswith("{"):
            try:
                obj = json.loads(s)
            except ValueError:
                raise BadInput("bad_line", f"not JSON: {s[:40]!r}") from None
            return [packet_from_object(obj, arrival_s)]
        parts = [p.strip() for p in s.split(",")]
        if "time_s" in parts:
            self._set_columns(parts)
            return []
        if len(parts) != len(self.columns):
            raise BadInput("bad_line", f"expected {len(self.columns)} comma-separated values, "
                                       f"found {len(parts)}: {s[:40]!r}")
        try:
            vals = [float(p) for p in parts]
        except ValueError:
            raise BadInput("bad_line", f"expected numbers, found {s[:40]!r}") from None
        t = vals[self._idx["time_s"]]
        if not math.isfinite(t):
            raise BadInput("bad_field", f"'time_s': expected a finite time, found {t}")
        return [Packet(side, t, [vals[self._idx[f"{side}_acc_{a}"]] for a in "xyz"],
                       [vals[self._idx[f"{side}_gyr_{a}"]] for a in "xyz"], arrival_s)
                for side in SENSORS]


# -- source specs ---------------------------------------------------------------------
SPEC_FORMS = ("udp:HOST:PORT (or udp:PORT)", "serial:DEVICE[@BAUD]", "ble:ADDRESS",
              "replay:FILE", "webcam:N", "phyphox:lower=http://HOST:PORT,upper=http://HOST:PORT",
              "lower=SOURCE,upper=SOURCE")
# what can carry one sensor of a pair: a phone, or a sender of the UDP datagrams above
PAIR_PART_KINDS = ("phyphox", "udp")


@dataclass(frozen=True)
class SourceSpec:
    """A parsed ``--source``: its kind and where (see ``parse_source``)."""

    kind: str  # udp, serial, ble, replay, webcam, phyphox, pair
    target: str  # host, device, address(es), file, the camera index, or the phone's URL
    port: int = 0
    baud: int = DEFAULT_BAUD
    # kind "pair": each sensor's own source, ("lower", spec), ("upper", spec)
    parts: tuple[tuple[str, SourceSpec], ...] = ()

    def __str__(self) -> str:
        if self.kind == "pair":
            return ",".join(f"{role}={part}" for role, part in self.parts)
        if self.kind == "udp":
            return f"udp:{self.target}:{self.port}"
        if self.kind == "serial" and self.baud != DEFAULT_BAUD:
            return f"serial:{self.target}@{self.baud}"
        return f"{self.kind}:{self.target}"


def parse_source(spec: str) -> SourceSpec:
    """``udp:127.0.0.1:9000``, ``serial:/dev/ttyUSB0@115200``, ``ble:AA:BB:..``,
    ``replay:walk.csv``, ``webcam:0`` -> SourceSpec; anything else is a ParameterError.

    Two sources, one per sensor, each with its own clock (kind ``pair``):
    ``lower=SOURCE,upper=SOURCE`` where each SOURCE is ``phyphox:http://HOST:PORT`` (a
    phone) or ``udp:HOST:PORT`` (a sender of one sensor's datagrams); two phones are
    also ``phyphox:lower=http://A:8080,upper=http://B:8080``. A phone is one sensor, so
    ``phyphox:URL`` alone is an error that says so."""
    if spec.startswith(("lower=", "upper=")):
        return _parse_pair(spec, "")
    if spec.startswith(("phyphox:lower=", "phyphox:upper=")):
        return _parse_pair(spec.removeprefix("phyphox:"), "phyphox:")
    one = _parse_one(spec)
    if one.kind == "phyphox":
        raise ParameterError("--source phyphox", "a phone for each sensor, with its role: "
                             "phyphox:lower=http://A:8080,upper=http://B:8080 (or lower=phyphox:URL,"
                             "upper=udp:PORT for a phone and a UDP sensor); a phone is one sensor", spec)
    return one


def phyphox_url(spec: str) -> str:
    """``http://HOST:PORT`` (with or without ``phyphox:``) checked, without a trailing slash."""
    url = spec.removeprefix("phyphox:").rstrip("/")
    if not url.startswith("http://") or ":" not in url[len("http://"):]:
        raise ParameterError("--source phyphox", "phyphox:http://HOST:PORT (the address phyphox "
                             "shows under 'Allow remote access')", spec)
    return url


def _parse_pair(spec: str, prefix: str) -> SourceSpec:
    """``lower=SOURCE,upper=SOURCE`` (each SOURCE after ``prefix``) -> a ``pair`` SourceSpec."""
    parts: dict[str, SourceSpec] = {}
    for item in spec.split(","):
        role, eq, sub = item.strip().partition("=")
        if role not in SENSORS or not eq or role in parts:
            raise ParameterError("--source", "lower=SOURCE,upper=SOURCE, each sensor once", spec)
        part = _parse_one(prefix + sub.strip())
        if part.kind not in PAIR_PART_KINDS:
            raise ParameterError(f"--source {role}=", "phyphox:http://HOST:PORT or udp:HOST:PORT "
                                 "(a source of one sensor)", sub)
        parts[role] = part
    if set(parts) != set(SENSORS):
        raise ParameterError("--source", "both sensors: lower=SOURCE,upper=SOURCE", spec)
    return SourceSpec("pair", "", parts=tuple((r, parts[r]) for r in SENSORS))


def _parse_one(spec: str) -> SourceSpec:
    """One source of the forms in ``parse_source`` (a lone phone included)."""
    kind, sep, rest = spec.partition(":")
    bad = ParameterError("--source", "one of " + ", ".join(SPEC_FORMS), spec)
    if not sep or not rest:
        if spec == "webcam":
            return SourceSpec("webcam", "0")
        raise bad
    if kind == "udp":
        host, _, port_s = rest.rpartition(":")
        host = host or "127.0.0.1"
        if not port_s.isdigit() or not 0 < int(port_s) < 65536:
            raise ParameterError("--source udp port", "a port number 1-65535", port_s)
        return SourceSpec("udp", host.strip("[]"), port=int(port_s))
    if kind == "serial":
        dev, _, baud_s = rest.partition("@")
        if baud_s and not baud_s.isdigit():
            raise ParameterError("--source serial baud rate", "a number such as 115200", baud_s)
        return SourceSpec("serial", dev, baud=int(baud_s) if baud_s else DEFAULT_BAUD)
    if kind == "ble":
        return SourceSpec("ble", rest)
    if kind == "replay":
        return SourceSpec("replay", rest)
    if kind == "webcam":
        if not rest.isdigit():
            raise ParameterError("--source webcam", "webcam:N with a camera index N", spec)
        return SourceSpec("webcam", rest)
    if kind == "phyphox":
        return SourceSpec("phyphox", phyphox_url(spec))
    raise bad


# -- transports -------------------------------------------------------------------------
def monotonic_s() -> float:
    """This computer's monotonic clock, in seconds (arrival times)."""
    return time.monotonic_ns() / 1e9


class Transport(Protocol):
    """Where the bytes come from. ``receive`` waits at most ``timeout_s`` and returns
    what arrived, each item with its arrival time (monotonic seconds). Items are
    datagram bytes (``kind == "datagram"``) or text lines (``"line"``)."""

    kind: str
    name: str
    shared_clock: bool  # both sensors stamped by one clock (one device, a file)
    meta: dict[str, Any]

    @property
    def ended(self) -> bool:
        """The source has nothing more to give."""
        ...

    def receive(self, timeout_s: float) -> list[tuple[Any, float]]:
        """What arrived within ``timeout_s`` (s): (payload, arrival monotonic s) items."""
        ...

    def close(self) -> None:
        """Release the socket, port or device."""
        ...


class UdpTransport:
    """Datagrams on a UDP port (bound on ``host``, default localhost)."""

    kind = "datagram"
    shared_clock = False

    def __init__(self, host: str, port: int, *, rcvbuf: int = 1 << 20) -> None:
        self.name = f"udp:{host}:{port}"
        self.ended = False
        self.meta: dict[str, Any] = {}
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
        except socket.gaierror as e:
            raise InputError(self.name, "a host name or address to listen on", str(e.strerror)) from None
        family, _, _, _, addr = infos[0]
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            self.sock.bind(addr)
        except OSError as e:
            self.sock.close()
            raise InputError(self.name, "a free UDP port on this computer",
                             f"{e.strerror or e} (another program is listening there?)") from None
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]

    def receive(self, timeout_s: float) -> list[tuple[Any, float]]:
        """The datagrams that arrived within ``timeout_s`` (s), each with its arrival time."""
        import select

        out: list[tuple[Any, float]] = []
        ready, _, _ = select.select([self.sock], [], [], max(0.0, timeout_s))
        if not ready:
            return out
        while True:
            try:
                data = self.sock.recv(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return out
            except OSError:  # e.g. ICMP errors surfaced on Linux: not ours to die of
                return out
            out.append((data, monotonic_s()))

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()


class SerialTransport:
    """Text lines from a serial port (pyserial), opened exclusively."""

    kind = "line"
    shared_clock = True  # one device samples both sensors

    def __init__(self, device: str, baud: int = DEFAULT_BAUD, *, opener: Callable[..., Any] | None = None
                 ) -> None:
        self.name = f"serial:{device}"
        self.ended = False
        self.meta: dict[str, Any] = {}
        if opener is None:
            serial = require("serial", "serial", f"{self.name}: serial ports need pyserial")
            opener = serial.Serial
            errors: tuple[type[BaseException], ...] = (serial.SerialException, OSError, ValueError)
        else:
            errors = (OSError, ValueError)
        try:
            self.port = opener(device, baud, timeout=0, exclusive=True)
        except errors as e:
            raise InputError(self.name, "a serial port that opens (exists, not in use by another "
                             "program, readable)", str(e).splitlines()[0][:160]) from None
        self._buf = b""

    def receive(self, timeout_s: float) -> list[tuple[Any, float]]:
        """The complete lines that arrived within ``timeout_s`` (s); an unplugged port ends the source."""
        import select

        out: list[tuple[Any, float]] = []
        try:
            fd = self.port.fileno()
            ready, _, _ = select.select([fd], [], [], max(0.0, timeout_s))
            if not ready:
                return out
            data = self.port.read(self.port.in_waiting or 1)
        except (OSError, ValueError, TypeError) as e:  # unplugged; SerialException is an OSError
            self.ended = True
            self.meta["end_reason"] = f"{self.name}: {str(e)[:120]}"
            return out
        now = monotonic_s()
        if not data:
            return out
        self._buf += data
        *lines, self._buf = self._buf.split(b"\n")
        if len(self._buf) > 4096:  # a line that never ends: drop it, it is counted as bad
            lines.append(self._buf)
            self._buf = b""
        out.extend((ln.decode("utf-8", errors="replace"), now) for ln in lines)
        return out

    def close(self) -> None:
        """Close the port."""
        with contextlib.suppress(OSError, ValueError):
            self.port.close()


class ReplayTransport:
    """A recording sent at ``speed`` times real time as UDP datagrams would arrive:
    both sensors' samples of a row, lower then upper, with the row's time as each
    sensor's clock. ``speed`` 0 sends as fast as the loop takes them."""

    kind = "datagram"
    shared_clock = True

    def __init__(self, rec: TimeSeries, speed: float = 1.0, *, batch: int = 32,
                 clock: Callable[[], float] = monotonic_s, sleep: Callable[[float], None] = time.sleep) -> None:
        if not (speed == 0 or (math.isfinite(speed) and speed > 0)):
            raise ParameterError("--speed", "a factor > 0 (1 = real time), or 0 for as fast as possible", speed)
        self.name = f"replay:{rec.meta.get('source', '')}"
        self.rec = rec
        self.speed = speed
        self.ended = False
        self.meta: dict[str, Any] = {
            "placement": rec.meta.get("placement"), "sample_rate_hz": rec.sample_rate_hz,
            "calibration_window_s": rec.meta.get("calibration_window_s"), "format": rec.meta.get("format"),
            "source": rec.meta.get("source"), "warnings": list(rec.meta.get("warnings", []))}
        self._t = rec.time_s
        self._acc = {s: rec[f"{s}_acc"] for s in SENSORS}
        self._gyr = {s: rec[f"{s}_gyr"] for s in SENSORS}
        self._n = len(rec)
        self._i = 0
        self._batch = batch
        self._clock = clock
        self._sleep = sleep
        self._wall0: float | None = None

    def _row(self, i: int) -> list[bytes]:
        return [encode_datagram(s, self._t[i], self._acc[s][i], self._gyr[s][i], seq=i) for s in SENSORS]

    def receive(self, timeout_s: float) -> list[tuple[Any, float]]:
        """The rows due by now as datagrams (sleeping at most ``timeout_s`` s for the next)."""
        n = self._n
        if self._i >= n:
            self.ended = True
            return []
        now = self._clock()
        if self._wall0 is None:
            self._wall0 = now
        t0 = float(self._t[0])
        if self.speed == 0:
            stop = min(n, self._i + self._batch)
        else:
            due = self._wall0 + (float(self._t[self._i]) - t0) / self.speed
            if due > now:
                self._sleep(min(due - now, max(timeout_s, 0.0)))
                now = self._clock()
            limit = t0 + (now - self._wall0) * self.speed
            stop = int(np.searchsorted(self._t, limit, side="right"))
            stop = min(max(stop, self._i), n)
        out: list[tuple[Any, float]] = []
        for i in range(self._i, stop):
            out.extend((d, now) for d in self._row(i))
        self._i = stop
        if self._i >= n:
            self.ended = True
        return out

    def close(self) -> None:
        """Stop sending."""
        self._i = self._n


class PairTransport:
    """Two sources, one sensor each (``lower=...,upper=...``), as one: every datagram of a
    part becomes its role's sample whatever sensor it names; each part keeps its own
    clock (the live loop aligns them). The pair ends when either part ends (one sensor
    cannot make angles), with that part's reason."""

    kind = "datagram"
    shared_clock = False

    def __init__(self, parts: dict[str, Transport]) -> None:
        self.parts = parts
        self.name = ",".join(f"{role}={tr.name}" for role, tr in parts.items())
        self.meta: dict[str, Any] = {"warnings": [w for tr in parts.values() for w in tr.meta.get("warnings", [])]}

    @property
    def ended(self) -> bool:
        """Either part has ended (its reason is in ``meta["end_reason"]``)."""
        for role, tr in self.parts.items():
            if tr.ended:
                self.meta.setdefault("end_reason", f"the {role} sensor's source ended: "
                                     + str(tr.meta.get("end_reason", tr.name)))
                return True
        return False

    def receive(self, timeout_s: float) -> list[tuple[Any, float]]:
        """Both parts' datagrams of the next ``timeout_s`` (s, shared between them), relabelled."""
        out: list[tuple[Any, float]] = []
        share = max(0.0, timeout_s) / len(self.parts)
        for role, tr in self.parts.items():
            out.extend((_relabel(payload, role), at) for payload, at in tr.receive(share))
        return out

    def close(self) -> None:
        """Close both parts."""
        for tr in self.parts.values():
            tr.close()


def _relabel(payload: Any, role: str) -> Any:
    """A datagram made ``role``'s (bad ones are passed on for the decoder to flag)."""
    try:
        obj = json.loads(payload)
    except (ValueError, UnicodeDecodeError, TypeError):
        return payload
    if not isinstance(obj, dict) or obj.get("sensor") == role:
        return payload
    obj["sensor"] = role
    return json.dumps(obj, separators=(",", ":")).encode()


@dataclass
class LineAssembler:
    """Bytes arriving in pieces (BLE notifications) -> complete text lines."""

    buf: bytes = b""
    max_line: int = 4096
    lines: list[str] = field(default_factory=list)

    def feed(self, data: bytes) -> list[str]:
        """A piece of bytes in; the lines it completed."""
        self.buf += data
        *done, self.buf = self.buf.split(b"\n")
        if len(self.buf) > self.max_line:
            done.append(self.buf)
            self.buf = b""
        return [d.decode("utf-8", errors="replace").rstrip("\r") for d in done]


def read_replay(path: str | Path, placement: str | None = None) -> TimeSeries:
    """The recording behind ``replay:FILE`` (any format ``read_recording`` reads)."""
    from hingecoach.sources.detect import read_recording

    return read_recording(path, placement=placement)

