"""What the server and the diffusion worker process say to each other (no torch here).

Server → worker: a Request; CANCEL to stop the running one; None to exit.
Worker → server: once at start ("ready", Ready) or ("failed", message); then for each request
any number of ("progress", fraction) and one of ("done", images), ("cancelled",) or
("error", kind, message), where kind is one of ErrorKind.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from outframe.imaging.codec import RGB

Task = Literal["text", "image", "inpaint"]
CANCEL = "cancel"


class ErrorKind(str, Enum):
    OUT_OF_MEMORY = "out_of_memory"  # the worker freed its caches and goes on
    DEVICE = "device"  # the device is in an unknown state: the worker exits, to be restarted
    OTHER = "other"


@dataclass(frozen=True)
class Options:
    """What the worker process loads, and how it runs."""

    text_model: Path
    inpaint_model: Path | None
    device: str
    dtype: str  # auto, float16, bfloat16 or float32
    steps: int
    guidance: float | None  # text-to-image and image-to-image
    inpaint_guidance: float | None
    cpu_offload: bool
    cpu_threads: int  # 0 = all cores but one (the server needs one too)


@dataclass(frozen=True)
class Ready:
    """What the loaded models are, for sizing requests."""

    native_side: int  # the text model's training resolution (square side, pixels)
    fill_side: int  # the inpainting model's
    multiple: int  # generation sizes must be multiples of this
    device: str
    dtype: str
    pipelines: tuple[str, ...]


@dataclass(frozen=True)
class Request:
    """One image per seed at width x height. `images` (one per seed) are the start points of
    "image" and "inpaint" tasks; `mask` (True = repaint) is the inpaint task's."""

    task: Task
    prompt: str
    seeds: tuple[int, ...]
    width: int
    height: int
    images: tuple[RGB, ...] = ()
    mask: NDArray[np.bool_] | None = None
    strength: float = 1.0
