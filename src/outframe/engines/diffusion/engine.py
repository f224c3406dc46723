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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from outframe.core.config import Settings
from outframe.engines.base import Engine, EngineClosed, ProgressFn
from outframe.engines.classic import ClassicEngine
from outframe.engines.diffusion.models import check_options
from outframe.engines.diffusion.protocol import Ready, Request
from outframe.engines.diffusion.recipe import (
    at_size,
    clean_prompt,
    compose,
    generation_size,
    repaint_mask,
    resize,
)
from outframe.engines.diffusion.worker import DiffusionWorker, WorkerDied
from outframe.imaging.canvas import Canvas
from outframe.imaging.codec import RGB

log = logging.getLogger(__name__)

PREFILL_SHARE = 0.1  # of a fill job's progress
WAIT_POLL_SECONDS = 0.5  # how often a job waiting for its turn checks its time


class DiffusionEngine(Engine):
    """Thread-safe: requests from several job threads take turns on the one worker process."""

    name = "diffusers"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.prefill = ClassicEngine()
        self._lock = threading.Lock()
        self._worker: DiffusionWorker | None = None
        self._ready: Ready | None = None
        self._closed = False

    def start(self) -> None:
        with self._lock:
            self._closed = False
            self._ensure_worker()

    def close(self) -> None:
        """Stop the worker process, without waiting for a running request: that one finishes
        and its thread stops the process; threads still waiting for a turn get EngineClosed
        (their jobs are retried when their leases lapse)."""
        self._closed = True
        if self._lock.acquire(blocking=False):
            try:
                self._stop_worker()
            finally:
                self._lock.release()

    def _stop_worker(self) -> None:
        if self._worker is not None:
            self._worker.stop()
            self._worker = None

    def _ensure_worker(self) -> DiffusionWorker:
        """The running worker; a new one if there is none or the last one died."""
        if self._closed:
            raise EngineClosed("the diffusers engine is shutting down")
        if self._worker is not None and not self._worker.alive():
            log.warning("diffusion worker is gone; starting a new one")
            self._stop_worker()
        if self._worker is None:
            options = check_options(self.settings)
            self._worker = DiffusionWorker(options, self.settings.diffusers_load_timeout_seconds)
            self._ready = self._worker.ready
        return self._worker

    @contextmanager
    def _turn(self, progress: ProgressFn) -> Iterator[DiffusionWorker]:
        """The worker, once this thread's turn comes. While waiting, progress(0) is called
        again and again, so a job that times out in the line stops there."""
        while not self._lock.acquire(timeout=WAIT_POLL_SECONDS):
            progress(0.0)
        try:
            yield self._ensure_worker()
        finally:
            if self._closed:
                self._stop_worker()
            self._lock.release()

    def _run(self, request: Request, progress: ProgressFn) -> list[RGB]:
        with self._turn(progress) as worker:
            progress(0.0)  # a job whose time ran out while it waited stops here
            try:
                return worker.run(request, progress)
            except WorkerDied:
                if self._closed:  # the server is exiting and took the worker with it
                    raise EngineClosed("the server stopped during the job") from None
                raise

    def _size(
        self, width: int, height: int, progress: ProgressFn, *, fill: bool
    ) -> tuple[int, int]:
        """The generation size for an image of this shape, on the text or the fill model."""
        ready = self._ready
        if ready is None:
            with self._turn(progress) as worker:
                ready = worker.ready
        native = ready.fill_side if fill else ready.native_side
        return generation_size(
            width, height, self.settings.diffusers_size or native, ready.multiple
        )

    def generate(
        self, prompt: str, width: int, height: int, seeds: Sequence[int], progress: ProgressFn
    ) -> list[RGB]:
        size = self._size(width, height, progress, fill=False)
        request = Request("text", clean_prompt(prompt), tuple(seeds), *size)
        images = self._run(request, progress)
        return [resize(image, (width, height)) for image in images]

    def upsample(self, image: RGB, progress: ProgressFn) -> RGB:
        """The grid's image is already made at full size: as the classic engine, it is
        returned as it is."""
        return self.prefill.upsample(image, progress)

    def fill(
        self, canvas: Canvas, prompt: str, seeds: Sequence[int], progress: ProgressFn
    ) -> list[RGB]:
        width, height = canvas.size
        size = self._size(width, height, progress, fill=True)
        # The pre-fill is made at the model's size: it only has to give denoising a layout.
        small = at_size(canvas, size)
        prefilled = self.prefill.fill(small, prompt, seeds, lambda f: progress(PREFILL_SHARE * f))
        overlap = float(self.settings.diffusers_overlap_px)
        request = Request(
            "inpaint",
            clean_prompt(prompt),
            tuple(seeds),
            *size,
            images=tuple(prefilled),
            mask=repaint_mask(~canvas.keep, size, overlap),
            strength=self.settings.diffusers_fill_strength,
        )
        images = self._run(request, lambda f: progress(PREFILL_SHARE + (1 - PREFILL_SHARE) * f))
        return [compose(image, canvas.pixels, canvas.keep, overlap) for image in images]

    def vary(
        self, image: RGB, prompt: str, seeds: Sequence[int], progress: ProgressFn
    ) -> list[RGB]:
        height, width = image.shape[:2]
        size = self._size(width, height, progress, fill=False)
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
