"""Checking the diffusers engine's settings before anything heavy starts: the extra is
installed, the model folders exist and hold the kinds of pipeline each role needs."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from outframe.core.config import Settings
from outframe.engines.base import EngineConfigError
from outframe.engines.diffusion.protocol import Options

TEXT_PIPELINES = frozenset(
    {
        "StableDiffusionPipeline",
        "StableDiffusionXLPipeline",
        "StableDiffusion3Pipeline",
        "FluxPipeline",
    }
)
INPAINT_PIPELINES = frozenset(
    {
        "StableDiffusionInpaintPipeline",
        "StableDiffusionXLInpaintPipeline",
        "StableDiffusion3InpaintPipeline",
        "FluxFillPipeline",
        "FluxInpaintPipeline",
    }
)
EXTRA_MODULES = ("torch", "diffusers", "transformers")


def pipeline_class(folder: Path, setting: str) -> str:
    """The pipeline class a diffusers folder declares in its model_index.json."""
    if not folder.is_dir():
        raise EngineConfigError(
            f"{setting}={folder}: no such folder; set it to a diffusers pipeline folder "
            "(the one holding model_index.json)"
        )
    index = folder / "model_index.json"
    if not index.is_file():
        raise EngineConfigError(
            f"{setting}={folder}: no model_index.json there; point it at a pipeline saved "
            "with save_pretrained (a single .safetensors checkpoint is not enough; see docs/gpu.md)"
        )
    try:
        name = json.loads(index.read_text())["_class_name"]
    except (ValueError, KeyError, TypeError) as exc:
        raise EngineConfigError(f"{index}: not a diffusers model index ({exc})") from exc
    return str(name)


def _check_role(folder: Path, setting: str, allowed: frozenset[str], role: str) -> None:
    name = pipeline_class(folder, setting)
    if name not in allowed:
        raise EngineConfigError(
            f"{setting}={folder} holds a {name}, not {role}; it must be one of "
            f"{', '.join(sorted(allowed))}"
        )


def check_options(settings: Settings) -> Options:
    """The worker's options, or EngineConfigError saying what to set or install."""
    missing = [m for m in EXTRA_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        raise EngineConfigError(
            f"OUTFRAME_ENGINE=diffusers needs {', '.join(missing)}: "
            "pip install 'outframe[gpu]' (see docs/gpu.md for the torch build to pick)"
        )
    if settings.diffusers_model is None:
        raise EngineConfigError(
            "OUTFRAME_ENGINE=diffusers needs OUTFRAME_DIFFUSERS_MODEL: the folder of a "
            "text-to-image pipeline such as SDXL or FLUX.1 (see docs/gpu.md)"
        )
    text = settings.diffusers_model.expanduser().resolve()
    _check_role(text, "OUTFRAME_DIFFUSERS_MODEL", TEXT_PIPELINES, "a text-to-image pipeline")
    inpaint = None
    if settings.diffusers_inpaint_model is not None:
        inpaint = settings.diffusers_inpaint_model.expanduser().resolve()
        _check_role(
            inpaint, "OUTFRAME_DIFFUSERS_INPAINT_MODEL", INPAINT_PIPELINES, "an inpainting pipeline"
        )
    device = settings.diffusers_device.strip().lower()
    if not (device in ("auto", "cpu", "cuda", "mps") or device.startswith("cuda:")):
        raise EngineConfigError(
            f"OUTFRAME_DIFFUSERS_DEVICE={settings.diffusers_device!r}: use auto, cpu, cuda, "
            "cuda:N or mps"
        )
    return Options(
        text_model=text,
        inpaint_model=inpaint,
        device=device,
        dtype=settings.diffusers_dtype,
        steps=settings.diffusers_steps,
        guidance=settings.diffusers_guidance,
        inpaint_guidance=settings.diffusers_inpaint_guidance,
        cpu_offload=settings.diffusers_cpu_offload,
        cpu_threads=settings.diffusers_cpu_threads,
    )
