"""A frame from a view: the finest image that covers the whole view first, then each image
inside it pasted where it lands while the one under it would be enlarged, so every pixel comes
from the sharpest image that has it and the centre never blurs however deep the zoom goes."""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Generator, Iterable, Sequence

import cv2
import numpy as np

from outframe.imaging.codec import RGB
from outframe.video.camera import Level, Window

_MIN_PASTE = 2  # an image that lands smaller than this many pixels adds nothing visible


def pyramid(image: RGB, smallest: int = 8) -> list[RGB]:
    """The image and its halvings (area averages), down to `smallest` pixels on a side."""
    octaves = [np.ascontiguousarray(image)]
    while min(octaves[-1].shape[:2]) >= 2 * smallest:
        height, width = octaves[-1].shape[:2]
        half = cv2.resize(octaves[-1], (width // 2, height // 2), interpolation=cv2.INTER_AREA)
        octaves.append(np.asarray(half, dtype=np.uint8))
    return octaves


class Composer:
    """Renders views of the chain at the video's size; holds each image's pyramid (4/3 of the
    images' own memory) and nothing per frame but the frame."""

    def __init__(self, images: Sequence[RGB], levels: Sequence[Level], size: tuple[int, int]):
        if len(images) != len(levels):
            raise ValueError("one image per level")
        for image, level in zip(images, levels, strict=True):
            if image.shape[:2] != (level.height, level.width):
                raise ValueError("an image's size differs from its level's")
        self.levels = list(levels)
        self.pyramids = [pyramid(image) for image in images]
        self.width, self.height = size

    def frame(self, view: Window) -> RGB:
        x, y, w, h = view
        fx, fy = w / self.width, h / self.height  # world units per frame pixel
        base = next(
            (k for k, level in enumerate(self.levels) if level.covers(view)), len(self.levels) - 1
        )
        out = self._warp(base, view, fx, fy, 0, 0, self.width, self.height)
        for k in range(base - 1, -1, -1):
            outer, level = self.levels[k + 1], self.levels[k]
            if fx >= outer.px and fy >= outer.py:
                break  # the image drawn is not enlarged here: a finer one adds nothing visible
            left, right = (level.x - x) / fx, (level.right - x) / fx
            top, bottom = (level.y - y) / fy, (level.bottom - y) / fy
            if right - left < _MIN_PASTE or bottom - top < _MIN_PASTE:
                break  # the images inside this one are smaller still
            # The frame pixels whose centres fall inside the image.
            c0, c1 = max(0, math.ceil(left - 0.5)), min(self.width, math.floor(right - 0.5) + 1)
            r0, r1 = max(0, math.ceil(top - 0.5)), min(self.height, math.floor(bottom - 0.5) + 1)
            if c1 > c0 and r1 > r0:
                out[r0:r1, c0:c1] = self._warp(k, view, fx, fy, c0, r0, c1 - c0, r1 - r0)
        return out

    def _warp(
        self, k: int, view: Window, fx: float, fy: float, c0: int, r0: int, width: int, height: int
    ) -> RGB:
        """Frame pixels [r0, r0 + height) x [c0, c0 + width) sampled from image k, from the
        octave of its pyramid that is at most twice as fine as the frame there."""
        level, octaves = self.levels[k], self.pyramids[k]
        finer = min(fx / level.px, fy / level.py)  # image pixels per frame pixel
        octave = octaves[min(len(octaves) - 1, max(0, math.floor(math.log2(finer))))]
        src_h, src_w = octave.shape[:2]
        px, py = level.px * level.width / src_w, level.py * level.height / src_h
        ax, ay = fx / px, fy / py
        # cv2 puts pixel centres at whole coordinates: frame pixel (c, r)'s centre is at the
        # world point x + (c + 0.5) fx, which is source pixel (world - level.x) / px - 0.5.
        bx = (view[0] - level.x) / px + ax * (c0 + 0.5) - 0.5
        by = (view[1] - level.y) / py + ay * (r0 + 0.5) - 0.5
        matrix = np.array([[ax, 0.0, bx], [0.0, ay, by]])
        warped = cv2.warpAffine(
            octave,
            matrix,
            (width, height),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REPLICATE,
        )
        return np.asarray(warped, dtype=np.uint8)


_END = object()


def rendered_ahead(
    composer: Composer, views: Iterable[Window], depth: int = 4
) -> Generator[RGB, None, None]:
    """The frames of these views, rendered in a thread of their own while the caller encodes
    (OpenCV and the encoder both release the GIL); at most `depth` wait at once. Closing the
    iterator early (an error, a cancelled job) stops the thread."""
    ready: queue.Queue[object] = queue.Queue(depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for view in views:
                if not put(composer.frame(view)):
                    return
            put(_END)
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)

    thread = threading.Thread(target=produce, name="video-frames", daemon=True)
    thread.start()
    try:
        while (item := ready.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()
