"""POST /v2/images/*: submit jobs. Routes parse and authorise; the job service does the rest."""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile
from starlette.responses import Response

from outframe.api import uploads
from outframe.api.deps import CallerDep, IdempotencyKey, ServicesDep
from outframe.api.errors import bad_request
from outframe.api.schemas import (
    ActionRequest,
    GenerateRequest,
    ImportJsonRequest,
    InpaintRequest,
    OutpaintRequest,
    PanRequest,
    SubmitResponse,
    UpsampleRequest,
    VariationRequest,
    parse_aspect_ratio,
)
from outframe.container import Services
from outframe.services.clock import new_id
from outframe.services.domain import Action
from outframe.services.errors import BadRequest
from outframe.services.jobs import JobRequest, ParentInfo, Submitted
from outframe.services.keys import Caller
from outframe.webhooks.urls import EVENTS, check_subscription

router = APIRouter(prefix="/v2/images", tags=["images"])

# Midjourney's flags in a prompt: a word of their own, then their value.
_FLAG = re.compile(r"(?<!\S)--(ar|aspect|seed)(?!\S)")
_RATIO_VALUE = re.compile(r"\s+([0-9]+\s*:\s*[0-9]+)(?!\S)")
_WORD = re.compile(r"\s+(\S+)")
MAX_SEED = 2**32 - 1


def _answer(submitted: Submitted) -> Response:
    return Response(
        orjson.dumps(submitted.body), submitted.status_code, media_type="application/json"
    )


def submitted_input(
    body: BaseModel,
    *,
    elide: tuple[str, ...] = ("mask",),
    webhook: tuple[str, ...] = ("webhookUrl", "webhookEvents"),
) -> dict[str, Any]:
    """The job's `input`: the fields the client sent, less the `webhook` ones (a URL or secret
    may carry a credential), with images elided (they can be megabytes; the job's result and
    parent have them)."""
    fields = body.model_dump(mode="json", exclude_unset=True, exclude=set(webhook))
    for name in elide:
        if isinstance(fields.get(name), str):
            fields[name] = f"(elided: {len(fields[name])} characters)"
    return fields


def _request_hash(request: Request, payload: bytes) -> str:
    return hashlib.sha256(request.url.path.encode() + b"\0" + payload).hexdigest()


def submit_job(
    services: Services,
    request: Request,
    caller: Caller,
    job: JobRequest,
    fingerprint: bytes,
    idempotency_key: str | None,
    discard: Callable[[], None] | None = None,
    **kwargs: Any,
) -> Submitted:
    """Submit the job; `discard` undoes what was prepared for it if no job is created (an
    error, or an idempotent replay of an earlier job)."""
    settings = services.settings
    try:
        events = check_subscription(
            job.webhook_url,
            job.webhook_events,
            allow_http=settings.webhook_allow_http,
            policy=services.webhook_policy,
        )
        submitted = services.jobs.submit(
            caller,
            replace(job, webhook_events=events),
            idempotency_key=idempotency_key,
            request_hash=_request_hash(request, fingerprint),
            **kwargs,
        )
    except BaseException:
        if discard is not None:
            discard()
        raise
    if not submitted.created and discard is not None:
        discard()
    if submitted.created and submitted.status_code == 202:
        services.queue.notify(submitted.job_id)
    return submitted


