"""A Python client for outframe and for apiframe's hosted API (the same v2 contract).

Example::

    from outframe.client import Client

    with Client("http://127.0.0.1:8080", "afk_...") as client:
        grid = client.wait(client.generate("a lighthouse").job_id)
        up = client.wait(client.upsample(grid.id, 2).job_id)
        client.download(client.wait(client.outpaint(up.id, 2).job_id), "out")
"""

from __future__ import annotations

from outframe.client.aio import AsyncClient
from outframe.client.errors import (
    ApiConnectionError,
    ApiError,
    AuthenticationError,
    BadRequest,
    Conflict,
    InsufficientCredits,
    JobCancelled,
    JobFailed,
    NotFound,
    OutframeError,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    ServerError,
    WaitTimeout,
)
from outframe.client.models import Account, Job, JobPage, Submitted
from outframe.client.sync import Client

__all__ = [
    "Account",
    "ApiConnectionError",
    "ApiError",
    "AsyncClient",
    "AuthenticationError",
    "BadRequest",
    "Client",
    "Conflict",
    "InsufficientCredits",
    "Job",
    "JobCancelled",
    "JobFailed",
    "JobPage",
    "NotFound",
    "OutframeError",
    "PayloadTooLarge",
    "PermissionDenied",
    "RateLimited",
    "ServerError",
    "Submitted",
    "WaitTimeout",
]
