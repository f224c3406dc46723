"""The diffusers engine (the `[gpu]` extra): open-weights models in a spawned worker process."""

from outframe.engines.diffusion.engine import DiffusionEngine

__all__ = ["DiffusionEngine"]
