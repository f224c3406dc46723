"""Pull-push: a smooth fill of unknown pixels from known ones, averaged over a pyramid."""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

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


def wide_blur(image: Float, sigma: float) -> Float:
    """A Gaussian blur; wide ones are done at reduced size, many times faster and as smooth."""
    factor = int(sigma // 3)
    if factor < 2:
        return np.asarray(cv2.GaussianBlur(image, (0, 0), max(sigma, 0.5)), np.float32)
    height, width = image.shape[:2]
    small_size = (max(1, width // factor), max(1, height // factor))
    small = cv2.resize(image, small_size, interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / factor)
    return np.asarray(
        cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR), np.float32
    )
