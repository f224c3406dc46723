"""Patch statistics: a sliced Wasserstein distance between small patches of Laplacian pyramids
(Karras et al. 2018, ProGAN). The outpaint benchmark's SWD metric and the classic engine's
texture check are this one function with different sizes (each takes the mean over levels)."""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

Float = NDArray[np.float32]
Mask = NDArray[np.bool_]


def laplacian_pyramid(image: NDArray[np.uint8], levels: int) -> list[Float]:
    """Band-pass levels, finest first; the last level is the low-pass residual (as in ProGAN)."""
    current = image.astype(np.float32)
    out: list[Float] = []
    for _ in range(levels - 1):
        down = cv2.pyrDown(current)
        up = cv2.pyrUp(down, dstsize=(current.shape[1], current.shape[0]))
        out.append(current - up)
        current = np.asarray(down, np.float32)
    out.append(current)
    return out


def sliced_wasserstein_levels(
    result: NDArray[np.uint8],
    truth: NDArray[np.uint8],
    where: Mask,
    *,
    levels: int,
    patch: int,
    samples: int,
    directions: int,
    seed: int = 0,
) -> list[float]:
    """For each pyramid level, finest first, the sliced Wasserstein distance between
    `patch`-square patches of `result` and `truth` at the same `samples` random positions inside
    `where`, each channel scaled by the truth's statistics; lower is closer. Levels with no
    position inside `where` are left out."""
    rng = np.random.default_rng(seed)
    r = patch // 2
    offsets = np.arange(patch)
    dists = []
    for a_level, b_level in zip(
        laplacian_pyramid(result, levels), laplacian_pyramid(truth, levels), strict=True
    ):
        h, w = a_level.shape[:2]
        inside = cv2.resize(where.astype(np.float32), (w, h), interpolation=cv2.INTER_AREA) > 0.5
        ys, xs = np.nonzero(inside)
        if len(ys) == 0:
            continue
        pick = rng.choice(len(ys), size=min(samples, len(ys)), replace=False)
        rows = (ys[pick][:, None] + offsets[None, :])[:, :, None]
        cols = (xs[pick][:, None] + offsets[None, :])[:, None, :]
        pa = cv2.copyMakeBorder(a_level, r, r, r, r, cv2.BORDER_REFLECT_101)[rows, cols]
        pb = cv2.copyMakeBorder(b_level, r, r, r, r, cv2.BORDER_REFLECT_101)[rows, cols]
        mean = pb.mean(axis=(0, 1, 2))
        std = pb.std(axis=(0, 1, 2)) + 1e-6
        a = ((pa - mean) / std).reshape(len(pick), -1)
        b = ((pb - mean) / std).reshape(len(pick), -1)
        dirs = rng.standard_normal((a.shape[1], directions)).astype(np.float32)
        dirs /= np.linalg.norm(dirs, axis=0, keepdims=True)
        dists.append(float(np.abs(np.sort(a @ dirs, axis=0) - np.sort(b @ dirs, axis=0)).mean()))
    return dists
