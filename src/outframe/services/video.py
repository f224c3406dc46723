"""Zoom videos as jobs: the chain walked at submit (and recorded in the job's params), the
price, and the worker's render into a file published only when the job completes."""

from __future__ import annotations

import logging
import math
import os
import secrets
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from outframe.imaging.canvas import Placement, outpaint_placement
from outframe.imaging.codec import decode_png
from outframe.services.domain import Action, JobStatus
from outframe.services.errors import BadRequest
from outframe.services.jobs import ParentInfo
from outframe.storage.base import BlobStorage
from outframe.store.models import JOBS
from outframe.video.camera import Camera, Inside, place, video_size, views
from outframe.video.encoder import VideoWriter
from outframe.video.frames import Composer, rendered_ahead

log = logging.getLogger(__name__)

MAX_SIDE = 1920
# Priced by the CPU it takes, at about the rate of the other jobs: a 1024 outpaint (16 credits)
# takes about 7 s of the development machine's two cores, 180 frames of 1024 x 1024 video (6 s
# at 30 fps) 5-6 s to render and encode (docs/BENCHMARKS.md). So one credit per 12 such frames
# (15 for those); the work grows with the pixels, so other frame sizes count in proportion.
FRAMES_PER_CREDIT = 12
CREDIT_FRAME_PIXELS = 1024 * 1024

_JOB = select(
    JOBS.c.id,
    JOBS.c.team_id,
    JOBS.c.action,
    JOBS.c.status,
    JOBS.c.parent_job_id,
    JOBS.c.params,
    JOBS.c.result,
    JOBS.c.width,
    JOBS.c.height,
    JOBS.c.images_purged_at,
).where(JOBS.c.id == bindparam("job_id"))


@dataclass(frozen=True)
class ZoomOptions:
    """What the client asked for, checked for type and range by the API's schema."""

    direction: str = "out"
    fps: int = 30
    seconds_per_step: float = 2.0
    size: int | None = None  # the longer side; default the outermost image's, up to MAX_SIDE
    video_format: str = "mp4"


def video_name(job_id: str, video_format: str) -> str:
    return f"{job_id}-video.{video_format}"


def price(params: dict[str, Any]) -> int:
    """Credits for a video: one per 12 frames of 1024 x 1024 pixels (in proportion for other
    sizes), at least one."""
    pixels = int(params["frames"]) * int(params["width"]) * int(params["height"])
    return max(1, math.ceil(pixels / (FRAMES_PER_CREDIT * CREDIT_FRAME_PIXELS) - 1e-9))


def _placement(outpaint: Any) -> Placement:
    """Where an outpaint put its parent: as it recorded it, or (jobs from before it did) as
    the same geometry places it."""
    params = outpaint.params
    if "placement" in params:
        return Placement.from_list(params["placement"])
    return outpaint_placement(
        int(params["parentWidth"]), int(params["parentHeight"]), float(params["zoomRatio"])
    )


def walk_chain(session: Session, job_id: str, max_steps: int) -> list[dict[str, Any]]:
    """The chain of images that ends at `job_id` (a completed upsample or import, checked
    before), innermost first: each an outpaint's upsampled candidate, with where the image
    before it sits in it (`inside`, in its pixels)."""
    chain: list[dict[str, Any]] = []
    job = session.execute(_JOB, {"job_id": job_id}).one()
    while True:
        level: dict[str, Any] = {
            "jobId": job.id,
            "image": job.result["images"][0],
            "width": job.width,
            "height": job.height,
        }
        chain.append(level)
        grid = (
            session.execute(_JOB, {"job_id": job.parent_job_id}).one_or_none()
            if job.action == Action.UPSAMPLE.value
            else None
        )
        if grid is None or grid.action != Action.OUTPAINT.value:
            break  # an import, or an upsample of a grid that is not a zoom-out: the start
        if len(chain) > max_steps:
            raise BadRequest(
                f"the chain of zoom-outs that ends at job {job_id} is longer than this "
                f"server's limit of {max_steps} steps (OUTFRAME_VIDEO_MAX_STEPS); pass the "
                "upsample of an earlier step",
                code="chain_too_long",
            )
        where = _placement(grid)
        # The placement is in the outpaint's canvas; an upsample keeps its size, but scale
        # to the image as stored should an engine's upsample not.
        sx, sy = job.width / where.canvas_width, job.height / where.canvas_height
        level["inside"] = [where.x * sx, where.y * sy, where.width * sx, where.height * sy]
        inner = session.execute(_JOB, {"job_id": grid.parent_job_id}).one_or_none()
        if inner is None or inner.status != JobStatus.COMPLETED.value or not inner.result:
            raise BadRequest(
                f"the chain behind job {job_id} is broken: the parent of outpaint {grid.id} "
                "has no images",
                code="invalid_chain",
            )
        job = inner
        if job.images_purged_at is not None:
            raise BadRequest(
                f"the images of job {job.id}, a step of this chain, were deleted at the end of "
                "this server's retention period (OUTFRAME_RETENTION_DAYS); pass the upsample "
                "of a later step",
                code="invalid_chain",
            )
    if len(chain) == 1:
        raise BadRequest(
            f"job {job_id} ends no chain of zoom-outs: it is not the upsample of an outpaint, "
            "so there is nothing to zoom through; zoom out of it, upsample one of the four, "
            "and pass that upsample",
            code="invalid_chain",
        )
    return chain[::-1]


