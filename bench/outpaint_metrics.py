"""Outpaint quality metrics, our own code: SWD on Laplacian-pyramid patches, low-frequency PSNR,
seam gradient ratio and candidate diversity, each over the new area of the canvas only."""

from __future__ import annotations

import itertools

import cv2
import numpy as np
from numpy.typing import NDArray

from outframe.imaging.patches import sliced_wasserstein_levels

Image = NDArray[np.uint8]
Mask = NDArray[np.bool_]
Float = NDArray[np.float32]

SWD_LEVELS = 4
SWD_PATCH = 7
SWD_SAMPLES = 4096  # patch positions per level; the same positions in result and truth
SWD_DIRECTIONS = 256


def kept_exactly(result: Image, canvas: Image, keep: Mask) -> bool:
    """The input's pixels are unchanged in the result."""
    return bool(np.array_equal(result[keep], canvas[keep]))


def swd(result: Image, truth: Image, new: Mask, seed: int = 0) -> float:
    """Sliced Wasserstein distance (x100, mean over levels) between 7x7 patches of the new area."""
    return float(np.mean(swd_levels(result, truth, new, seed)))


def swd_levels(result: Image, truth: Image, new: Mask, seed: int = 0) -> list[float]:
    """The SWD of each pyramid level (x100), finest band first, the low-pass residual last."""
    levels = sliced_wasserstein_levels(
        result,
        truth,
        new,
        levels=SWD_LEVELS,
        patch=SWD_PATCH,
        samples=SWD_SAMPLES,
        directions=SWD_DIRECTIONS,
        seed=seed,
    )
    return [100 * d for d in levels]


def lowfreq_psnr(result: Image, truth: Image, new: Mask, factor: int = 16) -> float:
    """PSNR between 1/factor-scale copies of result and truth over cells mostly in the new area."""
    h, w = new.shape
    size = (max(1, w // factor), max(1, h // factor))
    a = cv2.resize(result, size, interpolation=cv2.INTER_AREA).astype(np.float64)
    b = cv2.resize(truth, size, interpolation=cv2.INTER_AREA).astype(np.float64)
    cells = cv2.resize(new.astype(np.float32), size, interpolation=cv2.INTER_AREA) >= 0.5
    mse = float(((a - b) ** 2)[cells].mean()) if cells.any() else 0.0
    return 10 * np.log10(255.0**2 / max(mse, 1e-10))


def _gradient_magnitude(image: Image) -> Float:
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3) / 8
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3) / 8
    return np.asarray(np.hypot(gx, gy), np.float32)


def seam_band(keep: Mask, width: int = 2) -> Mask:
    """Pixels within `width` of the boundary between kept and new pixels, on either side."""
    k = keep.astype(np.uint8)
    kernel = np.ones((2 * width + 1, 2 * width + 1), np.uint8)
    band: Mask = (cv2.dilate(k, kernel) > 0) & (cv2.erode(k, kernel) == 0)
    return band


def seam_ratio(result: Image, truth: Image, keep: Mask) -> float:
    """Mean gradient magnitude on the 2-px band around the kept border, result / truth."""
    band = seam_band(keep)
    if not band.any():
        return 1.0
    ours = float(_gradient_magnitude(result)[band].mean())
    real = float(_gradient_magnitude(truth)[band].mean())
    return ours / max(real, 1e-6)


def diversity(candidates: list[Image], new: Mask) -> float:
    """Mean absolute difference between pairs of candidates over the new area (of 255)."""
    diffs = [
        float(np.abs(a[new].astype(np.int16) - b[new].astype(np.int16)).mean())
        for a, b in itertools.combinations(candidates, 2)
    ]
    return float(np.mean(diffs)) if diffs else 0.0
