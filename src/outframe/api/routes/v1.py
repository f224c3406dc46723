"""apiframe v1 at the root paths (/imagine, /upscale-1x, /outpaint, /fetch, ...), for the clients
written against it (`apiframe-sdk` on PyPI, the older `apiframe` package).

A thin adapter: each v1 body is checked here (snake_case), turned into its v2 request and
submitted through the same code as /v2, so there is one job model, one ledger and one set of
webhooks. A v1 job carries a flag and the client's `webhook_secret` in its params: its webhooks
get v1's payload (the task as /fetch shows it) and an `x-webhook-secret` header.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

import orjson
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.responses import Response

from outframe.api.deps import CallerDep, IdempotencyKey, ServicesDep
from outframe.api.openapi import documented_error
from outframe.api.routes.images import submit_action, submit_generate, submitted_input
from outframe.api.schemas import (
    GenerateRequest,
    InpaintRequest,
    MidjourneyParams,
    OptionalPrompt,
    OutpaintRequest,
    PanRequest,
    Prompt,
    UpsampleRequest,
    VariationRequest,
    parse_aspect_ratio,
)
from outframe.container import Services
from outframe.services.errors import NotFound, ServiceError
from outframe.services.jobs import Submitted
from outframe.services.keys import Caller
from outframe.services.views import V1_FLAG, V1_SECRET, task_view
from outframe.store.models import Team

router = APIRouter(tags=["apiframe v1"])


class _V1Request(BaseModel):
    # v1 clients send fields outframe has no use for (process_mode, ...): ignored.
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    webhook_url: Annotated[str | None, Field(max_length=2048)] = None
    webhook_secret: Annotated[str | None, Field(min_length=1, max_length=256)] = None


def _ratio(value: str | None) -> str | None:
    if value is None:
        return None
    w, h = parse_aspect_ratio(value)
    return f"{w}:{h}"


class ImagineV1(_V1Request):
    prompt: Prompt
    aspect_ratio: str = "1:1"

    @field_validator("aspect_ratio")
    @classmethod
    def _check_aspect(cls, value: str) -> str | None:
        return _ratio(value)


class _ParentV1(_V1Request):
    parent_task_id: UUID


class RerollV1(_ParentV1):
    prompt: OptionalPrompt = None
    aspect_ratio: str | None = None

    @field_validator("aspect_ratio")
    @classmethod
    def _check_aspect(cls, value: str | None) -> str | None:
        return _ratio(value)


# v1 sends the index as a string or a number ("1" or 1): read either.
IndexV1 = Annotated[int, Field(ge=1, le=4)]


class UpscaleV1(_ParentV1):
    index: IndexV1


class VariationsV1(_ParentV1):
    index: IndexV1
    prompt: OptionalPrompt = None


class OutpaintV1(_ParentV1):
    # 1 is Make Square (on a non-square parent); above it, Midjourney's zoom out up to 2.
    zoom_ratio: Annotated[float, Field(ge=1, le=2)]
    prompt: OptionalPrompt = None


class PanV1(_ParentV1):
    direction: Literal["up", "down", "left", "right"]
    prompt: OptionalPrompt = None


class InpaintV1(_ParentV1):
    mask: Annotated[str, Field(min_length=1, description="base64 PNG; white = repaint")]
    prompt: OptionalPrompt = None


class FetchV1(BaseModel):
    task_id: str


class FetchManyV1(BaseModel):
    task_ids: Annotated[list[str], Field(min_length=1, max_length=20)]


def _extra(body: _V1Request) -> dict[str, Any]:
    extra: dict[str, Any] = {V1_FLAG: True}
    if body.webhook_secret:
        extra[V1_SECRET] = body.webhook_secret
    return extra


def _input(body: _V1Request) -> dict[str, Any]:
    return submitted_input(body, webhook=("webhook_url", "webhook_secret"))


def _task(submitted: Submitted) -> Response:
    return _json({"task_id": submitted.job_id})


def _json(body: object) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


def _generate(
    services: Services,
    request: Request,
    caller: Caller,
    body: _V1Request,
    prompt: str,
    aspect_ratio: str,
    idempotency_key: str | None,
) -> Response:
    generate = GenerateRequest.model_construct(
        prompt=prompt,
        model="midjourney",
        midjourneyParams=MidjourneyParams(aspect_ratio=aspect_ratio),
        webhookUrl=body.webhook_url,
        webhookEvents=None,
    )
    submitted = submit_generate(
        services, request, caller, generate, idempotency_key,
        extra=_extra(body), input=_input(body),
    )  # fmt: skip
    return _task(submitted)


@router.post("/imagine")
def imagine(
    body: ImagineV1,
    request: Request,
    caller: CallerDep,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """v2: POST /v2/images/generate."""
    return _generate(
        services, request, caller, body, body.prompt, body.aspect_ratio, idempotency_key
    )


@router.post("/reroll")
def reroll(
    body: RerollV1,
    request: Request,
    caller: CallerDep,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """A new imagine with the parent's prompt (or the one given) and aspect ratio."""
    with services.db.session() as session:
        prompt, ratio = services.jobs.reroll_of(session, caller.team_id, str(body.parent_task_id))
    return _generate(
        services, request, caller, body, body.prompt or prompt, body.aspect_ratio or ratio,
        idempotency_key,
    )  # fmt: skip


