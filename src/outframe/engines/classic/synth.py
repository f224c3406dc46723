"""Coarse-to-fine patch synthesis of a canvas's hole (Wexler, Shechtman & Irani 2007): at the
coarsest level, where the hole is a few patches deep, the scene's layout is settled; each finer
level starts from the coarser field doubled (so the layout carries up and real detail comes from
the kept pixels of that level) and refines it with a few rounds of search and voting; the
finest level, where a round would cost a third of the time and change nothing visible, takes
the doubled field as it is and each pixel from its best window. The search and the voting are
the kernels in nnf.py."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from outframe.engines.classic import nnf
from outframe.engines.classic.layout import Index, nearest_kept
from outframe.engines.classic.noise import fbm
from outframe.engines.classic.pullpush import pull_push
from outframe.engines.classic.stitch import stitch

Float = NDArray[np.float32]
Mask = NDArray[np.bool_]
Ints = NDArray[np.int32]

PATCH_RADIUS = 3  # 7 x 7 patches at the finer levels
COARSE_RADIUS = 2  # 5 x 5 at the coarsest two, where the kept image is small
COARSEST_DEPTH = 8.0  # the coarsest level is where the hole is at most this many pixels deep
MIN_SIDE = 12  # ... or where the kept image's short side would drop below this
ITERATIONS = (8, 6, 4, 3, 2, 2)  # rounds of search and voting, coarsest level first
FINEST_ITERATIONS = 0  # rounds at the finest level, which starts from the field one level up
# (0: the doubled field, each pixel from its best window; a round more costs a third of the
# time and changed no figure of the bench beyond its noise)
FINE_REACH = 16  # levels of 256 px and more search only this far around each source
BEST_VOTE = True  # the finest level's last round takes each pixel from its best window
STITCH = True  # ... and its pieces are stitched together (stitch.py)
SHARP = 0.3  # voting weight scale, as a fraction of the median patch cost (smaller: sharper)
TAU = 0.1  # the prior's free radius, as a fraction of the kept image's short side
PRIOR = 600.0  # cost of a source at sqrt(2) tau from its anchor (mean squared 8-bit levels)
QUARTER = 0.25  # ... times the kept image's share of the canvas over this (a 2x zoom-out's) ...
SHALLOW = 2.0  # ... up to this many times
TAU_GUARD = 0.08  # how far from its anchor a guarded (subject) source may be, same unit as TAU
FACE_DEPTH = 0.12  # ... and, for the band round a face (grade 2), how deep its target may be
SUBJECT_DEPTH = 0.2  # ... and for the salient subject (grade 1) where it ends just inside:
CHANGE = 20.0  # ... its smoothed colour at the border and this far further in differ by this
WAVE = 0.5  # that depth wavers by this fraction, following a seeded fbm of ...
WAVE_CELLS = 8  # ... this many cells across (no line parallel to the border)
REUSE = 80.0  # cost per target already using the same source pixel, for a textured one ...
WORN = 8.0  # ... whose window's grey standard deviation is this (less: less, down to 1/20)
WARP = 0.5  # seeded sideways drift of a target's anchor, as a fraction of its depth ...
EASE = 0.5  # ... which grows in over this fraction of the hole's depth
GUIDE = 1.0  # weight of a source's mean colour against the layout guide's at the target
BAND = 0.1  # sources deeper inside the kept image than this (fraction of its short side) pay
DEEP = 150.0  # ... this much per band's depth further in
COHERE = 300.0  # a source's discount per neighbour that maps alike: whole pieces, not a mosaic
DISTINCT = 600.0  # a source of guard grade 1 pays this per tau squared of distance from the anchor


@dataclass
class Level:
    pixels: Float
    guide: Float
    keep: Mask
    excluded: Mask
    guarded: Float


def pyramid(pixels: Float, guide: Float, keep: Mask, excluded: Mask, guarded: Float) -> list[Level]:
    """Levels finest first, halving until the hole is COARSEST_DEPTH deep."""
    levels = [Level(pixels, guide, keep, excluded, guarded)]
    while True:
        top = levels[-1]
        depth = float(cv2.distanceTransform((~top.keep).astype(np.uint8), cv2.DIST_L2, 5).max())
        ys, xs = np.nonzero(top.keep)
        short = min(np.ptp(ys), np.ptp(xs)) + 1 if len(ys) else 0
        if depth <= COARSEST_DEPTH or short < 2 * MIN_SIDE:
            return levels
        height, width = top.keep.shape
        size = ((width + 1) // 2, (height + 1) // 2)
        weight = cv2.resize(top.keep.astype(np.float32), size, interpolation=cv2.INTER_AREA)
        premult = cv2.resize(top.pixels * top.keep[..., None], size, interpolation=cv2.INTER_AREA)
        small = np.asarray(premult / np.maximum(weight, 1e-6)[..., None], np.float32)

        def shrink(mask: Mask, size: tuple[int, int] = size) -> Mask:
            return cv2.resize(mask.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0

        guide = np.asarray(cv2.resize(top.guide, size, interpolation=cv2.INTER_AREA), np.float32)
        # A guarded pixel keeps its grade at the coarser level (the most of the four).
        grade = cv2.dilate(top.guarded, np.ones((2, 2), np.uint8), anchor=(0, 0))
        guarded = np.asarray(cv2.resize(grade, size, interpolation=cv2.INTER_NEAREST), np.float32)
        levels.append(Level(small, guide, weight > 0.999, shrink(top.excluded), guarded))


@dataclass
class Field:
    ty: Ints
    tx: Ints
    tid: Ints
    nnf: Ints


def synthesize(
    pixels: Float, guide: Float, keep: Mask, excluded: Mask, guarded: Float, seed: int
) -> Float:
    """The hole of `pixels` (where `keep` is False) filled from the kept pixels' patches, their
    mean colours following `guide`; kept pixels are returned as they are. `excluded` pixels are
    never read; `guarded` ones (graded 0 to 2) stay the nearer to the target's nearest kept
    pixel, the higher their grade (1: only next to it, and only a little way out where the piece
    ends just inside the border; 2: only a little way out anyway)."""
    levels = pyramid(pixels, guide, keep, excluded, guarded)
    state = np.array([(seed * 0x9E3779B97F4A7C15 | 1) & 0xFFFFFFFFFFFFFFFF], np.uint64)
    rng = np.random.default_rng(seed)
    height, width = keep.shape
    drift = np.stack([fbm(rng, height, width, base_cells=3, octaves=2) for _ in range(2)], -1)
    wave = fbm(rng, height, width, base_cells=WAVE_CELLS, octaves=3)
    noise = (drift, wave)
    field: Field | None = None
    img = pixels
    for depth, level in reversed(list(enumerate(levels))):
        coarse = depth >= len(levels) - 2 and depth > 0
        r = COARSE_RADIUS if coarse else PATCH_RADIUS
        rounds = ITERATIONS[min(len(levels) - 1 - depth, len(ITERATIONS) - 1)]
        if depth == 0 and len(levels) > 1 and field is not None and len(field.nnf):
            rounds = FINEST_ITERATIONS
        img, field = _level(level, field, r, rounds, img, noise, state, finest=depth == 0)
    return img


def _level(
    level: Level,
    coarser: Field | None,
    r: int,
    rounds: int,
    prev: Float,
    noise: tuple[Float, Float],
    state: NDArray[np.uint64],
    *,
    finest: bool,
) -> tuple[Float, Field]:
    keep, hole = level.keep, ~level.keep
    height, width = keep.shape
    window = np.ones((2 * r + 1, 2 * r + 1), np.uint8)
    inside = cv2.erode((keep & ~level.excluded).astype(np.uint8), window, borderValue=0) > 0
    sources = np.argwhere(inside).astype(np.int32)
    if len(sources) == 0:
        # Too little is kept for a whole patch: the smooth fill, as the caller's fallback shows.
        img = pull_push(level.pixels, keep.astype(np.float32))
        return img, Field(*_targets(hole, r), np.zeros((0, 2), np.int32))
    ty, tx, tid = _targets(hole, r)
    ys, xs = np.nonzero(keep)
    short = float(min(np.ptp(ys), np.ptp(xs)) + 1)
    grades = _grades(level, r)
    drift, wave = noise
    hole_depth = cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 5).astype(np.float32)
    near = nearest_kept(keep)
    limits = _limits(r, short)
    reach_depth = _reach_depth(level, hole_depth, wave, limits.subject_depth)
    beyond = _beyond(grades, inside, limits, hole_depth[ty, tx], reach_depth[ty, tx])
    anchor = _anchors(keep, near, hole_depth, ty, tx, drift, beyond)
    # A thin ring round a large kept image may take its sources from further in: the subject
    # is further away there, in proportion.
    tau = max(2.0, TAU * short * float(np.clip(keep.mean() / QUARTER, 1.0, SHALLOW)))
    field = np.zeros((len(ty), 2), np.int32)
    cost = np.zeros(len(ty), np.float32)
    settled = coarser is not None and len(coarser.nnf) > 0
    if coarser is None or not settled:
        nnf.init_field(ty, tx, anchor, inside, sources, int(tau), state, field)
        img = level.guide.copy()
    else:
        nnf.upsample_field(
            ty, tx, coarser.tid, coarser.nnf, anchor, inside, sources, int(tau), state, field
        )
        img = level.pixels.copy()
        img[hole] = cv2.resize(prev, (width, height), interpolation=cv2.INTER_LINEAR)[hole]
        nnf.vote(img, ty, tx, field, cost, hole, r, 1.0, img)  # costs all 0: a plain mean
    img = np.ascontiguousarray(img, np.float32)
    if rounds > 0:
        # Detail is settled near where the coarser level put it; only coarse levels look far.
        reach = FINE_REACH if settled and min(height, width) >= 256 else max(height, width)
        search = _Search(level, grades, hole_depth, reach_depth, r, tau, limits, reach)
        for i in range(rounds):
            search.round(img, ty, tx, tid, anchor, inside, sources, i % 2 == 1, state, field, cost)
            if not (finest and BEST_VOTE and i == rounds - 1):
                sigma2 = max(1.0, SHARP * float(np.median(cost)))
                nnf.vote(img, ty, tx, field, cost, hole, r, sigma2, img)
    if finest and BEST_VOTE:
        # No averaging at the very end: the result keeps its sources' full sharpness; the
        # pieces are then stitched together in the gradient domain (stitch.py).
        if rounds == 0:
            nnf.costs(img, ty, tx, field, r, cost)
        src = np.zeros((height, width, 2), np.int32)
        nnf.vote_best(img, ty, tx, field, cost, hole, r, img, src)
        if STITCH:
            img = stitch(img, hole, src)
    return img, Field(ty, tx, tid, field)


class _Search:
    """What the search of one level needs besides the field: the cost terms' parameters and
    the per-source maps (depth inside the kept image, mean colour, texture, guard grade)."""

    def __init__(
        self, level: Level, grades: Float, hole_depth: Float, reach_depth: Float, r: int,
        tau: float, limits: Limits, reach: int,
    ) -> None:  # fmt: skip
        keep = level.keep
        self.prm = np.array(
            [tau * tau, PRIOR, limits.tau_guard**2, REUSE, GUIDE, limits.band, DEEP, DISTINCT,
             COHERE, limits.face_depth, limits.subject_depth],
            np.float32,
        )  # fmt: skip
        self.r, self.reach = r, reach
        # Signed: depth inside the kept image, and in the hole as a negative number; then how
        # deep a target counts for the subject's reach.
        kept_depth = cv2.distanceTransform(keep.astype(np.uint8), cv2.DIST_L2, 5)
        self.inward = np.ascontiguousarray(
            np.stack([kept_depth - hole_depth, reach_depth], -1), np.float32
        )
        self.low = np.asarray(cv2.blur(level.pixels, (2 * r + 1, 2 * r + 1)), np.float32)
        self.guide = np.where(keep[..., None], self.low, level.guide).astype(np.float32)
        self.guarded = grades
        self.worn = _texture(level.pixels, r)
        self.occ = np.zeros(keep.shape, np.int32)

    def round(
        self, img: Float, ty: Ints, tx: Ints, tid: Ints, anchor: Ints, inside: Mask,
        sources: Ints, reverse: bool, state: NDArray[np.uint64], field: Ints, cost: Float,
    ) -> None:  # fmt: skip
        nnf.search(
            img, ty, tx, tid, anchor, inside, self.guarded, self.worn, sources, self.guide,
            self.low, self.inward, self.r, self.prm, self.reach, reverse, state, field, cost,
            self.occ,
        )  # fmt: skip


@dataclass
class Limits:
    """A level's guard distances in its own pixels (see the constants)."""

    tau_guard: float
    band: float
    face_depth: float
    subject_depth: float


