"""Frames: each pixel from the sharpest image of the chain that has it."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest

from outframe.imaging.canvas import outpaint_placement, zoom_out
from outframe.video.camera import Camera, Inside, place, views
from outframe.video.frames import Composer, pyramid, rendered_ahead
from tests.conftest import psnr
from tests.video.chains import TexturedEngine, texture


def chain(size: int, ratios: list[float]) -> tuple[list[np.ndarray], Composer, Camera]:  # type: ignore[type-arg]
    images = [texture(size, size, 11)]
    insides = []
    engine = TexturedEngine()
    for n, ratio in enumerate(ratios):
        images.append(engine.fill(zoom_out(images[-1], ratio), "", [n], lambda _: None)[0])
        where = outpaint_placement(size, size, ratio)
        insides.append(Inside(where.x, where.y, where.width, where.height))
    levels = place([(size, size)] * len(images), insides)
    return images, Composer(images, levels, (size, size)), Camera(levels, 1.0)


def test_pyramid_halves_down_to_a_few_pixels() -> None:
    octaves = pyramid(np.zeros((100, 70, 3), np.uint8))
    assert [o.shape[:2] for o in octaves] == [(100, 70), (50, 35), (25, 17), (12, 8)]


def test_the_ends_are_the_chain_images_exactly() -> None:
    images, composer, camera = chain(128, [2, 2])
    assert psnr(composer.frame(camera.window(0)), images[0]) > 60
    assert np.array_equal(composer.frame(camera.window(camera.length)), images[-1])


def test_the_centre_comes_from_the_innermost_image_not_an_enlarged_outer_one() -> None:
    images, composer, camera = chain(128, [2, 2, 2])
    # Halfway through the first step, the centre of the frame is the innermost image enlarged
    # by less than 2x; the naive way (a crop of the outermost, enlarged 5.7x) blurs it.
    view = camera.window(np.log(2) / 2)
    x, y, w, h = (round(v) for v in view)
    naive = cv2.resize(images[-1][y : y + h, x : x + w], (128, 128), interpolation=cv2.INTER_LINEAR)
    frame = composer.frame(view)

    def detail(image: np.ndarray) -> float:  # type: ignore[type-arg]
        grey = cv2.cvtColor(image[40:88, 40:88], cv2.COLOR_RGB2GRAY)
        return float(cv2.Laplacian(grey, cv2.CV_64F).var())

    assert detail(frame) > 4 * detail(naive)


def test_every_frame_is_made_and_the_right_size() -> None:
    _, composer, camera = chain(64, [1.5, 2])
    frames = [composer.frame(view) for view in views(camera, 20, 2.0, "out")]
    assert {f.shape for f in frames} == {(64, 64, 3)} and all(f.dtype == np.uint8 for f in frames)


def test_frames_rendered_ahead_come_in_order_and_stop_when_closed() -> None:
    _, composer, camera = chain(64, [2])
    path = list(views(camera, 12, 1.0, "out"))
    ahead = list(rendered_ahead(composer, path, depth=2))
    assert all(np.array_equal(a, composer.frame(v)) for a, v in zip(ahead, path, strict=True))

    before = threading.active_count()
    frames = rendered_ahead(composer, path, depth=2)
    next(frames)
    frames.close()  # as a cancelled job's render does
    assert threading.active_count() == before


def test_a_frame_that_fails_raises_in_the_encoder_s_thread() -> None:
    _, composer, _ = chain(64, [2])
    with pytest.raises(ValueError):  # a view of no size
        list(rendered_ahead(composer, [(0.0, 0.0, 0.0, 0.0)]))
