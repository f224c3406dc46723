"""The vocabulary of jobs: statuses, actions, their costs and which parents they take."""

from __future__ import annotations

from enum import Enum


class JobStatus(str, Enum):
    QUEUED = "QUEUED"
    PROCESSING = "PROCESSING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"  # by the client (POST /v2/jobs/:id/cancel), refunded

    @property
    def terminal(self) -> bool:
        return self in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)


class Action(str, Enum):
    GENERATE = "generate"
    UPSAMPLE = "upsample"
    VARIATION = "variation"
    OUTPAINT = "outpaint"
    PAN = "pan"
    INPAINT = "inpaint"
    IMPORT = "import"
    VIDEO = "video"  # extension: a zoom video of a chain of zoom-outs (POST /v2/videos/zoom)

    @property
    def cost(self) -> int:
        """The flat cost; a video's is priced per job by its size (outframe.video.pricing)."""
        return _COSTS[self]

    @property
    def makes_grid(self) -> bool:
        return self in GRID_ACTIONS

    @property
    def parent_kinds(self) -> frozenset[Action]:
        """The actions whose completed jobs may be this action's parent (empty: no parent)."""
        return _PARENTS.get(self, frozenset())


GRID_ACTIONS = frozenset(
    {Action.GENERATE, Action.VARIATION, Action.OUTPAINT, Action.PAN, Action.INPAINT}
)
SINGLE_IMAGE_ACTIONS = frozenset({Action.UPSAMPLE, Action.IMPORT})

_COSTS = {
    Action.GENERATE: 16,
    Action.UPSAMPLE: 4,
    Action.VARIATION: 16,
    Action.OUTPAINT: 16,
    Action.PAN: 16,
    Action.INPAINT: 16,
    Action.IMPORT: 0,
    Action.VIDEO: 0,
}

_PARENTS = {
    Action.UPSAMPLE: GRID_ACTIONS,
    Action.VARIATION: GRID_ACTIONS,
    Action.OUTPAINT: SINGLE_IMAGE_ACTIONS,
    Action.PAN: SINGLE_IMAGE_ACTIONS,
    Action.INPAINT: SINGLE_IMAGE_ACTIONS,
    Action.VIDEO: SINGLE_IMAGE_ACTIONS,  # the upsample or import that ends a chain of zoom-outs
}
