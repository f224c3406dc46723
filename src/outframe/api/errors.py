"""Every error is JSON {error, code}: a message that says what to fix, and a stable code."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from outframe.api.requestid import HEADER as REQUEST_ID
from outframe.api.requestid import request_id_of
from outframe.api.schemas import ACTION_NAMES
from outframe.services.errors import BadRequest, ServiceError

log = logging.getLogger(__name__)


def error_response(
    status: int, message: str, code: str, headers: dict[str, str] | None = None, /, **extra: Any
) -> Response:
    # (positional-only: `extra` may hold a field named `message`, as apiframe v1's bodies do)
    body = {"error": message, "code": code, **extra}
    return Response(orjson.dumps(body), status, headers=headers, media_type="application/json")


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    # Discriminated unions add the tag to the path ("outpaint.zoomRatio"): drop it.
    if parts and parts[0] in ACTION_NAMES:
        parts = parts[1:]
    return ".".join(parts)


# What pydantic says when the body is not a JSON object (a form, raw bytes, a JSON list, ...).
_NOT_AN_OBJECT = {"model_attributes_type", "model_type", "dict_type"}
# FastAPI's answer to a body it could not decode at all (invalid UTF-8, nesting too deep).
_UNPARSABLE = "There was an error parsing the body"


def validation_details(errors: list[dict[str, Any]]) -> dict[str, list[str]]:
    """pydantic's errors per field path ("midjourneyParams.aspect_ratio"), as apiframe's 400
    `details` has them (the official SDK's ValidationError.details); errors of the whole body
    are in the message only."""
    details: dict[str, list[str]] = {}
    for err in errors:
        field = _field(tuple(err.get("loc", ())))
        if field:
            details.setdefault(field, []).append(str(err.get("msg", "invalid")))
    return details


def describe_validation(errors: list[dict[str, Any]]) -> tuple[str, str]:
    """A human message and a code for pydantic's errors."""
    first = errors[0]
    kind = first.get("type", "")
    if kind == "json_invalid":
        reason = first.get("ctx", {}).get("error", "not valid JSON")
        return f"malformed JSON in the request body: {reason}", "malformed_json"
    if kind == "union_tag_invalid":
        got = first.get("ctx", {}).get("tag", "")
        return (
            f"unknown action {got!r}; expected one of: {', '.join(ACTION_NAMES)}",
            "unknown_action",
        )
    if kind == "union_tag_not_found":
        return f"action is required; one of: {', '.join(ACTION_NAMES)}", "unknown_action"
    if kind == "missing" and first.get("loc") == ("body",):
        return "the request body is required (JSON)", "invalid_request"
    if kind in _NOT_AN_OBJECT and first.get("loc") == ("body",):
        return (
            "the request body must be a JSON object, sent with Content-Type: application/json",
            "invalid_request",
        )
    messages = []
    for err in errors[:5]:
        field = _field(tuple(err.get("loc", ())))
        msg = str(err.get("msg", "invalid"))
        messages.append(f"{field}: {msg}" if field else msg)
    return "; ".join(messages), "invalid_request"


def bad_request(errors: list[dict[str, Any]]) -> BadRequest:
    """The 400 for pydantic's errors: a message, a code and the per-field details."""
    message, code = describe_validation(errors)
    details = validation_details(errors)
    return BadRequest(message, code=code, **({"details": details} if details else {}))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> Response:
        extra = dict(exc.extra)
        if not request.url.path.startswith("/v2/"):
            # apiframe v1's clients read `message` (apiframe-sdk) or `errors[].msg`.
            extra |= {"message": exc.message, "errors": [{"msg": exc.message}]}
        return error_response(exc.status, exc.message, exc.code, exc.headers, **extra)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        return await _service_error(request, bad_request(list(exc.errors())))

    @app.exception_handler(ClientDisconnect)
    async def _client_gone(request: Request, _: ClientDisconnect) -> Response:
        # Not a server fault, and cheap for a client to cause at will: one line, not a traceback.
        client = request.client.host if request.client else "?"
        log.info(
            "%s %s: the client (%s) disconnected before sending the whole body",
            request.method,
            request.url.path,
            client,
        )
        return error_response(400, "the request body was cut off", "client_disconnected")

    @app.exception_handler(HTTPException)
    async def _http_error(_: Request, exc: HTTPException) -> Response:
        if exc.status_code == 400 and exc.detail == _UNPARSABLE:
            return error_response(
                400,
                "the request body could not be read: send UTF-8 JSON with "
                "Content-Type: application/json",
                "malformed_json",
            )
        codes = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
        return error_response(
            exc.status_code,
            str(exc.detail),
            codes.get(exc.status_code, "http_error"),
            dict(exc.headers or {}),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        # A bug: still answer JSON, as every error is; Starlette logs the traceback after this.
        # This handler answers outside every middleware, so it adds the request id itself.
        request_id = request_id_of(request.scope)
        return error_response(
            500,
            f"internal error ({type(exc).__name__}); the server log has the details",
            "internal_error",
            {REQUEST_ID: request_id} if request_id else None,
        )
