"""The classic engine: exact kept pixels, distinct seeded candidates, awkward inputs."""

from __future__ import annotations

import numpy as np
import pytest

from outframe.engines.classic import ClassicEngine
from outframe.imaging.canvas import pan, repaint, zoom_out

ENGINE = ClassicEngine()


def noop(_: float) -> None:
    pass


def photo(height: int = 64, width: int = 64) -> np.ndarray:  # type: ignore[type-arg]
    return ENGINE.generate("a photo", width, height, [7], noop)[0]


def test_generate_is_seeded_and_varied() -> None:
    a = ENGINE.generate("a lake", 96, 64, [1, 2, 3, 4], noop)
    b = ENGINE.generate("a lake", 96, 64, [1, 2, 3, 4], noop)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert all(img.shape == (64, 96, 3) for img in a)
    assert len({img.tobytes() for img in a}) == 4
    assert min(float(img.std()) for img in a) > 10  # a picture, not a flat colour


@pytest.mark.parametrize(
    ("shape", "ratio"), [((64, 64), 2), ((47, 81), 1.5), ((16, 16), 2), ((33, 17), 1.2)]
)
def test_fill_keeps_pixels_and_differs_by_seed(shape: tuple[int, int], ratio: float) -> None:
    canvas = zoom_out(photo(*shape), ratio)
    out = ENGINE.fill(canvas, "", [1, 2, 3, 4], noop)
    assert all(img.shape == (*shape, 3) for img in out)
    for img in out:
        assert np.array_equal(img[canvas.keep], canvas.pixels[canvas.keep])
    new = ~canvas.keep
    diffs = [np.abs(out[0][new].astype(int) - img[new].astype(int)).mean() for img in out[1:]]
    assert min(diffs) > 1
    again = ENGINE.fill(canvas, "", [1, 2, 3, 4], noop)
    assert all(np.array_equal(x, y) for x, y in zip(out, again, strict=True))


def test_fill_grey_input_and_pan_and_inpaint() -> None:
    grey = np.repeat(np.linspace(0, 255, 40, dtype=np.uint8)[None, :, None], 30, 0).repeat(3, 2)
    out = ENGINE.fill(pan(grey, "up"), "", [5], noop)[0]
    assert out.shape == (45, 40, 3)
    mask = np.zeros((30, 40), bool)
    mask[10:20, 10:30] = True
    canvas = repaint(photo(30, 40), mask)
    filled = ENGINE.fill(canvas, "", [9], noop)[0]
    assert np.array_equal(filled[~mask], canvas.pixels[~mask])


def test_vary_keeps_composition() -> None:
    image = photo()
    out = ENGINE.vary(image, "", [1, 2, 3, 4], noop)
    assert len({img.tobytes() for img in out}) == 4
    for img in out:
        assert img.shape == image.shape
        assert np.abs(img.astype(int) - image.astype(int)).mean() < 40


def test_progress_reaches_one() -> None:
    seen: list[float] = []
    ENGINE.fill(zoom_out(photo(), 2), "", [1, 2], seen.append)
    assert seen[-1] == 1.0 and seen == sorted(seen)
