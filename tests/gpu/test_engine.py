"""The diffusers engine in this process, its worker in a spawned one: tiny models, 2 steps."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from outframe.core.config import Settings
from outframe.engines.diffusion import DiffusionEngine
from outframe.imaging import canvas as geometry
from outframe.imaging.codec import RGB
from outframe.services.runner import JobAborted


@pytest.fixture(scope="module")
def engine(tiny_models: tuple[Path, Path]) -> Iterator[DiffusionEngine]:
    text, inpaint = tiny_models
    settings = Settings(
        engine="diffusers",
        diffusers_model=text,
        diffusers_inpaint_model=inpaint,
        diffusers_steps=2,
        diffusers_cpu_threads=1,
    )
    made = DiffusionEngine(settings)
    made.start()
    yield made
    made.close()


def photo(width: int, height: int) -> RGB:
    y, x = np.mgrid[0:height, 0:width]
    image = np.stack([x * 255 // width, y * 255 // height, (x ^ y) & 255], axis=2)
    return image.astype(np.uint8)


def distinct(images: list[RGB]) -> bool:
    return all(
        np.abs(a.astype(int) - b.astype(int)).mean() > 1
        for i, a in enumerate(images)
        for b in images[i + 1 :]
    )


def test_generate_honours_size_and_seeds(engine: DiffusionEngine) -> None:
    steps: list[float] = []
    images = engine.generate("a lighthouse", 96, 64, [1, 2, 3, 4], steps.append)
    assert [image.shape for image in images] == [(64, 96, 3)] * 4
    assert distinct(images)
    assert steps == sorted(steps) and steps[-1] == 1.0
    again = engine.generate("a lighthouse", 96, 64, [3], lambda _: None)
    assert np.array_equal(again[0], images[2])  # a seed gives the same image


@pytest.mark.parametrize(
    "canvas",
    [
        geometry.zoom_out(photo(64, 64), 2.0),
        geometry.zoom_out(photo(75, 49), 1.5),  # odd, non-square
        geometry.pan(photo(64, 48), "left"),
        geometry.repaint(photo(64, 64), np.pad(np.ones((20, 20), bool), 22)),
    ],
    ids=["zoom-2x", "zoom-odd", "pan", "inpaint"],
)
def test_fill_keeps_pixels_and_makes_distinct_candidates(
    engine: DiffusionEngine, canvas: geometry.Canvas
) -> None:
    steps: list[float] = []
    images = engine.fill(canvas, "a coast --ar 1:1", [5, 6, 7, 8], steps.append)
    assert all(image.shape == canvas.pixels.shape for image in images)
    for image in images:
        assert np.array_equal(image[canvas.keep], canvas.pixels[canvas.keep])
    assert distinct([image[~canvas.keep] for image in images])
    assert steps[-1] == 1.0


def test_vary_keeps_the_size(engine: DiffusionEngine) -> None:
    image = photo(64, 96)
    images = engine.vary(image, "a tower", [1, 2, 3, 4], lambda _: None)
    assert [out.shape for out in images] == [image.shape] * 4
    assert distinct(images)


def test_an_aborted_job_stops_the_worker_and_the_next_one_runs(engine: DiffusionEngine) -> None:
    calls: list[float] = []

    def abort(fraction: float) -> None:
        calls.append(fraction)
        raise JobAborted("lease lost")

    with pytest.raises(JobAborted, match="lease lost"):
        engine.generate("x", 64, 64, [1, 2, 3, 4], abort)
    assert len(calls) == 1  # nothing is reported after the abort
    worker = engine._worker
    assert worker is not None and worker.alive()
    assert len(engine.generate("x", 64, 64, [1], lambda _: None)) == 1
    assert engine._worker is worker  # the same warm process