def _limits(r: int, short: float) -> Limits:
    return Limits(
        tau_guard=max(float(r), TAU_GUARD * short),
        band=max(float(r + 1), BAND * short),
        face_depth=max(float(r), FACE_DEPTH * short),
        subject_depth=max(float(r), SUBJECT_DEPTH * short),
    )


def _reach_depth(level: Level, hole_depth: Float, wave: Float, length: float) -> Float:
    """How deep each hole pixel counts for the subject's reach: 0 where the piece it continues
    runs on (`_ends`), elsewhere its depth scaled so that the reach is `length` times 1 + WAVE
    times the seeded wave (clipped to [-1, 1]): where the subject ends is no line parallel to
    the border, and differs between candidates."""
    height, width = level.keep.shape
    ends = _ends(level.pixels, level.keep, level.keep & ~level.excluded, length)
    here = cv2.resize(wave, (width, height), interpolation=cv2.INTER_AREA)
    scale = 1 + WAVE * np.clip(here, -1, 1)
    return np.asarray(np.where(ends, hole_depth / scale, 0), np.float32)


def _ends(pixels: Float, keep: Mask, usable: Mask, length: float) -> Mask:
    """The hole pixels whose nearest kept pixel shows something other than what lies `length`
    further in, straight on, both smoothed over the `usable` pixels: a piece that ends (a cup's
    rim, a lamp, a forehead) rather than one that runs on (a pole, a road, a body), whose
    continuation out of the frame is as long as it is. Worked out on a copy shrunk to the
    smoothing's scale (as smooth, and cheap on a large canvas)."""
    height, width = keep.shape
    sigma = max(1.0, length / 4)
    step = max(1, int(sigma / 2))
    size = (-(-width // step), -(-height // step))

    def shrink(image: Float) -> Float:
        return np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), np.float32)

    small_keep = shrink(keep.astype(np.float32)) > 0.5
    small_usable = shrink(usable.astype(np.float32))
    weight = cv2.GaussianBlur(small_usable, (0, 0), sigma / step)
    premult = shrink(pixels * usable[..., None])
    smooth = cv2.GaussianBlur(premult, (0, 0), sigma / step) / np.maximum(weight, 1e-6)[..., None]
    sh, sw = small_keep.shape
    ys, xs = np.nonzero(~small_keep)
    ay, ax = np.divmod(nearest_kept(small_keep)[ys, xs], sw)
    dy, dx = (ay - ys).astype(np.float32), (ax - xs).astype(np.float32)
    norm = np.maximum(np.hypot(dy, dx), 1.0)
    qy = np.rint(ay + length / step * dy / norm).astype(np.intp)
    qx = np.rint(ax + length / step * dx / norm).astype(np.intp)
    on_canvas = (qy >= 0) & (qy < sh) & (qx >= 0) & (qx < sw)
    qy, qx = np.clip(qy, 0, sh - 1), np.clip(qx, 0, sw - 1)
    change = np.abs(smooth[ay, ax] - smooth[qy, qx]).mean(axis=1)
    found = on_canvas & (small_usable[qy, qx] > 0.5) & (weight[ay, ax] > 0.01)
    small = np.zeros((sh, sw), np.uint8)
    small[ys, xs] = found & (change > CHANGE)
    out = cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST) > 0
    return out & ~keep


