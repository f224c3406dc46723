"""What hostile uploads cost a running server: time and the server's peak RSS growth for the
audit's cases (an all-white 8000 x 8000 mask, three 8000 x 8000 RGBA imports at once, a noise
JPEG import), beside a small upload measured in the same run as the baseline.

    .venv/bin/python -m bench.hostile
"""

from __future__ import annotations

import base64
import io
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
from PIL import Image
from tests.e2e.server import ServerProcess, outframe_cli

from bench import NO_RATE_LIMITS

MISSING = "00000000-0000-4000-8000-000000000000"


def png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def rgba_8000() -> bytes:
    """8000 x 8000 RGBA: a soft ramp, half transparent, compressing to a few hundred KB."""
    ramp = np.linspace(0, 255, 8000, dtype=np.uint8)
    rgba = np.empty((8000, 8000, 4), np.uint8)
    rgba[..., 0] = ramp[None, :]
    rgba[..., 1] = ramp[:, None]
    rgba[..., 2] = 128
    rgba[..., 3] = 128
    return png(Image.fromarray(rgba, "RGBA"))


def noise_jpeg(side: int) -> bytes:
    noise = np.random.default_rng(0).integers(0, 256, (side, side, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(noise).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


class Rss:
    """The server's resident memory: now, and its peak since the last reset."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def _field(self, name: str) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1]) * 1024
        raise KeyError(name)

    def reset_peak(self) -> int:
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")  # resets VmHWM to VmRSS
        return self._field("VmRSS")

    def peak(self) -> int:
        return self._field("VmHWM")


def measure(rss: Rss, send: object, count: int = 1) -> tuple[float, float, list[int]]:
    """Seconds, peak RSS growth in MB, and statuses of `count` sends at once."""
    start_rss = rss.reset_peak()
    started = time.monotonic()
    with ThreadPoolExecutor(count) as pool:
        statuses = list(pool.map(lambda _: send(), range(count)))  # type: ignore[operator]
    seconds = time.monotonic() - started
    return seconds, (rss.peak() - start_rss) / 1e6, statuses


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        key = outframe_cli(data_dir, "keys", "create", "--name", "bench", "--credits", "100")
        headers = {"X-API-Key": key.strip().splitlines()[-1]}
        server = ServerProcess(
            data_dir, engine="fake", workers="0", import_quota_bytes="0", **NO_RATE_LIMITS
        ).start()
        assert server.proc is not None
        rss = Rss(server.proc.pid)
        big_mask = base64.b64encode(png(Image.new("L", (8000, 8000), 255))).decode()
        small_mask = base64.b64encode(png(Image.new("L", (512, 512), 255))).decode()
        big_rgba, small_rgba = rgba_8000(), png(Image.new("RGBA", (512, 512), (9, 9, 9, 128)))
        jpeg = noise_jpeg(3000)
        rows = []
        try:
            with httpx.Client(base_url=server.url, headers=headers, timeout=300) as client:
                parent = client.post(
                    "/v2/images/import",
                    files={"image": ("p.png", png(Image.new("RGB", (4096, 4096))), "image/png")},
                ).json()["jobId"]
                half = np.zeros((4096, 4096), np.uint8)
                half[:, 2048:] = 255
                canvas_mask = base64.b64encode(png(Image.fromarray(half))).decode()

                def inpaint(mask: str, parent_id: str = MISSING) -> object:
                    body = {"action": "inpaint", "parentJobId": parent_id, "mask": mask}
                    return lambda: (
                        client.post("/v2/images/midjourney/action", json=body).status_code
                    )

                def upload(data: bytes) -> object:
                    files = {"image": ("x", data, "application/octet-stream")}
                    return lambda: client.post("/v2/images/import", files=files).status_code

                cases = [
                    ("inpaint, 512² mask, no such parent", len(small_mask), inpaint(small_mask), 1),
                    ("inpaint, 8000² mask, no such parent", len(big_mask), inpaint(big_mask), 1),
                    ("inpaint, 8000² mask, 3 at once", len(big_mask), inpaint(big_mask), 3),
                    (
                        "inpaint, 4096² mask on a 4096² import",
                        len(canvas_mask),
                        inpaint(canvas_mask, parent),
                        1,
                    ),
                    ("import, 512² RGBA PNG", len(small_rgba), upload(small_rgba), 1),
                    ("import, 8000² RGBA PNG", len(big_rgba), upload(big_rgba), 1),
                    ("import, 8000² RGBA PNG, 3 at once", len(big_rgba), upload(big_rgba), 3),
                    ("import, 3000² noise JPEG", len(jpeg), upload(jpeg), 1),
                ]
                for name, size, send, count in cases:
                    seconds, grown, statuses = measure(rss, send, count)
                    rows.append((name, size, seconds, grown, statuses))
            stored = {p.suffix: p.stat().st_size for p in (data_dir / "images").iterdir()}
        finally:
            server.stop()
    print(f"{'case':40} {'upload':>10} {'seconds':>8} {'+RSS MB':>8}  statuses")
    for name, size, seconds, grown, statuses in rows:
        print(f"{name:40} {size:>10} {seconds:>8.2f} {grown:>8.0f}  {statuses}")
    print(f"the noise JPEG ({len(jpeg)} bytes) is stored as {stored.get('.jpg')} bytes (.jpg)")


if __name__ == "__main__":
    main()
