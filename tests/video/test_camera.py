"""The zoom's geometry: where the chain's images sit, and a view that moves at constant speed."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from outframe.imaging.canvas import make_square, outpaint_placement, zoom_out
from outframe.video.camera import (
    Camera,
    Inside,
    ease,
    key_view,
    place,
    ramp_fraction,
    video_size,
    views,
)


def inside(width: int, height: int, ratio: float) -> Inside:
    where = outpaint_placement(width, height, ratio)
    return Inside(where.x, where.y, where.width, where.height)


def test_placement_is_where_zoom_out_and_make_square_put_the_parent() -> None:
    image = np.full((61, 90, 3), 200, np.uint8)
    for ratio, canvas in ((1.7, zoom_out(image, 1.7)), (1, make_square(image))):
        where = outpaint_placement(90, 61, ratio)
        rows, cols = np.nonzero(canvas.keep)
        assert (cols.min(), rows.min()) == (where.x, where.y)
        assert (cols.max() + 1 - where.x, rows.max() + 1 - where.y) == (where.width, where.height)
        assert canvas.size == (where.canvas_width, where.canvas_height)


def test_levels_nest_in_world_units() -> None:
    levels = place([(100, 100), (100, 100)], [inside(100, 100, 2)])
    inner, outer = levels
    assert (outer.x, outer.y, outer.px) == (0, 0, 1)
    assert (inner.x, inner.y, inner.px, inner.right) == (25, 25, 0.5, 75)


def test_scale_changes_by_the_same_factor_every_step_of_u() -> None:
    levels = place([(90, 60)] * 4, [inside(90, 60, r) for r in (2, 1.5, 1.25)])
    camera = Camera(levels, 1.5)
    widths = [camera.window(u)[2] for u in np.linspace(0, camera.length, 61)]
    factors = [b / a for a, b in itertools.pairwise(widths)]
    assert max(factors) / min(factors) == pytest.approx(1, abs=1e-9)
    assert camera.length == pytest.approx(sum(math.log(s) for s in camera.step_scales()))
    assert camera.window(0) == pytest.approx(key_view(levels[0], 1.5))


def test_an_off_centre_placement_keeps_its_fixed_point_still() -> None:
    # A parent placed off centre (as rounding or another engine may): the point that the
    # camera pulls back from is where the two views' similarity has its fixed point.
    levels = place([(100, 100), (100, 100)], [Inside(10, 40, 50, 50)])
    camera = Camera(levels, 1.0)
    (fx, fy) = camera.segments[0].fixed
    for u in np.linspace(0, camera.length, 7):
        x, y, w, h = camera.window(u)
        # the fixed point sits at the same place within every view
        assert ((fx - x) / w, (fy - y) / h) == pytest.approx((0.2, 0.8))


def test_make_square_is_a_step_of_the_zoom() -> None:
    # 3:2, then Make Square: the square video starts on the inner image's central square.
    levels = place([(90, 60), (90, 90)], [inside(90, 60, 1)])
    camera = Camera(levels, 1.0)
    assert camera.window(0) == pytest.approx((15, 15, 60, 60))
    assert camera.window(camera.length) == pytest.approx((0, 0, 90, 90))
    assert camera.step_scales() == pytest.approx([1.5])


def test_easing_starts_and_ends_still_and_cruises_between() -> None:
    ramp = ramp_fraction(6.0)
    assert ramp == pytest.approx(0.5 / 6)
    xs = np.linspace(0, 1, 601)
    ps = np.array([ease(x, ramp) for x in xs])
    assert ps[0] == 0 and ps[-1] == pytest.approx(1)
    assert np.all(np.diff(ps) > -1e-12)
    speeds = np.diff(ps)
    cruise = speeds[(xs[1:] > ramp + 0.01) & (xs[1:] < 1 - ramp - 0.01)]
    assert cruise.max() == pytest.approx(cruise.min())
    assert speeds[0] < cruise[0] / 100 and speeds[-1] < cruise[0] / 100
    assert ramp_fraction(1.0) == 0.25


def test_views_run_out_or_in() -> None:
    camera = Camera(place([(64, 64), (64, 64)], [inside(64, 64, 2)]), 1.0)
    out = list(views(camera, 10, 1.0, "out"))
    back = list(views(camera, 10, 1.0, "in"))
    assert np.allclose(out, back[::-1])
    assert out[0] == pytest.approx((16, 16, 32, 32)) and out[-1] == pytest.approx((0, 0, 64, 64))


def test_video_size_keeps_the_shape_with_even_sides() -> None:
    assert video_size(1536, 1024, 1000) == (1000, 666)
    assert video_size(1024, 1536, 1920) == (1280, 1920)
    assert video_size(1024, 1024, 1024) == (1024, 1024)
