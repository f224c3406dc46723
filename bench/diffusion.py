"""What the diffusers engine costs around the model, for one 4-candidate outpaint.

    .venv/bin/python -m bench.diffusion [--size 1024] [--rounds 3] [--steps 2]

A photo (skimage's astronaut, resized to --size) zoomed out 2x is filled through
DiffusionEngine (worker process, classic pre-fill, mask, colour match and blend), and, side by
side in the same run, the same four pipeline calls are made directly in this process: the model
alone. The models are tiny ones built like the tests' (the `[gpu]` and `[dev]` extras), so the
model's share is small and the engine's own share shows; with real models on a GPU the model
share is seconds per image and the engine's share stays what this prints.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from skimage import data
from tests.gpu.tiny_models import build_inpainting, build_text_to_image

from outframe.core.config import Settings
from outframe.engines.classic import ClassicEngine
from outframe.engines.diffusion import DiffusionEngine
from outframe.engines.diffusion.pipelines import Pipelines
from outframe.engines.diffusion.protocol import Options, Request
from outframe.engines.diffusion.recipe import at_size, compose, generation_size, repaint_mask
from outframe.imaging.canvas import zoom_out

SEEDS = [1, 2, 3, 4]


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=2)
    args = parser.parse_args()

    photo = cv2.resize(
        data.astronaut(),  # type: ignore[no-untyped-call]
        (args.size, args.size),
        interpolation=cv2.INTER_AREA,
    )
    canvas = zoom_out(np.ascontiguousarray(photo), 2.0)
    with tempfile.TemporaryDirectory() as tmp:
        text = build_text_to_image(Path(tmp) / "text")
        inpaint = build_inpainting(Path(tmp) / "inpaint")
        settings = Settings(
            engine="diffusers",
            diffusers_model=text,
            diffusers_inpaint_model=inpaint,
            diffusers_steps=args.steps,
        )
        engine = DiffusionEngine(settings)
        startup = timed(engine.start)
        assert engine._ready is not None
        size = generation_size(args.size, args.size, engine._ready.fill_side, 16)
        direct = Pipelines(Options(text, inpaint, "cpu", "auto", args.steps, None, None, False, 0))
        prefill = ClassicEngine()
        small = at_size(canvas, size)
        prefilled = prefill.fill(small, "", SEEDS, lambda _: None)
        request = Request(
            "inpaint",
            "an astronaut",
            tuple(SEEDS),
            *size,
            images=tuple(prefilled),
            mask=repaint_mask(~canvas.keep, size, settings.diffusers_overlap_px),
            strength=settings.diffusers_fill_strength,
        )
        generated = direct.run(request, lambda _: None, lambda: False)
        parts: dict[str, list[float]] = {
            "engine.fill, whole": [],
            "model calls, direct": [],
            "classic pre-fill": [],
            "compose, 4 candidates": [],
        }
        for _ in range(args.rounds):  # alternating, so machine noise falls on both alike
            parts["engine.fill, whole"].append(
                timed(lambda: engine.fill(canvas, "an astronaut", SEEDS, lambda _: None))
            )
            parts["model calls, direct"].append(
                timed(lambda: direct.run(request, lambda _: None, lambda: False))
            )
            parts["classic pre-fill"].append(
                timed(lambda: prefill.fill(at_size(canvas, size), "", SEEDS, lambda _: None))
            )
            parts["compose, 4 candidates"].append(
                timed(
                    lambda: [
                        compose(image, canvas.pixels, canvas.keep, settings.diffusers_overlap_px)
                        for image in generated
                    ]
                )
            )
        engine.close()

    medians = {name: statistics.median(times) for name, times in parts.items()}
    print(
        f"\n4-candidate zoom out 2x of a {args.size}px photo; tiny models at {size[0]}x{size[1]},"
    )
    print(f"{args.steps} steps; medians of {args.rounds} alternating rounds (seconds)")
    print(f"{'part':<28} {'median s':>9}")
    for name, value in medians.items():
        print(f"{name:<28} {value:9.3f}")
    overhead = medians["engine.fill, whole"] - medians["model calls, direct"]
    print(f"{'engine overhead':<28} {overhead:9.3f}")
    print(f"{'worker start (once)':<28} {startup:9.3f}")


if __name__ == "__main__":
    main()
