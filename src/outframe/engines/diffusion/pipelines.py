"""The torch side, imported only in the diffusion worker process: the pipelines, loaded once
from local folders, and one call per seed with progress and cancellation at every step."""

from __future__ import annotations

import gc
import os
from collections.abc import Callable
from typing import Any

import diffusers
import numpy as np
import torch
from diffusers import AutoPipelineForImage2Image, AutoPipelineForInpainting, DiffusionPipeline
from PIL import Image

from outframe.engines.diffusion.protocol import ErrorKind, Options, Ready, Request
from outframe.imaging.codec import RGB

Report = Callable[[float], None]

# Test failpoint: "oom" makes the first denoising step after start raise CUDA's out-of-memory
# error, once per worker process, so that tests on a CPU can follow the real recovery path.
FAULT_ENV = "OUTFRAME_TEST_ENGINE_FAULT"


class Cancelled(Exception):
    """The server asked for the running request to stop."""


def pick_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    return torch.device(name)


def classify(exc: BaseException) -> ErrorKind:
    """Out-of-memory is recoverable; a CUDA/accelerator error leaves the device unusable."""
    text = str(exc).lower()
    if isinstance(exc, torch.OutOfMemoryError | MemoryError) or "out of memory" in text:
        return ErrorKind.OUT_OF_MEMORY
    accelerator_error = getattr(torch, "AcceleratorError", ())
    if isinstance(exc, accelerator_error) or "cuda error" in text:
        return ErrorKind.DEVICE
    return ErrorKind.OTHER


class Pipelines:
    """Text-to-image, image-to-image (sharing the text model's weights) and inpainting."""

    def __init__(self, options: Options) -> None:
        diffusers.utils.logging.disable_progress_bar()
        self.options = options
        self.device = pick_device(options.device)
        if options.dtype == "auto":
            self.dtype = torch.float16 if self.device.type == "cuda" else torch.float32
        else:
            self.dtype = getattr(torch, options.dtype)
        if self.device.type == "cpu":
            torch.set_num_threads(options.cpu_threads or max(1, (os.cpu_count() or 2) - 1))
        self.text = self._load(options.text_model)
        self.image = AutoPipelineForImage2Image.from_pipe(self.text)
        self.inpaint = (
            self._load(options.inpaint_model)
            if options.inpaint_model is not None
            else AutoPipelineForInpainting.from_pipe(self.text)
        )
        for pipe in (self.image, self.inpaint):
            pipe.set_progress_bar_config(disable=True)
        self._fault = os.environ.get(FAULT_ENV, "")

    def _load(self, folder: os.PathLike[str]) -> Any:
        pipe = DiffusionPipeline.from_pretrained(  # type: ignore[no-untyped-call]
            folder, dtype=self.dtype, local_files_only=True
        )
        pipe.set_progress_bar_config(disable=True)
        if self.options.cpu_offload and self.device.type != "cpu":
            pipe.enable_model_cpu_offload(device=self.device)
        else:
            pipe.to(self.device)
        return pipe

    def ready(self) -> Ready:
        pipe = self.text
        vae_scale = int(getattr(pipe, "vae_scale_factor", 8))
        sample = getattr(pipe, "default_sample_size", None)
        if sample is None:
            sample = pipe.unet.config.sample_size
        return Ready(
            native_side=int(sample) * vae_scale,
            # FLUX packs 2x2 latents and UNets halve the latents a few times: multiples of
            # 8 latents keep every model family happy.
            multiple=vae_scale * 8,
            device=str(self.device),
            dtype=str(self.dtype).removeprefix("torch."),
            pipelines=tuple(type(p).__name__ for p in (self.text, self.image, self.inpaint)),
        )

    def free_memory(self) -> None:
        gc.collect()
        if self.device.type == "cuda":
            torch.cuda.empty_cache()

    def run(self, request: Request, report: Report, cancelled: Callable[[], bool]) -> list[RGB]:
        pipe = {"text": self.text, "image": self.image, "inpaint": self.inpaint}[request.task]
        count = len(request.seeds)
        out = []
        for i, seed in enumerate(request.seeds):

            def on_step(p: Any, step: int, _t: Any, tensors: dict[str, Any], i: int = i) -> Any:
                if cancelled():
                    raise Cancelled
                self._maybe_fail()
                total = max(1, int(getattr(p, "num_timesteps", 0) or self.options.steps))
                report((i + min(1.0, (step + 1) / total)) / count)
                return tensors

            if cancelled():
                raise Cancelled
            args = self._arguments(request, i)
            result = pipe(
                prompt=request.prompt,
                num_inference_steps=self.options.steps,
                generator=torch.Generator("cpu").manual_seed(seed),
                output_type="np",
                callback_on_step_end=on_step,
                **args,
            )
            pixels = np.asarray(result.images[0], np.float32)
            out.append(np.clip(pixels * 255 + 0.5, 0, 255).astype(np.uint8))
        return out

    def _arguments(self, request: Request, i: int) -> dict[str, Any]:
        args: dict[str, Any] = {}
        if self.options.guidance is not None:
            args["guidance_scale"] = self.options.guidance
        if request.task != "image":  # image-to-image takes its size from the image
            args["width"], args["height"] = request.width, request.height
        if request.task != "text":
            args["image"] = Image.fromarray(request.images[i])
            args["strength"] = request.strength
        if request.task == "inpaint":
            assert request.mask is not None
            args["mask_image"] = Image.fromarray(request.mask.astype(np.uint8) * 255)
        return args

    def _maybe_fail(self) -> None:
        if self._fault == "oom":
            self._fault = ""
            raise torch.OutOfMemoryError(
                f"CUDA out of memory. Tried to allocate 20.00 GiB (injected by {FAULT_ENV})"
            )
