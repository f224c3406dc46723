"""apiframe's official v2 contract, as its Node.js SDK publishes it, for tests to check against.

`apiframe-openapi.json` is the SDK's `openapi.json`, unchanged (see NOTICE.md); `verify_webhook`
is the SDK's `src/webhooks.ts`, line for line in Python.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from pathlib import Path
from typing import Any

import orjson
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(__file__).with_name("apiframe-openapi.json")
_BASE = "urn:apiframe-openapi"


@functools.cache
def spec() -> dict[str, Any]:
    document: dict[str, Any] = orjson.loads(SPEC_PATH.read_bytes())
    return document


@functools.cache
def _registry() -> Registry[Any]:
    resource = Resource.from_contents(spec(), default_specification=DRAFT202012)
    return Registry().with_resource(_BASE, resource)


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def _validate(instance: Any, pointer: str) -> None:
    """Validate against the schema at `pointer` of the document (its $refs resolved there),
    formats (uuid, date-time, email) included."""
    validator = Draft202012Validator(
        {"$ref": f"{_BASE}#/{pointer}"},
        registry=_registry(),
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    assert not errors, "; ".join(
        f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}" for e in errors[:5]
    )


def check_response(method: str, path: str, response: Any) -> dict[str, Any]:
    """The answer's JSON body against the official schema of `method path` for its status; a
    status the document does not list for the operation is held to its generic ErrorResponse
    (what the SDK's error classes read). Returns the body."""
    operation = spec()["paths"][path][method.lower()]
    status = str(response.status_code)
    body: dict[str, Any] = response.json()
    if status in operation["responses"]:
        pointer = _pointer("paths", path, method.lower(), "responses", status)
        pointer += "/content/application~1json/schema"
        _validate(body, pointer)
    else:
        assert response.status_code >= 400, f"{method} {path}: undocumented {status}"
        _validate(body, "components/schemas/ErrorResponse")
    return body


def check_request(method: str, path: str, body: Any) -> None:
    """A request body against the official schema (what the SDK would send)."""
    pointer = _pointer("paths", path, method.lower(), "requestBody")
    _validate(body, pointer + "/content/application~1json/schema")


def sdk_sign(api_key: str, body: bytes) -> str:
    """The SDK test's own `sign()` (test/webhooks.test.ts)."""
    secret = hashlib.sha256(api_key.encode()).digest()
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify_webhook(api_key: str, body: bytes | str, signature: str | None) -> bool:
    """The SDK's `verifyWebhook` (src/webhooks.ts): HMAC-SHA256 of the raw body keyed with the
    raw SHA-256 digest of the API key; `sha256=<hex>` or bare hex."""
    if not api_key or not signature:
        return False
    provided = _parse_signature(signature)
    if provided is None:
        return False
    signing_secret = hashlib.sha256(api_key.encode()).digest()
    body_bytes = body.encode() if isinstance(body, str) else bytes(body)
    expected = hmac.new(signing_secret, body_bytes, hashlib.sha256).digest()
    if len(provided) != len(expected):
        return False
    return hmac.compare_digest(provided, expected)


def _parse_signature(raw: str) -> bytes | None:
    trimmed = raw.strip()
    hexdigits = trimmed[len("sha256=") :] if trimmed.startswith("sha256=") else trimmed
    if not re.fullmatch(r"[0-9a-fA-F]+", hexdigits) or len(hexdigits) % 2:
        return None
    return bytes.fromhex(hexdigits)
