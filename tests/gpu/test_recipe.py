"""The diffusers engine's pixel work around the model (no model needed)."""

from __future__ import annotations

import numpy as np
import pytest

from outframe.engines.diffusion.recipe import (
    at_size,
    clean_prompt,
    compose,
    generation_size,
    repaint_mask,
)
from outframe.imaging import canvas as geometry


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("a red fox --ar 16:9 --seed 5", "a red fox"),
        ("a red fox", "a red fox"),
        ("well-lit room --no people", "well-lit room"),
        ("--seed 3", ""),
    ],
)
def test_midjourney_parameters_are_not_sent_to_the_model(prompt: str, expected: str) -> None:
    assert clean_prompt(prompt) == expected


@pytest.mark.parametrize(
    ("width", "height", "side", "multiple", "expected"),
    [
        (2048, 2048, 1024, 64, (1024, 1024)),
        (1536, 1024, 1024, 64, (1280, 832)),  # 3:2 at about one megapixel
        (96, 64, 64, 16, (80, 48)),
        (300, 1200, 512, 64, (256, 1024)),
        (10, 10, 512, 64, (512, 512)),  # small images are worked at the native size
    ],
)
def test_generation_size_keeps_area_and_aspect(
    width: int, height: int, side: int, multiple: int, expected: tuple[int, int]
) -> None:
    assert generation_size(width, height, side, multiple) == expected


def test_repaint_mask_reaches_into_the_kept_image_by_the_overlap() -> None:
    canvas = geometry.zoom_out(np.zeros((256, 256, 3), np.uint8), 2.0)  # kept: 64..192
    mask = repaint_mask(~canvas.keep, (128, 128), overlap=8)
    row = mask[64]
    # The kept square is 32..96 at half scale; the mask reaches 8 px into it from each side.
    assert row[: 32 + 8].all() and row[96 - 8 :].all()
    assert not row[32 + 9 : 96 - 9].any()


def test_compose_keeps_pixels_and_meets_the_border_without_a_step() -> None:
    """A generated image that is right in shape but off in colour (as diffusion drifts) is
    matched to the kept pixels: no visible step across the kept border."""
    y, x = np.mgrid[0:128, 0:128]
    truth = np.stack([x, y, (x + y) // 2], axis=2).astype(np.uint8)
    canvas = geometry.zoom_out(truth, 2.0)
    shifted = np.clip(truth.astype(int) + np.array([40, -30, 25]), 0, 255).astype(np.uint8)
    generated = shifted[::2, ::2]  # the model works at half size
    out = compose(generated, canvas.pixels, canvas.keep, overlap=4)
    assert np.array_equal(out[canvas.keep], canvas.pixels[canvas.keep])
    # Across the kept square's left edge (x = 32 | 31), the step is what the ramp itself has.
    rows = slice(40, 88)
    step = np.abs(out[rows, 32].astype(int) - out[rows, 31].astype(int)).max()
    assert step <= 8  # a ramp of 1 level per pixel, plus what a gain held near 1 leaves
    raw_step = np.abs(canvas.pixels[rows, 32].astype(int) - shifted[rows, 31].astype(int)).max()
    assert raw_step >= 25  # without compose's correction, the seam would show


def test_compose_without_new_pixels_returns_the_canvas() -> None:
    pixels = np.full((8, 8, 3), 7, np.uint8)
    keep = np.ones((8, 8), bool)
    assert np.array_equal(compose(np.zeros((4, 4, 3), np.uint8), pixels, keep, 2), pixels)


def test_at_size_keeps_only_wholly_kept_pixels() -> None:
    canvas = geometry.zoom_out(np.full((100, 100, 3), 200, np.uint8), 2.0)  # kept: 25..74
    small = at_size(canvas, (40, 40))  # 2.5 canvas pixels per model pixel
    rows = np.flatnonzero(small.keep.any(axis=1))
    assert (rows[0], rows[-1]) == (10, 29)  # 25..75 covers model rows 10..29 entirely
    assert small.pixels.shape == (40, 40, 3)
    assert np.all(small.pixels[small.keep] == 200)
