"""Server logs: a line per request and per job transition, with their fields, never a key."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from outframe.core import logs
from tests.conftest import Flow


class Until(logging.Handler):
    """Sets `event` when a record that `match` accepts is logged."""

    def __init__(self, match: Callable[[logging.LogRecord], bool]) -> None:
        super().__init__()
        self.match = match
        self.event = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.match(record):
            self.event.set()


@pytest.fixture
def records(caplog: pytest.LogCaptureFixture) -> Iterator[Callable[[str], list[logging.LogRecord]]]:
    caplog.set_level(logging.INFO)
    yield lambda name: [r for r in caplog.records if r.name == name]


def test_a_line_per_request_without_the_key(
    client: TestClient,
    make_key: Callable[..., dict[str, str]],
    records: Callable[[str], list[logging.LogRecord]],
) -> None:
    headers = make_key()
    client.get("/v2/me", headers={**headers, "x-request-id": "trace-1"})
    client.get("/v2/jobs/nope?limit=1", headers=headers)
    client.post("/v2/images/generate", headers=headers, json={})
    lines = [r for r in records("outframe.requests") if r.__dict__["path"] != "/healthz"]
    fields = [(r.__dict__["method"], r.__dict__["path"], r.__dict__["status"]) for r in lines]
    assert fields == [
        ("GET", "/v2/me", 200),
        ("GET", "/v2/jobs/nope", 404),
        ("POST", "/v2/images/generate", 400),
    ]
    assert lines[0].__dict__["request_id"] == "trace-1"
    assert all(len(r.__dict__["request_id"]) >= 16 for r in lines[1:])  # made by the server
    assert all(r.__dict__["ms"] >= 0 and r.levelno == logging.INFO for r in lines)
    assert lines[0].getMessage().startswith("GET /v2/me 200 ")
    key = headers["X-API-Key"]
    assert not [r for r in records("outframe.requests") if key in r.getMessage()]


def test_a_line_per_job_transition(
    client: TestClient,
    make_key: Callable[..., dict[str, str]],
    records: Callable[[str], list[logging.LogRecord]],
) -> None:
    flow = Flow(client, make_key())
    completed = Until(lambda r: r.__dict__.get("job_status") == "COMPLETED")
    logging.getLogger("outframe.jobs").addHandler(completed)
    try:
        job_id = flow.generate()
        # (logged by the worker after its commit: awaited, not polled for)
        assert completed.event.wait(30)
    finally:
        logging.getLogger("outframe.jobs").removeHandler(completed)
    team = client.get("/v2/me", headers=flow.headers).json()["team"]["id"]
    lines = [r for r in records("outframe.jobs") if r.__dict__["job_id"] == job_id]
    assert [r.__dict__["job_status"] for r in lines] == ["QUEUED", "PROCESSING", "COMPLETED"]
    assert {(r.__dict__["action"], r.__dict__["team"]) for r in lines} == {("generate", team)}
    assert lines[0].__dict__["seconds"] is None
    assert all(r.__dict__["seconds"] >= 0 for r in lines[1:])


def test_json_format_writes_the_fields_as_keys() -> None:
    record = logging.LogRecord("outframe.requests", logging.INFO, "", 1, "GET %s", ("/x",), None)
    record.__dict__.update(method="GET", path="/x", status=200, ms=1.5, request_id="r1")
    entry = json.loads(logs.JsonFormatter().format(record))
    assert entry["message"] == "GET /x" and entry["level"] == "INFO"
    assert (entry["method"], entry["path"], entry["status"], entry["ms"]) == ("GET", "/x", 200, 1.5)
    assert entry["request_id"] == "r1" and "job_id" not in entry


def test_configure_sets_the_level_and_format() -> None:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        logs.configure("warning", "json")
        assert root.level == logging.WARNING
        assert isinstance(root.handlers[0].formatter, logs.JsonFormatter)
        assert not logging.getLogger("outframe.requests").isEnabledFor(logging.INFO)
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
