"""Stitching the finest level's pieces together in the gradient domain. Each new pixel was
copied from a source pixel; pixels copied with the same offset form a piece. Where two pieces
meet (or a piece meets the kept image), the step between them is compared with the step their
sources show at that place, and each piece is shifted by one constant per channel so that the
mismatches are as small as possible (least squares, the kept image held fixed): the gain
compensation of panorama stitching (Brown & Lowe 2007), which takes away the brightness steps of
two bits of sky copied from different heights while every piece keeps its own texture."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from outframe.engines.classic.nnf import kernel

Float = NDArray[np.float32]
Mask = NDArray[np.bool_]
Ints = NDArray[np.int32]

SWEEPS = 60  # Gauss-Seidel sweeps over the pieces (over-relaxed) ...
RELAX = 1.7
PULL = 0.02  # ... each piece's shift pulled towards 0 with this weight per seam pixel
EDGE = 12.0  # a seam's mismatch (8-bit levels) at which it counts half: larger ones are edges


def stitch(img: Float, hole: Mask, src: Ints) -> Float:
    """`img` with each piece of its hole shifted as above; `src` holds each hole pixel's source
    pixel (y, x)."""
    height, width = hole.shape
    ys, xs = np.nonzero(hole)
    if len(ys) == 0:
        return img
    code = (src[ys, xs, 0] - ys).astype(np.int64) * (2 * width + 1) + (src[ys, xs, 1] - xs)
    _, inverse = np.unique(code, return_inverse=True)
    piece = np.full((height, width), -1, np.int32)
    piece[ys, xs] = inverse.astype(np.int32)
    count = int(inverse.max()) + 1
    shift = np.zeros((count, img.shape[2]), np.float32)
    first, other, residual = _seams(img, piece, src, hole)
    if len(first) == 0:
        return img
    # Both directions of each seam, grouped by the piece that is solved for.
    owner = np.concatenate([first, other])
    partner = np.concatenate([other, first])
    signed = np.concatenate([residual, -residual])
    # A large mismatch is an edge the sources did not see (sky copied next to the kept rocket),
    # not a brightness step: it counts the less the larger it is.
    size = np.abs(residual).mean(axis=1)
    weight = np.tile((1 / (1 + (size / EDGE) ** 2)).astype(np.float32), 2)
    keep = owner >= 0
    owner, partner, signed, weight = owner[keep], partner[keep], signed[keep], weight[keep]
    order = np.argsort(owner, kind="stable")
    owner, partner, signed, weight = owner[order], partner[order], signed[order], weight[order]
    starts = np.searchsorted(owner, np.arange(count + 1)).astype(np.int64)
    signed = np.ascontiguousarray(signed)
    _solve(starts, partner.astype(np.int32), signed, weight, shift, SWEEPS, RELAX, PULL)
    out = img.copy()
    out[ys, xs] += shift[inverse]
    return out


def _seams(img: Float, piece: Ints, src: Ints, hole: Mask) -> tuple[Ints, Ints, Float]:
    """The neighbouring pixel pairs (p, q) of different pieces, at least one new (a kept pixel
    is piece -1), and for each the step q - p less the step their sources show: the shift of
    p's piece less q's that would make them agree."""
    height, width = hole.shape
    firsts, others, residuals = [], [], []
    for dy, dx in ((0, 1), (1, 0)):
        p_piece = piece[: height - dy, : width - dx]
        q_piece = piece[dy:, dx:]
        new = hole[: height - dy, : width - dx] | hole[dy:, dx:]
        py, px = np.nonzero(new & (p_piece != q_piece))
        qy, qx = py + dy, px + dx
        # Each pixel's source: its own where it is kept.
        sp_y = np.where(hole[py, px], src[py, px, 0], py)
        sp_x = np.where(hole[py, px], src[py, px, 1], px)
        sq_y = np.where(hole[qy, qx], src[qy, qx, 0], qy)
        sq_x = np.where(hole[qy, qx], src[qy, qx, 1], qx)
        # What each side's source shows across the seam (clipped at the canvas's edge).
        ahead_y, ahead_x = np.minimum(sp_y + dy, height - 1), np.minimum(sp_x + dx, width - 1)
        behind_y, behind_x = np.maximum(sq_y - dy, 0), np.maximum(sq_x - dx, 0)
        # A kept side's own view is the step as it is: only a new side's source says anything.
        p_new, q_new = hole[py, px][:, None], hole[qy, qx][:, None]
        seen = np.where(p_new, img[ahead_y, ahead_x] - img[sp_y, sp_x], 0) + np.where(
            q_new, img[sq_y, sq_x] - img[behind_y, behind_x], 0
        )
        wanted = seen / (p_new.astype(np.float32) + q_new)
        residuals.append((img[qy, qx] - img[py, px]) - wanted)
        firsts.append(p_piece[py, px])
        others.append(q_piece[py, px])
    return (
        np.concatenate(firsts),
        np.concatenate(others),
        np.concatenate(residuals).astype(np.float32),
    )


@kernel
def _solve(
    starts: Any, partner: Any, signed: Any, weight: Any, shift: Any, sweeps: int, relax: float,
    pull: float,
) -> None:  # fmt: skip
    """Over-relaxed Gauss-Seidel on: for each seam pixel pair, p's shift = q's shift + the
    residual (a kept side's shift is 0), each shift pulled towards 0 by `pull` per pair."""
    count, channels = shift.shape
    for _ in range(sweeps):
        for a in range(count):
            lo, hi = starts[a], starts[a + 1]
            if hi == lo:
                continue
            n = 0.0
            for e in range(lo, hi):
                n += weight[e]
            for c in range(channels):
                total = 0.0
                for e in range(lo, hi):
                    b = partner[e]
                    total += weight[e] * ((shift[b, c] if b >= 0 else 0.0) + signed[e, c])
                target = total / (n * (1.0 + pull) + 1e-6)
                shift[a, c] += relax * (target - shift[a, c])
