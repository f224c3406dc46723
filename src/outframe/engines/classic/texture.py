"""Is the kept image a stationary texture (a star field, a tissue slide) or a picture with a
subject? The fill holds the salient subject back from its sources (subject.py); on a stationary
texture everything is "distinct" somewhere, and holding it back only biases the fill towards the
sparser, smoother pieces. The test compares the kept image with itself: the
patch statistics (a cheap sliced Wasserstein distance between small patches of a Laplacian
pyramid) of its top half against its bottom half, and of its left half against its right half.

(A fuller idea was tried first and dropped: rehearse each candidate fill configuration on the kept
image, hiding its outer band, and keep the one that rebuilds the band best. Within the time budget
only one seed per configuration fits, and its ranking agreed poorly with the real fills'.)
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from outframe.imaging.patches import sliced_wasserstein_levels

Mask = NDArray[np.bool_]

SIDE = 192  # the kept image is compared with itself at this long side at most, in pixels
LEVELS = 3  # pyramid levels compared (two band-pass levels and the low-pass residual)
PATCH = 5
SAMPLES = 1024  # patch positions per level
DIRECTIONS = 64
SAME = 0.10  # distance between the halves of a stationary texture, at most (0.08-0.09 on
DIFFERENT = 0.12  # a deep-field photo; 0.13-0.65 on the other bench photos, 0.2-0.65 on most)


def subject_weight(pixels: NDArray[np.uint8], keep: Mask) -> float:
    """How much the quilt should guard against repeating a subject: 0 when the kept image is a
    stationary texture (its halves have the same patch statistics, top against bottom and left
    against right), 1 when they clearly differ, in between when unsure."""
    if not keep.any():
        return 1.0
    ys, xs = np.nonzero(keep)
    crop = pixels[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    known = keep[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    height, width = known.shape
    if height < 16 or width < 16 or not known.all():
        return 1.0
    scale = min(1.0, SIDE / max(height, width))
    if scale < 1:
        size = (max(16, round(width * scale)), max(16, round(height * scale)))
        crop = np.asarray(cv2.resize(crop, size, interpolation=cv2.INTER_AREA), np.uint8)
    height, width = crop.shape[:2]
    half_h, half_w = height // 2, width // 2
    top, bottom = crop[:half_h], crop[half_h : 2 * half_h]
    left, right = crop[:, :half_w], crop[:, half_w : 2 * half_w]
    apart = 0.5 * (
        patch_distance(top, bottom, np.ones(top.shape[:2], bool))
        + patch_distance(left, right, np.ones(left.shape[:2], bool))
    )
    return float(np.clip((apart - SAME) / (DIFFERENT - SAME), 0, 1))


def patch_distance(result: NDArray[np.uint8], truth: NDArray[np.uint8], where: Mask) -> float:
    """The cheap sliced Wasserstein distance between small patches of `result` and `truth` at
    the same positions in `where`; lower is closer."""
    levels = sliced_wasserstein_levels(
        result, truth, where, levels=LEVELS, patch=PATCH, samples=SAMPLES, directions=DIRECTIONS
    )
    return float(np.mean(levels)) if levels else 0.0
