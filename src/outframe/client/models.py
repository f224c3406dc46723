"""What the API answers, as typed dataclasses; `raw` keeps the whole JSON for fields added later."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TERMINAL = frozenset({"COMPLETED", "FAILED", "CANCELLED"})


def _int(value: object, default: int = 0) -> int:
    return int(value) if isinstance(value, int | float) else default


def _str(value: object) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class Submitted:
    """The answer to a POST: the new job's id and its first status."""

    job_id: str
    status: str
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def parse(cls, data: dict[str, Any]) -> Submitted:
        return cls(job_id=str(data["jobId"]), status=str(data.get("status", "")), raw=data)


@dataclass(frozen=True)
class Job:
    """A job as GET /v2/jobs/:id shows it."""

    id: str
    status: str
    action: str
    progress: int
    images: list[str]
    grid_url: str | None
    error: str | None
    credit_cost: int
    parent_job_id: str | None
    created_at: str | None
    completed_at: str | None
    video_url: str | None = None  # a zoom video's (extension); it has no images
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def done(self) -> bool:
        """True once the job is COMPLETED, FAILED or CANCELLED."""
        return self.status in TERMINAL

    @property
    def is_grid(self) -> bool:
        """A grid of four (generate, variation, outpaint, pan, inpaint): upsample one to go on."""
        return self.grid_url is not None or len(self.images) > 1

    @classmethod
    def parse(cls, data: dict[str, Any]) -> Job:
        result = data.get("result") if isinstance(data.get("result"), dict) else {}
        assert isinstance(result, dict)
        images = result.get("images") or []
        return cls(
            id=str(data.get("id") or data.get("jobId")),
            status=str(data.get("status", "")),
            action=str(data.get("action", "")),
            progress=_int(data.get("progress")),
            images=[str(url) for url in images],
            grid_url=_str(result.get("gridUrl")),
            error=_str(data.get("error")),
            credit_cost=_int(data.get("creditCost")),
            parent_job_id=_str(data.get("parentJobId")),
            created_at=_str(data.get("createdAt")),
            completed_at=_str(data.get("completedAt")),
            video_url=_str(result.get("videoUrl")),
            raw=data,
        )


@dataclass(frozen=True)
class JobPage:
    """One page of GET /v2/jobs, newest first; pass `next_cursor` for the next."""

    jobs: list[Job]
    next_cursor: str | None
    has_more: bool

    @classmethod
    def parse(cls, data: dict[str, Any]) -> JobPage:
        return cls(
            jobs=[Job.parse(job) for job in data.get("jobs", [])],
            next_cursor=_str(data.get("nextCursor")),
            has_more=bool(data.get("hasMore")),
        )


@dataclass(frozen=True)
class Account:
    """GET /v2/me: the key's team (credits, concurrency) and the key itself."""

    team_id: str
    team_name: str
    credits: int
    max_concurrent_jobs: int
    key_id: str
    key_name: str
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def parse(cls, data: dict[str, Any]) -> Account:
        team = data.get("team") or {}
        key = data.get("apiKey") or {}
        return cls(
            team_id=str(team.get("id", "")),
            team_name=str(team.get("name", "")),
            credits=_int(team.get("credits")),
            max_concurrent_jobs=_int(team.get("maxConcurrentJobs")),
            key_id=str(key.get("id", "")),
            key_name=str(key.get("name", "")),
            raw=data,
        )
