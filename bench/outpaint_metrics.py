"""Outpaint quality metrics, our own code: SWD on Laplacian-pyramid patches, low-frequency PSNR,
seam gradient ratio and candidate diversity, each over the new area of the canvas only."""

from __future__ import annotations

import itertools
from functools import lru_cache
from typing import Any

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
COPY_PATCH = 32  # copy rate: 32 x 32 patches of the new area ...
COPY_NCC = 0.9  # ... that match a piece of the kept interior this well are copies
COPY_MARGIN = 24  # the kept interior: the kept box less this many pixels on each side
TEXTURED = 8.0  # a patch is textured when its grey standard deviation is at least this


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


@lru_cache(maxsize=1)
def _face_detector() -> Any:
    import dlib  # type: ignore[import-untyped,unused-ignore]

    return dlib.get_frontal_face_detector()


def faces_in_new(image: Image, new: Mask) -> int:
    """Faces that dlib's HOG frontal-face detector finds with at least half their box in the
    new area (the detector is looked at twice the image's size, so faces of 40 px count)."""
    found = 0
    for box in _face_detector()(np.ascontiguousarray(image), 1):
        y0, y1 = max(0, box.top()), min(new.shape[0], box.bottom())
        x0, x1 = max(0, box.left()), min(new.shape[1], box.right())
        if y1 > y0 and x1 > x0 and new[y0:y1, x0:x1].mean() >= 0.5:
            found += 1
    return found


def copy_rate(image: Image, keep: Mask) -> float:
    """The share of textured 32 x 32 patches of the new area (on a 16 px grid) that are
    near-exact copies (normalised cross-correlation >= 0.9) of a piece of the kept interior."""
    ys, xs = np.nonzero(keep)
    y0, y1 = ys.min() + COPY_MARGIN, ys.max() + 1 - COPY_MARGIN
    x0, x1 = xs.min() + COPY_MARGIN, xs.max() + 1 - COPY_MARGIN
    if y1 - y0 < COPY_PATCH or x1 - x0 < COPY_PATCH:
        return 0.0
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    interior = np.ascontiguousarray(grey[y0:y1, x0:x1])
    new = ~keep
    copies = textured = 0
    h, w = grey.shape
    for y in range(0, h - COPY_PATCH + 1, COPY_PATCH // 2):
        for x in range(0, w - COPY_PATCH + 1, COPY_PATCH // 2):
            if not new[y : y + COPY_PATCH, x : x + COPY_PATCH].all():
                continue
            patch = np.ascontiguousarray(grey[y : y + COPY_PATCH, x : x + COPY_PATCH])
            if patch.std() < TEXTURED:
                continue
            textured += 1
            score = cv2.matchTemplate(interior, patch, cv2.TM_CCOEFF_NORMED)
            copies += int(float(score.max()) >= COPY_NCC)
    return copies / textured if textured else 0.0
