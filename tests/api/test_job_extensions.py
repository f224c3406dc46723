"""Cancel, listing filters and Idempotency-Key expiry: what apiframe's contract names beyond
submit and poll (cancel is an outframe extension; CANCELLED is in the official status list)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update

from outframe.engines.fake import FakeEngine
from outframe.services import credits, keys
from outframe.services.clock import utcnow
from outframe.store.models import IDEMPOTENCY
from tests.conftest import Flow, api_error, services_of, wait_for
from tests.contract import check_response

GENERATE = "/v2/images/generate"


class WatchedEngine(FakeEngine):
    """The fake engine, telling the test when a job's work has started and how it ended."""

    def __init__(self, seconds_per_job: float) -> None:
        super().__init__(seconds_per_job)
        self.started = threading.Event()
        self.stopped = threading.Event()
        self.steps = 0

    def _work(self, progress: Callable[[float], None]) -> None:
        self.started.set()

        def counted(fraction: float) -> None:
            self.steps += 1
            progress(fraction)

        try:
            super()._work(counted)
        finally:
            self.stopped.set()


def _ledger_sum(flow: Flow) -> int:
    services = services_of(flow.client)
    team = flow.client.get("/v2/me", headers=flow.headers).json()["team"]["id"]
    with services.db.session() as session:
        return credits.ledger_sum(session, team)


def test_a_queued_job_is_cancelled_at_once_and_refunded(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(workers=0)  # nothing runs: the job stays QUEUED
    with services_of(client).db.write() as session:
        _, key = keys.create_key(session, name="c", credits_=100)
    flow = Flow(client, {"X-API-Key": key})
    job_id = flow.submit(GENERATE, {"prompt": "a lake"})
    assert flow.credits() == 84
    answer = client.post(f"/v2/jobs/{job_id}/cancel", headers=flow.headers)
    assert answer.status_code == 200
    job = check_response("get", "/v2/jobs/{id}", answer)
    assert (job["status"], job["creditCost"], job["webhookStatus"]) == ("CANCELLED", 0, None)
    assert flow.credits() == 100 == _ledger_sum(flow)
    again = client.post(f"/v2/jobs/{job_id}/cancel", headers=flow.headers)
    assert "CANCELLED" in api_error(again, 409, "not_cancellable")
    assert flow.credits() == 100  # refunded once
    upsample = {"action": "upsample", "parentJobId": job_id, "index": 1}
    refused = client.post("/v2/images/midjourney/action", json=upsample, headers=flow.headers)
    assert "CANCELLED" in api_error(refused, 400, "invalid_parent")
    stream = client.get(f"/v2/jobs/{job_id}/events", headers=flow.headers).text
    assert stream.rstrip().endswith("}") and "event: cancelled\n" in stream  # and it ended
    listed = client.get("/v2/jobs", params={"status": "CANCELLED"}, headers=flow.headers)
    assert [j["id"] for j in check_response("get", "/v2/jobs", listed)["jobs"]] == [job_id]


def test_a_running_job_stops_at_its_next_progress_step(
    make_client: Callable[..., TestClient],
) -> None:
    engine = WatchedEngine(seconds_per_job=5)
    client = make_client(engine=engine)
    with services_of(client).db.write() as session:
        _, key = keys.create_key(session, name="c", credits_=100)
    flow = Flow(client, {"X-API-Key": key})
    job_id = flow.submit(GENERATE, {"prompt": "a lake"})
    assert engine.started.wait(10)
    answer = client.post(f"/v2/jobs/{job_id}/cancel", headers=flow.headers)
    assert answer.status_code == 200 and answer.json()["status"] == "CANCELLED"
    assert engine.stopped.wait(10) and engine.steps < 10  # it did not run to its end
    job = wait_for(client, flow.headers, job_id)
    assert job["status"] == "CANCELLED" and job["result"] is None
    assert flow.credits() == 100 == _ledger_sum(flow)


def test_a_finished_job_cannot_be_cancelled_and_others_are_not_found(flow: Flow) -> None:
    job_id = flow.generate()
    api_error(flow.client.post(f"/v2/jobs/{job_id}/cancel", headers=flow.headers), 409)
    with services_of(flow.client).db.write() as session:
        _, other = keys.create_key(session, name="other", credits_=0)
    foreign = flow.client.post(f"/v2/jobs/{job_id}/cancel", headers={"X-API-Key": other})
    api_error(foreign, 404, "job_not_found")
    assert flow.credits() == 1000 - 16


def test_list_filters_model_scope_and_search(flow: Flow) -> None:
    services = services_of(flow.client)
    me = flow.client.get("/v2/me", headers=flow.headers).json()
    with services.db.write() as session:
        _, teammate = keys.create_key(session, name="mate", team_id=me["team"]["id"])
    mate = Flow(flow.client, {"X-API-Key": teammate})
    grid = flow.generate()
    child = flow.upsample(grid)
    theirs = mate.submit(GENERATE, {"prompt": "theirs"})

    def ids(params: dict[str, Any], who: Flow = flow) -> Sequence[str]:
        answer = who.client.get("/v2/jobs", params=params, headers=who.headers)
        return [j["id"] for j in check_response("get", "/v2/jobs", answer)["jobs"]]

    assert ids({}) == [child, grid]  # scope=user: this key's jobs
    assert ids({"scope": "team"}) == [theirs, child, grid]
    assert ids({}, mate) == [theirs]
    assert ids({"search": grid}) == [child, grid]  # the job and its children
    assert ids({"search": child}) == [child]
    assert ids({"model": "midjourney"}) == [child, grid]
    assert ids({"model": "flux-pro"}) == []
    bad = flow.client.get("/v2/jobs", params={"search": "abc"}, headers=flow.headers)
    assert "search" in check_response("get", "/v2/jobs", bad)["details"]


def test_an_idempotency_key_is_remembered_for_24_hours(flow: Flow) -> None:
    headers = {**flow.headers, "Idempotency-Key": "nightly-42"}
    first = flow.client.post(GENERATE, json={"prompt": "a"}, headers=headers)
    again = flow.client.post(GENERATE, json={"prompt": "a"}, headers=headers)
    assert first.json() == again.json()
    api_error(flow.client.post(GENERATE, json={"prompt": "b"}, headers=headers), 409)
    services = services_of(flow.client)
    with services.db.write() as session:
        session.execute(
            update(IDEMPOTENCY).values(created_at=utcnow() - timedelta(hours=24, minutes=1))
        )
    later = flow.client.post(GENERATE, json={"prompt": "b"}, headers=headers)
    assert later.status_code == 202 and later.json()["jobId"] != first.json()["jobId"]
    assert flow.credits() == 1000 - 32
