"""Imports leave no stray files and send their webhook; base64 may come wrapped in lines;
Midjourney's prompt flags are honoured exactly or refused with a reason."""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import orjson
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from outframe.imaging.canvas import aspect_size
from outframe.services import keys
from outframe.webhooks.transport import RecordingTransport
from tests.conftest import Flow, api_error, b64png, png_bytes, services_of

IMPORT = "/v2/images/import"
ACTION = "/v2/images/midjourney/action"
HOOK = "https://93.184.216.34"  # a public address: allowed by the default policy, never dialled


def picture(seed: int = 0, height: int = 48, width: int = 64) -> np.ndarray[Any, Any]:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def stored(flow: Flow) -> list[str]:
    root = services_of(flow.client).storage.root  # type: ignore[attr-defined]
    return sorted(path.name for path in root.glob("*.png"))


def fetch(flow: Flow, url: str) -> np.ndarray[Any, Any]:
    base = services_of(flow.client).settings.resolved_public_base_url()
    response = flow.client.get(url.replace(base, ""))
    assert response.status_code == 200, response.text
    return np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"))


# --- import: no file without a job -------------------------------------------------------


def test_a_refused_import_leaves_no_file(flow: Flow) -> None:
    image = b64png(picture())
    refusals = [
        flow.client.post(
            IMPORT, json={"image": image, "webhookUrl": "http://x"}, headers=flow.headers
        ),
        flow.client.post(
            IMPORT, json={"image": image, "webhookUrl": "https://127.0.0.1/h"}, headers=flow.headers
        ),
        flow.client.post(
            IMPORT,
            files={"image": ("a.png", png_bytes(picture()), "image/png")},
            data={"webhookUrl": "http://x"},
            headers=flow.headers,
        ),
    ]
    for response in refusals:
        api_error(response, 400, "invalid_webhook")
    assert stored(flow) == []
    # The same Idempotency-Key with another image: 409, and only the first image is kept.
    keyed = {**flow.headers, "Idempotency-Key": "import-1"}
    first = flow.client.post(IMPORT, json={"image": image}, headers=keyed)
    assert first.status_code == 201, first.text
    other = flow.client.post(IMPORT, json={"image": b64png(picture(1))}, headers=keyed)
    api_error(other, 409, "idempotency_key_reused")
    assert stored(flow) == [f"{first.json()['jobId']}-1.png"]


@pytest.mark.parametrize("as_form", [False, True], ids=["json", "multipart"])
def test_a_replayed_import_keeps_one_file(flow: Flow, as_form: bool) -> None:
    headers = {**flow.headers, "Idempotency-Key": "import-once"}

    def send() -> Any:
        if as_form:
            files = {"image": ("a.png", png_bytes(picture()), "image/png")}
            return flow.client.post(IMPORT, files=files, headers=headers)
        return flow.client.post(IMPORT, json={"image": b64png(picture())}, headers=headers)

    first, again = send(), send()
    assert first.status_code == again.status_code == 201, again.text
    assert first.json() == again.json()
    assert stored(flow) == [f"{first.json()['jobId']}-1.png"]


# --- base64 as clients send it -----------------------------------------------------------


def gnu_wrapped(data: bytes) -> str:
    """What `base64 file.png` prints: lines of 76 characters."""
    return base64.encodebytes(data).decode()


ENCODINGS: dict[str, Callable[[bytes], str]] = {
    "gnu-76-columns": gnu_wrapped,
    "crlf": lambda data: gnu_wrapped(data).replace("\n", "\r\n"),
    "spaces-and-tabs": lambda data: " \t".join(base64.b64encode(data).decode()),
    "data-url-wrapped": lambda data: "data:image/png;base64," + gnu_wrapped(data),
}


@pytest.mark.parametrize("encode", ENCODINGS.values(), ids=ENCODINGS.keys())
def test_import_accepts_wrapped_base64(flow: Flow, encode: Callable[[bytes], str]) -> None:
    image = picture()
    encoded = encode(png_bytes(image))
    assert any(c in encoded for c in " \t\r\n")
    response = flow.client.post(IMPORT, json={"image": encoded}, headers=flow.headers)
    assert response.status_code == 201, response.text
    job = flow.done(response.json()["jobId"])
    assert np.array_equal(fetch(flow, job["result"]["images"][0]), image)


@pytest.mark.parametrize("encode", ENCODINGS.values(), ids=ENCODINGS.keys())
def test_inpaint_accepts_a_wrapped_mask(flow: Flow, encode: Callable[[bytes], str]) -> None:
    image = picture()
    parent = flow.import_image(image)
    mask = np.zeros((48, 64), np.uint8)
    mask[:, :32] = 255  # repaint the left half
    encoded = encode(png_bytes(mask))
    body = {"action": "inpaint", "parentJobId": parent, "mask": encoded}
    job = flow.done(flow.action(body))
    for url in job["result"]["images"]:
        result = fetch(flow, url)
        assert np.array_equal(result[:, 32:], image[:, 32:])
        assert not np.array_equal(result[:, :32], image[:, :32])


