"""The nearest kept pixel of every pixel: the anchor of a new pixel (synth.py), the kept image's
border it continues (guide.py)."""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

Mask = NDArray[np.bool_]
Index = NDArray[np.intp]


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
