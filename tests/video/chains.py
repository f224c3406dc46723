"""Chains of zoom-outs built through the API for the video tests, and what checks a video:
decoding it with PyAV and measuring the zoom between frames by aligning them."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
from fastapi.testclient import TestClient
from PIL import Image

from outframe.engines.base import ProgressFn
from outframe.engines.fake import FakeEngine
from outframe.imaging.canvas import Canvas
from outframe.imaging.codec import RGB
from tests.conftest import Flow, services_of

ACTION = "/v2/images/midjourney/action"


def texture(height: int, width: int, seed: int) -> RGB:
    """A seeded picture with detail at every scale down to a few pixels (so frames align):
    colour in the coarse scales and brightness in the fine ones, as in photographs (and as
    video codecs, which keep colour at half resolution, expect)."""
    rng = np.random.default_rng(seed)
    out = np.zeros((height, width, 3))
    for cell, weight, channels in ((24, 0.6, 3), (8, 0.3, 1), (3, 0.2, 1)):
        small = rng.uniform(0, 255, (height // cell + 2, width // cell + 2, channels))
        size = (width + cell * 2, height + cell * 2)
        big = cv2.resize(small, size, interpolation=cv2.INTER_CUBIC).reshape(
            size[1], size[0], channels
        )
        out += weight * big[:height, :width]
    return np.clip(out / 1.1, 0, 255).astype(np.uint8)


class TexturedEngine(FakeEngine):
    """The fake engine, but new areas carry on the kept image's colours (OpenCV's inpaint)
    under a seeded texture of brightness, as a real engine's fill continues the picture: no
    hard colour edge where the kept image ends, and detail everywhere to align frames on."""

    def fill(
        self, canvas: Canvas, prompt: str, seeds: Sequence[int], progress: ProgressFn
    ) -> list[RGB]:
        self._work(progress)
        height, width = canvas.keep.shape
        holes = (~canvas.keep).astype(np.uint8)
        colours = cv2.inpaint(canvas.pixels, holes, 3, cv2.INPAINT_TELEA).astype(np.int16)
        out = []
        for seed in seeds:
            grain = texture(height, width, seed)[..., :1].astype(np.int16) - 128
            image = np.clip(colours + grain // 2, 0, 255).astype(np.uint8)
            image[canvas.keep] = canvas.pixels[canvas.keep]
            out.append(image)
        return out


def fetch(client: TestClient, url: str) -> bytes:
    base = services_of(client).settings.resolved_public_base_url()
    response = client.get(url.replace(base, ""))
    assert response.status_code == 200, url
    return response.content


def image_of(client: TestClient, job: dict[str, Any]) -> RGB:
    data = fetch(client, job["result"]["images"][0])
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def zoom_chain(flow: Flow, start: RGB, ratios: Sequence[float]) -> list[str]:
    """Import `start`, then outpaint and upsample once per ratio (a different candidate each
    time); the ids of the chain's images, innermost first."""
    chain = [flow.import_image(start)]
    for n, ratio in enumerate(ratios):
        grid = flow.action({"action": "outpaint", "parentJobId": chain[-1], "zoomRatio": ratio})
        flow.done(grid)
        chain.append(flow.upsample(grid, n % 4 + 1))
    return chain


def decode(data: bytes) -> tuple[list[RGB], str]:
    """Every frame of a video file, with PyAV (the library that wrote it), and its codec."""
    import av

    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        codec = stream.codec_context.name
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
    return frames, codec


def zoom_between(a: RGB, b: RGB) -> float:
    """The scale that maps frame a onto frame b (below 1: b shows a shrunk, a zoom out),
    measured by aligning them: SIFT matches, then a similarity fitted by RANSAC."""
    sift = cv2.SIFT_create()
    gray_a, gray_b = (cv2.cvtColor(x, cv2.COLOR_RGB2GRAY) for x in (a, b))
    keys_a, desc_a = sift.detectAndCompute(gray_a, None)
    keys_b, desc_b = sift.detectAndCompute(gray_b, None)
    matches = cv2.BFMatcher(cv2.NORM_L2, crossCheck=True).match(desc_a, desc_b)
    assert len(matches) >= 20, "too few features to align the frames"
    src = np.float32([keys_a[m.queryIdx].pt for m in matches])
    dst = np.float32([keys_b[m.trainIdx].pt for m in matches])
    matrix, inliers = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=1.0, maxIters=5000
    )
    assert matrix is not None and int(inliers.sum()) >= 20
    return float(np.hypot(matrix[0, 0], matrix[1, 0]))
