"""How jobs look from outside: the API's job view and the webhook payloads share these."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from outframe.storage.base import BlobStorage

MODEL = "midjourney"  # the one model of apiframe's that outframe serves


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def result_view(stored: Mapping[str, Any] | None, storage: BlobStorage) -> dict[str, Any] | None:
    """The stored result (blob names) as clients see it (URLs)."""
    if not stored:
        return None
    if "video" in stored:  # a zoom video (extension)
        return {
            "videoUrl": storage.url(stored["video"]),
            **{key: stored[key] for key in ("frames", "seconds", "width", "height")},
        }
    result: dict[str, Any] = {"images": [storage.url(name) for name in stored["images"]]}
    if "grid" in stored:
        result["gridUrl"] = storage.url(stored["grid"])
    return result


def job_view(job: Mapping[str, Any], storage: BlobStorage) -> dict[str, Any]:
    """A job as GET /v2/jobs/:id shows it (built as a dict: this is the hottest path)."""
    return {
        "id": job["id"],
        "status": job["status"],
        "model": MODEL,
        "action": job["action"],
        "parentJobId": job["parent_job_id"],
        "progress": job["progress"],
        "result": result_view(job["result"], storage),
        "error": job["error"],
        "creditCost": job["credit_cost"],
        "webhookStatus": job["webhook_status"],
        "input": job["input"],
        "expired": job["images_purged_at"] is not None,
        "createdAt": iso(job["created_at"]),
        "completedAt": iso(job["completed_at"]),
    }


def event_payload(job: Mapping[Any, Any], event: str, storage: BlobStorage) -> dict[str, Any]:
    """A job event (progress, completed, failed) as webhooks and event streams send it; and
    `cancelled`, which only event streams send (apiframe's webhooks have no such event)."""
    body: dict[str, Any] = {"event": event, "jobId": job["id"]}
    if event == "progress":
        body |= {"status": job["status"], "progress": job["progress"]}
    elif event == "completed":
        body |= {
            "status": "COMPLETED",
            "progress": 100,
            "result": result_view(job["result"], storage),
            "creditCost": job["credit_cost"],
            "completedAt": iso(job["completed_at"]),
        }
    elif event == "cancelled":
        body |= {"status": "CANCELLED", "creditCost": 0, "completedAt": iso(job["completed_at"])}
    else:
        body |= {"status": "FAILED", "error": job["error"]}
    return body | {"model": MODEL}


# --- apiframe v1 ------------------------------------------------------------------------------
# A job submitted through the v1 adapter carries these params: the v1 flag (its webhooks get
# v1's payload) and the client's webhook_secret (sent back as x-webhook-secret).
V1_FLAG = "apiV1"
V1_SECRET = "webhookSecret"
V1_TASK_TYPES = {
    "generate": "imagine",
    "upsample": "upscale-1x",
    "variation": "variations",
    "outpaint": "outpaint",
    "pan": "pan",
    "inpaint": "inpaint",
    "import": "import",
    "video": "zoom-video",
}
_V1_STATUS = {
    "QUEUED": "pending",
    "PROCESSING": "processing",
    "COMPLETED": "finished",
    "FAILED": "failed",
    "CANCELLED": "failed",
}
_GRID_ACTIONS = [f"upscale{i}" for i in range(1, 5)] + [f"variation{i}" for i in range(1, 5)]


def is_v1(params: Mapping[str, Any] | None) -> bool:
    return bool(params and params.get(V1_FLAG))


def task_view(job: Mapping[Any, Any], storage: BlobStorage) -> dict[str, Any]:
    """A job as apiframe v1's /fetch (and its webhooks) show it: snake_case, `status`
    pending|processing|finished|failed, `percentage` as a string."""
    status = str(job["status"])
    task: dict[str, Any] = {
        "task_id": job["id"],
        "task_type": V1_TASK_TYPES.get(str(job["action"]), str(job["action"])),
        "status": _V1_STATUS[status],
    }
    if status in ("QUEUED", "PROCESSING"):
        task["percentage"] = str(job["progress"])
        return task
    if status != "COMPLETED":
        task["message"] = job["error"] or "the job was cancelled"
        return task
    result = result_view(job["result"], storage) or {"images": []}
    if "videoUrl" in result:  # a zoom video: v1 has none, so its own field
        task["video_url"] = result["videoUrl"]
        return task
    task["image_urls"] = result["images"]
    task["original_image_url"] = result.get("gridUrl") or result["images"][0]
    if "gridUrl" in result:
        task["actions"] = [*_GRID_ACTIONS, "reroll"]
    else:
        task["image_url"] = result["images"][0]
        task["actions"] = ["outpaint", "pan", "inpaint"]
    return task
