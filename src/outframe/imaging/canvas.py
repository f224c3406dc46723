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


def zoom_out(image: RGB, ratio: float) -> Canvas:
    """Midjourney's Zoom Out: same size, the image area-downscaled by 1/ratio in the centre."""
    height, width = image.shape[:2]
    inner_w, inner_h = zoom_inner_size(width, height, ratio)
    small = cv2.resize(image, (inner_w, inner_h), interpolation=cv2.INTER_AREA)
    x0 = (width - inner_w) // 2
    y0 = (height - inner_h) // 2
    pixels = np.zeros_like(image)
    keep = np.zeros((height, width), dtype=bool)
    pixels[y0 : y0 + inner_h, x0 : x0 + inner_w] = small
    keep[y0 : y0 + inner_h, x0 : x0 + inner_w] = True
    return Canvas(pixels, keep)


def make_square(image: RGB) -> Canvas:
    """Midjourney's Make Square (apiframe v1's outpaint with zoom_ratio 1): the short side grows
    to the long one, the image kept unscaled in the centre."""
    height, width = image.shape[:2]
    side = max(width, height)
    x0, y0 = (side - width) // 2, (side - height) // 2
    pixels = np.zeros((side, side, 3), dtype=np.uint8)
    keep = np.zeros((side, side), dtype=bool)
    pixels[y0 : y0 + height, x0 : x0 + width] = image
    keep[y0 : y0 + height, x0 : x0 + width] = True
    return Canvas(pixels, keep)


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
