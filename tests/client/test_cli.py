"""The `outframe` job commands through a subprocess, against a real server process."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from outframe.client import Client
from tests.client.conftest import create_key
from tests.conftest import png_bytes
from tests.e2e.server import ServerProcess, run_outframe

pytestmark = pytest.mark.slow


def outframe(
    server: ServerProcess, key: str, *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    done = run_outframe(*args, env={"OUTFRAME_URL": server.url, "OUTFRAME_KEY": key}, check=False)
    if check:
        assert done.returncode == 0, done.stderr
    return done


def test_imagine_wait_download(server: ServerProcess, key: str, tmp_path: Path) -> None:
    done = outframe(server, key, "imagine", "a lighthouse", "--ar", "3:2", "--wait",
                    "--download", str(tmp_path / "out"))  # fmt: skip
    urls = done.stdout.split()
    assert len(urls) == 5 and urls[-1].endswith("-grid.png")
    saved = sorted((tmp_path / "out").iterdir())
    assert [p.name for p in saved] == sorted(url.rsplit("/", 1)[1] for url in urls[:4])
    for path in saved:
        with Image.open(path) as image:
            assert image.width > image.height  # 3:2
    assert "100%" in done.stderr and "COMPLETED" in done.stderr  # the progress bar


def test_a_chain_is_one_command(server: ServerProcess, key: str) -> None:
    done = outframe(server, key, "imagine", "a lighthouse", "--wait", "--pick", "2",
                    "--zoom", "2", "--zoom", "1.5", "--json")  # fmt: skip
    last = json.loads(done.stdout)
    with Client(server.url, key) as client:
        chain = [client.get(last["id"])]
        while chain[-1].parent_job_id:
            chain.append(client.get(chain[-1].parent_job_id))
    # generate, upsample 2, zoom 2 (a grid), upsample 2 of it (the pick sticks), zoom 1.5
    assert [job.action for job in reversed(chain)] == [
        "generate", "upsample", "outpaint", "upsample", "outpaint",
    ]  # fmt: skip
    assert all(job.status == "COMPLETED" for job in chain)


def test_json_prints_the_job(server: ServerProcess, key: str) -> None:
    job = json.loads(outframe(server, key, "imagine", "a field", "--json").stdout)
    assert job["action"] == "generate" and job["status"] in ("QUEUED", "PROCESSING", "COMPLETED")
    shown = json.loads(outframe(server, key, "show", job["id"], "--wait", "--json").stdout)
    assert shown["id"] == job["id"] and shown["status"] == "COMPLETED"
    assert len(shown["result"]["images"]) == 4
    listed = json.loads(outframe(server, key, "jobs", "--json").stdout)
    assert listed["jobs"][0]["id"] == job["id"]


def test_each_command(server: ServerProcess, key: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    (tmp_path / "photo.png").write_bytes(png_bytes(rng.integers(0, 255, (40, 60, 3), "uint8")))
    mask = np.zeros((40, 60, 3), dtype=np.uint8)
    mask[5:20, 10:30] = 255
    (tmp_path / "mask.png").write_bytes(png_bytes(mask))

    def job(*args: str) -> dict[str, object]:
        return dict(json.loads(outframe(server, key, *args, "--wait", "--json").stdout))

    imported = job("import", str(tmp_path / "photo.png"))
    assert imported["action"] == "import" and imported["status"] == "COMPLETED"
    inpaint = job("inpaint", str(imported["id"]), "--mask", str(tmp_path / "mask.png"))
    assert inpaint["parentJobId"] == imported["id"]
    pan = job("pan", str(imported["id"]), "up")
    assert pan["action"] == "pan"
    up = job("upsample", str(pan["id"]), "3")
    zoom = job("zoom", str(up["id"]), "--ratio", "1.5")
    vary = job("vary", str(zoom["id"]), "1")
    assert (zoom["parentJobId"], vary["parentJobId"]) == (up["id"], zoom["id"])
    listing = outframe(server, key, "jobs", "--limit", "2").stdout.splitlines()
    assert [line.split()[:3] for line in listing] == [
        [str(vary["id"]), "variation", "COMPLETED"],
        [str(zoom["id"]), "outpaint", "COMPLETED"],
    ]
    follow = outframe(server, key, "show", str(vary["id"])).stdout.split()
    assert follow == [*vary["result"]["images"], vary["result"]["gridUrl"]]  # type: ignore[index]


def test_cancel_command(idle_server: ServerProcess) -> None:
    key = create_key(idle_server)
    waiting = json.loads(outframe(idle_server, key, "imagine", "queued", "--json").stdout)["id"]
    assert outframe(idle_server, key, "cancel", waiting).stdout.split() == [waiting, "CANCELLED"]
    done = outframe(idle_server, key, "show", waiting, "--wait", check=False)
    assert done.returncode == 1 and f"job {waiting} was cancelled" in done.stderr
    again = outframe(idle_server, key, "cancel", waiting, check=False)
    assert again.returncode == 1 and "(not_cancellable, HTTP 409)" in again.stderr


def test_a_bad_key_is_its_message_and_exit_1(server: ServerProcess) -> None:
    done = outframe(server, "afk_wrong", "imagine", "x", "--wait", check=False)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last == "error: Invalid API key (invalid_api_key, HTTP 401)"
    assert done.stdout == ""


def test_errors_of_a_chain_and_of_the_api(server: ServerProcess, key: str) -> None:
    grid = json.loads(outframe(server, key, "imagine", "x", "--wait", "--json").stdout)
    done = outframe(server, key, "zoom", grid["id"], check=False)
    assert done.returncode == 1 and "upsample one image of the grid first" in done.stderr
    done = outframe(server, key, "imagine", "x", "--zoom", "2", check=False)
    assert done.returncode == 1 and "say which with --pick N" in done.stderr
    nowhere = outframe(server, key, "jobs", "--base-url", "http://127.0.0.1:9", check=False)
    assert nowhere.returncode == 1 and "cannot reach http://127.0.0.1:9" in nowhere.stderr


def test_video_wait_download(server: ServerProcess, key: str, tmp_path: Path) -> None:
    pytest.importorskip("av", reason="zoom videos need the [video] extra (PyAV)")
    from tests.video.chains import decode

    done = outframe(server, key, "imagine", "a lighthouse", "--wait", "--pick", "1",
                    "--zoom", "2", "--pick", "3", "--json")  # fmt: skip
    last = json.loads(done.stdout)
    assert last["action"] == "upsample"
    done = outframe(server, key, "video", last["id"], "--fps", "10", "--seconds-per-step", "1",
                    "--format", "webm", "--wait", "--download", str(tmp_path / "out"))  # fmt: skip
    (url,) = done.stdout.split()
    assert url.endswith("-video.webm")
    (saved,) = (tmp_path / "out").iterdir()
    assert saved.name == url.rsplit("/", 1)[1]
    frames, codec = decode(saved.read_bytes())
    assert codec == "vp9" and len(frames) == 10
    refused = outframe(server, key, "video", str(last["parentJobId"]), check=False)
    assert refused.returncode == 1 and "upsample" in refused.stderr
