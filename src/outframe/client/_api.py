"""The v2 operations, written once for both clients: each builds its Call and hands the flow to
the client, which runs it (sync) or returns it to be awaited (async)."""

from __future__ import annotations

import base64
import builtins
import mimetypes
import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Generic, Literal, TypedDict, TypeVar

import httpx
from typing_extensions import Unpack

from outframe.client._flow import (
    DEFAULT_BASE_URL,
    Call,
    Flow,
    Flows,
    Retry,
    json_of,
    merge,
    new_idempotency_key,
)
from outframe.client.errors import OutframeError
from outframe.client.models import Account, Job, JobPage, Submitted
from outframe.client.sse import ProgressCallback, Waiter

SubmitT = TypeVar("SubmitT")
JobT = TypeVar("JobT")
PageT = TypeVar("PageT")
AccountT = TypeVar("AccountT")
DataT = TypeVar("DataT")
PathsT = TypeVar("PathsT")

Direction = Literal["up", "down", "left", "right"]
ZoomDirection = Literal["in", "out"]
VideoFormat = Literal["mp4", "webm"]
WebhookEvent = Literal["progress", "completed", "failed"]
ImageInput = bytes | str | os.PathLike[str]
AnyTransport = httpx.BaseTransport | httpx.AsyncBaseTransport | None


class SubmitOptions(TypedDict, total=False):
    """What every POST takes besides its own fields."""

    webhook_url: str
    webhook_events: Sequence[WebhookEvent]
    idempotency_key: str  # default: a fresh one per call, kept across the client's retries


def settings_from_env(base_url: str | None, api_key: str | None) -> tuple[str, str]:
    """The base URL and key given, else OUTFRAME_URL / OUTFRAME_KEY, else the local default."""
    url = base_url or os.environ.get("OUTFRAME_URL") or DEFAULT_BASE_URL
    key = api_key or os.environ.get("OUTFRAME_KEY") or ""
    if not key:
        raise OutframeError("an API key is required: pass api_key= or set OUTFRAME_KEY")
    return url.rstrip("/"), key


def _file_bytes(image: ImageInput) -> tuple[str, bytes]:
    if isinstance(image, bytes):
        return "image.png", image
    path = Path(image)
    return path.name, path.read_bytes()