async def _action(
    services: Services,
    request: Request,
    caller: Caller,
    body: _ParentV1,
    action: UpsampleRequest | VariationRequest | OutpaintRequest | PanRequest | InpaintRequest,
    idempotency_key: str | None,
) -> Response:
    submitted = await submit_action(
        services, request, caller, action, idempotency_key, extra=_extra(body), input=_input(body)
    )
    return _task(submitted)


def _common(body: _ParentV1) -> dict[str, Any]:
    return {"parentJobId": body.parent_task_id, "webhookUrl": body.webhook_url}


@router.post("/upscale-1x")
async def upscale_1x(
    body: UpscaleV1,
    request: Request,
    caller: CallerDep,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """v2: the upsample action."""
    action = UpsampleRequest.model_construct(action="upsample", index=body.index, **_common(body))
    return await _action(services, request, caller, body, action, idempotency_key)


@router.post("/variations")
async def variations(
    body: VariationsV1,
    request: Request,
    caller: CallerDep,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """v2: the variation action."""
    action = VariationRequest.model_construct(
        action="variation", index=body.index, prompt=body.prompt, **_common(body)
    )
    return await _action(services, request, caller, body, action, idempotency_key)


@router.post("/outpaint")
async def outpaint(
    body: OutpaintV1,
    request: Request,
    caller: CallerDep,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """v2: the outpaint action (zoom_ratio 1, Make Square, only here)."""
    action = OutpaintRequest.model_construct(
        action="outpaint", zoomRatio=body.zoom_ratio, prompt=body.prompt, **_common(body)
    )
    return await _action(services, request, caller, body, action, idempotency_key)


@router.post("/pan")
async def pan(
    body: PanV1,
    request: Request,
    caller: CallerDep,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """v2: the pan action."""
    action = PanRequest.model_construct(
        action="pan", direction=body.direction, prompt=body.prompt, **_common(body)
    )
    return await _action(services, request, caller, body, action, idempotency_key)


@router.post("/inpaint")
async def inpaint(
    body: InpaintV1,
    request: Request,
    caller: CallerDep,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """v2: the inpaint action."""
    action = InpaintRequest.model_construct(
        action="inpaint", mask=body.mask, prompt=body.prompt, **_common(body)
    )
    return await _action(services, request, caller, body, action, idempotency_key)


_UNKNOWN_TASK: dict[int | str, dict[str, Any]] = {
    404: documented_error("no such task (or another account's)")
}


@router.post("/fetch", responses=_UNKNOWN_TASK)
async def fetch(body: FetchV1, caller: CallerDep, services: ServicesDep) -> Response:
    """v2: GET /v2/jobs/:id."""
    job = await services.db.read(lambda conn: services.jobs.get(conn, caller.team_id, body.task_id))
    return _json(task_view(job, services.storage))


@router.post("/fetch-many", responses=_UNKNOWN_TASK)
async def fetch_many(body: FetchManyV1, caller: CallerDep, services: ServicesDep) -> Response:
    """Up to 20 tasks at once; an unknown id is a 404 naming it."""
    jobs = await services.db.read(
        lambda conn: [services.jobs.get(conn, caller.team_id, task_id) for task_id in body.task_ids]
    )
    return _json({"tasks": [task_view(job, services.storage) for job in jobs]})


@router.get("/account")
def account(caller: CallerDep, services: ServicesDep) -> Response:
    """v2: GET /v2/me."""
    with services.db.session() as session:
        team = session.get(Team, caller.team_id)
        if team is None:
            raise NotFound("the key's team no longer exists")
        images = services.jobs.count_images(session, caller.team_id)
        return _json(
            {
                "email": f"key-{caller.key_id}@outframe.invalid",
                "name": team.name,
                "credits": team.credits,
                "total_images": images,
                "plan": "self-hosted",
            }
        )


class NotImplementedHere(ServiceError):
    status = 501
    code = "not_implemented"


# v1 endpoints outframe does not serve, and what to use instead where there is something.
UNSUPPORTED = {
    "/describe": "outframe has no image-to-prompt model; write the prompt yourself",
    "/blend": "outframe cannot blend images; import one (POST /v2/images/import) and work on it",
    "/faceswap": "outframe does not swap faces",
    "/shorten": "outframe does not rewrite prompts",
    "/seed": "put --seed N in the prompt (POST /imagine or /v2/images/generate) to fix the seeds",
    "/upscale-alt": "use /upscale-1x (v2: the upsample action)",
    "/upscale-highres": "use /upscale-1x (v2: the upsample action)",
    "/imagine-video": "outframe makes images only",
    "/imagine-video-extend": "outframe makes images only",
    "/midjourney/upscale": "use /upscale-1x (v2: POST /v2/images/midjourney/action, upsample)",
    "/midjourney/vary": "use /variations (v2: the variation action)",
    "/midjourney/zoom": "use /outpaint (v2: the outpaint action)",
}


def _unsupported(path: str, hint: str) -> Any:
    async def endpoint() -> Response:
        raise NotImplementedHere(
            f"apiframe v1's {path} is not available on outframe: {hint}", code="not_implemented"
        )

    return endpoint


for _path, _hint in UNSUPPORTED.items():
    router.add_api_route(
        _path,
        _unsupported(_path, _hint),
        methods=["POST"],
        status_code=501,
        summary=f"not available: {_hint}",
        include_in_schema=False,
    )
