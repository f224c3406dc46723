"""Filling the unknown part of a canvas by coarse-to-fine patch synthesis (synth.py) from the
kept image's own pieces, faces and the salient subject held back (subject.py), its lowest
frequencies handed over to the layout guide (guide.py) away from the border, and made seamless
against the kept border. Kept pixels are never changed."""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from outframe.engines.classic.detail import restore_detail
from outframe.engines.classic.guide import stretch_guide
from outframe.engines.classic.noise import fbm
from outframe.engines.classic.pullpush import pull_push, wide_blur
from outframe.engines.classic.subject import faces, faces_in, salient
from outframe.engines.classic.synth import synthesize
from outframe.engines.classic.texture import subject_weight
from outframe.imaging.canvas import Canvas
from outframe.imaging.codec import RGB

Float = NDArray[np.float32]
Mask = NDArray[np.bool_]

LOW = 0.03  # scale of the low frequencies taken from the guide, as a fraction of the long side
RAMP = 0.5  # distance over which the guide takes them over, as a fraction of the hole's depth
SEAM = 6.0  # reach of the seam correction from the kept border, in pixels
ALONG = 3.0  # the seam correction's smoothing along the border, in pixels (0: none)
NOISE = 14.0  # texture amplitude, in 8-bit levels, when nothing is known to copy from
RETRIES = 2  # a candidate showing a face in its new area is made again up to this many times
RESEED = 7919  # ... each time from its seed plus this
FACE_SHARE = 0.5  # the face band ends a little way out while at most this share of what is kept
DRIFT = 8.0  # seeded brightness drift of the guide away from the border, in 8-bit levels


class Filler:
    """The work shared by all seeds of one canvas (guide, subject masks); then one per seed."""

    def __init__(self, canvas: Canvas) -> None:
        self.canvas = canvas
        self.keep = canvas.keep
        self.hole = ~canvas.keep
        self.pixels = canvas.pixels.astype(np.float32)
        if not self.hole.any() or not self.keep.any():
            return
        # Faces are never sources; the hair and neck around them only straight out, and only
        # a little way (grade 2, synth.py), unless they are most of what is kept.
        self.excluded, around = faces(canvas.pixels, self.keep)
        band_grade = 2.0 if around.sum() <= FACE_SHARE * self.keep.sum() else 1.0
        # On a stationary texture (a star field, a tissue slide) nothing else is a subject.
        stationary = subject_weight(canvas.pixels, self.keep) < 0.5
        self.guarded = band_grade * around.astype(np.float32)
        if not stationary:
            self.guarded = np.maximum(self.guarded, salient(canvas.pixels, self.keep))
        height, width = self.keep.shape
        self.sigma = max(1.0, LOW * max(height, width))
        self.guide = stretch_guide(self.pixels, self.keep)
        # A flat image stays flat: the drift is as strong as the kept image's own variation.
        self.drift = DRIFT * min(1.0, float(self.pixels[self.keep].std(axis=0).mean()) / DRIFT)
        dist = cv2.distanceTransform(self.hole.astype(np.uint8), cv2.DIST_L2, 5)
        ramp_px = max(1.0, RAMP * float(dist.max()))
        self.ramp = np.clip(dist / ramp_px, 0, 1)[..., None].astype(np.float32)
        self.fade = np.exp(-dist / SEAM)[..., None].astype(np.float32)

    def candidate(self, seed: int) -> RGB:
        if not self.hole.any():
            return self.canvas.pixels.copy()
        if not self.keep.any():
            return self._texture_only(np.random.default_rng(seed))
        # Pieces of a crowd or a pattern can come together as a face no guard foresaw: such a
        # candidate is made again from another seed derived from its own (still deterministic).
        for attempt in range(RETRIES + 1):
            out = self._synthesized(seed + attempt * RESEED)
            if faces_in(out, self.hole) == 0:
                break
        return out

    def _synthesized(self, seed: int) -> RGB:
        rng = np.random.default_rng(seed)
        height, width = self.keep.shape
        # Each seed's layout drifts a little from the guide's away from the border (as two
        # photographers' framings would differ): the candidates differ in more than texture.
        # (Brightness only: a colour drift shows as blotches on a smooth sky.)
        drift = fbm(rng, height, width, base_cells=3)[..., None]
        guide = self.guide + self.drift * self.ramp * drift
        image = synthesize(self.pixels, guide, self.keep, self.excluded, self.guarded, seed)
        image = restore_detail(image, self.keep)
        image = self._seamless(image)
        image = image + self.ramp * (wide_blur(guide, self.sigma) - wide_blur(image, self.sigma))
        out: RGB = np.clip(image + 0.5, 0, 255).astype(np.uint8)
        out[self.keep] = self.canvas.pixels[self.keep]
        return out

    def _seamless(self, image: Float) -> Float:
        """Shift the new pixels by a membrane that cancels their mismatch with the kept border
        (each new pixel next to it against its kept neighbours' mean): a gradient-domain
        correction that leaves the kept pixels alone."""
        box = np.ones((3, 3), np.float32)
        keep = self.keep.astype(np.float32)
        kept_mean = (
            cv2.filter2D(self.pixels * keep[..., None], -1, box)
            / np.maximum(cv2.filter2D(keep, -1, box), 1e-6)[..., None]
        )
        edge = self.hole & (cv2.dilate(keep, np.ones((3, 3), np.uint8)) > 0)
        diff = np.where(edge[..., None], kept_mean - image, 0).astype(np.float32)
        if ALONG > 0:
            # Only the mismatch's slow part along the border: the texture's own steps across
            # it stay (a natural border is not flat).
            weight = cv2.GaussianBlur(edge.astype(np.float32), (0, 0), ALONG)
            slow = cv2.GaussianBlur(diff, (0, 0), ALONG) / np.maximum(weight, 1e-6)[..., None]
            diff = np.where(edge[..., None], slow, 0).astype(np.float32)
        membrane = pull_push(diff, edge.astype(np.float32))
        out: Float = image + membrane * self.fade * self.hole[..., None]
        return out

    def _texture_only(self, rng: np.random.Generator) -> RGB:
        """Nothing is kept: a seeded mid-grey texture, so that seeds still differ."""
        height, width = self.keep.shape
        texture = np.stack([fbm(rng, height, width, base_cells=4) for _ in range(3)], axis=2)
        out: RGB = np.clip(128 + 3 * NOISE * texture, 0, 255).astype(np.uint8)
        return out
