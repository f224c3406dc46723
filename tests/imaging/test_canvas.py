from __future__ import annotations

import numpy as np
import pytest

from outframe.imaging.canvas import aspect_size, grid, pan, repaint, zoom_out
from tests.conftest import area_downscale, psnr


@pytest.mark.parametrize(
    ("shape", "ratio"),
    [((64, 64), 2), ((63, 47), 1.5), ((16, 16), 2), ((100, 30), 1.01), ((9, 7), 2)],
)
def test_zoom_out_geometry(shape: tuple[int, int], ratio: float) -> None:
    image = np.random.default_rng(0).integers(0, 256, (*shape, 3), dtype=np.uint8)
    canvas = zoom_out(image, ratio)
    assert canvas.pixels.shape == image.shape
    ys, xs = np.nonzero(canvas.keep)
    inner_h, inner_w = ys.max() - ys.min() + 1, xs.max() - xs.min() + 1
    assert (inner_w, inner_h) == (round(shape[1] / ratio), round(shape[0] / ratio))
    # centred to within a pixel
    assert abs(xs.min() - (shape[1] - 1 - xs.max())) <= 1
    assert abs(ys.min() - (shape[0] - 1 - ys.max())) <= 1
    centre = canvas.pixels[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    assert psnr(centre, area_downscale(image, inner_w, inner_h)) >= 40
    assert canvas.keep.sum() == inner_w * inner_h


@pytest.mark.parametrize("direction", ["up", "down", "left", "right"])
def test_pan_grows_by_half(direction: str) -> None:
    image = np.random.default_rng(0).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    canvas = pan(image, direction)
    expected = {"up": (60, 60), "down": (60, 60), "left": (40, 90), "right": (40, 90)}
    assert canvas.keep.shape == expected[direction]
    kept = canvas.pixels[canvas.keep].reshape(40, 60, 3)
    assert np.array_equal(kept, image)
    first_row_kept = canvas.keep[0].any()
    assert first_row_kept == (direction != "up")


def test_repaint_and_grid() -> None:
    image = np.zeros((4, 4, 3), np.uint8)
    mask = np.zeros((4, 4), bool)
    mask[1, 1] = True
    assert repaint(image, mask).keep.sum() == 15
    tiles = [np.full((2, 3, 3), i, np.uint8) for i in range(4)]
    g = grid(tiles)
    assert g.shape == (4, 6, 3) and g[0, 0, 0] == 0 and g[0, 5, 0] == 1 and g[3, 0, 0] == 2
    with pytest.raises(ValueError, match="four"):
        grid(tiles[:3])


@pytest.mark.parametrize(
    ("ratio", "side", "expected"),
    [((1, 1), 1024, (1024, 1024)), ((16, 9), 1024, (1368, 768)), ((2, 3), 64, (56, 80))],
)
def test_aspect_size(ratio: tuple[int, int], side: int, expected: tuple[int, int]) -> None:
    assert aspect_size(ratio, side) == expected
