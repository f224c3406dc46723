"""Running one claimed job: load the parent's pixels, call the engine, store images, settle."""

from __future__ import annotations

import hashlib
import logging
import re
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from outframe.engines.base import Engine, EngineClosed
from outframe.imaging import canvas as geometry
from outframe.imaging.codec import RGB, decode_png, decode_stored_mask, encode_png
from outframe.services.domain import Action
from outframe.services.jobs import Claim, JobService
from outframe.services.video import ZoomVideos
from outframe.storage.base import BlobStorage
from outframe.store.models import JOBS

log = logging.getLogger(__name__)


class JobAborted(Exception):
    """The job must stop: its lease was lost or its time ran out."""


def image_name(job_id: str, n: int | str, extension: str = "png") -> str:
    return f"{job_id}-{n}.{extension}"


def mask_name(job_id: str) -> str:
    return f"{job_id}-mask.png"


# What image_name makes: the only blobs clients are given URLs for (a mask is an input, kept
# beside them but never public).
_RESULT_NAME = re.compile(
    r"[0-9a-f-]{36}-(?:(?:[1-9][0-9]?|grid)\.(?:png|jpg)|video\.(?:mp4|webm))"
)


def is_result_name(name: str) -> bool:
    return _RESULT_NAME.fullmatch(name) is not None


def job_seeds(job_id: str, params: dict[str, object]) -> list[int]:
    """Four seeds: from the prompt's --seed if given (reproducible), else from the job id."""
    seed = params.get("seed")
    base = (
        seed if isinstance(seed, int) else int(hashlib.sha256(job_id.encode()).hexdigest()[:8], 16)
    )
    return [base * 4 + i for i in range(4)]


@dataclass
class Progress:
    """Writes engine progress to the job, at most every `interval` seconds; aborts when told."""

    jobs: JobService
    claim: Claim
    deadline: float
    interval: float = 0.5
    webhook_interval: float = 2.0  # progress webhooks are best-effort and throttled per job
    _last_write: float = 0.0
    _last_webhook: float = 0.0
    _last_percent: int = -1

    def __call__(self, fraction: float) -> None:
        now = time.monotonic()
        if now > self.deadline:
            raise JobAborted("timed out")
        percent = int(max(0.0, min(1.0, fraction)) * 99)
        if percent != self._last_percent and now - self._last_write >= self.interval:
            self._last_write, self._last_percent = now, percent
            notify = self.claim.has_webhook and now - self._last_webhook >= self.webhook_interval
            if notify:
                self._last_webhook = now
            if not self.jobs.set_progress(self.claim, percent, notify=notify):
                raise JobAborted("lease lost")


