"""The README's onboarding, run as written: `scripts/serve` on a fresh data dir, then the blocks
of "Try it" in one shell, with the starter key it printed. The only changes: the key for
`afk_...`, and the test's free port for 8080 (OUTFRAME_URL and the curl block's URL)."""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server import free_port

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


def try_it_blocks(readme: str) -> list[str]:
    section = readme.split("\n## Try it\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)```", section, flags=re.S)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """`scripts/serve` on a free port; yields its URL and the starter key it printed."""
    port = free_port()
    env = {
        **os.environ,
        "OUTFRAME_DATA_DIR": str(tmp_path / "data"),
        "OUTFRAME_PORT": str(port),
        # The commands are under test here, not the engine: small images, made at once.
        "OUTFRAME_ENGINE": "fake",
        "OUTFRAME_IMAGE_SIZE": "64",
    }
    proc = subprocess.Popen(
        [str(ROOT / "scripts" / "serve")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    printed: list[str] = []
    try:
        while not printed or not printed[-1].startswith("API docs:"):
            line = lines.get(timeout=600)  # a first run installs outframe into .venv first
            assert line is not None, "scripts/serve stopped:\n" + "".join(printed)
            printed.append(line)
        key = next(line.split()[0] for line in printed if line.strip().startswith("afk_"))
        yield f"http://127.0.0.1:{port}", key
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        reader.join(timeout=30)
        assert proc.stdout is not None
        proc.stdout.close()


def test_the_readme_try_it_runs_as_written(served: tuple[str, str], tmp_path: Path) -> None:
    url, key = served
    blocks = try_it_blocks((ROOT / "README.md").read_text())
    assert len(blocks) == 3 and "source .venv/bin/activate" in blocks[0]
    script = "\n".join(blocks).replace("afk_...", key).replace("127.0.0.1:8080", url[7:])
    work = tmp_path / "work"  # the shell's folder, standing in for the repository's
    work.mkdir()
    (work / ".venv").symlink_to(ROOT / ".venv")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OUTFRAME_", "VIRTUAL_ENV"))}
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=work,
        env={**env, "OUTFRAME_URL": url},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    saved = sorted(p.name for p in (work / "out").iterdir())
    assert len(saved) == 4 and all(name.endswith(".png") for name in saved)
    zoom = json.loads(done.stdout.strip().splitlines()[-1])  # the curl block's last answer
    assert (zoom["action"], zoom["status"], len(zoom["result"]["images"])) == (
        "outpaint", "COMPLETED", 4,
    )  # fmt: skip
