"""The client's exceptions: each API error is one class, carrying the API's code and message."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from outframe.client.models import Job


class OutframeError(Exception):
    """Anything the client raises."""


class ApiError(OutframeError):
    """The server answered with an error: `status`, its stable `code` and its `message`."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str,
        *,
        body: dict[str, Any] | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{message} ({code}, HTTP {status})")
        self.status = status
        self.message = message
        self.code = code
        self.body = body or {}
        self.request_id = request_id
        self.retry_after = retry_after


class BadRequest(ApiError):
    """400: the request must change; `details` names the fields at fault where the API says."""

    @property
    def details(self) -> dict[str, list[str]]:
        details = self.body.get("details")
        return details if isinstance(details, dict) else {}


class AuthenticationError(ApiError):
    """401: the API key is missing or unknown."""


class InsufficientCredits(ApiError):
    """402: the team has fewer credits than the job costs."""


class PermissionDenied(ApiError):
    """403: the API key is disabled."""


class NotFound(ApiError):
    """404: no such job for this key (another account's jobs are not found either)."""


class Conflict(ApiError):
    """409: an Idempotency-Key reused with another request, or an action the parent lacks."""


class PayloadTooLarge(ApiError):
    """413: the request body is over the server's limit."""


class RateLimited(ApiError):
    """429 after the client's retries: `retry_after` says how long to wait."""


class ServerError(ApiError):
    """5xx: a fault on the server's side."""


class ApiConnectionError(OutframeError):
    """The server could not be reached, or the connection dropped, after the client's retries."""


class JobFailed(OutframeError):
    """`wait` saw the job end FAILED (its credits were refunded); `job.error` says why."""

    def __init__(self, job: Job) -> None:
        super().__init__(f"job {job.id} failed: {job.error or 'no reason given'}")
        self.job = job


class JobCancelled(OutframeError):
    """`wait` saw the job end CANCELLED."""

    def __init__(self, job: Job) -> None:
        super().__init__(f"job {job.id} was cancelled")
        self.job = job


class WaitTimeout(OutframeError):
    """`wait` gave up before the job ended; `job` is the last state it saw."""

    def __init__(self, job: Job, seconds: float) -> None:
        super().__init__(
            f"job {job.id} is still {job.status} ({job.progress}%) after {seconds:g} s"
        )
        self.job = job


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: AuthenticationError,
    402: InsufficientCredits,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    429: RateLimited,
}


def error_for(
    status: int,
    body: object,
    *,
    text: str = "",
    request_id: str | None = None,
    retry_after: float | None = None,
) -> ApiError:
    """The exception for an error answer: apiframe's `{error, code}` (or `message`) body, or
    the status alone where the body is not JSON (a proxy's HTML page)."""
    data = body if isinstance(body, dict) else {}
    message = data.get("error") or data.get("message") or text.strip()[:200] or f"HTTP {status}"
    code = data.get("code") or f"http_{status}"
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else ApiError)
    return cls(
        status,
        str(message),
        str(code),
        body=data,
        request_id=request_id,
        retry_after=retry_after,
    )
