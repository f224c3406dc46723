"""The torch side, imported only in the diffusion worker process: the pipelines, loaded once
from local folders, and one call per seed with progress and cancellation at every step."""

from __future__ import annotations

import gc
import inspect
import math
import os
from collections.abc import Callable
from typing import Any

import diffusers
import numpy as np
import torch
from diffusers import AutoPipelineForImage2Image, AutoPipelineForInpainting, DiffusionPipeline
from PIL import Image

from outframe.engines.diffusion.models import pipeline_class
from outframe.engines.diffusion.protocol import ErrorKind, Options, Ready, Request
from outframe.imaging.codec import RGB

Report = Callable[[float], None]

# Test failpoint, so that tests on a CPU follow the real recovery paths: "oom" makes the first
# denoising step raise CUDA's out-of-memory error, "device" a CUDA error; once per process.
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


DEVICE_FAILURES = ("cuda error", "cublas_status", "cudnn_status", "device-side assert", "illegal")


def classify(exc: BaseException) -> ErrorKind:
    """Out-of-memory is recoverable; a CUDA/accelerator error leaves the device unusable."""
    text = str(exc).lower()
    if isinstance(exc, torch.OutOfMemoryError | MemoryError) or "out of memory" in text:
        return ErrorKind.OUT_OF_MEMORY
    accelerator_error = getattr(torch, "AcceleratorError", ())
    if isinstance(exc, accelerator_error) or any(f in text for f in DEVICE_FAILURES):
        return ErrorKind.DEVICE
    return ErrorKind.OTHER


def scheduled_steps(steps: int, strength: float) -> int:
    """The schedule length whose last `strength` share is `steps` steps: image-to-image and
    inpainting pipelines run int(schedule * strength) of it, which must not round to 0."""
    return max(1, math.ceil(steps / strength - 1e-9))


def pick_dtype(name: str, device: torch.device, pipeline_classes: list[str]) -> torch.dtype:
    """auto: float16 on CUDA (bfloat16 for FLUX.1, which overflows in float16), else float32."""
    if name != "auto":
        dtype: torch.dtype = getattr(torch, name)
        return dtype
    if device.type != "cuda":
        return torch.float32
    if any(cls.startswith("Flux") for cls in pipeline_classes):
        return torch.bfloat16
    return torch.float16


class Pipelines:
    """Text-to-image, image-to-image (sharing the text model's weights) and inpainting."""

    def __init__(self, options: Options) -> None:
        diffusers.utils.logging.disable_progress_bar()
        self.options = options
        self.device = pick_device(options.device)
        folders = [f for f in (options.text_model, options.inpaint_model) if f is not None]
        classes = [pipeline_class(folder, "model") for folder in folders]
        self.dtype = pick_dtype(options.dtype, self.device, classes)
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

    @staticmethod
    def _native_side(pipe: Any) -> int:
        sample = getattr(pipe, "default_sample_size", None)
        if sample is None:
            sample = pipe.unet.config.sample_size
        return int(sample) * int(getattr(pipe, "vae_scale_factor", 8))

    def ready(self) -> Ready:
        denoiser = getattr(self.text, "unet", None) or self.text.transformer
        vae_scale = max(int(getattr(p, "vae_scale_factor", 8)) for p in (self.text, self.inpaint))
        return Ready(
            native_side=self._native_side(self.text),
            fill_side=self._native_side(self.inpaint),
            # FLUX packs 2x2 latents and UNets halve the latents a few times: multiples of
            # 8 latents keep every model family happy.
            multiple=vae_scale * 8,
            device=str(self.device),
            dtype=str(denoiser.dtype).removeprefix("torch."),  # as loaded, not as asked
            pipelines=tuple(type(p).__name__ for p in (self.text, self.image, self.inpaint)),
        )

    def free_memory(self) -> None:
        """After an error or a cancel: models offloaded again, caches emptied."""
        for pipe in (self.text, self.image, self.inpaint):
            if self.options.cpu_offload:
                pipe.maybe_free_model_hooks()
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
            args = self._arguments(pipe, request, i)
            result = pipe(
                prompt=request.prompt,
                generator=torch.Generator("cpu").manual_seed(seed),
                output_type="np",
                callback_on_step_end=on_step,
                **args,
            )
            pixels = np.asarray(result.images[0], np.float32)
            out.append(np.clip(pixels * 255 + 0.5, 0, 255).astype(np.uint8))
        return out

    def _arguments(self, pipe: Any, request: Request, i: int) -> dict[str, Any]:
        accepted = inspect.signature(pipe.__call__).parameters
        args: dict[str, Any] = {"num_inference_steps": self.options.steps}
        guidance = self.options.inpaint_guidance if pipe is self.inpaint else self.options.guidance
        if guidance is not None:
            args["guidance_scale"] = guidance
        # SD and SDXL image-to-image take the size from the image; FLUX and SD3 would make
        # their default square unless told.
        if "width" in accepted:
            args["width"], args["height"] = request.width, request.height
        if request.task != "text":
            args["image"] = Image.fromarray(request.images[i])
            args["strength"] = request.strength
            args["num_inference_steps"] = scheduled_steps(self.options.steps, request.strength)
        if request.task == "inpaint":
            assert request.mask is not None
            args["mask_image"] = Image.fromarray(request.mask.astype(np.uint8) * 255)
        return args

    def _maybe_fail(self) -> None:
        fault, self._fault = self._fault, ""
        if fault == "oom":
            raise torch.OutOfMemoryError(
                f"CUDA out of memory. Tried to allocate 20.00 GiB (injected by {FAULT_ENV})"
            )
        if fault == "device":
            raise RuntimeError(
                f"CUDA error: an illegal memory access was encountered (injected by {FAULT_ENV})"
            )
