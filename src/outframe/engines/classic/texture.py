"""Is the kept image a stationary texture (a star field, a tissue slide) or a picture with a
subject? The quilt guards against repeating a subject (it prefers sources near the kept border
and not much busier than what surrounds each cell); on a stationary texture those guards only bias
the fill towards the sparser, smoother pieces. The test compares the kept image with itself: the
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

Float = NDArray[np.float32]
Mask = NDArray[np.bool_]
Index = NDArray[np.intp]

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


def _pyramid(image: Float) -> list[Float]:
    out = []
    current = image
    for _ in range(LEVELS - 1):
        down = cv2.pyrDown(current)
        up = cv2.pyrUp(down, dstsize=(current.shape[1], current.shape[0]))
        out.append(current - up)
        current = np.asarray(down, np.float32)
    out.append(current)
    return out


def patch_distance(result: NDArray[np.uint8], truth: NDArray[np.uint8], where: Mask) -> float:
    """Sliced Wasserstein distance between small patches of `result` and `truth` at the same
    positions in `where`, averaged over pyramid levels (each channel scaled by the truth's
    spread); lower is closer."""
    rng = np.random.default_rng(0)
    r = PATCH // 2
    offsets = np.arange(PATCH)
    total, levels = 0.0, 0
    for a_level, b_level in zip(
        _pyramid(result.astype(np.float32)), _pyramid(truth.astype(np.float32)), strict=True
    ):
        h, w = a_level.shape[:2]
        inside = cv2.resize(where.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA) > 0.5
        ys, xs = np.nonzero(inside)
        if len(ys) == 0:
            continue
        pick = rng.choice(len(ys), size=min(SAMPLES, len(ys)), replace=False)
        rows = (ys[pick][:, None] + offsets[None, :])[:, :, None]
        cols = (xs[pick][:, None] + offsets[None, :])[:, None, :]
        pa = cv2.copyMakeBorder(a_level, r, r, r, r, cv2.BORDER_REFLECT_101)[rows, cols]
        pb = cv2.copyMakeBorder(b_level, r, r, r, r, cv2.BORDER_REFLECT_101)[rows, cols]
        mean = pb.mean(axis=(0, 1, 2))
        std = pb.std(axis=(0, 1, 2)) + 1e-6
        a = ((pa - mean) / std).reshape(len(pick), -1)
        b = ((pb - mean) / std).reshape(len(pick), -1)
        dirs = rng.standard_normal((a.shape[1], DIRECTIONS)).astype(np.float32)
        dirs /= np.linalg.norm(dirs, axis=0, keepdims=True)
        total += float(np.abs(np.sort(a @ dirs, axis=0) - np.sort(b @ dirs, axis=0)).mean())
        levels += 1
    return total / max(levels, 1)
