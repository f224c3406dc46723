"""The classic engine: CPU only, no learned weights."""

from __future__ import annotations

from outframe.engines.classic.engine import ClassicEngine

__all__ = ["ClassicEngine"]
