"""GET /v2/jobs and /v2/jobs/:id."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from outframe.api.deps import CallerDep, ServicesDep, authenticate
from outframe.api.schemas import JobList, JobView, job_view
from outframe.services.domain import JobStatus
from outframe.services.errors import BadRequest

router = APIRouter(prefix="/v2/jobs", tags=["jobs"])


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


@router.get("", response_model=JobList)
async def list_jobs(
    caller: CallerDep,
    services: ServicesDep,
    status: JobStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
) -> Response:
    after: int | None = None
    if cursor is not None:
        if not cursor.isdigit():
            raise BadRequest(
                "cursor must be a nextCursor value from an earlier page", code="invalid_cursor"
            )
        after = int(cursor)
    jobs, next_seq = await services.db.read(
        lambda conn: services.jobs.page(
            conn, caller.team_id, status=status, limit=limit, cursor=after
        )
    )
    return _json(
        {
            "jobs": [job_view(job, services.storage) for job in jobs],
            "nextCursor": str(next_seq) if next_seq is not None else None,
            "hasMore": next_seq is not None,
        }
    )