@router.post("/generate", status_code=202, response_model=SubmitResponse)
def generate(
    body: GenerateRequest,
    request: Request,
    caller: CallerDep,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    return _answer(submit_generate(services, request, caller, body, idempotency_key))


def submit_generate(
    services: Services,
    request: Request,
    caller: Caller,
    body: GenerateRequest,
    idempotency_key: str | None,
    *,
    extra: dict[str, Any] | None = None,
    input: dict[str, Any] | None = None,
) -> Submitted:
    """A generate job; `extra` params and `input` come from the v1 adapter."""
    params: dict[str, Any] = {
        "prompt": body.prompt,
        "aspectRatio": body.midjourneyParams.aspect_ratio,
        **_prompt_flags(body.prompt),
        **(extra or {}),
    }
    job = JobRequest(
        action=Action.GENERATE,
        params=params,
        webhook_url=body.webhookUrl,
        webhook_events=body.webhookEvents,
        input=input if input is not None else submitted_input(body),
    )
    fingerprint = body.model_dump_json().encode()
    return submit_job(services, request, caller, job, fingerprint, idempotency_key)


def _prompt_flags(prompt: str) -> dict[str, Any]:
    """--seed N (pins the seeds) and --ar/--aspect W:H (the shape) as job params. A flag with a
    value that is not valid is a 400: ignoring it would quietly make another picture."""
    params: dict[str, Any] = {}
    for flag in _FLAG.finditer(prompt):
        written = f"--{flag.group(1)}"
        key = "seed" if written == "--seed" else "aspectRatio"
        if key in params:
            again = "--seed" if key == "seed" else "an aspect ratio (--ar or --aspect)"
            raise BadRequest(
                f"the prompt gives {again} more than once; keep one", code="invalid_request"
            )
        if key == "seed":
            value = _WORD.match(prompt, flag.end())
            text = value.group(1) if value else ""
            if not (text.isascii() and text.isdigit() and len(text) <= 10) or int(text) > MAX_SEED:
                raise BadRequest(
                    f"--seed takes a whole number from 0 to {MAX_SEED}"
                    + (f", not {text!r}" if text else ""),
                    code="invalid_request",
                )
            params[key] = int(text)
        else:
            value = _RATIO_VALUE.match(prompt, flag.end()) or _WORD.match(prompt, flag.end())
            if value is None:
                raise BadRequest(
                    f"{written} takes two whole numbers like 16:9", code="invalid_request"
                )
            try:
                w, h = parse_aspect_ratio(value.group(1), written)
            except ValueError as exc:
                raise BadRequest(str(exc), code="invalid_request") from exc
            params[key] = f"{w}:{h}"
    return params


@router.post("/midjourney/action", status_code=202, response_model=SubmitResponse)
async def action(
    body: Annotated[ActionRequest, Body()],
    request: Request,
    caller: CallerDep,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    return _answer(await submit_action(services, request, caller, body, idempotency_key))


async def submit_action(
    services: Services,
    request: Request,
    caller: Caller,
    body: UpsampleRequest | VariationRequest | OutpaintRequest | PanRequest | InpaintRequest,
    idempotency_key: str | None,
    *,
    extra: dict[str, Any] | None = None,
    input: dict[str, Any] | None = None,
) -> Submitted:
    """An action on a parent job; `extra` params and `input` come from the v1 adapter."""
    fields = body.model_dump(
        exclude={"action", "parentJobId", "webhookUrl", "webhookEvents", "mask"}, exclude_none=True
    )
    job = JobRequest(
        action=Action(body.action),
        params={**fields, **(extra or {})},
        parent_job_id=str(body.parentJobId),
        webhook_url=body.webhookUrl,
        webhook_events=body.webhookEvents,
        input=input if input is not None else submitted_input(body),
    )
    job_id = new_id()
    validate = discard = None
    if isinstance(body, InpaintRequest):
        mask = await uploads.store_mask(services, caller, job, body.mask, job_id)
        validate = _mask_fits(mask.size)
        discard = functools.partial(services.storage.delete, mask.name)
    submitted: Submitted = await run_in_threadpool(
        submit_job,
        services,
        request,
        caller,
        job,
        body.model_dump_json().encode(),
        idempotency_key,
        job_id=job_id,
        validate=validate,
        discard=discard,
    )
    return submitted


def _mask_fits(size: tuple[int, int]) -> Any:
    """The mask's size, checked again in the job's transaction with the parent it is made on."""

    def check(_: Session, parent: ParentInfo) -> None:
        uploads.check_mask_size(size, parent)

    return check


# The route reads its body itself (a form or JSON), so FastAPI cannot see it: described here.
_IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": ImportJsonRequest.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["image"],
                    "properties": {
                        "image": {
                            "type": "string",
                            "format": "binary",
                            "description": "the image file (a field named `file` is read too)",
                        },
                        "webhookUrl": {"type": "string", "maxLength": 2048, "pattern": "^https://"},
                        "webhookEvents": {
                            "type": "array",
                            "items": {"type": "string", "enum": list(EVENTS)},
                            "description": "repeated fields, comma-separated, or a JSON list",
                        },
                    },
                },
            },
        },
    }
}


