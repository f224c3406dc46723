"""The diffusers engine in this process, its worker in a spawned one: tiny models, 2 steps."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from outframe.core.config import Settings
from outframe.engines.base import EngineClosed, EngineError
from outframe.engines.diffusion import DiffusionEngine
from outframe.engines.diffusion.pipelines import FAULT_ENV
from outframe.imaging import canvas as geometry
from outframe.imaging.codec import RGB
from outframe.services.runner import JobAborted
from tests.gpu.tiny_models import build_flux, build_flux_fill, build_sd3


@pytest.fixture(scope="module")
def engine(tiny_models: tuple[Path, Path]) -> Iterator[DiffusionEngine]:
    made = engine_with(*tiny_models)
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


def test_an_interrupted_request_never_answers_the_next_one(engine: DiffusionEngine) -> None:
    """An exception that is not the engine's own (here KeyboardInterrupt) leaves a request in
    flight: its worker is replaced, so the next request gets its own answer."""

    def interrupt(fraction: float) -> None:
        if fraction > 0:  # the worker is denoising
            raise KeyboardInterrupt

    old = engine._worker
    with pytest.raises(KeyboardInterrupt):
        engine.generate("x", 64, 64, [1, 2, 3, 4], interrupt)
    assert old is not None and not old.alive()
    assert len(engine.generate("x", 64, 64, [7], lambda _: None)) == 1


def test_fills_join_the_kept_border_without_a_seam(engine: DiffusionEngine) -> None:
    """Across the kept border, neighbouring pixels differ about as much as neighbours inside
    the new area do (the tiny model's output is noise-like): no seam. Pasting the model's
    output back as it is would give steps over twice as large here."""
    y, x = np.mgrid[0:64, 0:64]
    smooth = np.stack([x * 4, y * 4, (x + y) + 60], axis=2).astype(np.uint8)
    canvas = geometry.zoom_out(smooth, 2.0)  # kept: rows and columns 16..47
    images = [i.astype(int) for i in engine.fill(canvas, "a coast", [1, 2, 3, 4], lambda _: 0)]
    across = np.mean([np.abs(i[16:48, 16] - i[16:48, 15]).mean() for i in images])
    inside = np.mean([np.abs(i[16:48, 8] - i[16:48, 7]).mean() for i in images])
    assert across <= 1.5 * inside


@pytest.mark.parametrize(("steps", "strength"), [(1, 0.6), (2, 0.92), (3, 0.6), (30, 0.92)])
def test_scheduled_steps_run_the_steps_asked_for(steps: int, strength: float) -> None:
    from outframe.engines.diffusion.pipelines import scheduled_steps

    assert int(scheduled_steps(steps, strength) * strength) == steps


def engine_with(
    text: Path, inpaint: Path | None = None, *, steps: int = 2, size: int = 0
) -> DiffusionEngine:
    """A started engine on tiny models (one torch thread, `steps` steps)."""
    made = DiffusionEngine(
        Settings(
            engine="diffusers",
            diffusers_model=text,
            diffusers_inpaint_model=inpaint,
            diffusers_steps=steps,
            diffusers_size=size,
            diffusers_cpu_threads=1,
        )
    )
    made.start()
    return made


def test_a_device_error_replaces_the_worker(
    tiny_models: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(FAULT_ENV, "device")  # the spawned worker inherits it
    made = engine_with(*tiny_models)
    try:
        first = made._worker
        with pytest.raises(EngineError, match=r"device error .*illegal memory access"):
            made.generate("x", 64, 64, [1], lambda _: None)
        assert first is not None and not first.alive()
        monkeypatch.delenv(FAULT_ENV)  # the next worker starts without the failpoint
        assert len(made.generate("x", 64, 64, [1, 2], lambda _: None)) == 2
        assert made._worker is not first
    finally:
        made.close()


def test_close_neither_waits_for_a_running_job_nor_starts_a_worker(
    tiny_models: tuple[Path, Path],
) -> None:
    made = engine_with(*tiny_models, steps=300)
    running = threading.Event()
    results: dict[str, object] = {}

    def job(name: str) -> None:
        try:
            results[name] = made.generate("x", 64, 64, [1], lambda _: running.set())
        except Exception as exc:
            results[name] = exc

    first = threading.Thread(target=job, args=("first",))
    first.start()
    assert running.wait(60)
    second = threading.Thread(target=job, args=("second",))  # waits for its turn
    second.start()
    worker = made._worker
    made.close()
    assert first.is_alive()  # close() came back while the first job still runs
    first.join(120)
    second.join(120)
    assert isinstance(results["first"], list)  # the running job finished
    assert isinstance(results["second"], EngineClosed)  # the waiting one was not started
    assert worker is not None and not worker.alive() and made._worker is None


def test_a_worker_lost_after_close_leaves_the_job_for_a_retry(
    tiny_models: tuple[Path, Path],
) -> None:
    """At exit the server's worker process goes down with it: the running job must not be
    failed (and refunded) for that, but left for its lease to lapse and be retried."""
    made = engine_with(*tiny_models, steps=300)
    running = threading.Event()
    outcome: list[BaseException] = []

    def job() -> None:
        try:
            made.generate("x", 64, 64, [1], lambda _: running.set())
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=job)
    thread.start()
    assert running.wait(60)
    worker = made._worker
    assert worker is not None
    made.close()
    worker.process.kill()  # as multiprocessing does to daemon children at exit
    thread.join(60)
    assert len(outcome) == 1 and isinstance(outcome[0], EngineClosed)


def fill_canvases() -> list[geometry.Canvas]:
    return [
        geometry.zoom_out(photo(64, 48), 2.0),
        geometry.pan(photo(75, 49), "left"),  # odd, non-square
        geometry.repaint(photo(64, 64), np.pad(np.ones((20, 20), bool), 22)),
    ]


def assert_fills(made: DiffusionEngine, canvas: geometry.Canvas) -> None:
    images = made.fill(canvas, "a coast --ar 4:3", [5, 6, 7, 8], lambda _: None)
    assert [image.shape for image in images] == [canvas.pixels.shape] * 4
    for image in images:
        assert np.array_equal(image[canvas.keep], canvas.pixels[canvas.keep])
    assert distinct([image[~canvas.keep] for image in images])


@pytest.mark.parametrize(
    ("build", "pipelines"),
    [
        (build_flux, ("FluxPipeline", "FluxImg2ImgPipeline", "FluxInpaintPipeline")),
        (
            build_sd3,
            (
                "StableDiffusion3Pipeline",
                "StableDiffusion3Img2ImgPipeline",
                "StableDiffusion3InpaintPipeline",
            ),
        ),
    ],
    ids=["flux", "sd3"],
)
def test_a_text_model_family_runs_every_task(
    tmp_path: Path, build: Callable[[Path], Path], pipelines: tuple[str, str, str]
) -> None:
    """FLUX.1 and Stable Diffusion 3 through the same engine, text model only: fills run its
    weights in the family's inpainting pipeline, variations in its image-to-image one; on
    non-square and odd-sized canvases."""
    made = engine_with(build(tmp_path / "model"), size=64)
    try:
        assert made._ready is not None
        assert made._ready.pipelines == pipelines
        steps: list[float] = []
        images = made.generate("a red fox", 96, 64, [1, 2, 3, 4], steps.append)
        assert [image.shape for image in images] == [(64, 96, 3)] * 4 and distinct(images)
        assert steps == sorted(steps) and steps[-1] == 1.0
        for canvas in fill_canvases():
            assert_fills(made, canvas)
        varied = made.vary(images[0], "a fox", [5, 6, 7, 8], lambda _: None)
        assert [image.shape for image in varied] == [(64, 96, 3)] * 4 and distinct(varied)
    finally:
        made.close()


def test_a_flux_fill_model_fills(tmp_path: Path) -> None:
    """FLUX.1 Fill as the inpainting model next to a FLUX.1 text model: its transformer takes
    the mask and the masked image's latents alongside the noisy latents."""
    made = engine_with(
        build_flux(tmp_path / "flux"), build_flux_fill(tmp_path / "flux-fill"), size=64
    )
    try:
        assert made._ready is not None
        assert made._ready.pipelines == ("FluxPipeline", "FluxImg2ImgPipeline", "FluxFillPipeline")
        for canvas in fill_canvases():
            assert_fills(made, canvas)
    finally:
        made.close()