def _grades(level: Level, r: int) -> Float:
    """The guard grade of each source: the level's, and 2 for any whose window holds any of a
    face's band, wherever its centre lies."""
    guarded = np.where(level.keep, level.guarded, 0).astype(np.float32)
    around_face = cv2.dilate((guarded > 1.0).astype(np.uint8), np.ones((2 * r + 1,) * 2))
    return np.where(around_face > 0, 2.0, guarded).astype(np.float32)


def _beyond(
    grades: Float, inside: Mask, limits: Limits, depth: Float, reach_depth: Float
) -> list[tuple[Mask, Mask]]:
    """For each guard that ends a little way out (the face band's by the targets' depth, the
    subject's by their reach depth), the targets past it and the sources they may still use.
    Where none is left (a tight portrait's coarse levels) there is no stage: those targets keep
    the source they started the level with, never improved, a wash rather than copies."""
    stages = []
    for past, free in (
        (depth > limits.face_depth, inside & (grades <= 1.0)),
        (reach_depth > limits.subject_depth, inside & (grades < 1.0)),
    ):
        if free.any() and not free[inside].all():
            stages.append((past, free))
    return stages


def _texture(pixels: Float, r: int) -> Float:
    """How much each pixel's window shows, 0 (plain) to 1 (its grey standard deviation WORN
    levels or more): the weight of the reuse penalty on it as a source."""
    grey = pixels.mean(axis=2)
    size = (2 * r + 1, 2 * r + 1)
    mean = cv2.blur(grey, size)
    std = np.sqrt(np.maximum(cv2.blur(grey * grey, size) - mean * mean, 0))
    return np.asarray(np.clip(std / WORN, 0.05, 1.0), np.float32)


