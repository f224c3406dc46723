"""Seeded fractal noise, the raw material of procedural images and synthetic texture."""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

Float = NDArray[np.float32]


def fbm(
    rng: np.random.Generator,
    height: int,
    width: int,
    *,
    base_cells: int = 4,
    octaves: int = 5,
    persistence: float = 0.5,
) -> Float:
    """Fractal Brownian motion in about [-1, 1]: smooth random fields summed over octaves."""
    out = np.zeros((height, width), np.float32)
    amp, total = 1.0, 0.0
    cells = base_cells
    for _ in range(octaves):
        ch = max(2, round(cells * height / max(height, width)))
        cw = max(2, round(cells * width / max(height, width)))
        coarse = rng.standard_normal((ch, cw)).astype(np.float32)
        out += amp * cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
        total += amp
        amp *= persistence
        cells *= 2
    return out / total


def fbm_1d(
    rng: np.random.Generator, length: int, *, base_cells: int = 3, octaves: int = 6
) -> Float:
    """A 1-D fractal profile in about [-1, 1] (a mountain ridge, a shoreline)."""
    profile: Float = fbm(rng, 1, length, base_cells=base_cells, octaves=octaves)[0]
    return profile
