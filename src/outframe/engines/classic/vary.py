"""Variations that keep the composition and re-synthesise the texture.

The image's low frequencies (its layout, its colours) are kept. Its detail is rebuilt from
translated pieces of itself: the image is cut into seeded irregular cells, and each cell copies
the detail of another place whose surroundings have about the same colour and amount of detail
(texture-by-numbers with the blurred image as the map, after Hertzmann et al., "Image analogies",
2001). The pieces are cross-faded without losing contrast (blend.py), and a gentle seeded warp and
colour drift finish the variation.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from outframe.engines.classic.blend import blend_pieces
from outframe.engines.classic.cells import cell_members, voronoi_cells
from outframe.engines.classic.noise import fbm
from outframe.engines.classic.pullpush import wide_blur
from outframe.imaging.codec import RGB

Float = NDArray[np.float32]

CELL = 0.05  # cell size, as a fraction of the long side
LOW = 0.012  # blur that separates the kept layout from the re-synthesised detail (long side)
REACH = 0.12  # how far a piece may come from, as a fraction of the long side
CANDIDATES = 64  # shifts tried per cell
SAMPLES = 64  # pixels compared per cell and candidate
DETAIL_WEIGHT = 4.0  # weight of the detail-level match against the colour match
ACCEPT = 120.0  # a cell whose best match is worse than this (squared 8-bit levels) keeps its own
WARP = 0.006  # warp amplitude, as a fraction of the long side
DRIFT = 4.0  # colour drift, in 8-bit levels (standard deviation per channel)


def variation(image: RGB, rng: np.random.Generator) -> RGB:
    """One seeded variation of `image` (any size, three channels)."""
    height, width = image.shape[:2]
    pixels = image.astype(np.float32)
    long_side = max(height, width)
    sigma = max(1.0, LOW * long_side)
    low = wide_blur(pixels, sigma)
    grey = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)
    detail_level = wide_blur(np.abs(grey - cv2.GaussianBlur(grey, (0, 0), 1.0)), sigma)
    cell = max(3, round(CELL * long_side))
    ids, count = voronoi_cells(rng, height, width, cell)
    members = cell_members(ids, count)
    shifts = _shifts(rng, low, detail_level, members, cell)
    offsets = np.zeros((count, 3), np.float32)
    readable = np.ones((height, width), bool)
    pieces = blend_pieces(pixels, readable, members, shifts, offsets, max(1.0, cell / 8)).image
    # The kept layout plus the pieces' detail (their low frequencies, already alike, dropped).
    out = low + pieces - wide_blur(pieces, sigma)
    out = _warp(out, rng, WARP * long_side)
    out += rng.normal(0, DRIFT, size=3).astype(np.float32)
    result: RGB = np.clip(out + 0.5, 0, 255).astype(np.uint8)
    return result


def _shifts(
    rng: np.random.Generator, low: Float, detail: Float, members: list[NDArray[np.intp]],
    cell: int,
) -> NDArray[np.int64]:  # fmt: skip
    """For every cell at once, the best of a few seeded shifts: the one whose source has the
    colour and detail level of the cell's own surroundings; none (the cell keeps its own detail)
    where nothing matches well, as on a face, which has no look-alike elsewhere. Shifts are at
    least a third of a cell long, so that a matched cell's texture changes."""
    height, width = detail.shape
    count = len(members)
    reach = max(float(cell), REACH * max(height, width))
    sizes = np.array([max(1, len(m)) for m in members])
    pick = (rng.random((count, SAMPLES)) * sizes[:, None]).astype(np.intp)
    flat = np.array(
        [m[p] if len(m) else np.zeros(SAMPLES, np.intp) for m, p in zip(members, pick, strict=True)]
    )
    py, px = np.divmod(flat, width)  # count x SAMPLES
    angle = rng.uniform(0, 2 * np.pi, (count, CANDIDATES))
    radius = rng.uniform(cell / 3, reach, (count, CANDIDATES))
    ty = np.rint(radius * np.sin(angle)).astype(np.int64)
    tx = np.rint(radius * np.cos(angle)).astype(np.int64)
    sy = py[:, None, :] + ty[..., None]  # count x CANDIDATES x SAMPLES
    sx = px[:, None, :] + tx[..., None]
    inside = ((sy >= 0) & (sy < height) & (sx >= 0) & (sx < width)).all(axis=2)
    sy, sx = np.clip(sy, 0, height - 1), np.clip(sx, 0, width - 1)
    colour = ((low[sy, sx] - low[py, px][:, None]) ** 2).sum(axis=3).mean(axis=2)
    level = ((detail[sy, sx] - detail[py, px][:, None]) ** 2).mean(axis=2)
    cost = np.where(inside, colour + DETAIL_WEIGHT * level, np.inf)
    best = np.argmin(cost, axis=1)
    rows = np.arange(count)
    found = cost[rows, best] <= ACCEPT
    return np.stack([np.where(found, ty[rows, best], 0), np.where(found, tx[rows, best], 0)], 1)


def _warp(image: Float, rng: np.random.Generator, amplitude: float) -> Float:
    """A smooth seeded displacement of about `amplitude` pixels."""
    height, width = image.shape[:2]
    base = np.mgrid[0:height, 0:width].astype(np.float32)
    dy = fbm(rng, height, width, base_cells=4, octaves=3) * amplitude
    dx = fbm(rng, height, width, base_cells=4, octaves=3) * amplitude
    warped = cv2.remap(
        image, base[1] + dx, base[0] + dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )
    return np.asarray(warped, np.float32)
