"""The compiled kernels of patch synthesis: a nearest-neighbour field searched by PatchMatch
(Barnes et al. 2009) under a spatial prior and a reuse penalty, and patch voting (Wexler,
Shechtman & Irani 2007).

Targets are the patch centres whose window touches the hole; sources are patch centres whose
window lies wholly in the kept image (and off the excluded subject). A source's cost for a target
is the mean squared difference of their windows plus these terms:
- a spatial prior: a source further than `tau` from the target's anchor (its nearest kept pixel)
  pays for the excess, so sky is made from sky near it and floor from floor, and the middle of
  the image (usually the subject) is not pasted out to the new area;
- a reuse penalty per target already mapped to that source pixel, the completeness half of
  bidirectional similarity (Simakov et al. 2008): one source area is not pasted again and again.
  It is weighed by how much the source shows (`worn`: its window's texture): a plain patch of
  sky used twice is no visible copy, and a plain area would otherwise push its targets out to
  whatever else lies near.
- a coherence discount per neighbouring target whose source is shifted alike (Ashikhmin's
  coherent synthesis, 2001): the field copies whole pieces of a region rather than a mosaic of
  single windows, which is what the voting would blur.
`guarded` grades the sources from 0 (free) to 1: a source of 1 (the salient subject) is allowed
only within `tau_guard` of the target's anchor, so a subject that crosses the kept border is
continued straight out from there, never cloned elsewhere; any source pays in proportion to its
grade and its squared distance from the anchor, so the more distinct a piece, the nearer it
stays to where it was. Where such a piece ends just inside the border (a cup's rim, not a pole),
it also serves only targets at most `subject_depth` into the hole by their reach depth (synth.py
says how it wavers). Grade 2 (the hair, cap and neck round a face) is guarded as 1 and is also
used only by targets at most `face_depth` into the hole: a cap cut by the border ends there
instead of rising as a tower of cap pieces.

Kernels are compiled once and cached on disk (numba `cache=True`); `warm_up` compiles them where
the engine starts, so no request waits for it. They release the GIL, so candidates run side by
side in threads. Random numbers come from an explicit xorshift state: a candidate's result
depends on its seed only, not on the thread that runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np
from numba import njit

F = TypeVar("F", bound=Callable[..., Any])

INF = 3.0e38


def kernel(fn: F) -> F:
    """Compile with numba: nopython, cached on disk, without the GIL."""
    return cast(F, njit(cache=True, nogil=True, fastmath=True)(fn))


@kernel
def _rand(state: Any) -> int:
    x = state[0]
    x ^= (x << np.uint64(13)) & np.uint64(0xFFFFFFFFFFFFFFFF)
    x ^= x >> np.uint64(7)
    x ^= (x << np.uint64(17)) & np.uint64(0xFFFFFFFFFFFFFFFF)
    state[0] = x
    return int(x >> np.uint64(11))


@kernel
def _randint(state: Any, low: int, high: int) -> int:
    """Uniform in [low, high]."""
    return low + _rand(state) % (high - low + 1)


@kernel
def patch_cost(img: Any, ty: int, tx: int, sy: int, sx: int, r: int, limit: float) -> float:
    """Mean squared difference of the windows at (ty, tx) and (sy, sx) over the target's
    in-canvas pixels; stops early (returning more than `limit`) once it cannot beat it."""
    height, width, channels = img.shape
    full = (2 * r + 1) * (2 * r + 1) * channels
    bound = limit * full
    total = 0.0
    count = 0
    for dy in range(-r, r + 1):
        y = ty + dy
        if y < 0 or y >= height:
            continue
        for dx in range(-r, r + 1):
            x = tx + dx
            if x < 0 or x >= width:
                continue
            for c in range(channels):
                d = img[y, x, c] - img[sy + dy, sx + dx, c]
                total += d * d
            count += channels
        if total > bound:
            return INF
    return total / max(count, 1)


@kernel
def _extra(
    ty: int, tx: int, sy: int, sx: int, ay: int, ax: int, guarded: Any, occ: Any, worn: Any,
    guide: Any, low: Any, inward: Any, prm: Any,
) -> float:  # fmt: skip
    """The prior's, the guide's and the reuse penalty's share of a source's cost (INF: not
    allowed). `inward` holds, per pixel, the signed distance to the kept border (a source's
    depth inside the kept image, a target's depth in the hole as a negative number), then how
    deep a target counts for the subject's reach (0 where the subject may run on)."""
    tau2, lam_s, tau_guard2, lam_r, lam_g = prm[0], prm[1], prm[2], prm[3], prm[4]
    band, lam_b, lam_d, face_depth, subject_depth = prm[5], prm[6], prm[7], prm[9], prm[10]
    d2 = float((sy - ay) * (sy - ay) + (sx - ax) * (sx - ax))
    g = guarded[sy, sx]
    if g >= 1.0 and d2 > tau_guard2:
        return INF
    # The band round a face (grade 2) goes on only a little way out: hair or a cap ends, it
    # is no tower.
    if g > 1.0 and -inward[ty, tx, 0] > face_depth:
        return INF
    if g >= 1.0 and inward[ty, tx, 1] > subject_depth:
        return INF
    extra = lam_r * occ[sy, sx] * worn[sy, sx] + lam_d * min(g, 1.0) * d2 / tau2
    if d2 > tau2:
        extra += lam_s * (d2 - tau2) / tau2
    if inward[sy, sx, 0] > band:
        extra += lam_b * (inward[sy, sx, 0] - band) / band
    channels = guide.shape[2]
    g = 0.0
    for c in range(channels):
        d = guide[ty, tx, c] - low[sy, sx, c]
        g += d * d
    total: float = extra + lam_g * g / channels
    return total


@kernel
def _coherent(tid: Any, nnf: Any, y: int, x: int, sy: int, sx: int) -> int:
    """How many of target (y, x)'s four neighbours map to source (sy, sx) shifted alike: a
    field that copies whole pieces, not a mosaic of single windows."""
    height, width = tid.shape
    found = 0
    for q in range(4):
        dy = -1 if q == 0 else (1 if q == 1 else 0)
        dx = -1 if q == 2 else (1 if q == 3 else 0)
        ny, nx = y + dy, x + dx
        if 0 <= ny < height and 0 <= nx < width:
            j = tid[ny, nx]
            if j >= 0 and nnf[j, 0] == sy + dy and nnf[j, 1] == sx + dx:
                found += 1
    return found


@kernel
def _offer(
    img: Any, y: int, x: int, cy: int, cx: int, ay: int, ax: int, guarded: Any, occ: Any,
    worn: Any, guide: Any, low: Any, inward: Any, prm: Any, r: int, best: float, tid: Any,
    nnf: Any,
) -> tuple[float, float]:  # fmt: skip
    """Source (cy, cx)'s whole cost for target (y, x), less its coherence discount, and its
    patch cost alone, or more than `best` where it cannot beat it (the patch comparison stops
    early)."""
    e = _extra(y, x, cy, cx, ay, ax, guarded, occ, worn, guide, low, inward, prm)
    e -= prm[8] * _coherent(tid, nnf, y, x, cy, cx)
    if e >= best:
        return INF, INF
    patch = patch_cost(img, y, x, cy, cx, r, best - e)
    return patch + e, patch


@kernel
def _random_source(state: Any, ay: int, ax: int, radius: int, ok: Any, sources: Any) -> Any:
    """A valid source near (ay, ax), or any valid source when none is found there quickly."""
    height, width = ok.shape
    for _ in range(8):
        y = _randint(state, max(0, ay - radius), min(height - 1, ay + radius))
        x = _randint(state, max(0, ax - radius), min(width - 1, ax + radius))
        if ok[y, x]:
            return y, x
    k = _randint(state, 0, sources.shape[0] - 1)
    return sources[k, 0], sources[k, 1]


@kernel
def init_field(
    ty: Any, tx: Any, anchor: Any, ok: Any, sources: Any, radius: int, state: Any, nnf: Any
) -> None:
    """A random field: each target gets a valid source near its anchor."""
    for i in range(ty.shape[0]):
        y, x = _random_source(state, anchor[i, 0], anchor[i, 1], radius, ok, sources)
        nnf[i, 0] = y
        nnf[i, 1] = x


@kernel
def upsample_field(
    ty: Any, tx: Any, coarse_tid: Any, coarse_nnf: Any, anchor: Any, ok: Any, sources: Any,
    radius: int, state: Any, nnf: Any,
) -> None:  # fmt: skip
    """Each target takes its coarse parent's source, doubled; a target without a valid one gets
    a random source near its anchor."""
    ch, cw = coarse_tid.shape
    height, width = ok.shape
    for i in range(ty.shape[0]):
        cy = min(ty[i] // 2, ch - 1)
        cx = min(tx[i] // 2, cw - 1)
        j = coarse_tid[cy, cx]
        if j >= 0:
            y = 2 * coarse_nnf[j, 0] + ty[i] % 2
            x = 2 * coarse_nnf[j, 1] + tx[i] % 2
            if 0 <= y < height and 0 <= x < width and ok[y, x]:
                nnf[i, 0] = y
                nnf[i, 1] = x
                continue
        y, x = _random_source(state, anchor[i, 0], anchor[i, 1], radius, ok, sources)
        nnf[i, 0] = y
        nnf[i, 1] = x


@kernel
def search(
    img: Any, ty: Any, tx: Any, tid: Any, anchor: Any, ok: Any, guarded: Any, worn: Any,
    sources: Any, guide: Any, low: Any, inward: Any, r: int, prm: Any, reach: int, reverse: bool,
    state: Any, nnf: Any, cost: Any, occ: Any,
) -> None:  # fmt: skip
    """One PatchMatch pass over the targets (forward or reverse scan): propagation from the two
    neighbours already visited, then random search in windows shrinking from `reach` around the
    best source, and one draw near the anchor. Updates `nnf`, `cost` and `occ` (targets per
    source pixel)."""
    height, width = ok.shape
    n = ty.shape[0]
    tau = int(np.sqrt(prm[0])) + 1
    step = -1 if reverse else 1
    occ[:, :] = 0
    for i in range(n):
        occ[nnf[i, 0], nnf[i, 1]] += 1
    for k in range(n):
        i = n - 1 - k if reverse else k
        y, x = ty[i], tx[i]
        ay, ax = anchor[i, 0], anchor[i, 1]
        by, bx = nnf[i, 0], nnf[i, 1]
        occ[by, bx] -= 1
        patch = patch_cost(img, y, x, by, bx, r, INF)
        best = patch + _extra(y, x, by, bx, ay, ax, guarded, occ, worn, guide, low, inward, prm)
        best -= prm[8] * _coherent(tid, nnf, y, x, by, bx)
        for q in range(2):
            ny = y - step if q == 0 else y
            nx = x if q == 0 else x - step
            if ny < 0 or ny >= height or nx < 0 or nx >= width:
                continue
            j = tid[ny, nx]
            if j < 0:
                continue
            cy = nnf[j, 0] + (y - ny)
            cx = nnf[j, 1] + (x - nx)
            if cy < 0 or cy >= height or cx < 0 or cx >= width or not ok[cy, cx]:
                continue
            if cy == by and cx == bx:
                continue
            c, pc = _offer(
                img, y, x, cy, cx, ay, ax, guarded, occ, worn, guide, low, inward, prm, r, best,
                tid, nnf,
            )  # fmt: skip
            if c < best:
                best, patch, by, bx = c, pc, cy, cx
        radius = reach
        while radius >= 1:
            cy = _randint(state, max(0, by - radius), min(height - 1, by + radius))
            cx = _randint(state, max(0, bx - radius), min(width - 1, bx + radius))
            radius //= 2
            if not ok[cy, cx]:
                continue
            c, pc = _offer(
                img, y, x, cy, cx, ay, ax, guarded, occ, worn, guide, low, inward, prm, r, best,
                tid, nnf,
            )  # fmt: skip
            if c < best:
                best, patch, by, bx = c, pc, cy, cx
        cy, cx = _random_source(state, ay, ax, tau, ok, sources)
        c, pc = _offer(
            img, y, x, cy, cx, ay, ax, guarded, occ, worn, guide, low, inward, prm, r, best,
            tid, nnf,
        )  # fmt: skip
        if c < best:
            best, patch, by, bx = c, pc, cy, cx
        nnf[i, 0] = by
        nnf[i, 1] = bx
        cost[i] = patch
        occ[by, bx] += 1


@kernel
def costs(img: Any, ty: Any, tx: Any, nnf: Any, r: int, cost: Any) -> None:
    """Each target's patch cost for its current source."""
    for i in range(ty.shape[0]):
        cost[i] = patch_cost(img, ty[i], tx[i], nnf[i, 0], nnf[i, 1], r, INF)


@kernel
def vote(
    img: Any, ty: Any, tx: Any, nnf: Any, cost: Any, hole: Any, r: int, sigma2: float, out: Any
) -> None:
    """Each hole pixel becomes the weighted mean of what the windows covering it propose, a
    window's weight falling with its cost (exp(-cost / sigma2))."""
    height, width, channels = img.shape
    acc = np.zeros((height, width, channels), np.float32)
    wsum = np.zeros((height, width), np.float32)
    for i in range(ty.shape[0]):
        w = np.exp(-cost[i] / sigma2)
        sy, sx = nnf[i, 0], nnf[i, 1]
        for dy in range(-r, r + 1):
            y = ty[i] + dy
            if y < 0 or y >= height:
                continue
            for dx in range(-r, r + 1):
                x = tx[i] + dx
                if x < 0 or x >= width or not hole[y, x]:
                    continue
                for c in range(channels):
                    acc[y, x, c] += w * img[sy + dy, sx + dx, c]
                wsum[y, x] += w
    for y in range(height):
        for x in range(width):
            if hole[y, x] and wsum[y, x] > 0:
                for c in range(channels):
                    out[y, x, c] = acc[y, x, c] / wsum[y, x]


@kernel
def vote_best(
    img: Any, ty: Any, tx: Any, nnf: Any, cost: Any, hole: Any, r: int, out: Any, src: Any
) -> None:
    """Each hole pixel becomes what the lowest-cost window covering it proposes: no averaging,
    so the finest level keeps its sources' full sharpness. `src` gets the source pixel each
    hole pixel was copied from."""
    height, width, channels = img.shape
    best = np.full((height, width), INF, np.float32)
    for i in range(ty.shape[0]):
        c = cost[i]
        sy, sx = nnf[i, 0], nnf[i, 1]
        for dy in range(-r, r + 1):
            y = ty[i] + dy
            if y < 0 or y >= height:
                continue
            for dx in range(-r, r + 1):
                x = tx[i] + dx
                if x < 0 or x >= width or not hole[y, x] or c >= best[y, x]:
                    continue
                best[y, x] = c
                src[y, x, 0] = sy + dy
                src[y, x, 1] = sx + dx
                for ch in range(channels):
                    out[y, x, ch] = img[sy + dy, sx + dx, ch]


def warm_up() -> None:
    """Compile (or load from the disk cache) every kernel on a tiny problem, and load the face
    detector."""
    from outframe.engines.classic.subject import faces
    from outframe.engines.classic.synth import synthesize

    rng = np.random.default_rng(0)
    # Three levels, so that every kernel runs (a tiny hole has a single one).
    pixels = rng.integers(0, 255, (96, 96, 3), dtype=np.uint8)
    keep = np.zeros((96, 96), bool)
    keep[24:72, 24:72] = True
    image = pixels.astype(np.float32)
    synthesize(image, image, keep, np.zeros_like(keep), np.zeros(keep.shape, np.float32), 0)
    faces(pixels, keep)  # the detector's model takes seconds to unpack on first use
