"""GET /v2/jobs/:id/events: the job's events as Server-Sent Events.

The lifecycle is driven by the tests through the job service (no workers), so each change is
made at a known moment; the stream must show each one, in order, and end after the final one.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient

from outframe.services import keys
from outframe.services.jobs import JobService
from tests.conftest import Flow, api_error, services_of, wait_for
from tests.sse import sse_events

Event = tuple[str, dict[str, Any]]
END = ("end", {})


@contextmanager
def streamed(
    client: TestClient, headers: dict[str, str], job_id: str
) -> Iterator[queue.Queue[Event]]:
    """Read the job's stream in a thread; its events arrive on the queue, then END."""
    events: queue.Queue[Event] = queue.Queue()
    opened = threading.Event()
    stop = threading.Event()

    def read() -> None:
        with client.stream("GET", f"/v2/jobs/{job_id}/events", headers=headers) as response:
            assert response.status_code == 200, response.read()
            assert response.headers["content-type"].startswith("text/event-stream")
            opened.set()
            for event in sse_events(response.iter_lines()):
                events.put(event)
                if stop.is_set():
                    return
        events.put(END)

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    try:
        yield events
    finally:
        stop.set()
        thread.join(timeout=30)


def next_event(events: queue.Queue[Event]) -> Event:
    return events.get(timeout=30)


def submit(client: TestClient, headers: dict[str, str]) -> str:
    response = client.post("/v2/images/generate", json={"prompt": "a lake"}, headers=headers)
    assert response.status_code == 202, response.text
    return str(response.json()["jobId"])


def test_events_follow_each_change_then_end(
    make_client: Callable[..., TestClient],
) -> None:
    # No workers, and a poll so slow that only the wake-up on each change can deliver events.
    client = make_client(workers=0, events_poll_seconds=3600)
    services = services_of(client)
    headers = new_key(client)
    job_id = submit(client, headers)

    with streamed(client, headers, job_id) as events:
        name, data = next_event(events)
        assert (name, data["status"], data["progress"]) == ("progress", "QUEUED", 0)
        assert data["jobId"] == job_id and data["model"] == "midjourney"

        claim = services.jobs.claim("test-worker")
        assert claim is not None and claim.job_id == job_id
        name, data = next_event(events)
        assert (name, data["status"], data["progress"]) == ("progress", "PROCESSING", 0)

        for percent in (25, 60):
            assert services.jobs.set_progress(claim, percent)
            name, data = next_event(events)
            assert (name, data["status"], data["progress"]) == ("progress", "PROCESSING", percent)

        names = [f"{job_id}-{n}.png" for n in (1, 2, 3, 4)]
        services.jobs.complete(claim, {"images": names, "grid": f"{job_id}-grid.png"}, (64, 64))
        name, data = next_event(events)
        assert name == "completed"
        assert data["status"] == "COMPLETED" and data["progress"] == 100
        assert data["creditCost"] == 16 and data["completedAt"]
        assert [url.rsplit("/", 1)[1] for url in data["result"]["images"]] == names
        assert data["result"]["gridUrl"].endswith(f"/cdn/{job_id}-grid.png")
        assert next_event(events) == END
    assert services.jobs.changes.watching() == 0


def test_failed_job_ends_with_failed_event(make_client: Callable[..., TestClient]) -> None:
    client = make_client(workers=0, events_poll_seconds=3600)
    services = services_of(client)
    headers = new_key(client)
    job_id = submit(client, headers)
    with streamed(client, headers, job_id) as events:
        assert next_event(events)[1]["status"] == "QUEUED"
        claim = services.jobs.claim("test-worker")
        assert claim is not None
        assert next_event(events)[1]["status"] == "PROCESSING"
        services.jobs.fail(claim, "engine error: out of paint")
        name, data = next_event(events)
        assert name == "failed"
        assert data == {
            "event": "failed",
            "jobId": job_id,
            "status": "FAILED",
            "error": "engine error: out of paint",
            "model": "midjourney",
        }
        assert next_event(events) == END
    assert client.get(f"/v2/jobs/{job_id}", headers=headers).json()["creditCost"] == 0


