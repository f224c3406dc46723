"""The diffusers engine on real open-weights models, where OUTFRAME_TEST_MODELS points at them:
a folder holding `text/` (a text-to-image pipeline) and, optionally, `inpaint/` (an inpainting
pipeline), each saved by diffusers' save_pretrained. Skipped elsewhere (CI has no weights)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from outframe.core.config import Settings
from outframe.engines.diffusion import DiffusionEngine
from outframe.imaging import canvas as geometry

MODELS = os.environ.get("OUTFRAME_TEST_MODELS", "")
PROMPT = "a lighthouse on a cliff at dusk"

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.slow,
    pytest.mark.skipif(not MODELS, reason="set OUTFRAME_TEST_MODELS to a folder of real models"),
]


@pytest.fixture(scope="module")
def engine() -> Iterator[DiffusionEngine]:
    root = Path(MODELS)
    inpaint = root / "inpaint"
    made = DiffusionEngine(
        Settings(
            engine="diffusers",
            diffusers_model=root / "text",
            diffusers_inpaint_model=inpaint if inpaint.is_dir() else None,
            diffusers_steps=int(os.environ.get("OUTFRAME_TEST_STEPS", "20")),
        )
    )
    made.start()
    yield made
    made.close()


def test_generate_then_zoom_out(engine: DiffusionEngine) -> None:
    steps: list[float] = []
    grid = engine.generate(
        "a lighthouse on a cliff at dusk", 1024, 1024, [1, 2, 3, 4], steps.append
    )
    assert [image.shape for image in grid] == [(1024, 1024, 3)] * 4
    assert steps[-1] == 1.0
    canvas = geometry.zoom_out(grid[0], 2.0)
    filled = engine.fill(canvas, PROMPT, [5, 6, 7, 8], lambda _: None)
    for image in filled:
        assert np.array_equal(image[canvas.keep], canvas.pixels[canvas.keep])
        assert image[~canvas.keep].std() > 5  # content, not a flat colour
    new = [image[~canvas.keep].astype(int) for image in filled]
    assert all(np.abs(a - b).mean() > 2 for i, a in enumerate(new) for b in new[i + 1 :])
