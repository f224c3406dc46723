"""Tiny models for the diffusers engine's tests; the whole folder is skipped without `[gpu]`."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("diffusers", reason="the diffusers engine needs pip install 'outframe[gpu]'")

from tests.gpu.tiny_models import build_inpainting, build_text_to_image


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(text-to-image folder, inpainting folder)."""
    root = tmp_path_factory.mktemp("models")
    return build_text_to_image(root / "sd-tiny"), build_inpainting(root / "sd-tiny-inpaint")
