"""The pixel work around the diffusion models (NumPy and OpenCV, in the server process): sizing
for the model, the repaint mask, and putting a generated image back on its canvas so that it
meets the kept pixels without a seam."""

from __future__ import annotations

import math
import re

import cv2
import numpy as np
from numpy.typing import NDArray

from outframe.engines.classic.pullpush import pull_push
from outframe.imaging.canvas import Canvas
from outframe.imaging.codec import RGB

Mask = NDArray[np.bool_]
Float = NDArray[np.float32]

_FLAGS = re.compile(r"(?:^|\s)--[a-zA-Z]")


def clean_prompt(prompt: str) -> str:
    """The prompt without Midjourney's trailing parameters (--ar 16:9 --seed 5 ...)."""
    return _FLAGS.split(prompt, maxsplit=1)[0].strip()


def generation_size(width: int, height: int, side: int, multiple: int) -> tuple[int, int]:
    """The size the model works at: about side x side pixels in all, the image's aspect ratio,
    each dimension a multiple of `multiple`."""
    scale = side / math.sqrt(width * height)

    def snap(n: int) -> int:
        return max(multiple, round(n * scale / multiple) * multiple)

    return snap(width), snap(height)


def resize(image: RGB, size: tuple[int, int]) -> RGB:
    """To (width, height): area averaging down, bicubic up."""
    width, height = size
    shrink = width * height < image.shape[0] * image.shape[1]
    interpolation = cv2.INTER_AREA if shrink else cv2.INTER_CUBIC
    return np.asarray(cv2.resize(image, (width, height), interpolation=interpolation), np.uint8)


def _grow(mask: Mask, pixels: float) -> Mask:
    """The mask grown by `pixels` (Euclidean), in time independent of the distance."""
    if pixels <= 0 or not mask.any():
        return mask
    distance = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 5)
    grown: Mask = distance <= pixels
    return grown


def at_size(canvas: Canvas, size: tuple[int, int]) -> Canvas:
    """The canvas resized for the model: kept where the kept image covers a pixel entirely."""
    coverage = cv2.resize(canvas.keep.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    return Canvas(resize(canvas.pixels, size), coverage >= 0.999)


def repaint_mask(new: Mask, size: tuple[int, int], overlap: float) -> Mask:
    """The model's mask at `size`: every pixel touching the new area, grown `overlap` pixels
    into the kept image, so the model sees and redraws the border it must continue."""
    coverage = cv2.resize(new.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    return _grow(coverage > 0, overlap)


def match_colours(image: Float, reference: Float, region: Mask) -> Float:
    """Shift each channel of `image` so that over `region` its mean is the reference's, and
    nudge its spread towards the reference's: diffusion models drift in colour over a
    repainted border. The gain stays near 1: a thin, flat band says little about contrast."""
    if region.sum() < 16:
        return image
    src, ref = image[region], reference[region]
    gain = np.clip(np.maximum(ref.std(0), 4.0) / np.maximum(src.std(0), 4.0), 0.9, 1.1)
    out: Float = (image - src.mean(0)) * gain + ref.mean(0)
    return out


def compose(generated: RGB, pixels: RGB, keep: Mask, overlap: float) -> RGB:
    """The generated image back at the canvas's size, colour-matched over the redrawn band of
    kept pixels, its new area corrected in the gradient domain so that it meets the kept
    border exactly, and the kept pixels put back unchanged."""
    height, width = keep.shape
    new = ~keep
    if not new.any():
        return pixels.copy()
    original = pixels.astype(np.float32)
    image = resize(generated, (width, height)).astype(np.float32)
    scale = width / generated.shape[1]
    band = _grow(new, max(2.0, overlap * scale)) & keep
    image = match_colours(image, original, band)
    # A membrane: the mismatch on the kept pixels next to the new area, spread smoothly into
    # the new area and fading with distance from it (pull-push stands in for a Poisson solve).
    ring = _grow(new, 1) & keep
    if ring.any():
        diff = np.where(ring[..., None], original - image, 0).astype(np.float32)
        membrane = pull_push(diff, ring.astype(np.float32))
        distance = cv2.distanceTransform(new.astype(np.uint8), cv2.DIST_L2, 5)
        reach = max(4.0, 0.06 * max(height, width))
        image += membrane * np.exp(-distance / reach)[..., None]
    out: RGB = np.clip(image + 0.5, 0, 255).astype(np.uint8)
    out[keep] = pixels[keep]
    return out
