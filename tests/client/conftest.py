"""Real `outframe serve` processes for the client and CLI tests (fake engine, small images)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.server import ServerProcess, outframe_cli

SETTINGS = {
    "engine": "fake",
    "fake_engine_seconds": "0.6",  # long enough for a few progress steps
    "image_size": "64",
    "poll_seconds": "0.1",
    "log_format": "json",
}


def start_server(data_dir: Path, **overrides: str) -> ServerProcess:
    return ServerProcess(data_dir, **{**SETTINGS, **overrides}).start()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = start_server(tmp_path_factory.mktemp("server") / "data")
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def idle_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """An API without workers: what is submitted stays QUEUED (to be cancelled)."""
    proc = start_server(tmp_path_factory.mktemp("idle") / "data", workers="0")
    yield proc
    proc.stop()


def create_key(server: ServerProcess, credits: int = 1000, *options: str) -> str:
    args = ("keys", "create", "--name", "client", "--credits", str(credits), *options)
    out = outframe_cli(server.data_dir, *args)
    return out.strip().splitlines()[-1]


@pytest.fixture
def key(server: ServerProcess) -> str:
    """A fresh key (its own team, 1000 credits) on the module's server."""
    return create_key(server)


def request_lines(server: ServerProcess) -> list[dict[str, Any]]:
    """The server's request log lines (OUTFRAME_LOG_FORMAT=json) so far."""
    lines = []
    for line in server.log.read_text().splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if entry.get("logger") == "outframe.requests":
                lines.append(entry)
    return lines


@pytest.fixture
def requests_to(server: ServerProcess) -> Callable[[str, str], int]:
    """How many times the server logged `METHOD path`."""

    def count(method: str, path: str) -> int:
        return sum(1 for e in request_lines(server) if (e["method"], e["path"]) == (method, path))

    return count