GARBAGE = [
    "not base64!",
    "iVBORw0KGgo=\x00",
    "iVBORw0KGgoAAAANSUhEUg",  # bad padding
    "iVBOR\u00e9w0KGgo=",  # a non-ASCII letter
    "iVBOR\u00a0w0KGgo=",  # a non-ASCII space is not skipped
    "data:image/png;base64,@@@@",
]


@pytest.mark.parametrize("garbage", GARBAGE)
def test_garbage_base64_is_still_refused(flow: Flow, garbage: str) -> None:
    parent = flow.import_image(picture())
    before = flow.credits()
    files_before = stored(flow)
    imported = flow.client.post(IMPORT, json={"image": garbage}, headers=flow.headers)
    assert api_error(imported, 400, "invalid_image") == "image must be base64-encoded"
    body = {"action": "inpaint", "parentJobId": parent, "mask": garbage}
    masked = flow.client.post(ACTION, json=body, headers=flow.headers)
    assert api_error(masked, 400, "invalid_mask") == "mask must be a base64-encoded PNG"
    assert flow.credits() == before and stored(flow) == files_before


# --- prompt flags ------------------------------------------------------------------------

AR_SHAPE = "--ar takes two whole numbers like 16:9"
SEED_RANGE = "--seed takes a whole number from 0 to 4294967295"


@pytest.mark.parametrize(
    ("prompt", "needle"),
    [
        ("a lake --ar 1.5:1", f"{AR_SHAPE}, not '1.5:1'"),
        ("a lake --ar 16x9", f"{AR_SHAPE}, not '16x9'"),
        ("a lake --ar", AR_SHAPE),
        ("a lake --ar --seed 3", f"{AR_SHAPE}, not '--seed'"),
        ("a lake --aspect wide", "--aspect takes two whole numbers like 16:9, not 'wide'"),
        ("a lake --ar 1000:1", "--ar 1000:1 is out of range: it must be between 1:4 and 4:1"),
        ("a lake --ar 16:9999", "--ar 16:9999 is out of range: it must be between 1:4 and 4:1"),
        ("a lake --ar 0:1 at dawn", "--ar 0:1 is out of range"),
        ("a lake --ar 1600:900", "--ar has a number over 999"),
        ("a lake --ar 1" + "0" * 30 + ":1", "--ar has a number over 999"),
        ("a lake --seed 99999999999999", f"{SEED_RANGE}, not '99999999999999'"),
        ("a lake --seed 4294967296", f"{SEED_RANGE}, not '4294967296'"),
        ("a lake --seed -1", f"{SEED_RANGE}, not '-1'"),
        ("a lake --seed 1.5", f"{SEED_RANGE}, not '1.5'"),
        ("a lake --seed \u0661\u0662", SEED_RANGE),  # digits, but not 0-9
        ("a lake --seed", SEED_RANGE),
        ("a lake --seed 1 --seed 2", "the prompt gives --seed more than once"),
        ("a lake --ar 2:1 --aspect 1:2", "gives an aspect ratio (--ar or --aspect) more than once"),
    ],
)
def test_bad_prompt_flags_are_refused(flow: Flow, prompt: str, needle: str) -> None:
    response = flow.client.post(
        "/v2/images/generate", json={"prompt": prompt}, headers=flow.headers
    )
    assert needle in api_error(response, 400, "invalid_request")
    assert flow.credits() == 1000
    assert flow.client.get("/v2/jobs", headers=flow.headers).json()["jobs"] == []


@pytest.mark.parametrize(
    ("prompt", "ratio"),
    [
        ("a lake --ar 2:1", (2, 1)),
        ("--aspect 1:2 a lake", (1, 2)),
        ("a lake --ar 16 : 9 --seed 7", (16, 9)),
        ("a lake --ar 4:1", (4, 1)),
        ("a lake --ar 999:998", (999, 998)),
        ("a lake with --arches and a--ar 9:1", (1, 1)),  # not flags: not words of their own
    ],
)
def test_good_aspect_flags_are_honoured(flow: Flow, prompt: str, ratio: tuple[int, int]) -> None:
    job = flow.done(flow.generate(prompt))
    height, width = fetch(flow, job["result"]["images"][0]).shape[:2]
    assert (width, height) == aspect_size(ratio, 64)


@pytest.mark.parametrize("seed", [0, 4294967295])
def test_seed_flag_pins_the_images_across_its_whole_range(flow: Flow, seed: int) -> None:
    same = [flow.done(flow.generate(f"a lake --seed {seed}")) for _ in range(2)]
    other = flow.done(flow.generate(f"a lake --seed {seed ^ 1}"))
    first, second, third = (fetch(flow, job["result"]["images"][0]) for job in [*same, other])
    assert np.array_equal(first, second) and not np.array_equal(first, third)


# --- import webhooks ---------------------------------------------------------------------


