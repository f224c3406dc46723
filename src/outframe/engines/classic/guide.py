"""The layout of a hole: the colours of the kept image's outer band carried straight out, more
and more smoothed along the border with depth. Every new pixel takes the colours of the part of
the image it continues (sky above the sky, floor below the floor), never an average of the
image's middle, and deep areas keep their region's colour instead of fading to grey."""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from outframe.engines.classic.layout import nearest_kept
from outframe.engines.classic.pullpush import wide_blur

Float = NDArray[np.float32]
Mask = NDArray[np.bool_]

BAND = 0.06  # depth of the kept band that is carried out, as a fraction of the kept short side
SPREAD = 0.6  # smoothing along the border per pixel of depth ...
EASE = 0.5  # ... which grows in over this fraction of the hole's depth
SIDE = 256  # a larger canvas's guide is made at this long side


def stretch_guide(pixels: Float, keep: Mask, spread: float = SPREAD) -> Float:
    """The hole filled with the kept band's colours at each pixel's nearest kept pixel,
    blurred over about `spread` times the pixel's depth (kept pixels: unchanged)."""
    height, width = keep.shape
    factor = max(height, width) / SIDE
    if factor > 1.5:
        # The guide is smooth (its users blur it further): made small, then enlarged.
        size = (max(1, round(width / factor)), max(1, round(height / factor)))
        small_keep = cv2.resize(keep.astype(np.float32), size, interpolation=cv2.INTER_AREA)
        premult = cv2.resize(pixels * keep[..., None], size, interpolation=cv2.INTER_AREA)
        small = premult / np.maximum(small_keep, 1e-6)[..., None]
        guide = _stretch(np.asarray(small, np.float32), small_keep > 0.5, spread)
        big = cv2.resize(guide, (width, height), interpolation=cv2.INTER_LINEAR)
        return np.where(keep[..., None], pixels, big).astype(np.float32)
    return _stretch(pixels, keep, spread)


def _stretch(pixels: Float, keep: Mask, spread: float) -> Float:
    hole = ~keep
    if not hole.any() or not keep.any():
        return pixels.copy()
    width = keep.shape[1]
    ys, xs = np.nonzero(keep)
    short = float(min(np.ptp(ys), np.ptp(xs)) + 1)
    inside = cv2.distanceTransform(np.pad(keep, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]
    band = (keep & (inside <= max(2.0, BAND * short))).astype(np.float32)
    depth = cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 5)
    near = nearest_kept(keep)
    ay, ax = np.divmod(near[hole], width)
    # Eased in, as the anchors' drift (synth.py): sharp next to the border, so that a structure
    # leaving the kept image goes on straight for a while.
    eased = depth * np.minimum(1.0, depth / max(1.0, EASE * float(depth.max())))
    sigma = np.maximum(1.0, spread * eased[hole])
    out = pixels.copy()
    steps = [1.0]
    while steps[-1] < sigma.max():
        steps.append(steps[-1] * 2)
    blurred = []
    for s in steps:
        num = wide_blur(pixels * band[..., None], s)
        den = wide_blur(band, s)
        blurred.append((num / np.maximum(den, 1e-4)[..., None])[ay, ax])
    pos = np.clip(np.log2(sigma), 0, len(steps) - 1)
    lo = np.floor(pos).astype(np.intp)
    hi = np.minimum(lo + 1, len(steps) - 1)
    frac = (pos - lo)[:, None].astype(np.float32)
    stack = np.stack(blurred)
    idx = np.arange(len(ay))
    out[hole] = stack[lo, idx] * (1 - frac) + stack[hi, idx] * frac
    return out
