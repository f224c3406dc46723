"""DiffusionEngine: open-weights diffusion models through diffusers, in a worker process.

Outpaint, pan and inpaint follow what the best open tools do: the new area is pre-filled by
the classic engine so that denoising starts from a plausible layout (strength below 1), the
mask reaches OUTFRAME_DIFFUSERS_OVERLAP_PX into the kept image so the model redraws the border
it continues, the canvas is worked at the model's native size, and the result is colour-matched
and blended back in the gradient domain before the kept pixels are pasted back exactly.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from outframe.core.config import Settings
from outframe.engines.base import Engine, ProgressFn
from outframe.engines.classic import ClassicEngine
from outframe.engines.diffusion.models import check_options
from outframe.engines.diffusion.protocol import Request
from outframe.engines.diffusion.recipe import (
    clean_prompt,
    compose,
    generation_size,
    repaint_mask,
    resize,
)
from outframe.engines.diffusion.worker import DiffusionWorker
from outframe.imaging.canvas import Canvas
from outframe.imaging.codec import RGB

log = logging.getLogger(__name__)

PREFILL_SHARE = 0.1  # of a fill job's progress


class DiffusionEngine(Engine):
    """Thread-safe: requests from several job threads take turns on the one worker process."""

    name = "diffusers"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.prefill = ClassicEngine()
        self._lock = threading.Lock()
        self._worker: DiffusionWorker | None = None

    def start(self) -> None:
        with self._lock:
            self._ensure_worker()

    def close(self) -> None:
        with self._lock:
            if self._worker is not None:
                self._worker.stop()
                self._worker = None

    def _ensure_worker(self) -> DiffusionWorker:
        """The running worker; a new one if there is none or the last one died."""
        if self._worker is not None and not self._worker.alive():
            log.warning("diffusion worker is gone; starting a new one")
            self._worker.stop()
            self._worker = None
        if self._worker is None:
            options = check_options(self.settings)
            self._worker = DiffusionWorker(options, self.settings.diffusers_load_timeout_seconds)
        return self._worker

    def _run(self, request: Request, progress: ProgressFn) -> list[RGB]:
        with self._lock:
            return self._ensure_worker().run(request, progress)

    def _size(self, width: int, height: int) -> tuple[int, int]:
        with self._lock:
            ready = self._ensure_worker().ready
        side = self.settings.diffusers_size or ready.native_side
        return generation_size(width, height, side, ready.multiple)

    def generate(
        self, prompt: str, width: int, height: int, seeds: Sequence[int], progress: ProgressFn
    ) -> list[RGB]:
        size = self._size(width, height)
        request = Request("text", clean_prompt(prompt), tuple(seeds), *size)
        images = self._run(request, progress)
        return [resize(image, (width, height)) for image in images]

    def upsample(self, image: RGB, progress: ProgressFn) -> RGB:
        """The grid's image is already made at full size: it is returned as it is."""
        progress(1.0)
        return image.copy()

    def fill(
        self, canvas: Canvas, prompt: str, seeds: Sequence[int], progress: ProgressFn
    ) -> list[RGB]:
        width, height = canvas.size
        size = self._size(width, height)
        prefilled = self.prefill.fill(canvas, prompt, seeds, lambda f: progress(PREFILL_SHARE * f))
        overlap = float(self.settings.diffusers_overlap_px)
        request = Request(
            "inpaint",
            clean_prompt(prompt),
            tuple(seeds),
            *size,
            images=tuple(resize(image, size) for image in prefilled),
            mask=repaint_mask(~canvas.keep, size, overlap),
            strength=self.settings.diffusers_fill_strength,
        )
        images = self._run(request, lambda f: progress(PREFILL_SHARE + (1 - PREFILL_SHARE) * f))
        return [compose(image, canvas.pixels, canvas.keep, overlap) for image in images]

    def vary(
        self, image: RGB, prompt: str, seeds: Sequence[int], progress: ProgressFn
    ) -> list[RGB]:
        height, width = image.shape[:2]
        size = self._size(width, height)
        request = Request(
            "image",
            clean_prompt(prompt),
            tuple(seeds),
            *size,
            images=(resize(image, size),) * len(seeds),
            strength=self.settings.diffusers_variation_strength,
        )
        images = self._run(request, progress)
        return [resize(out, (width, height)) for out in images]
