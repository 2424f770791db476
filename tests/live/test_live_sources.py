"""Every live source kind that can run here: a real UDP socket, a pty as the serial port,
a fake BLE client; and the one-line errors for a busy port, a missing file, a bad spec."""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest

from hingecoach.analysis import analyze_recording
from hingecoach.core.errors import InputError, ParameterError
from hingecoach.live import LiveSession
from hingecoach.sources.live import encode_datagram
from hingecoach.sources.simulator import SimSettings, simulate
from live_helpers import free_udp_port, send_realtime, settings


# -- sources ------------------------------------------------------------------------------------
def test_real_udp_socket_and_stop_from_another_thread():
    rec, _, _truth = simulate(SimSettings(pattern=["rounded", "good"], seed=14, calibration_s=2.5))
    port = free_udp_port()
    events: list[dict] = []
    sess = LiveSession(f"udp:127.0.0.1:{port}", settings(speed=1.0), on_event=events.append)
    done = threading.Event()
    sender = threading.Thread(target=lambda: (time.sleep(0.3), send_realtime(rec, port, done, 1000.0),
                                              time.sleep(0.3), sess.stop()))
    sender.start()
    s = sess.run()
    done.set()
    sender.join()
    assert s.reason == "stopped"
    offline = analyze_recording(rec)
    assert [m.faults for m in s.reps] == [m.faults for m in offline.reps]
    assert [c.fault for c in s.cues] == ["lumbar_rounding"]
    assert s.stats["link"]["sensors"]["upper"]["received"] == len(rec)
    assert s.cue_latency_ms and max(s.cue_latency_ms) < 1000  # measured, not judged here (benchmarks/live.py)


def test_busy_udp_port_is_a_one_line_error():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        with pytest.raises(InputError, match="a free UDP port"):
            LiveSession(f"udp:127.0.0.1:{port}", settings()).run()


def test_missing_replay_file_and_bad_specs():
    with pytest.raises(InputError, match="no such file"):
        LiveSession("replay:/nonexistent/x.csv", settings()).run()
    with pytest.raises(ParameterError, match="--source"):
        LiveSession("tcp:1.2.3.4:5", settings()).run()
    with pytest.raises(ParameterError, match="--speed"):
        LiveSession("replay:x.csv", settings(speed=-1)).run()


def test_serial_port_through_a_pty(tmp_path):
    pytest.importorskip("serial")
    rec, _, _truth = simulate(SimSettings(pattern=["rounded", "good", "rounded"], seed=15))
    import tty

    master, slave = os.openpty()
    tty.setraw(slave)  # a serial device passes bytes as they are (no echo, no line editing)
    dev = os.ttyname(slave)
    lines = ["time_s," + ",".join(f"{s}_{k}_{a}" for s in ("lower", "upper") for k in ("acc", "gyr")
                                  for a in "xyz")]
    for i, t in enumerate(rec.time_s):
        vals = [f"{t:.4f}"] + [f"{x:.6f}" for s in ("lower", "upper") for k in ("acc", "gyr")
                               for x in rec[f"{s}_{k}"][i]]
        lines.append(",".join(vals))
        if i % 500 == 250:
            lines.append("1.0,2.0,garbage")  # a line that does not parse
    data = ("\n".join(lines) + "\n").encode()

    opened = threading.Event()

    def feed():
        opened.wait(10)
        for k in range(0, len(data), 4096):
            os.write(master, data[k:k + 4096])
        time.sleep(0.3)
        os.close(master)

    events: list[dict] = []
    sess = LiveSession(f"serial:{dev}", settings(),
                       on_event=lambda e: (events.append(e), e.get("state") == "waiting" and opened.set()))
    writer = threading.Thread(target=feed)
    writer.start()
    s = sess.run()
    writer.join()
    os.close(slave)
    assert s.reason == "source ended"
    assert s.stats["bad_input"] == {"bad_line": len(rec.time_s[250::500])}
    offline = analyze_recording(rec)
    assert [m.faults for m in s.reps] == [m.faults for m in offline.reps]
    assert [c.fault for c in s.cues] == ["lumbar_rounding"] * 2


def test_busy_serial_port_is_a_one_line_error():
    pytest.importorskip("serial")
    from hingecoach.sources.live import SerialTransport

    master, slave = os.openpty()
    dev = os.ttyname(slave)
    first = SerialTransport(dev)
    try:
        with pytest.raises(InputError, match="serial port that opens"):
            SerialTransport(dev)
        with pytest.raises(InputError, match="serial port that opens"):
            SerialTransport("/dev/nonexistent-tty")
    finally:
        first.close()
        os.close(master)
        os.close(slave)


class FakeBleClient:
    """What BleakClient offers that BleTransport uses; sends a recording as NUS
    notifications in 20-byte pieces (the default BLE MTU), then disconnects."""

    def __init__(self, text: str) -> None:
        self.text = text.encode()
        self.is_connected = False

    async def __aenter__(self):
        self.is_connected = True
        return self

    async def __aexit__(self, *exc):
        self.is_connected = False

    async def start_notify(self, uuid, callback):
        import asyncio

        from hingecoach.sources.ble import NUS_TX

        assert uuid == NUS_TX

        async def pump():
            for k in range(0, len(self.text), 20):
                callback(None, bytearray(self.text[k:k + 20]))
                if k % 4000 == 0:
                    await asyncio.sleep(0)
            await asyncio.sleep(0.05)
            self.is_connected = False

        self._task = asyncio.get_running_loop().create_task(pump())


def test_ble_nus_lines_are_reassembled():
    from hingecoach.sources.ble import BleTransport

    rec, _, _truth = simulate(SimSettings(pattern=["rounded", "good"], seed=16))
    lines = []
    for i, t in enumerate(rec.time_s):
        lines += [encode_datagram(s, float(t), rec[f"{s}_acc"][i], rec[f"{s}_gyr"][i]).decode()
                  for s in ("lower", "upper")]
    tr = BleTransport("AA:BB:CC:DD:EE:FF", client_factory=lambda a: FakeBleClient("\n".join(lines) + "\n"))
    s = LiveSession("ble:AA:BB:CC:DD:EE:FF", settings(), transport=tr).run()
    assert s.stats["bad_input"] == {}
    assert [m.faults for m in s.reps] == [m.faults for m in analyze_recording(rec).reps]


def test_ble_connection_failure_is_a_one_line_error():
    from hingecoach.sources.ble import BleTransport

    class Failing:
        async def __aenter__(self):
            raise OSError("No Bluetooth adapters found.")

        async def __aexit__(self, *exc):
            return None

    with pytest.raises(InputError, match="No Bluetooth adapters found"):
        BleTransport("AA:BB", client_factory=lambda a: Failing())
