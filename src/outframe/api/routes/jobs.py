"""GET /v2/jobs and /v2/jobs/:id, and the extensions on a job (cancel, its webhooks)."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

import orjson
from fastapi import APIRouter, Query, Request
from starlette.responses import Response, StreamingResponse

from outframe.api.deps import CallerDep, ServicesDep, authenticate
from outframe.api.openapi import documented_error
from outframe.api.schemas import JobList, JobView
from outframe.services.domain import JobStatus
from outframe.services.errors import BadRequest
from outframe.services.views import MODEL, job_view

router = APIRouter(prefix="/v2/jobs", tags=["jobs"])
# What a nextCursor looks like (the rule is checked by hand below, for its own message).
CURSOR_PATTERN = "^[0-9]{1,18}$"


def _json(body: object) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


# Clients poll this route in tight loops, and FastAPI's parameter solving costs more than the
# rest of the request: the route takes the bare Request, so its parameters are documented here.
_PARAMETERS = [
    {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}},
    {"name": "X-API-Key", "in": "header", "required": True, "schema": {"type": "string"}},
]


@router.get("/{job_id}", response_model=JobView, openapi_extra={"parameters": _PARAMETERS})
async def get_job(request: Request) -> Response:
    job_id: str = request.path_params["job_id"]
    services, caller = await authenticate(request)
    job = await services.db.read(lambda conn: services.jobs.get(conn, caller.team_id, job_id))
    return _json(job_view(job, services.storage))


_EVENTS_EXAMPLE = (
    'event: progress\ndata: {"event":"progress","jobId":"…","status":"PROCESSING","progress":40,'
    '"model":"midjourney"}\n\nevent: completed\ndata: {"event":"completed","jobId":"…",'
    '"status":"COMPLETED","progress":100,"result":{"images":["…"],"gridUrl":"…"},'
    '"model":"midjourney","creditCost":16,"completedAt":"…"}\n\n'
)


# One event of the stream (as SSE clients and OpenAPI tools read it), not the stream as a string.
_EVENT_SCHEMA = {
    "type": "object",
    "properties": {
        "event": {"type": "string", "enum": ["progress", "completed", "failed", "cancelled"]},
        "data": {"type": "string", "contentMediaType": "application/json"},
        "id": {"type": "string"},
        "retry": {"type": "integer"},
    },
}


@router.get(
    "/{job_id}/events",
    response_class=StreamingResponse,
    openapi_extra={"parameters": _PARAMETERS},
    responses={
        200: {
            "description": "Server-Sent Events: `progress` (the state at connection, then at "
            "each change of status or progress), then `completed` or `failed` (data as the "
            "webhook of that name) or `cancelled` and the end of the stream. A stream open "
            "longer than OUTFRAME_EVENTS_MAX_SECONDS ends without a final event: connect again.",
            "content": {"text/event-stream": {"schema": _EVENT_SCHEMA, "example": _EVENTS_EXAMPLE}},
        }
    },
)
async def job_events(request: Request) -> Response:
    """Extension: the job's progress as Server-Sent Events, ending with its final event."""
    job_id: str = request.path_params["job_id"]
    services, caller = await authenticate(request)
    await services.db.read(lambda conn: services.jobs.get(conn, caller.team_id, job_id))
    return StreamingResponse(
        services.events.stream(caller.team_id, job_id),
        media_type="text/event-stream",
        # (no-transform and X-Accel-Buffering: proxies must pass each event on as it comes)
        headers={"Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"},
    )


@router.get("", response_model=JobList)
async def list_jobs(
    caller: CallerDep,
    services: ServicesDep,
    status: JobStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[
        str | None,
        Query(
            description="nextCursor of the page before",
            json_schema_extra={"pattern": CURSOR_PATTERN},
        ),
    ] = None,
    model: str | None = None,
    scope: Annotated[
        Literal["user", "team"],
        Query(description="user: the jobs this API key made (outframe has no users); team: all"),
    ] = "user",
    search: Annotated[UUID | None, Query(description="a job id: that job and its children")] = None,
    include_models: Literal["true", "false"] = "false",
) -> Response:
    if model is not None and model != MODEL:
        # Every job here is a midjourney one: another model's page is empty, not an error.
        empty: dict[str, object] = {"jobs": [], "nextCursor": None, "hasMore": False}
        return _json({**empty, "models": [MODEL]} if include_models == "true" else empty)
    after: int | None = None
    if cursor is not None:
        # (ASCII digits only, as str.isdigit also takes "²"; and within SQLite's integers)
        if not (cursor.isascii() and cursor.isdigit() and len(cursor) <= 18):
            raise BadRequest(
                "cursor must be a nextCursor value from an earlier page", code="invalid_cursor"
            )
        after = int(cursor)
    jobs, next_seq = await services.db.read(
        lambda conn: services.jobs.page(
            conn,
            caller.team_id,
            status=status,
            limit=limit,
            cursor=after,
            key_id=caller.key_id if scope == "user" else None,
            search=str(search) if search is not None else None,
        )
    )
    page: dict[str, object] = {
        "jobs": [job_view(job, services.storage) for job in jobs],
        "nextCursor": str(next_seq) if next_seq is not None else None,
        "hasMore": next_seq is not None,
    }
    if include_models == "true":
        page["models"] = [MODEL]  # the models a filter can name: this server runs one
    return _json(page)


@router.post(
    "/{job_id}/cancel",
    response_model=JobView,
    responses={409: documented_error("the job has ended (COMPLETED, FAILED or CANCELLED)")},
)
def cancel(job_id: str, caller: CallerDep, services: ServicesDep) -> Response:
    """Extension: cancel a QUEUED job at once, a PROCESSING one at its engine's next progress
    step; its credits are refunded and it ends CANCELLED, without a webhook. 409 if it ended."""
    services.jobs.cancel(caller.team_id, job_id)
    with services.db.session() as session:
        job = services.jobs.get(session, caller.team_id, job_id)
    return _json(job_view(job, services.storage))


@router.get("/{job_id}/webhooks")
def webhook_history(job_id: str, caller: CallerDep, services: ServicesDep) -> Response:
    """Extension: every webhook delivery of the job, with each attempt and the next retry."""
    with services.db.session() as session:
        job = services.jobs.get(session, caller.team_id, job_id)
        deliveries = services.outbox.history(session, job_id)
    return _json(
        {"jobId": job_id, "webhookStatus": job["webhook_status"], "deliveries": deliveries}
    )


@router.post("/{job_id}/webhooks/redeliver", status_code=202)
def redeliver(job_id: str, caller: CallerDep, services: ServicesDep) -> Response:
    """Extension: send the job's completed or failed event again, under its webhook-id."""
    with services.db.write() as session:
        job = services.jobs.get(session, caller.team_id, job_id)
        if not services.outbox.redeliver(session, job_id):
            raise BadRequest(
                f"job {job_id} has sent no completed or failed webhook yet (it is "
                f"{job['status']}; a job without webhookUrl never sends one)",
                code="nothing_to_redeliver",
            )
    services.outbox.wake()
    return Response(
        orjson.dumps({"jobId": job_id, "webhookStatus": "pending"}),
        202,
        media_type="application/json",
    )
