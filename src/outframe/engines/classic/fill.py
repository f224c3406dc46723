"""Filling the unknown part of a canvas: pieces of the image's outer band quilted into the hole
(real texture, seeded arrangement), made seamless against the kept border, with their lowest
frequencies handed over to a smooth extrapolation of the kept image so that the layout carries
on. Kept pixels are never changed."""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from outframe.engines.classic.layout import mirror_layout
from outframe.engines.classic.noise import fbm
from outframe.engines.classic.pullpush import pull_push, wide_blur
from outframe.engines.classic.quilt import plan, quilt
from outframe.engines.classic.texture import subject_weight
from outframe.imaging.canvas import Canvas
from outframe.imaging.codec import RGB

Float = NDArray[np.float32]
Mask = NDArray[np.bool_]

LOW = 0.03  # scale of the low frequencies taken from the guide, as a fraction of the long side
RAMP = 0.6  # distance over which the guide takes them over, as a fraction of the hole's depth
SEAM = 2.0  # pixels of reflection next to the kept border
NOISE = 14.0  # texture amplitude, in 8-bit levels, when nothing is known to copy from


class Filler:
    """The work shared by all seeds of one canvas (the guide, distances); then one per seed."""

    def __init__(self, canvas: Canvas) -> None:
        self.canvas = canvas
        self.keep = canvas.keep
        self.hole = ~canvas.keep
        self.pixels = canvas.pixels.astype(np.float32)
        self.guide = pull_push(self.pixels, self.keep.astype(np.float32))
        height, width = self.keep.shape
        self.sigma = max(1.0, LOW * max(height, width))
        self.guide_low = wide_blur(self.guide, self.sigma)
        dist = cv2.distanceTransform(self.hole.astype(np.uint8), cv2.DIST_L2, 5)
        # The guide stands in for the hole's pixels, so reads next to the kept border are sane;
        # on a stationary texture there is no subject to avoid repeating (texture.py).
        self.quilting = plan(self.guide, self.keep, subject_weight(canvas.pixels, self.keep))
        grown = cv2.dilate(self.hole.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
        self.ring = grown & self.keep
        reach = max(2.0, float(self.quilting.cell))
        self.fade = np.exp(-dist / reach)[..., None].astype(np.float32)
        # The guide's low frequencies take over gradually, so nothing steps at the kept border
        # (pull-push is smooth, but it does not meet the kept pixels exactly).
        # (The hole's depth, not the canvas's size: a narrow zoom-out band is handed over sooner.)
        ramp_px = max(1.0, RAMP * float(dist.max()))
        self.ramp = np.clip(dist / ramp_px, 0, 1)[..., None].astype(np.float32)
        # The first pixels out continue the kept border by reflection, whose gradients across
        # it are natural; the quilt takes over within SEAM pixels.
        self.reflect = np.clip(1 - dist / SEAM, 0, 1)[..., None].astype(np.float32)
        self.mirror = (
            mirror_layout(self.guide, self.keep, np.random.default_rng(0))
            if self.hole.any() and self.keep.any()
            else self.guide
        )

    def candidate(self, seed: int) -> RGB:
        rng = np.random.default_rng(seed)
        if not self.hole.any():
            return self.canvas.pixels.copy()
        if not self.keep.any():
            return self._texture_only(rng)
        layout, bare, said, reached = quilt(self.quilting, rng)
        layout = self._seamless(layout, said, reached)
        # Where no piece of the kept image fits (a thin or tiny kept area), reflect it.
        layout = np.where(bare[..., None], self.mirror, layout)
        layout = layout + self.reflect * (self.mirror - layout)
        image = layout + self.ramp * (self.guide_low - wide_blur(layout, self.sigma))
        out: RGB = np.clip(image + 0.5, 0, 255).astype(np.uint8)
        out[self.keep] = self.canvas.pixels[self.keep]
        return out

    def _seamless(self, image: Float, said: Float, reached: Mask) -> Float:
        """Shift the new pixels by a membrane that cancels their mismatch with the kept border:
        a gradient-domain correction that leaves the kept pixels alone."""
        ring = self.ring & reached
        if not ring.any():
            return image
        diff = np.where(ring[..., None], self.pixels - said, 0).astype(np.float32)
        membrane = pull_push(diff, ring.astype(np.float32))
        out: Float = image + membrane * self.fade * self.hole[..., None]
        return out

    def _texture_only(self, rng: np.random.Generator) -> RGB:
        """Nothing is kept: a seeded mid-grey texture, so that seeds still differ."""
        height, width = self.keep.shape
        texture = np.stack([fbm(rng, height, width, base_cells=4) for _ in range(3)], axis=2)
        out: RGB = np.clip(128 + 3 * NOISE * texture, 0, 255).astype(np.uint8)
        return out
