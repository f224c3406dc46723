"""The kept border reflected outwards, folded and warped: the fill's first few pixels, and its
fallback where no piece of the kept image fits (a thin or tiny kept area).

Reflection continues structure across the kept border without a seam and with natural gradients
across it. Folding back at a seeded depth keeps the copy inside the image's outer band, so the
middle of the image (usually the subject) is not mirrored outwards, and a smooth seeded warp that
grows away from the border breaks the symmetry.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from outframe.engines.classic.noise import fbm

Float = NDArray[np.float32]
Mask = NDArray[np.bool_]
Index = NDArray[np.intp]

FOLD = (0.35, 0.5)  # fold depth, as a fraction of the deepest kept pixel's depth
WARP = 0.3  # warp amplitude, as a fraction of the fold depth


def mirror_layout(pixels: Float, keep: Mask, rng: np.random.Generator) -> Float:
    """The hole filled by a folded, warped reflection of the kept pixels nearest to it.

    `pixels` must be defined everywhere (the hole smoothly filled), as interpolation next to the
    kept border reads a little of the hole.
    """
    height, width = keep.shape
    nearest = nearest_kept(keep)
    by, bx = (v.astype(np.float32) for v in np.divmod(nearest, width))
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    vy, vx = by - yy, bx - xx
    dist = np.hypot(vy, vx)
    inward_y, inward_x = vy / np.maximum(dist, 1e-6), vx / np.maximum(dist, 1e-6)
    depth = cv2.distanceTransform(keep.astype(np.uint8), cv2.DIST_L2, 5)
    fold = max(1.0, float(depth.max()) * rng.uniform(*FOLD))
    folded = fold - np.abs(np.mod(dist, 2 * fold) - fold)
    src_y = by + inward_y * folded
    src_x = bx + inward_x * folded
    # Zero at the kept border, so that the continuation there is exact.
    amp = WARP * fold * np.clip(dist / fold, 0, 1)
    src_y += amp * fbm(rng, height, width, base_cells=2, octaves=2)
    src_x += amp * fbm(rng, height, width, base_cells=2, octaves=2)
    src_y, src_x = _inside(keep, nearest, src_y, src_x)
    out = cv2.remap(pixels, src_x, src_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    layout: Float = np.where(keep[..., None], pixels, out).astype(np.float32)
    return layout


def nearest_kept(keep: Mask) -> Index:
    """For every pixel, the flat index of the nearest kept pixel (kept pixels: their own; all
    zeros where nothing is kept)."""
    kept = np.flatnonzero(keep)
    if len(kept) == 0:
        return np.zeros(keep.shape, np.intp)
    _, labels = cv2.distanceTransformWithLabels(
        (~keep).astype(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL
    )
    # Labels number the kept pixels in row-major order; each pixel has its nearest one's.
    found: Index = kept[np.maximum(np.asarray(labels, np.intp) - 1, 0)]
    return found


def _inside(keep: Mask, nearest: Index, src_y: Float, src_x: Float) -> tuple[Float, Float]:
    """Sources that the warp pushed off the kept pixels, mirrored back in (or clamped)."""
    height, width = keep.shape

    def readable(y: Float, x: Float) -> tuple[Mask, Index, Index]:
        iy = np.clip(np.rint(y), 0, height - 1).astype(np.intp)
        ix = np.clip(np.rint(x), 0, width - 1).astype(np.intp)
        ok = keep[iy, ix] & (y >= 0) & (y <= height - 1) & (x >= 0) & (x <= width - 1)
        return ok, iy, ix

    ok, iy, ix = readable(src_y, src_x)
    ny, nx = (v.astype(np.float32) for v in np.divmod(nearest[iy, ix], width))
    my, mx = 2 * ny - src_y, 2 * nx - src_x
    back, _, _ = readable(my, mx)
    fy = np.where(ok, src_y, np.where(back, my, ny)).astype(np.float32)
    fx = np.where(ok, src_x, np.where(back, mx, nx)).astype(np.float32)
    return fy, fx
