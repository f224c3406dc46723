"""What of the kept image must not be pasted into the new area: faces (dlib's HOG frontal-face
detector, which needs no model file) never, the hair, ears and neck around them and the salient
subject (context-aware saliency: distinct pieces) only right where they cross the kept border,
so that they continue out of the frame instead of appearing twice."""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

Mask = NDArray[np.bool_]
Float = NDArray[np.float32]

SALIENCY_SIDE = 64  # distinctness is measured on a small copy (pairs of all its patches)
PATCH = 5
NEIGHBOURS = 8  # a patch's distinctness: the mean distance to its this many nearest look-alikes
SALIENT = 1.3  # distinct above this many times the median distinctness ...
PLAIN = 0.9  # ... and plain below this many times it (between: graded)
FACE_GROW = 0.35  # around a face's box, this fraction of it on each side (hair, ears, chin)
MIN_FACE = 0.08  # smallest face looked for, as a fraction of the kept image's short side


_lock = threading.Lock()  # one detector object, not documented as thread-safe


@lru_cache(maxsize=1)
def _face_detector() -> Any:
    import dlib  # type: ignore[import-untyped,unused-ignore]

    return dlib.get_frontal_face_detector()


def faces(pixels: NDArray[np.uint8], keep: Mask) -> tuple[Mask, Mask]:
    """The boxes of the faces found in the kept image (eyes to chin), and the band around them
    (hair, ears, chin and neck)."""
    core = np.zeros(keep.shape, bool)
    grown = np.zeros(keep.shape, bool)
    ys, xs = np.nonzero(keep)
    if len(ys) == 0:
        return core, grown
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    crop = np.ascontiguousarray(pixels[y0:y1, x0:x1])
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY) if crop.ndim == 3 else crop
    # The detector finds faces of 80 px and more; a small image is looked at twice its size.
    upsample = 1 if min(grey.shape) < 400 else 0
    with _lock:
        found = _face_detector()(grey, upsample)
    for box in found:
        x, y, w, h = box.left(), box.top(), box.width(), box.height()
        gx, gy = int(FACE_GROW * w), int(FACE_GROW * h)
        core[max(0, y0 + y) : max(0, y0 + y + h), max(0, x0 + x) : max(0, x0 + x + w)] = True
        grown[
            max(0, y0 + y - gy) : max(0, y0 + y + h + 2 * gy),  # more below: the chin and neck
            max(0, x0 + x - gx) : max(0, x0 + x + w + gx),
        ] = True
    return core & keep, grown & keep & ~core


def faces_in(pixels: NDArray[np.uint8], region: Mask) -> int:
    """How many faces the detector finds with at least half their box in `region` (the image
    looked at twice its size below 800 px, so that faces of 40 px count)."""
    upsample = 1 if min(pixels.shape[:2]) < 800 else 0
    with _lock:  # in colour: the detector takes each pixel's strongest channel's gradient
        found = _face_detector()(np.ascontiguousarray(pixels), upsample)
    count = 0
    for box in found:
        y0, y1 = max(0, box.top()), min(region.shape[0], box.bottom())
        x0, x1 = max(0, box.left()), min(region.shape[1], box.right())
        if y1 > y0 and x1 > x0 and region[y0:y1, x0:x1].mean() >= 0.5:
            count += 1
    return count


def salient(pixels: NDArray[np.uint8], keep: Mask) -> Float:
    """The kept image's distinct parts (context-aware saliency, Goferman et al. 2010), graded:
    pieces whose nearest look-alikes elsewhere in the image are far, such as eyes, a mouth, a
    spoon or a sun, unlike wall, sky, fur or grass, which repeat. 1 from SALIENT times the
    median distinctness up (dilated a little), falling to 0 at PLAIN times it; 0 elsewhere."""
    out = np.zeros(keep.shape, np.float32)
    ys, xs = np.nonzero(keep)
    if len(ys) < 64:
        return out
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    crop = np.ascontiguousarray(pixels[y0:y1, x0:x1])
    if crop.ndim == 2:
        crop = np.repeat(crop[..., None], 3, axis=2)
    height, width = crop.shape[:2]
    scale = SALIENCY_SIDE / max(height, width)
    size = (max(8, round(width * scale)), max(8, round(height * scale)))
    small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(small, cv2.COLOR_RGB2LAB).astype(np.float32)
    sh, sw = lab.shape[:2]
    p = PATCH // 2
    padded = cv2.copyMakeBorder(lab, p, p, p, p, cv2.BORDER_REFLECT_101)
    patches = np.stack(
        [padded[dy : dy + sh, dx : dx + sw] for dy in range(PATCH) for dx in range(PATCH)], 2
    ).reshape(sh * sw, -1)
    sq = (patches**2).sum(1)
    dist = np.maximum(sq[:, None] + sq[None, :] - 2 * patches @ patches.T, 0)
    _exclude_near(dist.reshape(sh, sw, sh, sw), PATCH)
    k = min(NEIGHBOURS, dist.shape[1] - 1)
    distinct = np.sqrt(np.partition(dist, k, axis=1)[:, :k].mean(1)).reshape(sh, sw)
    distinct = cv2.GaussianBlur(distinct.astype(np.float32), (0, 0), 1.0)
    relative = distinct / max(float(np.median(distinct)), 1e-6)
    grade = np.clip((relative - PLAIN) / (SALIENT - PLAIN), 0, 1).astype(np.float32)
    hard = cv2.dilate((relative > SALIENT).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    grade[hard] = 1.0
    big = cv2.resize(grade, (width, height), interpolation=cv2.INTER_LINEAR)
    big[cv2.resize(hard.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST) > 0] = 1
    out[y0:y1, x0:x1] = big
    return np.where(keep, out, 0).astype(np.float32)


def _exclude_near(dist: Float, reach: int) -> None:
    """Set to infinity, in place, the distances of each patch (y, x) to the patches within
    `reach` of it in both directions: its own neighbourhood is no look-alike elsewhere. `dist`
    is the all-pairs matrix viewed as (y, x, y', x')."""
    height, width = dist.shape[:2]
    xs = np.arange(width)
    band = np.abs(xs[:, None] - xs[None, :]) <= reach  # (x, x')
    for y in range(height):
        block = dist[y, :, max(0, y - reach) : y + reach + 1, :]  # (x, y', x'), a view
        block[np.broadcast_to(band[:, None, :], block.shape)] = np.inf
