"""BLE sensors through ``bleak`` (the ``ble`` extra), one documented generic profile:
the Nordic UART Service (NUS).

NUS is the de-facto serial port over Bluetooth Low Energy: the ESP32 and nRF52 SDKs,
Arduino's BLE UART examples and the BBC micro:bit ship it. The sensor notifies text on
the TX characteristic; the text is the same as on a serial port (``sources.live``): CSV
rows of the IMU schema (both sensors from one device), or one JSON sample per line
(``{"sensor": "lower", "t": ..., "acc": [...], "gyr": [...]}``), split across
notifications as the link's MTU requires (lines are put back together here).

``ble:ADDR`` connects to one device; ``ble:ADDR1,ADDR2`` to two (one per sensor, each
sending JSON lines with its own "sensor" and clock: the live loop aligns the clocks).

Not tested against a real device: this computer has no Bluetooth adapter. The tests
drive ``BleTransport`` with a fake bleak client (connect, notify in pieces, disconnect).
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any

from hingecoach.core.errors import InputError
from hingecoach.core.extras import require
from hingecoach.sources.live import LineAssembler, monotonic_s

NUS_SERVICE = "6e400001-b5a3-f393-e0a9-e50e24dcca9e"
NUS_TX = "6e400003-b5a3-f393-e0a9-e50e24dcca9e"  # notify: device -> computer
CONNECT_TIMEOUT_S = 15.0


class BleTransport:
    """Lines from NUS notifications of one or more BLE devices."""

    kind = "line"

    def __init__(self, addresses: str, *, client_factory: Callable[[str], Any] | None = None,
                 connect_timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        self.addresses = [a.strip() for a in addresses.split(",") if a.strip()]
        self.name = f"ble:{addresses}"
        if not self.addresses:
            raise InputError(self.name, "ble:ADDRESS (or two, comma-separated)", "no address")
        self.shared_clock = len(self.addresses) == 1
        self._finished = False
        self._clients: list[Any] = []
        self.meta: dict[str, Any] = {}
        if client_factory is None:
            bleak = require("ble", "bleak", f"{self.name}: BLE sensors need bleak")

            def client_factory(addr: str) -> Any:
                return bleak.BleakClient(addr, timeout=connect_timeout_s)

        self._factory = client_factory
        self._q: queue.Queue[tuple[str, float]] = queue.Queue()
        self._ready = threading.Event()
        self._error: str | None = None
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, name="hingecoach-ble", daemon=True)
        self._thread.start()
        self._ready.wait(connect_timeout_s + 5)
        if self._error is not None:
            self.close()
            raise InputError(self.name, "a BLE device that connects and offers the Nordic UART "
                             "Service", self._error)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception as e:  # bleak's errors (no adapter, no device): reported as input errors
            if not self._ready.is_set():
                self._error = str(e).splitlines()[0][:160] if str(e) else type(e).__name__
                self._ready.set()
            else:
                self.meta["end_reason"] = f"{self.name}: {str(e)[:120]}"
        finally:
            self._finished = True
            self._ready.set()

    @property
    def ended(self) -> bool:
        """The connection is over and every line it brought was taken."""
        return self._finished and self._q.empty()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with contextlib.AsyncExitStack() as stack:
            for addr in self.addresses:
                client = self._factory(addr)
                await stack.enter_async_context(client)
                lines = LineAssembler()

                def on_data(_char: Any, data: bytearray, lines: LineAssembler = lines) -> None:
                    now = monotonic_s()
                    for ln in lines.feed(bytes(data)):
                        self._q.put((ln, now))

                await client.start_notify(NUS_TX, on_data)
                self._clients.append(client)
            self._ready.set()
            while not self._stop.is_set():
                if not all(getattr(c, "is_connected", True) for c in self._clients):
                    self.meta["end_reason"] = f"{self.name}: the device disconnected"
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), 0.2)

    def receive(self, timeout_s: float) -> list[tuple[Any, float]]:
        """The lines that arrived within ``timeout_s`` (s), each with its arrival time."""
        out: list[tuple[Any, float]] = []
        try:
            out.append(self._q.get(timeout=max(timeout_s, 0.0)))
        except queue.Empty:
            return out
        while True:
            try:
                out.append(self._q.get_nowait())
            except queue.Empty:
                return out

    def close(self) -> None:
        """Disconnect and stop the BLE thread."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop.set)
        self._thread.join(timeout=5)
