"""ClassicEngine: procedural generation and guided fills, all on the CPU."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed

import numpy as np

from outframe.engines.base import Engine, ProgressFn
from outframe.engines.classic.fill import Filler
from outframe.engines.classic.nnf import warm_up
from outframe.engines.classic.procedural import landscape
from outframe.engines.classic.vary import variation
from outframe.imaging.canvas import Canvas
from outframe.imaging.codec import RGB


class ClassicEngine(Engine):
    name = "classic"

    def start(self) -> None:
        # Compiles the fill's kernels, or loads them from numba's disk cache, before any job.
        warm_up()

    def generate(
        self, prompt: str, width: int, height: int, seeds: Sequence[int], progress: ProgressFn
    ) -> list[RGB]:
        images = []
        for i, seed in enumerate(seeds):
            images.append(landscape(prompt, width, height, seed))
            progress((i + 1) / len(seeds))
        return images

    def upsample(self, image: RGB, progress: ProgressFn) -> RGB:
        progress(1.0)
        return image.copy()

    def fill(
        self, canvas: Canvas, prompt: str, seeds: Sequence[int], progress: ProgressFn
    ) -> list[RGB]:
        filler = Filler(canvas)
        progress(0.1)
        # The seeds run side by side: OpenCV and NumPy release the GIL for most of the work
        # (about 1.3x faster on two cores for four seeds at 1024x1024).
        workers = max(1, min(len(seeds), os.cpu_count() or 1, 4))
        with ThreadPoolExecutor(workers, thread_name_prefix="classic-fill") as pool:
            futures = [pool.submit(filler.candidate, seed) for seed in seeds]
            try:
                for done, _ in enumerate(as_completed(futures), start=1):
                    progress(0.1 + 0.9 * done / len(seeds))
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
            return [future.result() for future in futures]

    def vary(
        self, image: RGB, prompt: str, seeds: Sequence[int], progress: ProgressFn
    ) -> list[RGB]:
        """Texture re-synthesised from the image's own pieces, layout kept (see vary.py)."""
        rgb = image[..., :3] if image.ndim == 3 else np.repeat(image[..., None], 3, axis=2)
        images = []
        for i, seed in enumerate(seeds):
            images.append(variation(np.ascontiguousarray(rgb), np.random.default_rng(seed)))
            progress((i + 1) / len(seeds))
        return images
