"""A real uvicorn server in a thread on 127.0.0.1 (a free port) for the web tests."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn

from hingecoach.web.server import WS_PROTOCOL


class LiveServer:
    """``with LiveServer(app) as srv``: the app served on ``srv.url`` / ``srv.ws_url`` until the block ends."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", lifespan="on", ws=WS_PROTOCOL, access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        t_end = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > t_end or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(20)
        self.sock.close()