@router.post("/import", status_code=201, response_model=SubmitResponse, openapi_extra=_IMPORT_BODY)
async def import_image(
    request: Request,
    caller: CallerDep,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Import an image as a completed single-image job (multipart `image`/`file`, or JSON)."""
    raw, webhook_url, webhook_events = await _read_import(request)
    job_id = new_id()
    # Stored before the job exists, as an inpaint's mask is; discarded if no job comes of it.
    stored = await uploads.store_import(services, caller, raw, job_id)
    job = JobRequest(
        action=Action.IMPORT,
        webhook_url=webhook_url,
        webhook_events=webhook_events,
        input={"image": f"(elided: {len(raw)} bytes)"},
    )
    fingerprint = raw
    if webhook_url is not None or webhook_events is not None:
        # Another webhook is another request (409 under the same key). Only then: an import
        # without one keeps the fingerprint it always had.
        fingerprint += b"\0" + orjson.dumps([webhook_url, webhook_events])
    submitted: Submitted = await run_in_threadpool(
        submit_job,
        services,
        request,
        caller,
        job,
        fingerprint,
        idempotency_key,
        discard=functools.partial(services.storage.delete, stored.name),
        job_id=job_id,
        completed_result={"images": [stored.name]},
        size=stored.size,
        stored_bytes=stored.nbytes,
    )
    return _answer(submitted)


async def _read_import(request: Request) -> tuple[bytes, str | None, Sequence[str] | None]:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        try:
            upload = form.get("image") or form.get("file")
            if not isinstance(upload, UploadFile):
                raise BadRequest(
                    "send the image as a multipart file field named 'image'", code="invalid_image"
                )
            url = form.get("webhookUrl")
            if not isinstance(url, str | None):
                raise BadRequest("webhookUrl must be a text field", code="invalid_webhook")
            events = _form_events(form.getlist("webhookEvents"))
            data = await upload.read()
        finally:
            await form.close()
        return data, url.strip() if url is not None else None, events
    try:
        body = ImportJsonRequest.model_validate_json(await request.body())
    except ValidationError as exc:
        raise bad_request([dict(e) for e in exc.errors()]) from exc
    data = uploads.decode_base64(body.image, "image must be base64-encoded", "invalid_image")
    return data, body.webhookUrl, body.webhookEvents


def _form_events(values: Sequence[str | UploadFile]) -> list[str] | None:
    """webhookEvents as a form sends it: repeated fields, comma-separated, or a JSON list."""
    if not values:
        return None
    events: list[str] = []
    for value in values:
        if not isinstance(value, str):
            raise BadRequest("webhookEvents must be a text field", code="invalid_webhook")
        if value.strip().startswith("["):
            try:
                listed = orjson.loads(value)
            except orjson.JSONDecodeError as exc:
                raise BadRequest(
                    "webhookEvents is not a valid JSON list", code="invalid_webhook"
                ) from exc
            if not isinstance(listed, list) or not all(isinstance(e, str) for e in listed):
                raise BadRequest(
                    "webhookEvents must be a list of event names", code="invalid_webhook"
                )
            events += listed
        else:
            events += [e.strip() for e in value.split(",") if e.strip()]
    return events
