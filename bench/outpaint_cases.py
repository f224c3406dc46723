"""Outpaint bench inputs and baselines: skimage photos, zoom-out canvases, weight-free fills."""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
from numpy.typing import NDArray
from skimage import data

Image = NDArray[np.uint8]
Mask = NDArray[np.bool_]

# The RGB photographs that skimage ships (colorwheel and logo are drawings; cat is chelsea).
PHOTOS: dict[str, Callable[[], Image]] = {
    "astronaut": data.astronaut,
    "chelsea": data.chelsea,
    "coffee": data.coffee,
    "rocket": data.rocket,
    "motorcycle": lambda: data.stereo_motorcycle()[0],
    "hubble": data.hubble_deep_field,
    "ihc": data.immunohistochemistry,
    "retina": data.retina,
}
QUICK = ["astronaut", "chelsea", "coffee"]


def truth(name: str, size: int) -> Image:
    """The photo, centre-cropped square and resized to size x size."""
    img = np.ascontiguousarray(PHOTOS[name]()[..., :3])
    h, w = img.shape[:2]
    side = min(h, w)
    y0, x0 = (h - side) // 2, (w - side) // 2
    square = img[y0 : y0 + side, x0 : x0 + side]
    interp = cv2.INTER_AREA if side > size else cv2.INTER_CUBIC
    return np.ascontiguousarray(cv2.resize(square, (size, size), interpolation=interp))


def zoom_canvas(image: Image, ratio: float) -> tuple[Image, Mask, tuple[int, int, int, int]]:
    """The truth's centre crop of side size/ratio on an empty canvas of the truth's size."""
    size = image.shape[0]
    inner = round(size / ratio)
    o = (size - inner) // 2
    canvas = np.zeros_like(image)
    keep = np.zeros(image.shape[:2], bool)
    canvas[o : o + inner, o : o + inner] = image[o : o + inner, o : o + inner]
    keep[o : o + inner, o : o + inner] = True
    return canvas, keep, (o, o, inner, inner)


def _pad(canvas: Image, box: tuple[int, int, int, int], mode: int) -> Image:
    y0, x0, h, w = box
    crop = canvas[y0 : y0 + h, x0 : x0 + w]
    bottom = canvas.shape[0] - y0 - h
    right = canvas.shape[1] - x0 - w
    return np.asarray(cv2.copyMakeBorder(crop, y0, bottom, x0, right, mode), np.uint8)


def replicate(canvas: Image, keep: Mask, box: tuple[int, int, int, int]) -> Image:
    return _pad(canvas, box, cv2.BORDER_REPLICATE)


def reflect(canvas: Image, keep: Mask, box: tuple[int, int, int, int]) -> Image:
    return _pad(canvas, box, cv2.BORDER_REFLECT_101)


def telea(canvas: Image, keep: Mask, box: tuple[int, int, int, int]) -> Image:
    hole = (~keep).astype(np.uint8)
    return np.asarray(cv2.inpaint(canvas, hole, 3, cv2.INPAINT_TELEA), np.uint8)


def patchmatch_fill() -> Callable[[Image, Mask, tuple[int, int, int, int]], Image] | None:
    """pypatchmatch with InvokeAI's patch_size=3, or None where it is not installed."""
    try:
        from patchmatch import patch_match  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    if not patch_match.patchmatch_available:
        return None

    def fill(canvas: Image, keep: Mask, box: tuple[int, int, int, int]) -> Image:
        patch_match.set_random_seed(1)
        hole = (~keep).astype(np.uint8) * 255
        return np.asarray(patch_match.inpaint(canvas, hole, patch_size=3), np.uint8)

    return fill
