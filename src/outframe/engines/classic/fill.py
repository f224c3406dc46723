"""Filling the unknown part of a canvas: a smooth guide extrapolated from the kept pixels,
with seeded texture on top so that each seed gives a different candidate."""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from outframe.engines.classic.noise import fbm
from outframe.imaging.canvas import Canvas
from outframe.imaging.codec import RGB

Float = NDArray[np.float32]


def pull_push(pixels: Float, weight: Float) -> Float:
    """Fill zero-weight pixels by averaging known ones over a pyramid (pull-push)."""
    if weight.min() > 0 or min(weight.shape) <= 1:
        if weight.max() == 0:
            return np.zeros_like(pixels)
        mean = (pixels * weight[..., None]).sum((0, 1)) / weight.sum()
        return np.where(weight[..., None] > 0, pixels, mean).astype(np.float32)
    height, width = weight.shape
    small_size = (max(1, (width + 1) // 2), max(1, (height + 1) // 2))
    premult = pixels * weight[..., None]
    small_w = cv2.resize(weight, small_size, interpolation=cv2.INTER_AREA)
    small_p = np.asarray(cv2.resize(premult, small_size, interpolation=cv2.INTER_AREA), np.float32)
    known = small_w > 1e-6
    small_pix = np.zeros_like(small_p)
    small_pix[known] = small_p[known] / small_w[known][:, None]
    filled_small = pull_push(small_pix, np.minimum(small_w * 4, 1.0) * known)
    up = cv2.resize(filled_small, (width, height), interpolation=cv2.INTER_LINEAR)
    w = np.clip(weight, 0, 1)[..., None]
    return (pixels * w + up * (1 - w)).astype(np.float32)


def coarse_guide(canvas: Canvas, scale: int = 8) -> Float:
    """The layout continued outwards: Telea inpainting at 1/scale size, a pull-push for the rest."""
    height, width = canvas.keep.shape
    small = (max(1, width // scale), max(1, height // scale))
    keep_small = cv2.resize(canvas.keep.astype(np.float32), small, interpolation=cv2.INTER_AREA)
    pix_small = cv2.resize(canvas.pixels, small, interpolation=cv2.INTER_AREA)
    hole = (keep_small < 0.999).astype(np.uint8)
    if hole.all():
        return pull_push(canvas.pixels.astype(np.float32), canvas.keep.astype(np.float32))
    painted = cv2.inpaint(pix_small, hole, 3, cv2.INPAINT_TELEA)
    guide: Float = cv2.resize(painted, (width, height), interpolation=cv2.INTER_CUBIC).astype(
        np.float32
    )
    return np.asarray(cv2.GaussianBlur(guide, (0, 0), scale * 0.75), np.float32)


def fill_candidates(canvas: Canvas, seeds: list[int]) -> list[RGB]:
    """One completion per seed: the guide, reshaped by seeded broad variation and texture."""
    height, width = canvas.keep.shape
    guide = coarse_guide(canvas)
    unknown = ~canvas.keep

    # How much fine detail the kept image has, so the new texture matches it.
    grey = cv2.cvtColor(canvas.pixels, cv2.COLOR_RGB2GRAY).astype(np.float32)
    detail = grey - cv2.GaussianBlur(grey, (0, 0), 2.0)
    detail_std = float(detail[canvas.keep].std()) if canvas.keep.any() else 10.0

    # Distance into the unknown area: candidates may differ more the further from the kept edge.
    dist = cv2.distanceTransform(unknown.astype(np.uint8), cv2.DIST_L2, 5)
    reach = np.clip(dist / (0.15 * max(height, width) + 1e-6), 0, 1)[..., None]

    out = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        broad = fbm(rng, height, width, base_cells=3, octaves=3)[..., None]
        tint = rng.normal(0, 0.04, size=3).astype(np.float32)
        texture = fbm(rng, height, width, base_cells=max(8, max(height, width) // 16), octaves=3)
        shaped = guide * (1 + (0.2 * broad + tint) * reach)
        candidate = shaped + (detail_std * 1.5) * texture[..., None]
        img = np.clip(candidate, 0, 255).astype(np.uint8)
        img[canvas.keep] = canvas.pixels[canvas.keep]
        out.append(img)
    return out
