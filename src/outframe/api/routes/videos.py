"""POST /v2/videos/zoom (extension): a zoom video of a chain of zoom-outs, as a job."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from outframe.api.deps import CallerDep, IdempotencyKey, ServicesDep
from outframe.api.openapi import documented_error
from outframe.api.routes.images import submit_job, submitted_input
from outframe.api.schemas import SubmitResponse, ZoomVideoRequest
from outframe.services import video
from outframe.services.domain import Action
from outframe.services.errors import NotAvailable
from outframe.services.jobs import JobRequest
from outframe.video import encoder

router = APIRouter(prefix="/v2/videos", tags=["videos"])


@router.post(
    "/zoom",
    status_code=202,
    response_model=SubmitResponse,
    responses={501: documented_error("this server has no video encoder (the [video] extra)")},
)
def zoom(
    body: ZoomVideoRequest,
    request: Request,
    caller: CallerDep,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Extension: render the chain of zoom-outs that ends at `jobId` (an upsample or import)
    as one continuous zoom, an MP4 (H.264) or WebM (VP9). A job as any other: QUEUED, then
    PROCESSING with progress per frame, then COMPLETED with `result: {videoUrl, frames, seconds,
    width, height}`. Priced by the pixels it renders: one credit per 12 frames of 1024 x 1024
    (in proportion for other sizes; 6 s at 30 fps: 15), at least one."""
    if not encoder.available():
        raise NotAvailable(encoder.MISSING, code="video_unavailable")
    settings = services.settings
    options = video.ZoomOptions(
        direction=body.direction,
        fps=body.fps,
        seconds_per_step=body.secondsPerStep,
        size=body.size,
        video_format=body.format,
    )
    job = JobRequest(
        action=Action.VIDEO,
        parent_job_id=str(body.jobId),
        webhook_url=body.webhookUrl,
        webhook_events=body.webhookEvents,
        input=submitted_input(body),
        price=video.price,
    )
    submitted = submit_job(
        services,
        request,
        caller,
        job,
        body.model_dump_json().encode(),
        idempotency_key,
        validate=video.plan(options, settings.video_max_steps, settings.video_max_frames),
    )
    return Response(
        orjson.dumps(submitted.body), submitted.status_code, media_type="application/json"
    )
