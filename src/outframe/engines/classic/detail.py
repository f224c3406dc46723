"""Restoring the detail a patch synthesis loses deep in the hole. Each coarse level's voting
averages overlapping patches, and the finer levels then match against that blurred start, so
deep new areas come out with less contrast in every frequency band than the border they continue
(measured on the bench's photos: a third to a half of the truth's band energy). Per band of a
Laplacian pyramid, the new pixels' local energy is raised towards that of the kept region they
continue (the energy around their nearest kept pixel) -- a local form of Heeger & Bergen's
matching of band statistics (1995). Gains only raise, and are bounded."""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from outframe.engines.classic.layout import nearest_kept
from outframe.engines.classic.pullpush import wide_blur

Float = NDArray[np.float32]
Mask = NDArray[np.bool_]

BANDS = 4  # band-pass levels looked at, finest first ...
FIRST = 2  # ... of which those from this one on are restored (the finest is sharp already)
GAIN = 2.5  # the most a band's amplitude is raised
REGION = 0.06  # reach of the kept region whose energy a new pixel takes, fraction of the long side
LOCAL = 2.0  # reach of the new pixels' own energy, in pixels of the band's level


def restore_detail(image: Float, keep: Mask) -> Float:
    """`image` with the bands of its new pixels (where `keep` is False) raised towards the
    energy of the kept region each continues; kept pixels come back unchanged."""
    if GAIN <= 1.0 or BANDS <= 0 or keep.all() or not keep.any():
        return image
    current = image
    bands: list[Float] = []
    masks: list[Mask] = []
    mask = keep
    for _ in range(BANDS):
        height, width = mask.shape
        if min(height, width) < 16:
            break
        down = np.asarray(cv2.pyrDown(current), np.float32)
        up = cv2.pyrUp(down, dstsize=(width, height))
        bands.append(current - up)
        masks.append(mask)
        current = down
        size = (down.shape[1], down.shape[0])
        mask = cv2.resize(mask.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0.999
    for i, (band, kept) in enumerate(zip(bands, masks, strict=True)):
        if i >= FIRST:
            bands[i] = band * _gain(band, kept)[..., None]
    out = current
    for band in reversed(bands):
        out = cv2.pyrUp(out, dstsize=(band.shape[1], band.shape[0])) + band
    out = np.asarray(out, np.float32)
    out[keep] = image[keep]
    return out


def _gain(band: Float, keep: Mask) -> Float:
    height, width = keep.shape
    energy = np.asarray((band * band).sum(axis=2), np.float32)
    # The kept side's energy, away from the border where the band straddles both sides.
    inner = cv2.erode(keep.astype(np.uint8), np.ones((5, 5), np.uint8), borderValue=1) > 0
    if not inner.any():
        return np.ones(keep.shape, np.float32)
    sigma = max(1.0, REGION * max(height, width))
    weight = wide_blur(inner.astype(np.float32), sigma)
    region = wide_blur(energy * inner, sigma) / np.maximum(weight, 1e-6)
    region = region.reshape(-1)[nearest_kept(inner)]
    local = np.asarray(cv2.GaussianBlur(energy, (0, 0), LOCAL), np.float32)
    gain = np.sqrt(region / np.maximum(local, 1e-3))
    gain = np.where(keep, 1.0, np.clip(gain, 1.0, GAIN)).astype(np.float32)
    return np.asarray(cv2.GaussianBlur(gain, (0, 0), LOCAL), np.float32)
