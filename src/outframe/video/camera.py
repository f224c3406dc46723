"""Where the chain's images sit in one plane, and the view that moves through them.

The outermost image is the world's unit grid; each image before it sits inside the next at
the rectangle its outpaint recorded. A view is a rectangle of the video's aspect ratio. Between
two images the view moves by a similarity whose fixed point is the spot that stays still as the
camera pulls back, so the scale changes by the same factor every frame: a constant apparent
speed however the images were placed (centred, off by a rounding pixel, or Make Square).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

Window = tuple[float, float, float, float]  # x, y, width, height in world units


@dataclass(frozen=True)
class Level:
    """One image of the chain in world units: its top-left corner and the size of a pixel."""

    width: int
    height: int
    x: float
    y: float
    px: float
    py: float

    @property
    def right(self) -> float:
        return self.x + self.width * self.px

    @property
    def bottom(self) -> float:
        return self.y + self.height * self.py

    def covers(self, window: Window) -> bool:
        x, y, w, h = window
        eps = 1e-9 * max(self.width * self.px, self.height * self.py)
        return (
            x >= self.x - eps
            and y >= self.y - eps
            and x + w <= self.right + eps
            and y + h <= self.bottom + eps
        )


@dataclass(frozen=True)
class Inside:
    """Where one image of the chain sits in the next: a rectangle of the next one's pixels."""

    x: float
    y: float
    width: float
    height: float


def place(sizes: Sequence[tuple[int, int]], insides: Sequence[Inside]) -> list[Level]:
    """The chain's images, innermost first, in world units: `sizes[k]` is image k's pixel size
    and `insides[k]` where image k sits in image k + 1."""
    if len(insides) != len(sizes) - 1:
        raise ValueError("one placement per image but the outermost")
    width, height = sizes[-1]
    levels = [Level(width, height, 0.0, 0.0, 1.0, 1.0)]
    for (width, height), inside in zip(reversed(sizes[:-1]), reversed(insides), strict=True):
        outer = levels[-1]
        levels.append(
            Level(
                width,
                height,
                outer.x + inside.x * outer.px,
                outer.y + inside.y * outer.py,
                outer.px * inside.width / width,
                outer.py * inside.height / height,
            )
        )
    return levels[::-1]


def video_size(width: int, height: int, longer_side: int) -> tuple[int, int]:
    """The frame size: the outermost image's shape with `longer_side`, both sides even (the
    4:2:0 sampling of H.264 and VP9 needs them so)."""

    def even(value: float) -> int:
        return max(2, 2 * round(value / 2))

    if width >= height:
        return even(longer_side), even(longer_side * height / width)
    return even(longer_side * width / height), even(longer_side)


def key_view(level: Level, aspect: float) -> Window:
    """The largest view of the video's aspect ratio centred in the image."""
    world_w, world_h = level.width * level.px, level.height * level.py
    w = min(world_w, world_h * aspect)
    h = w / aspect
    return level.x + (world_w - w) / 2, level.y + (world_h - h) / 2, w, h


@dataclass(frozen=True)
class _Segment:
    start: Window  # the view that shows the inner image
    scale: float  # how much larger the view that shows the outer one is
    fixed: tuple[float, float]  # the world point that stays still


class Camera:
    """Views from the innermost image (u = 0) to the outermost (u = `length`); u is the log of
    the zoom, so equal steps of u are equal factors of scale."""

    def __init__(self, levels: Sequence[Level], aspect: float) -> None:
        views = [key_view(level, aspect) for level in levels]
        self.segments: list[_Segment] = []
        self.bounds = [0.0]
        for inner, outer in itertools.pairwise(views):
            scale = outer[2] / inner[2]
            if scale <= 1 + 1e-9:
                raise ValueError("each image of the chain must be a zoom-out of the one before")
            fixed = (
                (outer[0] - scale * inner[0]) / (1 - scale),
                (outer[1] - scale * inner[1]) / (1 - scale),
            )
            self.segments.append(_Segment(inner, scale, fixed))
            self.bounds.append(self.bounds[-1] + math.log(scale))
        self.length = self.bounds[-1]
        self.last = views[-1]

    def step_scales(self) -> list[float]:
        return [segment.scale for segment in self.segments]

    def window(self, u: float) -> Window:
        if u >= self.length:
            return self.last
        k = 0
        while u > self.bounds[k + 1]:
            k += 1
        segment = self.segments[k]
        m = math.exp(max(0.0, u - self.bounds[k]))
        (x, y, w, h), (fx, fy) = segment.start, segment.fixed
        return fx + m * (x - fx), fy + m * (y - fy), m * w, m * h


def ease(x: float, ramp: float) -> float:
    """Progress (0..1) at time x (0..1): constant speed, reached and left smoothly over `ramp`
    of the time at each end (the speed follows a smoothstep there)."""
    x = min(1.0, max(0.0, x))
    if ramp <= 0:
        return x
    if x > 0.5:
        return 1.0 - ease(1.0 - x, ramp)
    top = 1.0 / (1.0 - ramp)  # the cruising speed, so that the whole way is 1
    if x < ramp:
        t = x / ramp
        return top * ramp * (t**3 - t**4 / 2)
    return top * (ramp / 2 + x - ramp)


def ramp_fraction(seconds: float, ramp_seconds: float = 0.5) -> float:
    """The part of the video spent speeding up (and again slowing down): half a second, at most
    a quarter of it."""
    return min(0.25, ramp_seconds / seconds) if seconds > 0 else 0.0


def views(camera: Camera, frames: int, seconds: float, direction: str) -> Iterator[Window]:
    """The view of each frame: out starts on the innermost image, in on the outermost."""
    ramp = ramp_fraction(seconds)
    for i in range(frames):
        progress = ease(i / (frames - 1), ramp) if frames > 1 else 1.0
        if direction == "in":
            progress = 1.0 - progress
        yield camera.window(progress * camera.length)
