"""outframe's /v2 against apiframe's official contract: the OpenAPI document and the Node.js
SDK's webhook check and error classes (tests/contract, vendored from the SDK's repository)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import numpy as np
import orjson
import pytest

from outframe.services import keys
from outframe.services.retention import purge_expired
from outframe.webhooks.signing import signed_headers
from tests.conftest import Flow, b64png, services_of
from tests.contract import check_request, check_response, sdk_sign, verify_webhook

ACTION = "/v2/images/midjourney/action"
GENERATE = "/v2/images/generate"
# The SDK's own vectors (test/webhooks.test.ts).
SDK_KEY = "afk_0000000000000000000000000000000000000000"
SDK_BODY = orjson.dumps({"jobId": "abc", "status": "COMPLETED"})  # = JSON.stringify(...)


def _signature(key: str, body: bytes) -> str:
    headers = signed_headers(
        key_hash=hashlib.sha256(key.encode()).hexdigest(),
        webhook_id="msg_1",
        event="completed",
        body=body.decode(),
        now=datetime(2026, 1, 1, tzinfo=UTC),
    )
    return headers["X-Webhook-Signature"]


def test_webhook_signature_is_what_the_sdk_verifies_on_its_own_vectors() -> None:
    assert SDK_BODY == b'{"jobId":"abc","status":"COMPLETED"}'
    signature = _signature(SDK_KEY, SDK_BODY)
    assert signature == sdk_sign(SDK_KEY, SDK_BODY)
    assert verify_webhook(SDK_KEY, SDK_BODY, signature)  # with the sha256= prefix
    assert verify_webhook(SDK_KEY, SDK_BODY, signature.removeprefix("sha256="))
    assert verify_webhook(SDK_KEY, SDK_BODY.decode(), signature)
    assert not verify_webhook(SDK_KEY, SDK_BODY + b" ", signature)  # tampered body
    other = "afk_1111111111111111111111111111111111111111"
    assert not verify_webhook(other, SDK_BODY, signature)
    for malformed in ("not-hex", "", None):
        assert not verify_webhook(SDK_KEY, SDK_BODY, malformed)


def test_generate_poll_and_list_match_the_official_schemas(flow: Flow) -> None:
    body = {"prompt": "a lake at dawn", "model": "midjourney"}
    check_request("post", GENERATE, body)
    accepted = flow.client.post(GENERATE, json=body, headers=flow.headers)
    assert accepted.status_code == 202
    job_id = check_response("post", GENERATE, accepted)["jobId"]
    queued = flow.client.get(f"/v2/jobs/{job_id}", headers=flow.headers)
    check_response("get", "/v2/jobs/{id}", queued)
    flow.done(job_id)
    upsample = {"action": "upsample", "parentJobId": job_id, "index": 2}
    check_request("post", ACTION, upsample)
    single = flow.action(upsample)
    job = flow.done(single)
    got = check_response(
        "get", "/v2/jobs/{id}", flow.client.get(f"/v2/jobs/{single}", headers=flow.headers)
    )
    assert got == job and got["expired"] is False
    assert got["input"] == {"action": "upsample", "parentJobId": job_id, "index": 2}
    listed = flow.client.get("/v2/jobs", params={"include_models": "true"}, headers=flow.headers)
    page = check_response("get", "/v2/jobs", listed)
    assert [j["id"] for j in page["jobs"]] == [single, job_id] and page["models"] == ["midjourney"]


def test_me_and_models_match_the_official_schemas(flow: Flow) -> None:
    me = check_response("get", "/v2/me", flow.client.get("/v2/me", headers=flow.headers))
    assert me["team"]["credits"] == 1000 and me["team"]["maxConcurrentJobs"] == 3
    assert flow.headers["X-API-Key"].startswith(me["apiKey"]["prefix"])
    catalog = check_response("get", "/v2/models", flow.client.get("/v2/models"))  # no key
    assert [m["id"] for m in catalog["models"]] == ["midjourney"]
    videos = flow.client.get("/v2/models", params={"modality": "video"})
    assert check_response("get", "/v2/models", videos) == {"models": []}
    bad = flow.client.get("/v2/models", params={"modality": "text"})
    assert (
        bad.status_code == 400 and "modality" in check_response("get", "/v2/models", bad)["details"]
    )


def test_each_error_has_the_fields_the_sdk_error_classes_read(flow: Flow) -> None:
    client, headers = flow.client, flow.headers
    # 400 ValidationError: .details per field path
    bad = client.post(
        GENERATE,
        json={"prompt": "x", "midjourneyParams": {"aspect_ratio": "wide"}},
        headers=headers,
    )
    assert bad.status_code == 400
    details = check_response("post", GENERATE, bad)["details"]
    assert (
        list(details) == ["midjourneyParams.aspect_ratio"]
        and details["midjourneyParams.aspect_ratio"][0]
    )
    # 401 AuthenticationError, 404 NotFoundError: a message under `error`
    assert check_response("get", "/v2/me", client.get("/v2/me"))["error"]
    missing = client.get("/v2/jobs/00000000-0000-4000-8000-000000000000", headers=headers)
    assert missing.status_code == 404
    assert check_response("get", "/v2/jobs/{id}", missing)["error"]
    # 409 ConflictError: the same Idempotency-Key with another body
    keyed = {**headers, "Idempotency-Key": "k" * 255}  # apiframe's limit
    assert client.post(GENERATE, json={"prompt": "a"}, headers=keyed).status_code == 202
    conflict = client.post(GENERATE, json={"prompt": "b"}, headers=keyed)
    assert conflict.status_code == 409 and check_response("post", GENERATE, conflict)["error"]
    too_long = client.post(
        GENERATE, json={"prompt": "a"}, headers={**headers, "Idempotency-Key": "k" * 256}
    )
    assert too_long.status_code == 400
    # 402 InsufficientCreditsError: .creditsRequired and .creditsAvailable
    with services_of(client).db.write() as session:
        _, poor = keys.create_key(session, name="poor", credits_=10)
    short = client.post(GENERATE, json={"prompt": "a"}, headers={"X-API-Key": poor})
    assert short.status_code == 402
    body = check_response("post", GENERATE, short)
    assert (body["creditsRequired"], body["creditsAvailable"]) == (16, 10)
    assert (body["cost"], body["balance"]) == (16, 10)
    # and every answer names its request, as the SDK's ApiframeError.requestId reads it
    for response in (bad, missing, conflict, short):
        assert response.headers["x-request-id"]


def test_an_inpaint_input_shows_the_mask_elided(flow: Flow) -> None:
    parent = flow.import_image(np.full((16, 16, 3), 90, np.uint8))
    mask = np.zeros((16, 16, 3), np.uint8)
    mask[4:8, 4:8] = 255
    sent = {"action": "inpaint", "parentJobId": parent, "mask": b64png(mask), "prompt": "a door"}
    check_request("post", ACTION, sent)
    job = flow.done(flow.action(sent))
    assert job["input"]["prompt"] == "a door" and job["input"]["parentJobId"] == parent
    assert job["input"]["mask"] == f"(elided: {len(sent['mask'])} characters)"


@pytest.mark.parametrize("header", ["Authorization", "Bearer"])
def test_the_authorization_header_is_accepted_everywhere(flow: Flow, header: str) -> None:
    key = flow.headers["X-API-Key"]
    value = key if header == "Authorization" else f"Bearer {key}"
    client = flow.client
    assert client.get("/v2/me", headers={"Authorization": value}).status_code == 200
    job = client.post(GENERATE, json={"prompt": "a"}, headers={"Authorization": value})
    assert job.status_code == 202
    polled = client.get(f"/v2/jobs/{job.json()['jobId']}", headers={"Authorization": value})
    assert polled.status_code == 200
    wrong = client.get("/v2/me", headers={"Authorization": "Bearer afk_nope"})
    assert wrong.status_code == 401 and wrong.json()["code"] == "invalid_api_key"


def test_expired_once_retention_deleted_the_images(flow: Flow) -> None:
    job_id = flow.generate()
    services = services_of(flow.client)
    assert purge_expired(services.db, services.storage, days=-1) == 1
    answer = flow.client.get(f"/v2/jobs/{job_id}", headers=flow.headers)
    job = check_response("get", "/v2/jobs/{id}", answer)
    assert job["expired"] is True