class JobRunner:
    """Turns a Claim into images and a settled job. Thread-safe; one per process."""

    def __init__(
        self,
        jobs: JobService,
        engine: Engine,
        storage: BlobStorage,
        *,
        image_size: int,
        timeout_seconds: float,
        scratch_dir: Path | None = None,
    ) -> None:
        self.jobs = jobs
        # Where videos are rendered before they are published (default: the system's temp).
        scratch = scratch_dir or Path(tempfile.gettempdir()) / "outframe-scratch"
        self.videos = ZoomVideos(storage, scratch)
        self.engine = engine
        self.storage = storage
        self.image_size = image_size
        self.timeout_seconds = timeout_seconds
        self.active_tokens: set[str] = set()
        self._lock = threading.Lock()

    def run(self, claim: Claim) -> None:
        with self._lock:
            self.active_tokens.add(claim.token)
        try:
            self._run(claim)
        finally:
            with self._lock:
                self.active_tokens.discard(claim.token)

    def tokens(self) -> list[str]:
        with self._lock:
            return list(self.active_tokens)

    def _run(self, claim: Claim) -> None:
        progress = Progress(self.jobs, claim, time.monotonic() + self.timeout_seconds)
        try:
            if claim.action is Action.VIDEO:
                result, size = self._video(claim, progress)
            else:
                images = self._render(claim, progress)
                result = self._store(claim, images)
                size = (images[0].shape[1], images[0].shape[0])
        except (JobAborted, EngineClosed) as exc:
            if str(exc) == "timed out":
                self.jobs.fail(claim, f"timed out after {self.timeout_seconds:g} s")
            log.warning("job %s stopped: %s", claim.job_id, exc)
            return
        except Exception as exc:
            what = "video error" if claim.action is Action.VIDEO else "engine error"
            log.exception("job %s: %s", claim.job_id, what)
            self.jobs.fail(claim, f"{what}: {type(exc).__name__}: {exc}")
            return
        if not self.jobs.complete(claim, result, size):
            log.warning("job %s finished after its lease was lost; result discarded", claim.job_id)

    def _video(self, claim: Claim, progress: Progress) -> tuple[dict[str, Any], tuple[int, int]]:
        """Render into a part file; publish it only while this worker still holds the job, so
        a cancelled or taken-over job never has its file replaced by a late one."""
        part = self.videos.render(claim.job_id, claim.params, progress)
        if not self.jobs.set_progress(claim, 99):
            part.unlink(missing_ok=True)
            raise JobAborted("lease lost")
        result = self.videos.publish(claim.job_id, claim.params, part)
        return result, (int(claim.params["width"]), int(claim.params["height"]))

    def _parent_image(self, claim: Claim, index: int = 1) -> RGB:
        assert claim.parent_job_id is not None
        # The parent's result names its blobs (an import of a JPEG is kept as a .jpg).
        with self.jobs.db.session() as session:
            stored = session.execute(
                select(JOBS.c.result).where(JOBS.c.id == claim.parent_job_id)
            ).scalar()
        names = (stored or {}).get("images") or []
        name = names[index - 1] if len(names) >= index else image_name(claim.parent_job_id, index)
        return decode_png(self.storage.get(name))

    def _render(self, claim: Claim, progress: Progress) -> list[RGB]:
        p = claim.params
        prompt = str(p.get("prompt", ""))
        seeds = job_seeds(claim.job_id, p)
        match claim.action:
            case Action.GENERATE:
                w_ratio, h_ratio = (int(x) for x in str(p["aspectRatio"]).split(":"))
                width, height = geometry.aspect_size((w_ratio, h_ratio), self.image_size)
                return self.engine.generate(prompt, width, height, seeds, progress)
            case Action.UPSAMPLE:
                return [self.engine.upsample(self._parent_image(claim, int(p["index"])), progress)]
            case Action.VARIATION:
                image = self._parent_image(claim, int(p["index"]))
                return self.engine.vary(image, prompt, seeds, progress)
            case Action.OUTPAINT:
                ratio = float(p["zoomRatio"])
                parent = self._parent_image(claim)
                # ratio 1 is Make Square (apiframe v1 only: v2 takes ratios above 1)
                canvas = (
                    geometry.make_square(parent) if ratio == 1 else geometry.zoom_out(parent, ratio)
                )
            case Action.PAN:
                canvas = geometry.pan(self._parent_image(claim), str(p["direction"]))
            case Action.INPAINT:
                assert claim.parent_job_id is not None
                mask = decode_stored_mask(self.storage.get(mask_name(claim.job_id)))
                canvas = geometry.repaint(self._parent_image(claim), mask)
            case _:
                raise ValueError(f"action {claim.action.value} is not run by workers")
        images = self.engine.fill(canvas, prompt, seeds, progress)
        for image in images:  # kept pixels are kept exactly, whatever the engine did
            image[canvas.keep] = canvas.pixels[canvas.keep]
        return images

    def _store(self, claim: Claim, images: list[RGB]) -> dict[str, object]:
        """Write the images; the result names blobs, and URLs are made when a job is read."""
        names = []
        for n, image in enumerate(images, start=1):
            names.append(image_name(claim.job_id, n))
            self.storage.put(names[-1], encode_png(image))
        result: dict[str, object] = {"images": names}
        if claim.action.makes_grid:
            result["grid"] = image_name(claim.job_id, "grid")
            self.storage.put(str(result["grid"]), encode_png(geometry.grid(images)))
        return result
