"""Shared fixtures: settings on a temporary data dir, an app with its lifespan, key factories."""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from outframe.api.app import create_app
from outframe.container import Services
from outframe.core.config import Settings
from outframe.services import keys

# create_app's keyword arguments (parts built by the test) rather than settings.
PARTS = ("engine", "storage", "queue", "webhook_transport", "resolver")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        engine="fake",
        image_size=64,
        workers=2,
        poll_seconds=0.05,
        lease_seconds=5,
        auth_cache_seconds=0,
    )


@pytest.fixture
def make_client(settings: Settings) -> Iterator[Callable[..., TestClient]]:
    """Start an app (lifespan included) with optional overrides of its settings or parts."""
    clients: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        parts = {k: overrides.pop(k) for k in PARTS if k in overrides}
        unknown = set(overrides) - set(Settings.model_fields)
        assert not unknown, f"not settings: {unknown}"
        app = create_app(settings.model_copy(update=overrides), **parts)
        client = TestClient(app, base_url=settings.resolved_public_base_url())
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


def services_of(client: TestClient) -> Services:
    services: Services = client.app.state.services  # type: ignore[attr-defined]
    return services


@pytest.fixture
def make_key(client: TestClient) -> Callable[..., dict[str, str]]:
    """Create a key on the client's server; returns headers that authenticate with it."""

    def make(credits: int = 1000, **kwargs: Any) -> dict[str, str]:
        with services_of(client).db.write() as session:
            _, plaintext = keys.create_key(session, name="test", credits_=credits, **kwargs)
        return {"X-API-Key": plaintext}

    return make


def api_error(response: Any, status: int, code: str | None = None) -> str:
    """Check an error answer: its status, a JSON {error, code} body (and the code, if given);
    returns the message."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers.get("x-request-id"), "every answer, errors too, names its request"
    body = response.json()
    assert body["error"] and isinstance(body["error"], str), body
    if code is not None:
        assert body["code"] == code, body
    return str(body["error"])


def wait_for(
    client: TestClient, headers: dict[str, str], job_id: str, timeout: float = 30.0
) -> dict[str, Any]:
    """Poll a job until it has ended (COMPLETED, FAILED or CANCELLED), as a client does."""
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = client.get(f"/v2/jobs/{job_id}", headers=headers).json()
        if body["status"] in ("COMPLETED", "FAILED", "CANCELLED"):
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {body['status']} after {timeout} s")
        time.sleep(0.02)


def png_bytes(image: np.ndarray[Any, Any] | Image.Image) -> bytes:
    img = image if isinstance(image, Image.Image) else Image.fromarray(image)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def b64png(image: np.ndarray[Any, Any] | Image.Image) -> str:
    return base64.b64encode(png_bytes(image)).decode()


class Flow:
    """Drives the API through common chains: generate, upsample, import."""

    def __init__(self, client: TestClient, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers

    def submit(self, path: str, body: dict[str, Any], expect: int = 202) -> str:
        response = self.client.post(path, json=body, headers=self.headers)
        assert response.status_code == expect, response.text
        return str(response.json()["jobId"])

    def done(self, job_id: str) -> dict[str, Any]:
        job = wait_for(self.client, self.headers, job_id)
        assert job["status"] == "COMPLETED", job
        return job

    def generate(self, prompt: str = "a lake", **extra: Any) -> str:
        job_id = self.submit("/v2/images/generate", {"prompt": prompt, **extra})
        self.done(job_id)
        return job_id

    def action(self, body: dict[str, Any], expect: int = 202) -> str:
        return self.submit("/v2/images/midjourney/action", body, expect)

    def upsample(self, grid_id: str, index: int = 1) -> str:
        job_id = self.action({"action": "upsample", "parentJobId": grid_id, "index": index})
        self.done(job_id)
        return job_id

    def import_image(self, image: np.ndarray[Any, Any]) -> str:
        response = self.client.post(
            "/v2/images/import", json={"image": b64png(image)}, headers=self.headers
        )
        assert response.status_code == 201, response.text
        return str(response.json()["jobId"])

    def credits(self) -> int:
        return int(self.client.get("/v2/me", headers=self.headers).json()["team"]["credits"])


@pytest.fixture
def flow(client: TestClient, make_key: Callable[..., dict[str, str]]) -> Flow:
    return Flow(client, make_key())


def area_downscale(image: np.ndarray[Any, Any], width: int, height: int) -> np.ndarray[Any, Any]:
    """Exact area averaging, written independently of the server's code, as a reference."""

    def weights(n_in: int, n_out: int) -> np.ndarray[Any, Any]:
        scale = n_in / n_out
        m = np.zeros((n_out, n_in))
        for i in range(n_out):
            lo, hi = i * scale, (i + 1) * scale
            for j in range(int(lo), min(n_in, int(np.ceil(hi)))):
                m[i, j] = max(0.0, min(hi, j + 1) - max(lo, j))
        return m / scale

    rows = np.einsum("ij,jkc->ikc", weights(image.shape[0], height), image.astype(float))
    return np.einsum("ikc,lk->ilc", rows, weights(image.shape[1], width))


def psnr(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> float:
    mse = float(((a.astype(float) - b.astype(float)) ** 2).mean())
    return float(10 * np.log10(255**2 / max(mse, 1e-10)))


def pytest_configure(config: pytest.Config) -> None:
    # The browser tests' marker (the other markers are declared in pyproject.toml).
    config.addinivalue_line(
        "markers", "browser: drives Debian's chromium through Playwright (skipped where absent)"
    )
