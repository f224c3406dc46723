"""A real `outframe serve` process on a free loopback port, for tests that need real HTTP."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ledger_and_attempts(data_dir: Path, job_id: str) -> tuple[list[str], int]:
    """A job's ledger entries (their kinds, sorted) and its attempts, read from the server's
    SQLite file: what a crash test checks to see a retried job charged once."""
    db = sqlite3.connect(data_dir / "outframe.db")
    try:
        kinds = sorted(
            k for (k,) in db.execute("SELECT kind FROM ledger WHERE job_id = ?", (job_id,))
        )
        (attempts,) = db.execute("SELECT attempts FROM jobs WHERE id = ?", (job_id,)).fetchone()
    finally:
        db.close()
    return kinds, int(attempts)


def run_outframe(
    *args: str, env: dict[str, str], check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run the `outframe` command with these variables added to the environment."""
    return subprocess.run(
        [sys.executable, "-m", "outframe", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=check,
    )


def outframe_cli(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run the `outframe` command on a data dir; returns its stdout."""
    return run_outframe(*args, env={"OUTFRAME_DATA_DIR": str(data_dir), **(env or {})}).stdout


class ServerProcess:
    """`outframe serve` (or, with command="worker", a worker: started without a health check)."""

    def __init__(self, data_dir: Path, command: str = "serve", **settings: str) -> None:
        self.command = command
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "OUTFRAME_DATA_DIR": str(data_dir),
            "OUTFRAME_PORT": str(self.port),
            **{f"OUTFRAME_{k.upper()}": v for k, v in settings.items()},
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data_dir / f"{command}-{self.port}.log"

    def start(self, timeout: float = 60) -> ServerProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "outframe", self.command],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        if self.command != "serve":
            return self
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no cleanup, as a crash or the OOM killer would."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
