"""The OpenAPI document as clients meet the API: the X-API-Key header is a security scheme (so
Swagger UI's Authorize button fills it in) rather than a parameter of every route, and errors are
described as they are answered: JSON {error, code} with 400 for bad input, never FastAPI's 422."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

API_KEY_HEADER = "x-api-key"
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "code"],
    "properties": {
        "error": {"type": "string", "description": "what is wrong and what to fix"},
        "code": {"type": "string", "description": "a stable machine code"},
        "details": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "description": "400: the messages per field path, where a field is at fault",
        },
    },
}
# The answers every authenticated route may give besides its own.
KEYED_ERRORS = {
    "400": "bad input",
    "401": "API key missing or invalid",
    "403": "API key inactive",
    "429": "too many requests: retry after the Retry-After header's seconds",
}
# And those of a route naming a job in its path, or submitting one.
JOB_ERRORS = {"404": "no such job (or another account's)"}
SUBMIT_ERRORS = {
    "402": "not enough credits: error 'Insufficient credits', with creditsRequired and "
    "creditsAvailable (and the older cost and balance)",
    "404": "no such parent job (or another account's)",
    "409": "Idempotency-Key already used with another body",
    "413": "request body too large",
}


def documented_error(description: str) -> dict[str, Any]:
    """A route's own error answer, for its `responses=`: JSON {error, code}."""
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def install_openapi(app: FastAPI) -> None:
    """Serve the adjusted document at the app's openapi_url (built once, on first request)."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = adjust(spec)
        return app.openapi_schema

    app.openapi = build  # type: ignore[method-assign]


def adjust(spec: dict[str, Any]) -> dict[str, Any]:
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    schemas["Error"] = ERROR_SCHEMA
    components["securitySchemes"] = {
        "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    }
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            parameters = operation.pop("parameters", [])
            keyed = any(
                p["in"] == "header" and p["name"].lower() == API_KEY_HEADER for p in parameters
            )
            kept = [p for p in parameters if p["name"].lower() != API_KEY_HEADER]
            if kept:
                operation["parameters"] = kept
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            if not keyed:
                continue
            operation["security"] = [{"ApiKey": []}]
            errors = dict(KEYED_ERRORS)
            if any(p["in"] == "path" for p in kept):
                errors.update(JOB_ERRORS)
            if any(p["name"] == "Idempotency-Key" for p in kept):
                errors.update(SUBMIT_ERRORS)
            for status, description in sorted(errors.items()):
                responses.setdefault(status, {"description": description, "content": error})
    return spec
