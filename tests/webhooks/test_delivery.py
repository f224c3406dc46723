"""Deliveries to a real local HTTPS receiver: signatures, retries, refusals, slow receivers."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import trustme
from fastapi.testclient import TestClient
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from outframe.webhooks.addresses import AddressPolicy, parse_networks
from outframe.webhooks.transport import HttpTransport, RecordingTransport, Reply
from tests.conftest import Flow, services_of, wait_for
from tests.contract import verify_webhook
from tests.webhooks.receiver import Answer, Receiver, Script, write_ca

HOOK_SETTINGS = {
    "webhook_allow_networks": "127.0.0.0/8",
    "webhook_retry_seconds": "0.2,0.2,0.2,0.2",
}


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def hook_client(
    make_client: Callable[..., TestClient], ca: trustme.CA, tmp_path: Path
) -> Callable[..., TestClient]:
    def make(**overrides: Any) -> TestClient:
        settings = {**HOOK_SETTINGS, "webhook_ca_bundle": write_ca(ca, tmp_path), **overrides}
        return make_client(**settings)

    return make


@pytest.fixture
def receiver(ca: trustme.CA) -> Iterator[Callable[[Script], Receiver]]:
    started: list[Receiver] = []

    def start(script: Script) -> Receiver:
        started.append(Receiver(ca, script).__enter__())
        return started[-1]

    yield start
    for r in started:
        r.__exit__()


def key_of(flow: Flow) -> str:
    return flow.headers["X-API-Key"]


def new_flow(client: TestClient, credits: int = 1000) -> Flow:
    with services_of(client).db.write() as session:
        from outframe.services import keys

        _, plaintext = keys.create_key(session, name="hooks", credits_=credits)
    return Flow(client, {"X-API-Key": plaintext})


def submit_with_hook(flow: Flow, url: str, **extra: Any) -> str:
    return flow.submit("/v2/images/generate", {"prompt": "x", "webhookUrl": url, **extra})


def wait_status(flow: Flow, job_id: str, want: str, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = flow.client.get(f"/v2/jobs/{job_id}", headers=flow.headers).json()
        if job["webhookStatus"] == want:
            return job
        assert time.monotonic() < deadline, f"webhookStatus is {job['webhookStatus']}"
        time.sleep(0.02)


def test_completed_webhook_is_signed_both_ways(
    hook_client: Callable[..., TestClient], receiver: Callable[[Script], Receiver]
) -> None:
    rx = receiver(lambda _p, _n: Answer(200))
    flow = new_flow(hook_client())
    job_id = submit_with_hook(flow, f"{rx.url}/hook")
    [got] = rx.wait_for(1)
    body = orjson.loads(got.body)
    job = wait_status(flow, job_id, "delivered")
    assert body == {
        "event": "completed",
        "jobId": job_id,
        "status": "COMPLETED",
        "progress": 100,
        "result": job["result"],
        "model": "midjourney",
        "creditCost": 16,
        "completedAt": job["completedAt"],
    }
    headers = {k.lower(): v for k, v in got.headers.items()}
    assert headers["x-webhook-event"] == "completed"
    # apiframe's scheme, checked as the official SDK's verifyWebhook checks it.
    assert headers["x-webhook-signature"].startswith("sha256=")
    assert verify_webhook(key_of(flow), got.body, headers["x-webhook-signature"])
    # Standard Webhooks, checked by its own verifier; the secret is the key's raw SHA-256.
    verifier = Webhook(hashlib.sha256(key_of(flow).encode()).digest())
    assert verifier.verify(got.body, headers)["jobId"] == job_id
    tampered = got.body.replace(b'"creditCost":16', b'"creditCost":0')
    assert tampered != got.body
    with pytest.raises(WebhookVerificationError):
        verifier.verify(tampered, headers)
    assert not verify_webhook(key_of(flow), tampered, headers["x-webhook-signature"])


def test_retried_until_delivered_with_the_same_id(
    hook_client: Callable[..., TestClient], receiver: Callable[[Script], Receiver]
) -> None:
    rx = receiver(lambda _p, n: Answer(500 if n <= 3 else 200))
    flow = new_flow(hook_client())
    job_id = submit_with_hook(flow, f"{rx.url}/flaky")
    got = rx.wait_for(4)
    assert len({r.headers["webhook-id"] for r in got}) == 1
    wait_status(flow, job_id, "delivered")
    history = flow.client.get(f"/v2/jobs/{job_id}/webhooks", headers=flow.headers).json()
    [delivery] = history["deliveries"]
    assert [a["statusCode"] for a in delivery["attempts"]] == [500, 500, 500, 200]
    assert delivery["status"] == "delivered" and delivery["nextAttemptAt"] is None


def test_redirect_is_a_failure_and_410_stops(
    hook_client: Callable[..., TestClient], receiver: Callable[[Script], Receiver]
) -> None:
    def script(path: str, _n: int) -> Answer:
        if path == "/moved":
            return Answer(301, {"Location": "/elsewhere"})
        return Answer(410)

    rx = receiver(script)
    flow = new_flow(hook_client(webhook_retry_seconds="0.1"))
    moved = submit_with_hook(flow, f"{rx.url}/moved")
    gone = submit_with_hook(flow, f"{rx.url}/gone")
    wait_status(flow, moved, "failed")
    wait_status(flow, gone, "failed")
    assert [r.path for r in rx.received].count("/moved") == 2  # first try and one retry
    assert [r.path for r in rx.received].count("/gone") == 1  # 410: no retry
    assert not any(r.path == "/elsewhere" for r in rx.received)


def test_retry_after_is_honoured(make_client: Callable[..., TestClient]) -> None:
    transport = RecordingTransport(
        lambda n: Reply(status=429, retry_after=0.5) if n == 1 else Reply(status=200)
    )
    flow = new_flow(make_client(webhook_retry_seconds="30", webhook_transport=transport))
    job_id = submit_with_hook(flow, "https://93.184.216.34/h")
    wait_status(flow, job_id, "delivered")
    first, second = transport.sent
    assert 0.4 <= second.at - first.at < 5  # Retry-After, not the 30 s schedule


def test_name_that_turns_private_is_refused_at_delivery(
    hook_client: Callable[..., TestClient], receiver: Callable[[Script], Receiver]
) -> None:
    rx = receiver(lambda _p, _n: Answer(200))
    answers = {"calls": 0}

    def flipping(host: str, port: int) -> list[str]:
        answers["calls"] += 1
        return ["93.184.216.34"] if answers["calls"] == 1 else ["127.0.0.1"]

    client = hook_client(webhook_allow_networks="", webhook_retry_seconds="0.1", resolver=flipping)
    flow = new_flow(client)
    job_id = submit_with_hook(flow, f"https://rebinding.example:{rx.port}/h")
    wait_status(flow, job_id, "failed")
    history = flow.client.get(f"/v2/jobs/{job_id}/webhooks", headers=flow.headers).json()
    errors = [a["error"] for a in history["deliveries"][0]["attempts"]]
    assert errors and all("not a public address" in e for e in errors)
    assert rx.received == []


def test_a_hanging_receiver_delays_nothing_else(
    hook_client: Callable[..., TestClient], receiver: Callable[[Script], Receiver]
) -> None:
    release = threading.Event()
    rx = receiver(lambda path, _n: Answer(200, hang=release if path == "/slow" else None))
    flow = new_flow(hook_client())
    try:
        submit_with_hook(flow, f"{rx.url}/slow")
        rx.wait_for(1, "/slow")
        start = time.monotonic()
        quick = submit_with_hook(flow, f"{rx.url}/quick")
        rx.wait_for(1, "/quick", timeout=5)
        wait_status(flow, quick, "delivered", timeout=5)
        assert flow.client.get("/v2/me", headers=flow.headers).status_code == 200
        assert time.monotonic() - start < 5
    finally:
        release.set()


def test_an_attempt_ends_at_its_timeout_even_if_the_answer_trickles(
    ca: trustme.CA, receiver: Callable[[Script], Receiver], tmp_path: Path
) -> None:
    """Each read gets a byte well within the timeout, so only a deadline on the whole attempt
    ends it; before, this attempt lasted as long as the receiver kept dripping."""
    rx = receiver(lambda path, _n: Answer(200, drip=0.2 if path == "/drip" else None))
    policy = AddressPolicy(allow_networks=parse_networks("127.0.0.0/8"))
    transport = HttpTransport(
        policy, allow_http=False, timeout=1.5, ca_bundle=write_ca(ca, tmp_path)
    )  # fmt: skip
    try:
        start = time.monotonic()
        reply = transport.post(f"{rx.url}/drip", b"{}", {"Content-Type": "application/json"})
        took = time.monotonic() - start
        assert reply.status is None and reply.error == "timed out: no answer within 1.5 s"
        assert 1.4 < took < 4, took
        # The transport is still good for the next attempt.
        assert transport.post(f"{rx.url}/ok", b"{}", {}).status == 200
    finally:
        transport.close()


def test_progress_events_and_subscriptions(make_client: Callable[..., TestClient]) -> None:
    transport = RecordingTransport()
    client = make_client(webhook_transport=transport, fake_engine_seconds=2.5)
    flow = new_flow(client)
    everything = submit_with_hook(
        flow, "https://93.184.216.34/all", webhookEvents=["progress", "completed"]
    )
    silent = submit_with_hook(flow, "https://93.184.216.34/none", webhookEvents=["failed"])
    wait_for(client, flow.headers, everything)
    wait_for(client, flow.headers, silent)
    wait_status(flow, everything, "delivered")
    events = [orjson.loads(s.body) for s in transport.sent if s.url.endswith("/all")]
    progress = [e for e in events if e["event"] == "progress"]
    assert events[-1]["event"] == "completed"
    assert 1 <= len(progress) <= 3  # throttled: at most one per 2 s of a 2.5 s job
    assert progress[0] == {
        "event": "progress",
        "jobId": everything,
        "status": "PROCESSING",
        "progress": progress[0]["progress"],
        "model": "midjourney",
    }
    assert not any(s.url.endswith("/none") for s in transport.sent)
    silent_job = flow.client.get(f"/v2/jobs/{silent}", headers=flow.headers).json()
    assert silent_job["webhookStatus"] is None


def test_failed_event_and_redeliver(make_client: Callable[..., TestClient]) -> None:
    transport = RecordingTransport()
    client = make_client(
        webhook_transport=transport, job_timeout_seconds=0.3, fake_engine_seconds=2
    )
    flow = new_flow(client)
    job_id = submit_with_hook(flow, "https://93.184.216.34/h")
    job = wait_for(client, flow.headers, job_id)
    assert job["status"] == "FAILED"
    wait_status(flow, job_id, "delivered")
    [failed] = [orjson.loads(s.body) for s in transport.sent]
    assert failed["event"] == "failed" and "timed out" in failed["error"]
    again = flow.client.post(f"/v2/jobs/{job_id}/webhooks/redeliver", headers=flow.headers)
    assert again.status_code == 202
    wait_status(flow, job_id, "delivered")
    deadline = time.monotonic() + 10
    while len(transport.sent) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    first, second = transport.sent
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    plain = flow.submit("/v2/images/generate", {"prompt": "no hook"})
    wait_for(client, flow.headers, plain)
    refused = flow.client.post(f"/v2/jobs/{plain}/webhooks/redeliver", headers=flow.headers)
    assert refused.status_code == 400 and refused.json()["code"] == "nothing_to_redeliver"


def test_connects_to_the_checked_address_keeping_host_and_tls_name(
    hook_client: Callable[..., TestClient], receiver: Callable[[Script], Receiver]
) -> None:
    """The name is resolved once per attempt, by us; the TLS certificate is checked against the
    name (SNI), and the Host header is the URL's, while the socket goes to the checked IP."""
    rx = receiver(lambda _p, _n: Answer(200))
    lookups: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"] if host.endswith(".test") else []

    flow = new_flow(hook_client(resolver=resolve, webhook_retry_seconds="0.1"))
    job_id = submit_with_hook(flow, f"https://hooks.test:{rx.port}/named")
    [got] = rx.wait_for(1, "/named")
    assert got.headers["Host"] == f"hooks.test:{rx.port}"
    wait_status(flow, job_id, "delivered")
    assert lookups == ["hooks.test", "hooks.test"]  # at submit, and at the attempt
    # A name the receiver's certificate does not cover fails TLS, though the address is allowed.
    other = submit_with_hook(flow, f"https://other.test:{rx.port}/other")
    wait_status(flow, other, "failed")
    history = flow.client.get(f"/v2/jobs/{other}/webhooks", headers=flow.headers).json()
    assert "CERTIFICATE_VERIFY_FAILED" in history["deliveries"][0]["attempts"][0]["error"]
    assert not any(r.path == "/other" for r in rx.received)
