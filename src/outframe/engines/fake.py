"""A fast, deterministic engine for tests: flat seeded colours, optionally slow."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from outframe.engines.base import Engine, ProgressFn
from outframe.imaging.canvas import Canvas
from outframe.imaging.codec import RGB


def _colour(seed: int) -> RGB:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=3, dtype=np.uint8)


class FakeEngine(Engine):
    """Seeded flat colours; `seconds_per_job` spreads a sleep over ten progress steps."""

    name = "fake"

    def __init__(self, seconds_per_job: float = 0.0) -> None:
        self.seconds_per_job = seconds_per_job

    def _work(self, progress: ProgressFn) -> None:
        for step in range(10):
            if self.seconds_per_job:
                time.sleep(self.seconds_per_job / 10)
            progress((step + 1) / 10)

    def generate(
        self, prompt: str, width: int, height: int, seeds: Sequence[int], progress: ProgressFn
    ) -> list[RGB]:
        self._work(progress)
        return [np.broadcast_to(_colour(s), (height, width, 3)).copy() for s in seeds]

    def upsample(self, image: RGB, progress: ProgressFn) -> RGB:
        self._work(progress)
        return image.copy()

    def fill(
        self, canvas: Canvas, prompt: str, seeds: Sequence[int], progress: ProgressFn
    ) -> list[RGB]:
        self._work(progress)
        out = []
        for seed in seeds:
            img = canvas.pixels.copy()
            img[~canvas.keep] = _colour(seed)
            out.append(img)
        return out

    def vary(
        self, image: RGB, prompt: str, seeds: Sequence[int], progress: ProgressFn
    ) -> list[RGB]:
        self._work(progress)
        return [((image.astype(np.int16) + _colour(s) // 8) % 256).astype(np.uint8) for s in seeds]
