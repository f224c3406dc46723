"""The hole quilted from translated pieces of the image's outer band (after Efros & Freeman 2001).

The hole is cut into seeded irregular cells (a jittered Voronoi partition). Nearest to the kept
border first, each cell copies an unwarped, unmirrored piece of the kept image: the shift that
best agrees with what is already there (kept pixels or earlier cells) on a strip around the
cell, whose source lies in the outer band and is not much busier than what surrounds the cell,
so that the subject in the middle of the image is not repeated (guards dropped when the kept image
is a stationary texture, see texture.py). Cells next to the border are also offered the piece just
inside it moved straight out, so that lines leaving the kept image go on in line. (The
low-frequency guide is left out of the choice on purpose: asking every piece to match a smooth
extrapolation's colour picks the pieces nearest the average colour, and the fill's colours then
spread less than a real picture's; fill.py hands the lowest frequencies to the guide after the
quilt instead.) Each piece is shifted in colour to agree with its placed neighbours, the cells
are cross-faded into each other without losing contrast (blend.py), and (in fill.py) a membrane
cancels what mismatch is left at the kept border.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from outframe.engines.classic.blend import blend_pieces
from outframe.engines.classic.cells import cell_members, voronoi_cells
from outframe.engines.classic.layout import nearest_kept
from outframe.engines.classic.pullpush import pull_push, wide_blur

Float = NDArray[np.float32]
Mask = NDArray[np.bool_]
Index = NDArray[np.intp]

CELL = 0.12  # cell size, as a fraction of the canvas's long side
CAP = 0.6  # and at most this fraction of the deepest kept pixel's depth
WINDOW = 0.25  # cell centres go at most this fraction of the deepest depth past where they fit
CANDIDATES = 96  # shifts tried per cell
SAMPLES = 160  # pixels compared per strip, per cell and per candidate
DEPTH_WEIGHT = 1500.0  # cost of a source at the band's inner edge, in squared 8-bit levels
ENERGY_WEIGHT = 300.0  # cost per squared unit of detail above BUSY times what is around
BUSY = 1.2
FEATHER = 0.5  # cross-fade width, as a fraction of the strip margin
STRAIGHT = (-4, -2, 0, 2, 4)  # sideways adjustments of a straight continuation, in pixels
OFFSET_LIMIT = 24.0  # largest colour shift of a piece towards its neighbours, in 8-bit levels


@dataclass(frozen=True)
class Quilting:
    """The canvas-wide, seed-independent inputs."""

    image: Float  # kept pixels exact, the hole anything finite
    keep: Mask
    depth: Float  # distance of each kept pixel from the hole
    energy: Float  # local detail (blurred gradient magnitude) of each kept pixel
    expected: Float  # the detail expected in the hole, extrapolated from the kept border
    band: float  # sources deeper than this are penalised
    deepest: float  # the depth of the kept pixel furthest from the hole
    cell: int  # cell size, in pixels
    subject: float  # how much the costs guard against repeating a subject (0 to 1)
    nearest: NDArray[np.intp]  # flat index of the nearest kept pixel, for every pixel


def plan(image: Float, keep: Mask, subject: float = 1.0) -> Quilting:
    height, width = keep.shape
    depth = np.asarray(cv2.distanceTransform(keep.astype(np.uint8), cv2.DIST_L2, 5), np.float32)
    deepest = float(depth.max())
    cell = int(np.clip(CELL * max(height, width), 6, 160))
    cell = max(4, min(cell, int(CAP * deepest)))
    band = max(1.3 * cell, 0.45 * deepest)
    sigma = max(1.0, cell / 4)
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3) / 8
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3) / 8
    energy = wide_blur(np.asarray(np.hypot(gx, gy), np.float32), sigma)
    near = keep & (depth <= cell)
    # (three channels, as cv2.resize drops a single trailing one)
    expected = pull_push(np.repeat(energy[..., None], 3, axis=2), near.astype(np.float32))[..., 0]
    expected = wide_blur(expected, cell)
    nearest = nearest_kept(keep)
    return Quilting(image, keep, depth, energy, expected, band, deepest, cell, subject, nearest)


def _readable(q: Quilting, y: Index, x: Index) -> Mask:
    height, width = q.keep.shape
    ok: Mask = (y >= 0) & (y < height) & (x >= 0) & (x < width)
    ok[ok] = q.keep[y[ok], x[ok]]
    return ok


def quilt(q: Quilting, rng: np.random.Generator) -> tuple[Float, Mask, Float, Mask]:
    """The hole quilted for one seed; which hole pixels no piece could cover; and what the
    pieces say the pixels around them are (also over the kept border), and where they say so."""
    height, width = q.keep.shape
    hole = ~q.keep
    ids, count = voronoi_cells(rng, height, width, q.cell)
    ids = np.where(hole, ids, -1)
    members = cell_members(ids, count)
    dist = cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 5).ravel()

    # Kept pixels by depth, so that each cell's centre can be sent where the cell fits.
    kept = np.nonzero(q.keep.ravel())[0]
    kept = kept[np.argsort(q.depth.ravel()[kept], kind="stable")]
    kept_depth = q.depth.ravel()[kept]
    out = q.image.copy()
    busy = np.where(q.keep, q.energy, 0).astype(np.float32)  # the detail of what is there
    filled = q.keep.copy()
    margin = max(2, q.cell // 6)
    kernel = np.ones((2 * margin + 1, 2 * margin + 1), np.uint8)
    shifts = np.zeros((count, 2), np.int64)
    offsets = np.zeros((count, 3), np.float32)
    placed = np.zeros(count, bool)
    nearest_first = sorted(
        (c for c in range(count) if len(members[c])), key=lambda c: float(dist[members[c]].min())
    )
    for c in nearest_first:
        cy, cx = np.divmod(members[c], width)
        y0, y1 = max(0, cy.min() - margin), min(height, cy.max() + margin + 1)
        x0, x1 = max(0, cx.min() - margin), min(width, cx.max() + margin + 1)
        local = np.zeros((y1 - y0, x1 - x0), np.uint8)
        local[cy - y0, cx - x0] = 1
        strip = (cv2.dilate(local, kernel) > 0) & (local == 0) & filled[y0:y1, x0:x1]
        sy, sx = np.nonzero(strip)
        sy, sx = sy + y0, sx + x0
        cover_y, cover_x = _sample(rng, cy, cx, SAMPLES)
        strip_y, strip_x = _sample(rng, sy, sx, SAMPLES)
        my, mx = round(float(cy.mean())), round(float(cx.mean()))
        radius = float(np.sqrt(((cy - my) ** 2 + (cx - mx) ** 2).max())) + 1
        lo, hi = np.searchsorted(kept_depth, [radius, radius + WINDOW * q.deepest])
        if hi <= lo:  # the kept area is too thin for this cell: try anywhere in it
            lo, hi = 0, len(kept)
        anchor = kept[rng.integers(lo, hi, CANDIDATES)]
        ay, ax = np.divmod(anchor, width)
        ty, tx = ay - my, ax - mx
        if float(dist[members[c]].min()) <= margin:  # next to the kept border
            straight_y, straight_x = _straight_on(q, my, mx, radius)
            ty, tx = np.concatenate([ty, straight_y]), np.concatenate([tx, straight_x])
        # What is next to the cell, but never less than the kept border suggests: measured on
        # earlier cells alone, the expected detail would drift down cell after cell.
        around = float(q.expected[cover_y, cover_x].mean())
        if len(strip_y):
            around = max(around, float(busy[strip_y, strip_x].mean()))
        cost = _costs(q, out, around, cover_y, cover_x, strip_y, strip_x, ty, tx)
        # The costs read a sample of the cell; the chosen shift must read all of it.
        ranked = (k for k in np.argsort(cost) if np.isfinite(cost[k]))
        best = next((k for k in ranked if _readable(q, cy + ty[k], cx + tx[k]).all()), None)
        if best is None:
            continue
        shifts[c] = (ty[best], tx[best])
        offsets[c] = _offset(q, out, strip_y, strip_x, ty[best], tx[best])
        placed[c] = True
        out[cy, cx] = q.image[cy + ty[best], cx + tx[best]] + offsets[c]
        busy[cy, cx] = q.energy[cy + ty[best], cx + tx[best]]
        filled[cy, cx] = True
    out, said, reached = _feather(q, out, ids, shifts, offsets, placed, members, margin)
    return out, hole & ~filled, said, reached


def _straight_on(q: Quilting, my: int, mx: int, radius: float) -> tuple[Index, Index]:
    """Extra candidate shifts for a cell next to the kept border: the piece just inside the
    border, moved straight out across it (and a little further in, and a few pixels sideways),
    so that a pole, a trunk or an edge that leaves the kept image goes on in line, where the
    random candidates would put it back with a kink or not at all."""
    width = q.keep.shape[1]
    ky, kx = divmod(int(q.nearest[my, mx]), width)
    gap = max(1e-6, float(np.hypot(ky - my, kx - mx)))
    inward_y, inward_x = (ky - my) / gap, (kx - mx) / gap
    reach = gap + radius + 1 + np.array([0.0, 0.5 * radius])[:, None]
    side = np.array(STRAIGHT, np.float64)[None, :]
    shift_y = np.rint(inward_y * reach - inward_x * side).astype(np.intp).ravel()
    shift_x = np.rint(inward_x * reach + inward_y * side).astype(np.intp).ravel()
    return shift_y, shift_x


def _costs(
    q: Quilting, out: Float, around: float, cover_y: Index, cover_x: Index, strip_y: Index,
    strip_x: Index,
    ty: Index, tx: Index,
) -> NDArray[np.float64]:  # fmt: skip
    """The cost of each candidate shift for one cell (infinite where it reads off the kept)."""
    height, width = q.keep.shape
    ry, rx = cover_y[None, :] + ty[:, None], cover_x[None, :] + tx[:, None]
    valid = _readable(q, ry, rx).all(axis=1)
    ry, rx = np.clip(ry, 0, height - 1), np.clip(rx, 0, width - 1)
    d = q.depth[ry, rx] / q.band
    cost = q.subject * DEPTH_WEIGHT * (d * d).mean(axis=1)
    # Much busier than what is around the cell: likely the subject, not background.
    busy = np.maximum(q.energy[ry, rx].mean(axis=1) - BUSY * around, 0)
    cost += q.subject * ENERGY_WEIGHT * busy * busy
    if len(strip_y):
        uy, ux = strip_y[None, :] + ty[:, None], strip_x[None, :] + tx[:, None]
        ok = _readable(q, uy, ux)
        uy, ux = np.clip(uy, 0, height - 1), np.clip(ux, 0, width - 1)
        diff = q.image[uy, ux] - out[strip_y, strip_x][None]
        sq = np.einsum("knc,knc->kn", diff, diff)
        # Unreadable strip pixels count as a poor match, so that shifts cannot dodge the strip.
        cost += (np.where(ok, sq, 0).sum(axis=1) + (~ok).sum(axis=1) * 3e4) / len(strip_y)
    return np.where(valid, cost, np.inf)


def _offset(
    q: Quilting, out: Float, strip_y: Index, strip_x: Index, ty: int, tx: int
) -> Float:  # fmt: skip
    """The colour shift that makes a piece agree on average with its placed neighbours, so that
    pieces of a smooth area (a sky) do not show as facets."""
    if len(strip_y) == 0:
        return np.zeros(3, np.float32)
    ok = _readable(q, strip_y + ty, strip_x + tx)
    if not ok.any():
        return np.zeros(3, np.float32)
    diff = out[strip_y[ok], strip_x[ok]] - q.image[strip_y[ok] + ty, strip_x[ok] + tx]
    shift: Float = np.clip(np.median(diff, axis=0), -OFFSET_LIMIT, OFFSET_LIMIT).astype(np.float32)
    return shift


def _sample(
    rng: np.random.Generator, ys: Index, xs: Index, n: int
) -> tuple[Index, Index]:  # fmt: skip
    if len(ys) <= n:
        return ys, xs
    pick = rng.choice(len(ys), size=n, replace=False)
    return ys[pick], xs[pick]


def _feather(
    q: Quilting,
    out: Float,
    ids: NDArray[np.int32],
    shifts: NDArray[np.int64],
    offsets: Float,
    placed: Mask,
    members: list[Index],
    margin: int,
) -> tuple[Float, Float, Mask]:
    """Cross-fade neighbouring cells over a few pixels, so their seams do not show."""
    pieces = [m if p else m[:0] for m, p in zip(members, placed, strict=True)]
    sigma = max(1.0, margin * FEATHER)
    blended = blend_pieces(q.image, q.keep, pieces, shifts, offsets, sigma)
    use = blended.reached & ~q.keep & (ids >= 0)
    result: Float = np.where(use[..., None], blended.image, out).astype(np.float32)
    return result, blended.image, blended.reached
