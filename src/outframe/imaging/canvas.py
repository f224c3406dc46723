"""Canvas geometry shared by every engine: where the kept image sits and what is new."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from outframe.imaging.codec import RGB

Mask = NDArray[np.bool_]


@dataclass(frozen=True)
class Canvas:
    """An image to complete: pixels where keep is True are final, the rest is to be made."""

    pixels: RGB
    keep: Mask

    @property
    def size(self) -> tuple[int, int]:
        height, width = self.keep.shape
        return width, height


def zoom_inner_size(width: int, height: int, ratio: float) -> tuple[int, int]:
    """The size the image is shrunk to inside a zoom-out canvas of its own size."""
    return max(1, round(width / ratio)), max(1, round(height / ratio))


@dataclass(frozen=True)
class Placement:
    """Where an outpaint puts its parent: the rectangle (in the new image's pixels) that the
    parent, scaled to width x height, fills inside a canvas of canvas_width x canvas_height."""

    x: int
    y: int
    width: int
    height: int
    canvas_width: int
    canvas_height: int

    def as_list(self) -> list[int]:
        return [self.x, self.y, self.width, self.height, self.canvas_width, self.canvas_height]

    @classmethod
    def from_list(cls, values: list[int]) -> Placement:
        x, y, width, height, canvas_width, canvas_height = (int(v) for v in values)
        return cls(x, y, width, height, canvas_width, canvas_height)


def outpaint_placement(width: int, height: int, ratio: float) -> Placement:
    """Where an outpaint of a width x height parent puts it: Zoom Out (ratio above 1) or Make
    Square (ratio 1). zoom_out and make_square place it so; the outpaint job records it."""
    if ratio == 1:
        side = max(width, height)
        return Placement((side - width) // 2, (side - height) // 2, width, height, side, side)
    inner_w, inner_h = zoom_inner_size(width, height, ratio)
    return Placement(
        (width - inner_w) // 2, (height - inner_h) // 2, inner_w, inner_h, width, height
    )


def _place(image: RGB, where: Placement) -> Canvas:
    small = image
    if (where.width, where.height) != image.shape[1::-1]:
        small = np.asarray(
            cv2.resize(image, (where.width, where.height), interpolation=cv2.INTER_AREA),
            dtype=np.uint8,
        )
    pixels = np.zeros((where.canvas_height, where.canvas_width, 3), dtype=np.uint8)
    keep = np.zeros(pixels.shape[:2], dtype=bool)
    rows = slice(where.y, where.y + where.height)
    cols = slice(where.x, where.x + where.width)
    pixels[rows, cols] = small
    keep[rows, cols] = True
    return Canvas(pixels, keep)


def zoom_out(image: RGB, ratio: float) -> Canvas:
    """Midjourney's Zoom Out: same size, the image area-downscaled by 1/ratio in the centre."""
    height, width = image.shape[:2]
    return _place(image, outpaint_placement(width, height, ratio))


def make_square(image: RGB) -> Canvas:
    """Midjourney's Make Square (apiframe v1's outpaint with zoom_ratio 1): the short side grows
    to the long one, the image kept unscaled in the centre."""
    height, width = image.shape[:2]
    return _place(image, outpaint_placement(width, height, 1))


PAN_DIRECTIONS = ("up", "down", "left", "right")


def pan_size(width: int, height: int, direction: str) -> tuple[int, int]:
    """The canvas of a pan: the image's size grown by half of it in `direction`."""
    grow_x = width // 2 if direction in ("left", "right") else 0
    grow_y = height // 2 if direction in ("up", "down") else 0
    return width + grow_x, height + grow_y


def pan(image: RGB, direction: str) -> Canvas:
    """The canvas grows by half of the image in one direction; the image is kept unscaled."""
    height, width = image.shape[:2]
    canvas_w, canvas_h = pan_size(width, height, direction)
    grow_x, grow_y = canvas_w - width, canvas_h - height
    pixels = np.zeros((canvas_h, canvas_w, 3), dtype=np.uint8)
    keep = np.zeros(pixels.shape[:2], dtype=bool)
    x0 = grow_x if direction == "left" else 0
    y0 = grow_y if direction == "up" else 0
    pixels[y0 : y0 + height, x0 : x0 + width] = image
    keep[y0 : y0 + height, x0 : x0 + width] = True
    return Canvas(pixels, keep)


def repaint(image: RGB, repaint_mask: Mask) -> Canvas:
    """Inpaint: the image with the masked pixels to be made anew."""
    return Canvas(image.copy(), ~repaint_mask)


def grid(images: list[RGB]) -> RGB:
    """The 2x2 composite of four equally sized images, at full resolution."""
    if len(images) != 4:
        raise ValueError("a grid needs exactly four images")
    top = np.concatenate(images[:2], axis=1)
    bottom = np.concatenate(images[2:], axis=1)
    return np.concatenate([top, bottom], axis=0)


def aspect_size(aspect_ratio: tuple[int, int], side: int) -> tuple[int, int]:
    """Width and height with about side² pixels at the given aspect ratio, multiples of 8."""
    w_ratio, h_ratio = aspect_ratio
    scale = (w_ratio / h_ratio) ** 0.5
    width = max(8, round(side * scale / 8) * 8)
    height = max(8, round(side / scale / 8) * 8)
    return width, height
