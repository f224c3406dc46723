"""Seeded irregular cells: a jittered Voronoi partition of the canvas, the unit of the quilt (the
fill) and of the texture re-synthesis (variations)."""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

Index = NDArray[np.intp]


def voronoi_cells(
    rng: np.random.Generator, height: int, width: int, step: int
) -> tuple[NDArray[np.int32], int]:
    """Cell ids per pixel (one jittered centre per `step` x `step` square) and the cell count."""
    gy, gx = np.mgrid[0:height:step, 0:width:step]
    py = np.clip(gy + rng.uniform(0, step, gy.shape), 0, height - 1).astype(np.intp).ravel()
    px = np.clip(gx + rng.uniform(0, step, gx.shape), 0, width - 1).astype(np.intp).ravel()
    seeds = np.ones((height, width), np.uint8)
    seeds[py, px] = 0
    _, labels = cv2.distanceTransformWithLabels(
        seeds, cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL
    )
    ids = np.asarray(labels, np.int32) - 1
    return ids, int(ids.max()) + 1


def cell_members(ids: NDArray[np.int32], count: int) -> list[Index]:
    """The flat pixel indices of each cell; pixels with a negative id belong to none."""
    flat = ids.ravel()
    order = np.argsort(flat, kind="stable")
    starts = np.searchsorted(flat[order], np.arange(count + 1))
    return [order[starts[c] : starts[c + 1]] for c in range(count)]
