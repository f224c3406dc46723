"""Engines make the pixels; pick one with OUTFRAME_ENGINE."""

from __future__ import annotations

from outframe.core.config import Settings
from outframe.engines.base import Engine, EngineConfigError


def load_engine(settings: Settings) -> Engine:
    """The engine the settings name, with a clear error for an unknown name."""
    if settings.engine == "classic":
        from outframe.engines.classic import ClassicEngine

        return ClassicEngine()
    if settings.engine == "diffusers":
        from outframe.engines.diffusion import DiffusionEngine

        return DiffusionEngine(settings)
    if settings.engine == "fake":
        from outframe.engines.fake import FakeEngine

        return FakeEngine(seconds_per_job=settings.fake_engine_seconds)
    raise ValueError(
        f"unknown engine {settings.engine!r}; set OUTFRAME_ENGINE to classic or diffusers"
    )


def check_engine(settings: Settings) -> None:
    """Raise EngineConfigError now, before a server starts, if the engine cannot work."""
    if settings.engine == "diffusers":
        from outframe.engines.diffusion.models import check_options

        check_options(settings)


__all__ = ["Engine", "EngineConfigError", "check_engine", "load_engine"]
