"""Request and response shapes of the apiframe v2 API (camelCase, as apiframe)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

WebhookEvent = Literal["progress", "completed", "failed"]
_ASPECT = re.compile(r"^\s*([0-9]+)\s*:\s*([0-9]+)\s*$")


def parse_aspect_ratio(value: str, name: str = "aspect_ratio") -> tuple[int, int]:
    """'W:H' with whole numbers up to 999, no more elongated than 4:1 either way; `name` is
    the field or prompt flag the messages speak of."""
    match = _ASPECT.match(value)
    if not match:
        shown = value.strip()
        shown = shown if len(shown) <= 32 else shown[:32] + "..."
        raise ValueError(f"{name} takes two whole numbers like 16:9, not {shown!r}")
    too_big = ValueError(f"{name} has a number over 999; write the ratio like 16:9")
    if max(len(match.group(1)), len(match.group(2))) > 12:
        raise too_big  # not read as a number at all: it could be thousands of digits
    w, h = int(match.group(1)), int(match.group(2))
    if w == 0 or h == 0 or w > 4 * h or h > 4 * w:
        raise ValueError(f"{name} {w}:{h} is out of range: it must be between 1:4 and 4:1")
    if max(w, h) > 999:
        raise too_big
    return w, h


class _Request(BaseModel):
    # apiframe clients send fields outframe has no use for (e.g. "mode"); they are ignored.
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    # The https rule is checked (with its reasons) when the URL is, so it is only documented.
    webhookUrl: Annotated[
        str | None,
        Field(
            max_length=2048,
            description="https:// URL of a public host (plain http only where the server "
            "allows it, for development)",
            json_schema_extra={"pattern": "^https://", "format": "uri"},
        ),
    ] = None
    webhookEvents: list[WebhookEvent] | None = None


Prompt = Annotated[str, Field(min_length=1, max_length=2000)]
OptionalPrompt = Annotated[str | None, Field(min_length=1, max_length=2000)]
Index = Annotated[int, Field(strict=True, ge=1, le=4)]


class MidjourneyParams(BaseModel):
    model_config = ConfigDict(extra="ignore")

    aspect_ratio: str = "1:1"

    @field_validator("aspect_ratio")
    @classmethod
    def _check_aspect(cls, value: str) -> str:
        w, h = parse_aspect_ratio(value)
        return f"{w}:{h}"


class GenerateRequest(_Request):
    prompt: Prompt
    model: Literal["midjourney"] = "midjourney"
    midjourneyParams: MidjourneyParams = Field(default_factory=MidjourneyParams)


class _ParentAction(_Request):
    parentJobId: UUID


class UpsampleRequest(_ParentAction):
    action: Literal["upsample"]
    index: Index


class VariationRequest(_ParentAction):
    action: Literal["variation"]
    index: Index
    prompt: OptionalPrompt = None


class OutpaintRequest(_ParentAction):
    action: Literal["outpaint"]
    # Midjourney offers 1.5 and 2; any ratio in (1, 2] is an outframe extension. Strict: "2" is
    # refused rather than guessed at.
    zoomRatio: Annotated[float, Field(strict=True, gt=1, le=2)]
    prompt: OptionalPrompt = None


class PanRequest(_ParentAction):
    action: Literal["pan"]
    direction: Literal["up", "down", "left", "right"]
    prompt: OptionalPrompt = None


class InpaintRequest(_ParentAction):
    action: Literal["inpaint"]
    mask: Annotated[str, Field(min_length=1, description="base64 PNG; white = repaint")]
    prompt: OptionalPrompt = None


ActionRequest = Annotated[
    UpsampleRequest | VariationRequest | OutpaintRequest | PanRequest | InpaintRequest,
    Field(discriminator="action"),
]
ACTION_NAMES = ("upsample", "variation", "outpaint", "pan", "inpaint")


class ImportJsonRequest(_Request):
    image: Annotated[
        str,
        Field(
            min_length=1,
            description="base64-encoded image (PNG, JPEG, WebP, TIFF, BMP or GIF); a data: URL "
            "and line breaks are accepted",
        ),
    ]


class ZoomVideoRequest(_Request):
    """Extension: a zoom video of the chain of zoom-outs that ends at `jobId`."""

    jobId: Annotated[
        UUID,
        Field(description="the upsample (or import) that ends a chain of outpaint -> upsample"),
    ]
    direction: Annotated[
        Literal["in", "out"],
        Field(description="out: from the innermost image out to this one; in: the reverse"),
    ] = "out"
    fps: Annotated[int, Field(strict=True, ge=1, le=60)] = 30
    secondsPerStep: Annotated[
        float,
        Field(
            strict=True,
            gt=0,
            le=10,
            allow_inf_nan=False,
            description="seconds per zoom-out on average: the speed is constant, so a 2x step "
            "takes longer than a 1.5x one",
        ),
    ] = 2.0
    size: Annotated[
        int | None,
        Field(
            strict=True,
            ge=64,
            le=1920,
            description="the video's longer side in pixels (made even); default the images' "
            "own, at most 1920",
        ),
    ] = None
    format: Literal["mp4", "webm"] = "mp4"


class SubmitResponse(BaseModel):
    jobId: str
    status: str


class JobResult(BaseModel):
    images: list[str] | None = Field(None, description="every job's but a video's")
    gridUrl: str | None = None
    videoUrl: str | None = Field(None, description="a zoom video's (extension), with the rest")
    frames: int | None = None
    seconds: float | None = None
    width: int | None = None
    height: int | None = None


class JobView(BaseModel):
    id: str
    status: Literal["QUEUED", "PROCESSING", "COMPLETED", "FAILED", "CANCELLED"]
    model: str
    action: str
    parentJobId: str | None
    progress: int
    result: JobResult | None
    error: str | None
    creditCost: int
    webhookStatus: Literal["pending", "delivered", "failed"] | None
    input: dict[str, Any] | None = Field(
        description="what was submitted (webhook fields left out, images elided)"
    )
    expired: bool = Field(description="the images were deleted by the retention period")
    createdAt: datetime
    completedAt: datetime | None


class JobList(BaseModel):
    jobs: list[JobView]
    nextCursor: str | None
    hasMore: bool
    models: list[str] | None = Field(None, description="with include_models=true")


class UserView(BaseModel):
    id: str
    email: str
    role: str


class TeamView(BaseModel):
    id: str
    name: str
    credits: int
    plan: str
    customerId: str | None
    maxConcurrentJobs: int


class KeyView(BaseModel):
    id: str
    name: str
    prefix: str


class MeView(BaseModel):
    user: UserView
    team: TeamView
    apiKey: KeyView


class ModelEntry(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    label: str
    modality: Literal["image", "video", "music"]


class ModelCatalog(BaseModel):
    models: list[ModelEntry]


class ErrorBody(BaseModel):
    error: str
    code: str