def wait_sent(flow: Flow, job_id: str, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = flow.client.get(f"/v2/jobs/{job_id}", headers=flow.headers).json()
        if job["webhookStatus"] == "delivered":
            return job
        assert time.monotonic() < deadline, f"webhookStatus is {job['webhookStatus']}"
        time.sleep(0.02)


@pytest.fixture
def transport() -> RecordingTransport:
    return RecordingTransport()


@pytest.fixture
def hooked(make_client: Callable[..., TestClient], transport: RecordingTransport) -> Flow:
    client = make_client(webhook_transport=transport)
    with services_of(client).db.write() as session:
        _, plaintext = keys.create_key(session, name="hooks", credits_=100)
    return Flow(client, {"X-API-Key": plaintext})


def sent_to(transport: RecordingTransport, path: str) -> list[dict[str, Any]]:
    return [orjson.loads(s.body) for s in transport.sent if s.url == HOOK + path]


def test_an_import_sends_its_completed_webhook(hooked: Flow, transport: RecordingTransport) -> None:
    image = picture()
    as_json = hooked.client.post(
        IMPORT, json={"image": b64png(image), "webhookUrl": f"{HOOK}/json"}, headers=hooked.headers
    )
    as_form = hooked.client.post(
        IMPORT,
        files={"image": ("a.png", png_bytes(image), "image/png")},
        data={"webhookUrl": f"{HOOK}/form", "webhookEvents": "completed, failed"},
        headers=hooked.headers,
    )
    for response, path in [(as_json, "/json"), (as_form, "/form")]:
        assert response.status_code == 201, response.text
        job_id = response.json()["jobId"]
        job = wait_sent(hooked, job_id)
        assert sent_to(transport, path) == [
            {
                "event": "completed",
                "jobId": job_id,
                "status": "COMPLETED",
                "progress": 100,
                "result": job["result"],
                "model": "midjourney",
                "creditCost": 0,
                "completedAt": job["completedAt"],
            }
        ]
    # It can be sent again, as any completed job's, under the same webhook-id.
    job_id = as_json.json()["jobId"]
    again = hooked.client.post(f"/v2/jobs/{job_id}/webhooks/redeliver", headers=hooked.headers)
    assert again.status_code == 202, again.text
    deadline = time.monotonic() + 10
    while len(sent_to(transport, "/json")) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    ids = {s.headers["webhook-id"] for s in transport.sent if s.url == f"{HOOK}/json"}
    assert len(ids) == 1


@pytest.mark.parametrize(
    ("events", "subscribed"),
    [
        (["failed"], False),
        (["progress", "completed"], True),
        (["progress", "failed"], False),
        (['["failed", "completed"]'], True),
        (["failed, completed"], True),
        (["failed,progress"], False),
    ],
    ids=["one", "repeated", "repeated-without", "json-list", "comma-separated", "comma-without"],
)
def test_multipart_import_honours_webhook_events(
    hooked: Flow, events: list[str], subscribed: bool
) -> None:
    response = hooked.client.post(
        IMPORT,
        files=[("image", ("a.png", png_bytes(picture()), "image/png"))]
        + [("webhookUrl", (None, f"{HOOK}/h"))]
        + [("webhookEvents", (None, value)) for value in events],
        headers=hooked.headers,
    )
    assert response.status_code == 201, response.text
    job_id = response.json()["jobId"]
    # A delivery is written with the job, in the same transaction: it is there or it never is.
    history = hooked.client.get(f"/v2/jobs/{job_id}/webhooks", headers=hooked.headers).json()
    if subscribed:
        assert [d["event"] for d in history["deliveries"]] == ["completed"]
        wait_sent(hooked, job_id)
    else:
        assert history["deliveries"] == [] and history["webhookStatus"] is None


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"webhookUrl": "ftp://x/h"}, "webhookUrl must be an https:// URL"),
        ({"webhookUrl": f"{HOOK}/h", "webhookEvents": "done"}, "webhookEvents may only contain"),
        ({"webhookUrl": f"{HOOK}/h", "webhookEvents": "[1]"}, "webhookEvents must be a list"),
    ],
)
def test_multipart_import_checks_its_webhook_fields(
    hooked: Flow, fields: dict[str, str], needle: str
) -> None:
    response = hooked.client.post(
        IMPORT,
        files={"image": ("a.png", png_bytes(picture()), "image/png")},
        data=fields,
        headers=hooked.headers,
    )
    assert needle in api_error(response, 400, "invalid_webhook")
    assert stored(hooked) == []


def test_another_webhook_under_the_same_key_is_a_conflict(hooked: Flow) -> None:
    headers = {**hooked.headers, "Idempotency-Key": "hooked-import"}
    image = b64png(picture())
    first = hooked.client.post(
        IMPORT, json={"image": image, "webhookUrl": f"{HOOK}/a"}, headers=headers
    )
    assert first.status_code == 201, first.text
    moved = hooked.client.post(
        IMPORT, json={"image": image, "webhookUrl": f"{HOOK}/b"}, headers=headers
    )
    api_error(moved, 409, "idempotency_key_reused")
    assert stored(hooked) == [f"{first.json()['jobId']}-1.png"]
