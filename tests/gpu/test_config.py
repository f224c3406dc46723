"""Start-up errors of the diffusers engine say what to set or install."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from outframe.core.config import Settings
from outframe.engines.base import EngineConfigError
from outframe.engines.diffusion.models import check_options


def settings(**values: object) -> Settings:
    return Settings(engine="diffusers", **values)  # type: ignore[arg-type]


def test_valid_folders_give_options(tiny_models: tuple[Path, Path]) -> None:
    text, inpaint = tiny_models
    options = check_options(settings(diffusers_model=text, diffusers_inpaint_model=inpaint))
    assert options.text_model == text.resolve() and options.inpaint_model == inpaint.resolve()


def test_model_setting_missing() -> None:
    with pytest.raises(EngineConfigError, match="needs OUTFRAME_DIFFUSERS_MODEL"):
        check_options(settings())


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(EngineConfigError, match="no such folder"):
        check_options(settings(diffusers_model=tmp_path / "nowhere"))


def test_folder_without_model_index(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(b"")
    with pytest.raises(EngineConfigError, match=r"no model_index\.json"):
        check_options(settings(diffusers_model=tmp_path))


def test_wrong_pipeline_type_for_each_role(tiny_models: tuple[Path, Path]) -> None:
    text, inpaint = tiny_models
    with pytest.raises(EngineConfigError, match="holds a StableDiffusionInpaintPipeline, not a"):
        check_options(settings(diffusers_model=inpaint))
    with pytest.raises(EngineConfigError, match="holds a StableDiffusionPipeline, not an inp"):
        check_options(settings(diffusers_model=text, diffusers_inpaint_model=text))


def test_missing_extra(monkeypatch: pytest.MonkeyPatch, tiny_models: tuple[Path, Path]) -> None:
    real = importlib.util.find_spec

    def without_diffusers(name: str, *args: object) -> object:
        return None if name == "diffusers" else real(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib.util, "find_spec", without_diffusers)
    with pytest.raises(EngineConfigError, match=r"needs diffusers: pip install 'outframe\[gpu\]'"):
        check_options(settings(diffusers_model=tiny_models[0]))


def test_bad_device(tiny_models: tuple[Path, Path]) -> None:
    with pytest.raises(EngineConfigError, match="OUTFRAME_DIFFUSERS_DEVICE='tpu'"):
        check_options(settings(diffusers_model=tiny_models[0], diffusers_device="tpu"))


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_commands_refuse_to_start_with_a_clear_message(tmp_path: Path, command: str) -> None:
    env = {
        **os.environ,
        "OUTFRAME_DATA_DIR": str(tmp_path),
        "OUTFRAME_ENGINE": "diffusers",
        "OUTFRAME_DIFFUSERS_MODEL": str(tmp_path / "sdxl"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "outframe", command],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert f"error: OUTFRAME_DIFFUSERS_MODEL={tmp_path / 'sdxl'}: no such folder" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_model_that_fails_to_load_stops_serve_with_one_line(
    tiny_models: tuple[Path, Path], tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(tiny_models[0], broken)
    shutil.rmtree(broken / "unet")
    env = {
        **os.environ,
        "OUTFRAME_DATA_DIR": str(tmp_path / "data"),
        "OUTFRAME_ENGINE": "diffusers",
        "OUTFRAME_DIFFUSERS_MODEL": str(broken),
        "OUTFRAME_DIFFUSERS_CPU_THREADS": "1",
    }
    done = subprocess.run(
        [sys.executable, "-m", "outframe", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 2
    assert "error: the diffusion models failed to load:" in done.stderr
    assert "Traceback" not in done.stderr
