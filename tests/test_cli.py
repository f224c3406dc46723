"""The `outframe` command manages keys and credits on the database, server running or not."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import ServerProcess, outframe_cli


def test_keys_and_credits(tmp_path: Path) -> None:
    out = outframe_cli(tmp_path, "keys", "create", "--name", "alice", "--credits", "50")
    plaintext = out.strip().splitlines()[-1]
    assert plaintext.startswith("afk_")
    listing = outframe_cli(tmp_path, "keys", "list")
    assert "alice" in listing and plaintext not in listing and plaintext[:10] in listing
    key_id = listing.splitlines()[1].split()[0]
    granted = outframe_cli(tmp_path, "credits", "grant", "--key-id", key_id, "25")
    assert "balance 75" in granted
    assert "disabled" in outframe_cli(tmp_path, "keys", "disable", key_id)
    assert "no" in outframe_cli(tmp_path, "keys", "list").splitlines()[1]
    with pytest.raises(subprocess.CalledProcessError) as err:
        outframe_cli(tmp_path, "credits", "grant", "--key-id", "nope", "5")
    assert "no API key" in err.value.stderr
    db = (tmp_path / "outframe.db").read_bytes()
    assert plaintext.encode() not in db


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OUTFRAME_ENGINE", "foo"),
        ("OUTFRAME_PORT", "abc"),
        ("OUTFRAME_WEBHOOK_RETRY_SECONDS", "5,-1"),
        ("OUTFRAME_WEBHOOK_ALLOW_NETWORKS", "10.0.0/33"),
    ],
)
def test_a_bad_setting_is_one_line_naming_its_variable(
    tmp_path: Path, variable: str, value: str
) -> None:
    with pytest.raises(subprocess.CalledProcessError) as err:
        outframe_cli(tmp_path, "serve", env={variable: value})
    assert err.value.returncode == 2
    assert err.value.stderr.startswith(f"error: {variable}={value!r}: ")
    assert "Traceback" not in err.value.stderr and err.value.stdout == ""
    assert not (tmp_path / "outframe.db").exists()  # nothing was set up, no key was printed


@pytest.mark.slow
def test_cli_acts_on_a_running_server(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path, engine="fake").start()
    try:
        plaintext = outframe_cli(tmp_path, "keys", "create", "--name", "bob").strip().split()[-1]
        headers = {"X-API-Key": plaintext}
        me = httpx.get(f"{server.url}/v2/me", headers=headers).json()
        assert me["team"]["credits"] == 0
        outframe_cli(tmp_path, "credits", "grant", "--key-id", me["apiKey"]["id"], "16")
        assert httpx.get(f"{server.url}/v2/me", headers=headers).json()["team"]["credits"] == 16
        outframe_cli(tmp_path, "keys", "disable", me["apiKey"]["id"])
        # The server remembers a checked key for OUTFRAME_AUTH_CACHE_SECONDS (1 s by default).
        deadline = time.monotonic() + 5
        while httpx.get(f"{server.url}/v2/me", headers=headers).status_code != 403:
            assert time.monotonic() < deadline, "a disabled key was still accepted after 5 s"
            time.sleep(0.1)
        log = server.log.read_text()
        assert "starter API key" in log or "outframe on" in log
    finally:
        server.stop()