def plan(
    options: ZoomOptions, max_steps: int, max_frames: int
) -> Callable[[Session, ParentInfo], dict[str, Any]]:
    """The submit check: walk the chain, size the video; what it returns joins the params."""

    def check(session: Session, parent: ParentInfo) -> dict[str, Any]:
        chain = walk_chain(session, parent.job_id, max_steps)
        steps = len(chain) - 1
        outer_w, outer_h = chain[-1]["width"], chain[-1]["height"]
        longer = options.size or min(MAX_SIDE, max(outer_w, outer_h))
        width, height = video_size(outer_w, outer_h, longer)
        frames = max(2, round(options.fps * options.seconds_per_step * steps))
        if frames > max_frames:
            raise BadRequest(
                f"this video would have {frames} frames ({options.fps} fps x "
                f"{options.seconds_per_step:g} s x {steps} steps), more than this server's "
                f"limit of {max_frames} (OUTFRAME_VIDEO_MAX_FRAMES); lower fps or "
                "secondsPerStep",
                code="video_too_long",
            )
        return {
            "direction": options.direction,
            "fps": options.fps,
            "secondsPerStep": options.seconds_per_step,
            "format": options.video_format,
            "width": width,
            "height": height,
            "frames": frames,
            "chain": chain,
        }

    return check


ProgressFn = Callable[[float], None]


class ZoomVideos:
    """Renders a claimed video job into a part file beside the storage, never under the name
    clients fetch; `publish` moves it there once the job may complete."""

    def __init__(self, storage: BlobStorage, scratch: Path) -> None:
        self.storage = storage
        self.scratch = scratch

    def render(self, job_id: str, params: dict[str, Any], progress: ProgressFn) -> Path:
        """Write the video to a part file and return its path (the caller publishes or drops
        it). Part files that killed workers left (of earlier attempts at this job, or a day old)
        are removed first."""
        self.scratch.mkdir(parents=True, exist_ok=True)
        day_ago = time.time() - 86400
        for stale in self.scratch.glob("*.part"):
            # This job's earlier attempts, and any other a killed worker left a day ago.
            try:
                if stale.name.startswith(f"{job_id}.") or stale.stat().st_mtime < day_ago:
                    stale.unlink(missing_ok=True)
            except FileNotFoundError:
                continue
        chain = params["chain"]
        images = [decode_png(self.storage.get(level["image"])) for level in chain]
        sizes = [(image.shape[1], image.shape[0]) for image in images]
        insides = [Inside(*level["inside"]) for level in chain[1:]]
        levels = place(sizes, insides)
        width, height = int(params["width"]), int(params["height"])
        frames, fps = int(params["frames"]), int(params["fps"])
        camera = Camera(levels, width / height)
        composer = Composer(images, levels, (width, height))
        part = self.scratch / f"{job_id}.{secrets.token_hex(4)}.part"
        started = time.monotonic()
        try:
            path = views(camera, frames, frames / fps, params["direction"])
            with (
                VideoWriter(part, params["format"], width, height, fps) as writer,
                closing(rendered_ahead(composer, path)) as rendered,
            ):
                for n, frame in enumerate(rendered):
                    # The last frame is a keyframe: the image the video ends on, at its best.
                    writer.write(frame, key=n == frames - 1)
                    progress((n + 1) / frames)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        log.debug("job %s: %d frames in %.2f s", job_id, frames, time.monotonic() - started)
        return part

    def publish(self, job_id: str, params: dict[str, Any], part: Path) -> dict[str, Any]:
        """Store the finished file under its public name; the job's stored result."""
        name = video_name(job_id, params["format"])
        try:
            self.storage.put_file(name, part)
        finally:
            if part.exists():
                os.unlink(part)
        return {
            "video": name,
            "frames": params["frames"],
            "seconds": round(params["frames"] / params["fps"], 3),
            "width": params["width"],
            "height": params["height"],
        }
