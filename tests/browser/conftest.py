"""Browser tests: Playwright driving Debian's chromium (never a downloaded browser) against a
real `outframe serve` process. Skipped, saying why, where chromium or playwright is absent."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.server import ServerProcess, outframe_cli

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Written by the tests, not committed (.gitignore); docs/ holds the one the README shows.
SCREENSHOTS = Path(
    os.environ.get(
        "OUTFRAME_TEST_SCREENSHOTS", Path(__file__).parents[2] / "test-output" / "screenshots"
    )
)


# Per module, not per session: while Playwright's sync API runs, its event loop is the running
# loop of the main thread, and tests collected after these ones could not call asyncio.run().
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


class Watched:
    """A page, with every console error, page error and request URL it made recorded."""

    def __init__(self, page: Any, origin: str) -> None:
        self.page = page
        self.origin = origin
        self.console_errors: list[str] = []
        self.requests: list[str] = []
        page.on(
            "console",
            lambda msg: self.console_errors.append(msg.text) if msg.type == "error" else None,
        )
        page.on("pageerror", lambda exc: self.console_errors.append(f"page error: {exc}"))
        page.on("request", lambda request: self.requests.append(request.url))

    def foreign_requests(self) -> list[str]:
        return [
            url
            for url in self.requests
            if not (url.startswith(self.origin + "/") or url.startswith(("data:", "blob:")))
        ]

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path


@pytest.fixture
def open_page(browser: Any) -> Iterator[Any]:
    contexts: list[Any] = []

    def open_(server: ServerProcess) -> Watched:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(30_000)
        contexts.append(context)
        watched = Watched(context.new_page(), server.url)
        watched.page.goto(server.url + "/")
        return watched

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Any]:
    servers: list[ServerProcess] = []

    def start(name: str, **settings: str) -> ServerProcess:
        server = ServerProcess(tmp_path / name, poll_seconds="0.1", **settings).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def create_key(server: ServerProcess, credits: int) -> str:
    out = outframe_cli(
        server.data_dir, "keys", "create", "--name", "browser", "--credits", str(credits)
    )
    return out.strip().splitlines()[-1]
