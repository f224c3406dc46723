"""outframe: a self-hostable server for the apiframe.ai v2 Midjourney API."""

from __future__ import annotations

__version__ = "0.1.0"
