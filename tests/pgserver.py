"""A throw-away PostgreSQL server for the store tests (Debian's postgresql package).

initdb into a temporary folder, start on a Unix socket only (no TCP port, nothing
reachable from outside), trust authentication for the local socket, stop and delete at
the end of the session. As root, the server runs as the ``postgres`` system user
(PostgreSQL refuses to run as root). Skipped, with the reason, when the binaries or
psycopg are missing or the server does not start.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


def _bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _tail(path: Path) -> str:
    try:
        return path.read_text(errors="replace")[-300:]
    except OSError:
        return ""


def _run(cmd: list[str], as_user: str | None) -> subprocess.CompletedProcess[str]:
    if as_user:
        cmd = ["runuser", "-u", as_user, "--", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


class PgServer:
    def __init__(self) -> None:
        self.bindir = _bindir()
        self.root = Path(tempfile.mkdtemp(prefix="hc-pg-"))
        self.data = self.root / "data"
        self.sock = self.root / "sock"
        self.user = "postgres" if os.geteuid() == 0 else None
        self.started = False

    def start(self) -> str | None:
        """Start; returns None, or why it could not start."""
        if self.bindir is None:
            return "no PostgreSQL server binaries (apt-get install postgresql)"
        try:
            import psycopg  # noqa: F401
        except ImportError:
            return "psycopg is not installed (pip install 'hingecoach[postgres]')"
        os.chmod(self.root, 0o755)
        self.sock.mkdir()
        if self.user:
            if shutil.which("runuser") is None:
                return "running as root without runuser to start PostgreSQL as another user"
            shutil.chown(self.sock, self.user)
            self.data.mkdir(mode=0o700)
            shutil.chown(self.data, self.user)
        r = _run([str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                  "--no-sync", "-E", "UTF8"], self.user)
        if r.returncode:
            return f"initdb failed: {r.stderr.strip()[-300:]}"
        opts = f"-c listen_addresses='' -c unix_socket_directories={self.sock} -c fsync=off"
        r = _run([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", opts, "-w", "-t", "60",
                  "-l", str(self.data / "log.txt"), "start"], self.user)
        if r.returncode:
            log = _tail(self.data / "log.txt")
            return f"pg_ctl start failed: {r.stderr.strip()[-200:]} {log}"
        self.started = True
        return None

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://postgres@/{db}?host={self.sock}"

    def new_database(self) -> str:
        import psycopg

        name = "hc_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(), autocommit=True) as c:
            c.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        if self.started:
            _run([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"],
                 self.user)
            self.started = False
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    server = PgServer()
    why = server.start()
    if why is not None:
        server.stop()
        pytest.skip(f"PostgreSQL tests skipped: {why}")
    try:
        yield server
    finally:
        server.stop()
