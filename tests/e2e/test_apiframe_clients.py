"""apiframe's own Python clients, unchanged, against a real outframe server process over HTTP:
`apiframe-sdk` (PyPI 1.0.0, the `apiframe` module) and the older `apiframe` package (the
`apiframe_python` module). Both speak apiframe v1 at the root paths."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
import trustme
from PIL import Image

from outframe.imaging.canvas import aspect_size
from tests.contract import verify_webhook
from tests.e2e.server import ServerProcess, outframe_cli
from tests.webhooks.receiver import Receiver, write_ca

apiframe = pytest.importorskip("apiframe", reason="apiframe-sdk (the dev extra) is not installed")
apiframe_python = pytest.importorskip("apiframe_python", reason="the apiframe package is missing")

pytestmark = pytest.mark.slow


class Server:
    def __init__(self, process: ServerProcess, key: str, ca: trustme.CA) -> None:
        self.process = process
        self.url = process.url
        self.key = key
        self.ca = ca

    def v2(self, path: str) -> dict[str, Any]:
        answer = httpx.get(f"{self.url}{path}", headers={"X-API-Key": self.key})
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("clients")
    ca = trustme.CA()
    data_dir = tmp / "data"
    created = outframe_cli(data_dir, "keys", "create", "--name", "sdk", "--credits", "1000")
    key = created.strip().splitlines()[-1]
    process = ServerProcess(
        data_dir,
        engine="fake",
        image_size="96",
        poll_seconds="0.1",
        webhook_allow_networks="127.0.0.0/8",
        webhook_ca_bundle=str(write_ca(ca, tmp)),
    ).start()
    try:
        yield Server(process, key, ca)
    finally:
        process.stop()


def _size(url: str) -> tuple[int, int]:
    size: tuple[int, int] = Image.open(io.BytesIO(httpx.get(url).content)).size
    return size


def test_the_official_sdk_runs_its_flow_unchanged(server: Server) -> None:
    client = apiframe.Apiframe(api_key=server.key, base_url=server.url, timeout=30)
    before = client.tasks.get_account_info()["credits"]

    def wait(task: dict[str, Any]) -> dict[str, Any]:
        done: dict[str, Any] = client.tasks.wait_for(task["id"], interval=1, timeout=60)
        return done

    grid = wait(client.midjourney.imagine({"prompt": "a lake at dawn", "aspect_ratio": "3:2"}))
    assert grid["status"] == "completed" and len(grid["image_urls"]) == 4
    cell_w, cell_h = aspect_size((3, 2), 96)
    assert _size(grid["original_image_url"]) == (2 * cell_w, 2 * cell_h)  # 2x2 grid of 3:2
    single = wait(client.midjourney.upscale_1x({"parent_task_id": grid["id"], "index": "2"}))
    assert single["image_urls"] == [single["image_url"]]
    width, height = _size(single["image_url"])
    zoomed = [
        wait(client.midjourney.outpaint({"parent_task_id": single["id"], "zoom_ratio": ratio}))
        for ratio in (2, 1.5)
    ]
    for job in zoomed:
        assert len(job["image_urls"]) == 4 and _size(job["image_urls"][0]) == (width, height)
    square = wait(client.midjourney.outpaint({"parent_task_id": single["id"], "zoom_ratio": 1}))
    assert _size(square["image_urls"][0]) == (max(width, height),) * 2  # Make Square
    ids = [grid["id"], single["id"], *(job["id"] for job in zoomed), square["id"]]
    many = client.tasks.get_many(ids)
    assert [t["id"] for t in many["tasks"]] == ids
    assert {t["status"] for t in many["tasks"]} == {"completed"}
    # One job model and one ledger: the v2 view of each v1 job agrees, charged once.
    spent = 16 + 4 + 16 + 16 + 16
    account = client.tasks.get_account_info()
    assert account["credits"] == before - spent == server.v2("/v2/me")["team"]["credits"]
    for task in many["tasks"]:
        job = server.v2(f"/v2/jobs/{task['id']}")
        assert job["status"] == "COMPLETED" and job["result"]["images"] == task["image_urls"]
    assert server.v2(f"/v2/jobs/{square['id']}")["input"]["zoom_ratio"] == 1
    # Errors arrive as the SDK's exceptions, with the message it reads.
    with pytest.raises(apiframe.ApiframeError) as bad:
        client.midjourney.upscale_1x({"parent_task_id": grid["id"], "index": 9})
    assert bad.value.status == 400 and "index" in bad.value.message
    with pytest.raises(apiframe.ApiframeError) as missing:
        client.midjourney.describe({"image_url": grid["image_urls"][0]})
    assert missing.value.status == 501 and "image-to-prompt" in missing.value.message
    with pytest.raises(apiframe.AuthenticationError):
        apiframe.Apiframe(api_key="afk_wrong", base_url=server.url).tasks.get_account_info()


def test_a_v1_webhook_carries_its_secret_and_the_v1_payload(server: Server) -> None:
    with Receiver(server.ca) as receiver:
        client = apiframe.Apiframe(api_key=server.key, base_url=server.url, timeout=30)
        task = client.midjourney.imagine(
            {
                "prompt": "a harbour",
                "webhook_url": f"{receiver.url}/hook",
                "webhook_secret": "s3cret-token",
            }
        )
        [got] = receiver.wait_for(1, "/hook")
    headers = {k.lower(): v for k, v in got.headers.items()}
    assert headers["x-webhook-secret"] == "s3cret-token"
    assert verify_webhook(server.key, got.body, headers["x-webhook-signature"])
    body = orjson.loads(got.body)
    assert body["task_id"] == task["id"] and body["status"] == "finished"
    assert body["task_type"] == "imagine" and len(body["image_urls"]) == 4
    assert "webhook_secret" not in server.v2(f"/v2/jobs/{task['id']}")["input"]


def test_the_older_apiframe_package_runs_unchanged(server: Server) -> None:
    client = apiframe_python.ApiframeClient(server.key)
    client.base_url = server.url  # (the package has no option for it; its methods read this)

    def finished(task_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + 60
        while True:
            task: dict[str, Any] = client.fetch(task_id)
            if task["status"] in ("finished", "failed"):
                return task
            assert time.monotonic() < deadline, task
            time.sleep(0.2)

    grid_id = client.imagine("a meadow", aspect_ratio="1:1")["task_id"]
    grid = finished(grid_id)
    assert grid["status"] == "finished" and len(grid["image_urls"]) == 4
    single_id = client.upscale_1x(grid_id, "1")["task_id"]
    assert finished(single_id)["status"] == "finished"
    panned = finished(client.pan(single_id, "left")["task_id"])
    varied = finished(client.variations(grid_id, "3")["task_id"])
    rerolled = finished(client.reroll(grid_id)["task_id"])
    assert {panned["status"], varied["status"], rerolled["status"]} == {"finished"}
    rerun = server.v2(f"/v2/jobs/{rerolled['task_id']}")
    assert rerun["input"] == {"parent_task_id": grid_id, "aspect_ratio": "1:1"}  # as it sent
    tasks = client.fetch_many([grid_id, single_id])["tasks"]
    assert [t["task_id"] for t in tasks] == [grid_id, single_id]
    account = client.account()
    assert account["credits"] == server.v2("/v2/me")["team"]["credits"]
    refused = client.seed(grid_id)
    assert refused["code"] == "not_implemented" and "--seed" in refused["errors"][0]["msg"]