class Operations(ABC, Generic[SubmitT, JobT, PageT, AccountT, DataT, PathsT]):
    """One method per v2 operation. Every POST carries an Idempotency-Key (a fresh one unless
    given), so the client's own retries after a dropped connection never make a second job."""

    _flows: Flows

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 60.0,
        max_retries: int = 3,
        stream_timeout: float = 60.0,
        transport: AnyTransport = None,
    ) -> None:
        """`base_url` and `api_key` default to OUTFRAME_URL / OUTFRAME_KEY; `timeout` is per
        request, `stream_timeout` the longest silence of an event stream; `transport`, an httpx
        transport (sync for Client, async for AsyncClient)."""
        url, key = settings_from_env(base_url, api_key)
        http = self._open(url, timeout, transport)
        self._flows = Flows(http, key, Retry(max_retries=max_retries), stream_timeout)

    @abstractmethod
    def _open(
        self, base_url: str, timeout: float, transport: AnyTransport
    ) -> httpx.Client | httpx.AsyncClient: ...

    @property
    def retry(self) -> Retry:
        """The retry policy (its `on_retry(reason, seconds)` hook sees each wait)."""
        return self._flows.retry

    # --- how each kind of answer is run: sync returns it, async returns an awaitable ---

    @abstractmethod
    def _submitted(self, flow: Flow[Submitted]) -> SubmitT: ...

    @abstractmethod
    def _job(self, flow: Flow[Job]) -> JobT: ...

    @abstractmethod
    def _page(self, flow: Flow[JobPage]) -> PageT: ...

    @abstractmethod
    def _account(self, flow: Flow[Account]) -> AccountT: ...

    @abstractmethod
    def _data(self, flow: Flow[dict[str, Any]]) -> DataT: ...

    @abstractmethod
    def _paths(self, flow: Flow[builtins.list[Path]]) -> PathsT: ...

    # --- submit ---

    def _post(
        self,
        path: str,
        body: dict[str, Any] | None,
        idempotency_key: str | None,
        **files: Any,
    ) -> SubmitT:
        call = Call(
            "POST",
            path,
            lambda r: Submitted.parse(json_of(r)),
            json=body,
            idempotency_key=idempotency_key or new_idempotency_key(),
            **files,
        )
        return self._submitted(self._flows.request(call))

    def _action(
        self, action: str, parent_job_id: str, fields: dict[str, Any], options: SubmitOptions
    ) -> SubmitT:
        body = {"action": action, "parentJobId": parent_job_id, **merge(fields.items())}
        body.update(_webhook(options))
        return self._post("/v2/images/midjourney/action", body, options.get("idempotency_key"))

    def generate(
        self, prompt: str, *, aspect_ratio: str | None = None, **options: Unpack[SubmitOptions]
    ) -> SubmitT:
        """A grid of four from a prompt (`--ar W:H` and `--seed N` in it are honoured)."""
        body: dict[str, Any] = {"prompt": prompt, "model": "midjourney", **_webhook(options)}
        if aspect_ratio is not None:
            body["midjourneyParams"] = {"aspect_ratio": aspect_ratio}
        return self._post("/v2/images/generate", body, options.get("idempotency_key"))

    def upsample(self, parent_job_id: str, index: int, **options: Unpack[SubmitOptions]) -> SubmitT:
        """Image `index` (1-4) of a grid on its own; zoom, pan and inpaint start from one."""
        return self._action("upsample", parent_job_id, {"index": index}, options)

    def variation(
        self, parent_job_id: str, index: int, *, prompt: str | None = None,
        **options: Unpack[SubmitOptions],
    ) -> SubmitT:  # fmt: skip
        """A new grid like image `index` of a grid."""
        fields = {"index": index, "prompt": prompt}
        return self._action("variation", parent_job_id, fields, options)

    def outpaint(
        self, parent_job_id: str, zoom_ratio: float = 2.0, *, prompt: str | None = None,
        **options: Unpack[SubmitOptions],
    ) -> SubmitT:  # fmt: skip
        """Zoom out an upsample or import by `zoom_ratio` (1.5 or 2; outframe: any in (1, 2])."""
        fields = {"zoomRatio": float(zoom_ratio), "prompt": prompt}
        return self._action("outpaint", parent_job_id, fields, options)

    def pan(
        self, parent_job_id: str, direction: Direction, *, prompt: str | None = None,
        **options: Unpack[SubmitOptions],
    ) -> SubmitT:  # fmt: skip
        """Grow an upsample or import by half towards `direction`."""
        fields = {"direction": direction, "prompt": prompt}
        return self._action("pan", parent_job_id, fields, options)

    def inpaint(
        self, parent_job_id: str, mask: ImageInput, *, prompt: str | None = None,
        **options: Unpack[SubmitOptions],
    ) -> SubmitT:  # fmt: skip
        """Repaint the white part of `mask` (a PNG of the parent's size: bytes or a path)."""
        fields = {"mask": base64.b64encode(_file_bytes(mask)[1]).decode("ascii"), "prompt": prompt}
        return self._action("inpaint", parent_job_id, fields, options)

    def import_image(self, image: ImageInput, **options: Unpack[SubmitOptions]) -> SubmitT:
        """An image of your own (bytes or a path) as a COMPLETED job, to zoom, pan or inpaint
        (an outframe extension)."""
        name, content = _file_bytes(image)
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        form = _webhook(options)
        return self._post(
            "/v2/images/import",
            None,
            options.get("idempotency_key"),
            files={"image": (name, content, kind)},
            data=form or None,
        )

    def zoom_video(
        self, job_id: str, *, direction: ZoomDirection = "out", fps: int = 30,
        seconds_per_step: float = 2.0, size: int | None = None, video_format: VideoFormat = "mp4",
        **options: Unpack[SubmitOptions],
    ) -> SubmitT:  # fmt: skip
        """Extension: a zoom video through the chain of zoom-outs that ends at `job_id` (an
        upsample of an outpaint); `size` is the longer side (default the images' own)."""
        body = merge(
            [
                ("jobId", job_id),
                ("direction", direction),
                ("fps", fps),
                ("secondsPerStep", float(seconds_per_step)),
                ("size", size),
                ("format", video_format),
            ]
        )
        body.update(_webhook(options))
        return self._post("/v2/videos/zoom", body, options.get("idempotency_key"))

    # --- read ---

    def get(self, job_id: str) -> JobT:
        """The job as it is now."""
        return self._job(self._flows.get(job_id))

    def list(
        self, *, status: str | None = None, limit: int = 20, cursor: str | None = None
    ) -> PageT:
        """A page of the account's jobs, newest first."""
        params = merge([("status", status), ("limit", limit), ("cursor", cursor)])
        call = Call("GET", "/v2/jobs", lambda r: JobPage.parse(json_of(r)), params=params)
        return self._page(self._flows.request(call))

    def me(self) -> AccountT:
        """The key's team (credits, concurrency limit) and the key."""
        call = Call("GET", "/v2/me", lambda r: Account.parse(json_of(r)))
        return self._account(self._flows.request(call))

    def cancel(self, job_id: str) -> JobT:
        """Extension: cancel a job (a QUEUED one at once, a PROCESSING one at its next progress
        step; refunded); returns the job as it is then."""
        call = Call(
            "POST",
            f"/v2/jobs/{job_id}/cancel",
            lambda r: Job.parse(json_of(r)),
            idempotency_key=new_idempotency_key(),  # (cancelling twice is harmless: retried)
        )
        return self._job(self._flows.request(call))

    def models(self) -> DataT:
        """The models the server runs (GET /v2/models, which needs no key)."""
        return self._data(self._flows.request(Call("GET", "/v2/models", json_of)))

    def webhooks(self, job_id: str) -> DataT:
        """Extension: every webhook delivery of the job and its attempts."""
        return self._data(self._flows.request(Call("GET", f"/v2/jobs/{job_id}/webhooks", json_of)))

    def redeliver(self, job_id: str) -> DataT:
        """Extension: send the job's final webhook again."""
        call = Call("POST", f"/v2/jobs/{job_id}/webhooks/redeliver", json_of)
        return self._data(self._flows.request(call))

    # --- follow ---

    def wait(
        self,
        job_id: str,
        *,
        on_progress: ProgressCallback | None = None,
        timeout: float = 900.0,
        poll_interval: float = 0.5,
        max_poll_interval: float = 3.0,
        stream: bool = True,
    ) -> JobT:
        """The job once COMPLETED (JobFailed, JobCancelled or WaitTimeout otherwise), calling
        `on_progress(job)` at each change. Follows the server's event stream where it has one
        (GET /v2/jobs/:id/events) and polls GET /v2/jobs/:id where it has not (or if not
        `stream`: for a proxy that holds streamed answers back)."""
        waiter = Waiter(job_id, on_progress, timeout, poll_interval, max_poll_interval)
        return self._job(self._flows.wait(job_id, waiter, stream))

    def download(
        self, job: Job | str, folder: str | os.PathLike[str], *, grid: bool = False
    ) -> PathsT:
        """Save a COMPLETED job's images (and its grid, if `grid`), or a video's file, into
        `folder`, named as on the server (`<jobId>-<n>.png`, `<jobId>-video.mp4`); returns
        their paths."""
        return self._paths(self._flows.download(job, Path(folder), grid))


def _webhook(options: SubmitOptions) -> dict[str, Any]:
    """The webhook options as the API spells them."""
    events = options.get("webhook_events")
    return merge(
        [("webhookUrl", options.get("webhook_url")), ("webhookEvents", list(events or []) or None)]
    )