def test_job_run_by_another_process_is_polled(make_client: Callable[..., TestClient]) -> None:
    """A worker elsewhere shares the database but not this process's change hub: the stream
    finds its changes by looking again every events_poll_seconds."""
    client = make_client(workers=0, events_poll_seconds=0.05)
    services = services_of(client)
    elsewhere = JobService(services.db, lease_seconds=30, job_timeout_seconds=600, max_attempts=3)
    headers = new_key(client)
    job_id = submit(client, headers)
    with streamed(client, headers, job_id) as events:
        assert next_event(events)[1]["status"] == "QUEUED"
        claim = elsewhere.claim("other-process")
        assert claim is not None
        assert next_event(events)[1]["status"] == "PROCESSING"
        assert elsewhere.set_progress(claim, 50)
        assert next_event(events)[1]["progress"] == 50
        elsewhere.complete(claim, {"images": [f"{job_id}-1.png"]}, (64, 64))
        assert next_event(events)[0] == "completed"
        assert next_event(events) == END


def test_finished_job_gives_its_final_event_at_once(flow: Flow) -> None:
    job_id = flow.generate()
    with flow.client.stream("GET", f"/v2/jobs/{job_id}/events", headers=flow.headers) as response:
        assert response.status_code == 200
        assert response.headers["cache-control"].startswith("no-cache")
        events = list(sse_events(response.iter_lines()))
    assert [name for name, _ in events] == ["completed"]
    job = flow.done(job_id)
    assert events[0][1]["result"] == job["result"]


def test_events_with_real_workers(flow: Flow) -> None:
    """The same stream with the server's own workers running the job (fake engine)."""
    job_id = flow.submit("/v2/images/generate", {"prompt": "a lake"})
    with flow.client.stream("GET", f"/v2/jobs/{job_id}/events", headers=flow.headers) as response:
        events = list(sse_events(response.iter_lines()))
    names = [name for name, _ in events]
    assert names[-1] == "completed" and set(names[:-1]) <= {"progress"}
    progress = [data["progress"] for name, data in events if name == "progress"]
    assert progress == sorted(progress)
    assert wait_for(flow.client, flow.headers, job_id)["status"] == "COMPLETED"


def test_stream_ends_after_its_longest_time(make_client: Callable[..., TestClient]) -> None:
    client = make_client(workers=0, events_max_seconds=0.2, events_poll_seconds=0.05)
    headers = new_key(client)
    job_id = submit(client, headers)
    with client.stream("GET", f"/v2/jobs/{job_id}/events", headers=headers) as response:
        events = list(sse_events(response.iter_lines()))
    # The job is still QUEUED: the stream ended without a final event, for the client to reopen.
    assert [(name, data["status"]) for name, data in events] == [("progress", "QUEUED")]
    assert services_of(client).jobs.changes.watching() == 0


def test_a_client_that_leaves_leaves_no_watch(make_client: Callable[..., TestClient]) -> None:
    client = make_client(workers=0, events_poll_seconds=3600)
    headers = new_key(client)
    job_id = submit(client, headers)
    with client.stream("GET", f"/v2/jobs/{job_id}/events", headers=headers) as response:
        events = sse_events(response.iter_lines())  # (kept: dropping it closes the response)
        assert next(events)[1]["status"] == "QUEUED"
        assert services_of(client).jobs.changes.watching() == 1
    assert services_of(client).jobs.changes.watching() == 0


def test_events_are_authorised_as_any_get(
    client: TestClient, make_key: Callable[..., dict[str, str]]
) -> None:
    owner, other = make_key(), make_key()
    job_id = submit(client, owner)
    api_error(client.get(f"/v2/jobs/{job_id}/events", headers=other), 404, "job_not_found")
    api_error(client.get("/v2/jobs/no-such-job/events", headers=owner), 404, "job_not_found")
    api_error(client.get(f"/v2/jobs/{job_id}/events"), 401, "missing_api_key")
    api_error(client.get(f"/v2/jobs/{job_id}/events", headers={"X-API-Key": "afk_nope"}), 401)


def test_events_are_in_the_openapi_document(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/v2/jobs/{job_id}/events"]["get"]
    assert "text/event-stream" in operation["responses"]["200"]["content"]
    assert operation["security"] == [{"ApiKey": []}]
    assert {"401", "404", "429"} <= set(operation["responses"])


def new_key(client: TestClient) -> dict[str, str]:
    with services_of(client).db.write() as session:
        _, plaintext = keys.create_key(session, name="test", credits_=1000)
    return {"X-API-Key": plaintext}
