"""Translated pieces of an image cross-faded into each other without losing texture contrast.

A plain cross-fade of two unrelated textures is a ghost of both, with less contrast than either
(the standard deviation of an even mix drops by a factor of about 0.7), which makes the overlap
zones of a quilt look washed out. Here the pieces' low frequencies are cross-faded as usual and
their detail (what a blur of about the fade's width removes) is mixed with weights normalised by
their root sum of squares, which keeps its variance: the histogram-preserving blending of Heitz and
Neyret ("High-performance by-example noise using a histogram-preserving blending operator", 2018).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from outframe.engines.classic.pullpush import wide_blur

Float = NDArray[np.float32]
Mask = NDArray[np.bool_]
Index = NDArray[np.intp]

SPLIT = 2.0  # the detail is what a blur of this many fade widths removes


@dataclass(frozen=True)
class Blended:
    """The cross-fade of the pieces, and where any piece reached (elsewhere it is zero)."""

    image: Float
    reached: Mask


def blend_pieces(
    source: Float,
    readable: Mask,
    members: list[Index],
    shifts: NDArray[np.int64],
    offsets: Float,
    sigma: float,
) -> Blended:
    """Piece `i` covers the flat pixel indices `members[i]` with `source` read `shifts[i]` (dy, dx)
    away, plus the colour `offsets[i]`. Each piece fades out over about `sigma` pixels past its
    edge; reads off the image or off `readable` pixels weigh nothing."""
    height, width = readable.shape
    reach = int(np.ceil(2 * sigma))
    low = wide_blur(source, sigma * SPLIT)
    detail = source - low
    acc = np.zeros((height, width, 3), np.float32)
    acc_detail = np.zeros((height, width, 3), np.float32)
    total = np.zeros((height, width), np.float32)
    total_sq = np.zeros((height, width), np.float32)
    for piece, flat in enumerate(members):
        if len(flat) == 0:
            continue
        cy, cx = np.divmod(flat, width)
        y0, y1 = max(0, cy.min() - reach), min(height, cy.max() + reach + 1)
        x0, x1 = max(0, cx.min() - reach), min(width, cx.max() + reach + 1)
        local = np.zeros((y1 - y0, x1 - x0), np.float32)
        local[cy - y0, cx - x0] = 1.0
        weight = np.asarray(cv2.GaussianBlur(local, (0, 0), sigma), np.float32)
        sy = np.arange(y0, y1)[:, None] + shifts[piece, 0]
        sx = np.arange(x0, x1)[None, :] + shifts[piece, 1]
        inside = (sy >= 0) & (sy < height) & (sx >= 0) & (sx < width)
        ry, rx = np.clip(sy, 0, height - 1), np.clip(sx, 0, width - 1)
        weight *= inside & readable[ry, rx]
        w3 = weight[..., None]
        acc[y0:y1, x0:x1] += w3 * (low[ry, rx] + offsets[piece])
        acc_detail[y0:y1, x0:x1] += w3 * detail[ry, rx]
        total[y0:y1, x0:x1] += weight
        total_sq[y0:y1, x0:x1] += weight * weight
    image = acc / np.maximum(total, 1e-6)[..., None]
    image += acc_detail / np.sqrt(np.maximum(total_sq, 1e-12))[..., None]
    return Blended(image.astype(np.float32), total > 1e-3)