def _anchors(
    keep: Mask, near: Index, hole_depth: Float, ty: Ints, tx: Ints, drift: Float,
    beyond: list[tuple[Mask, Mask]],
) -> Ints:  # fmt: skip
    """Each target's anchor: the kept pixel nearest to it after a seeded sideways drift that
    grows with depth, so that deep areas mix the border's neighbouring parts and seeds differ.
    Targets past where a guard ends (`beyond`: which targets, and what they may still use)
    take the nearest pixel they may use: what lies past the subject is made from what lies
    beside it."""
    height, width = keep.shape
    # Eased in: next to the border a structure leaving the kept image goes on straight.
    ease = np.minimum(1.0, hole_depth / max(1.0, EASE * float(hole_depth.max())))
    depth = (hole_depth * ease)[ty, tx]
    shift = cv2.resize(drift, (width, height), interpolation=cv2.INTER_AREA)[ty, tx]
    wy = np.clip(np.rint(ty + WARP * depth * shift[:, 0]), 0, height - 1).astype(np.intp)
    wx = np.clip(np.rint(tx + WARP * depth * shift[:, 1]), 0, width - 1).astype(np.intp)
    found = near[wy, wx]
    for targets, free in beyond:
        found = np.where(targets, nearest_kept(free)[wy, wx], found)
    found = np.where(keep[ty, tx], ty * width + tx, found)
    return np.stack(np.divmod(found, width), axis=1).astype(np.int32)


def _targets(hole: Mask, r: int) -> tuple[Ints, Ints, Ints]:
    """Patch centres whose window touches the hole, and their index by position (-1: none)."""
    window = np.ones((2 * r + 1, 2 * r + 1), np.uint8)
    touching = cv2.dilate(hole.astype(np.uint8), window) > 0
    ty, tx = (v.astype(np.int32) for v in np.nonzero(touching))
    tid = np.full(hole.shape, -1, np.int32)
    tid[ty, tx] = np.arange(len(ty), dtype=np.int32)
    return ty, tx, tid
