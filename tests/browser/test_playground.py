"""The playground at `/`, driven in chromium against a real server process.

The Midjourney workflow runs on the classic engine (real pictures for the screenshots); the
progress bar's movement and a failed, refunded job run on the fake engine, slowed down, where
each job takes a known time.
"""

from __future__ import annotations

import base64
import re
import time
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.browser.conftest import Watched, create_key
from tests.conftest import png_bytes

sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")
expect = sync_api.expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SIDE = 256
# What the workflow spends: imagine, U2, zoom out 2x, U1, pan, vary (region), two imports (free)
# and a custom zoom; the key gets exactly that, so the next imagine is refused with a 402.
FLOW_COST = 16 + 4 + 16 + 4 + 16 + 16 + 0 + 0 + 16
JOB_SECONDS = 60_000  # ms: the longest a job may take on a loaded 2-core machine


def new_card(page: Any, press: Any) -> Any:
    """Press a button that makes a job; returns the job's card (new cards go on top)."""
    cards = page.locator("#feed article")
    count = cards.count()
    press()
    expect(cards).to_have_count(count + 1, timeout=JOB_SECONDS)
    return page.locator(f"#{cards.first.get_attribute('id')}")


def wait_until(target: Any, expression: str, timeout: float = 15.0) -> None:
    """Poll `target.evaluate(expression)` (a page, or a locator whose element is the argument)
    until it is true. Not `page.wait_for_function`: that compiles its predicate inside the page
    with eval, which the playground's Content-Security-Policy forbids whenever the first check is
    false; evaluate goes through the DevTools protocol, outside the page's policy."""
    deadline = time.monotonic() + timeout
    while not target.evaluate(expression):
        assert time.monotonic() < deadline, f"still false after {timeout} s: {expression}"
        time.sleep(0.05)


def done(card: Any) -> Any:
    """Wait for the card's job to complete and its images to load."""
    expect(card).to_have_attribute("data-status", "COMPLETED", timeout=JOB_SECONDS)
    # Every image on the card has arrived and decoded.
    card.locator("img").first.wait_for()
    loaded = "card => [...card.querySelectorAll('img')].every(i => i.complete && i.naturalWidth)"
    wait_until(card, loaded)
    return card


def job_id(card: Any) -> str:
    return str(card.get_attribute("id")).removeprefix("job-")


def natural_size(card: Any) -> tuple[int, int]:
    size = card.locator("img").first.evaluate("i => [i.naturalWidth, i.naturalHeight]")
    return int(size[0]), int(size[1])


def photo(seed: int) -> bytes:
    """A small picture with structure, as a user might import."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:160, 0:200]
    image = np.stack([(x * 255 // 200), (y * 255 // 160), ((x + y) % 64) * 4], axis=-1).astype(
        np.uint8
    )
    image[40:120, 60:140] = rng.integers(0, 256, 3, dtype=np.uint8)
    return png_bytes(image)


def drop_file(page: Any, name: str, data: bytes) -> None:
    """Drag a file onto the page and drop it, as from a file manager."""
    page.evaluate(
        """([name, b64]) => {
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, { type: "image/png" }));
            for (const type of ["dragenter", "dragover", "drop"]) {
                document.body.dispatchEvent(new DragEvent(type, {
                    dataTransfer: transfer, bubbles: true, cancelable: true }));
            }
        }""",
        [name, base64.b64encode(data).decode()],
    )


def use_key(page: Any, key: str) -> None:
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Use key").click()


def refused(watched: Watched, status: int) -> list[str]:
    """The browser's own console line for a request the server refused with this status."""
    return [e for e in watched.console_errors if f"status of {status} " in e]


def test_the_midjourney_workflow(start_server: Any, open_page: Any, tmp_path: Any) -> None:
    server = start_server("classic", engine="classic", image_size=str(SIDE))
    key = create_key(server, FLOW_COST)
    watched: Watched = open_page(server)
    page = watched.page

    use_key(page, key)
    expect(page.locator("#credits")).to_have_text(str(FLOW_COST))
    expect(page.locator("#concurrency")).to_have_text("0 / 3")
    expect(page.locator("#feed-empty")).to_be_visible()

    # Imagine: prompt, aspect ratio and seed.
    page.get_by_label("Prompt", exact=True).fill("dusk over the fjord")
    page.get_by_label("Aspect").select_option("1:1")
    page.get_by_label("Seed").fill("7")
    grid = done(new_card(page, page.get_by_role("button", name="Imagine").click))
    expect(grid.locator(".grid img")).to_have_count(4)
    expect(grid.locator(".prompt")).to_have_text("dusk over the fjord --seed 7")
    assert natural_size(grid) == (SIDE, SIDE)
    expect(page.locator("#credits")).to_have_text(str(FLOW_COST - 16))
    watched.screenshot("1-grid")

    # U2, then Zoom Out 2x of it, then U1 of the zoom-out: a chain, each card naming its parent.
    up2 = done(new_card(page, grid.get_by_role("button", name="U2", exact=True).click))
    expect(up2.locator("h3")).to_have_text("Upscale (U2)")
    expect(up2.locator(".lineage")).to_contain_text("Imagine")

    zoom = done(new_card(page, up2.get_by_role("button", name="Zoom Out 2x").click))
    expect(zoom.locator("h3")).to_have_text("Zoom Out 2x")
    expect(zoom.locator(".lineage")).to_contain_text("Upscale (U2)")
    assert natural_size(zoom) == (SIDE, SIDE)
    watched.screenshot("2-zoom-out")

    up1 = done(new_card(page, zoom.get_by_role("button", name="U1", exact=True).click))
    expect(up1.locator("h3")).to_have_text("Upscale (U1)")
    expect(up1.locator(".lineage")).to_contain_text("Zoom Out 2x")

    # Pan left: the canvas grows by half to the left.
    pan = done(new_card(page, up1.get_by_role("button", name="Pan left").click))
    expect(pan.locator("h3")).to_have_text("Pan ⬅")
    expect(pan.locator(".lineage")).to_contain_text("Upscale (U1)")
    assert natural_size(pan) == (SIDE * 3 // 2, SIDE)

    # Vary (Region): paint a stroke across the middle of U1 with the brush.
    up1.get_by_role("button", name="Vary (Region)").click()
    dialog = page.locator("#region")
    expect(dialog).to_be_visible()
    wait_until(page, f"document.getElementById('region-canvas').width === {SIDE}")
    box = page.locator("#region-canvas").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.5, steps=10)
    page.mouse.up()
    watched.screenshot("3-vary-region")
    region = done(new_card(page, dialog.get_by_role("button", name="Submit").click))
    expect(dialog).to_be_hidden()
    expect(region.locator("h3")).to_have_text("Vary (Region)")
    expect(region.locator(".lineage")).to_contain_text("Upscale (U1)")
    # The mask the server got: U1's size, white along the stroke, black away from it.
    mask = np.asarray(
        Image.open(server.data_dir / "images" / f"{job_id(region)}-mask.png").convert("L")
    )
    assert mask.shape == (SIDE, SIDE)
    assert mask[SIDE // 2, SIDE * 4 // 10 : SIDE * 6 // 10].min() == 255
    assert mask[: SIDE // 5].max() == 0 and mask[-SIDE // 5 :].max() == 0

    # Import with the file picker, and by dropping a file on the page.
    picked = tmp_path / "picked.png"
    picked.write_bytes(photo(1))

    def pick() -> None:
        with page.expect_file_chooser() as chooser:
            page.get_by_role("button", name="Import image…").click()
        chooser.value.set_files(str(picked))

    imported = done(new_card(page, pick))
    expect(imported.locator("h3")).to_have_text("Import · picked.png")
    assert natural_size(imported) == (200, 160)

    dropped = done(new_card(page, lambda: drop_file(page, "dropped.png", photo(2))))
    expect(dropped.locator("h3")).to_have_text("Import · dropped.png")

    # Custom Zoom 1.25 on the dropped image.
    dropped.get_by_label("Custom Zoom ratio").fill("1.25")
    custom = done(new_card(page, dropped.get_by_role("button", name="Custom Zoom 1.25x").click))
    expect(custom.locator("h3")).to_have_text("Zoom Out 1.25x")
    expect(custom.locator(".lineage")).to_contain_text("dropped.png")
    assert natural_size(custom) == (200, 160)
    expect(page.locator("#credits")).to_have_text("0")

    # A 400 and a 402, shown as the API words them.
    page.get_by_label("Seed").fill("99999999999")
    page.get_by_role("button", name="Imagine").click()
    bad = page.locator("#errors .error[data-status='400']")
    expect(bad).to_contain_text("--seed takes a whole number from 0 to 4294967295")
    page.get_by_label("Seed").fill("")
    page.get_by_role("button", name="Imagine").click()
    broke = page.locator("#errors .error[data-status='402']")
    expect(broke).to_contain_text(re.compile("insufficient credits", re.IGNORECASE))
    watched.screenshot("4-errors")

    # Reload: the key is remembered, and the history (paged) shows every job with its parent.
    page.reload()
    expect(page.locator("#credits")).to_have_text("0")
    cards = page.locator("#feed article")
    expect(cards).to_have_count(8)  # the first page
    page.get_by_role("button", name="Load older jobs").click()
    expect(cards).to_have_count(9)
    expect(page.get_by_role("button", name="Load older jobs")).to_be_hidden()
    titles = [t.strip() for t in page.locator("#feed article h3").all_inner_texts()]
    assert titles == [
        "Zoom Out 1.25x",
        "Import · dropped.png",
        "Import · picked.png",
        "Vary (Region)",
        "Pan ⬅",
        "Upscale (U1)",
        "Zoom Out 2x",
        "Upscale (U2)",
        "Imagine",
    ]
    # The oldest card came on the second page; its child, on the first, now names it.
    expect(page.locator(f"#job-{job_id(up2)} .lineage")).to_contain_text("Imagine ·")
    expect(page.locator(f"#job-{job_id(zoom)} .lineage")).to_contain_text("Upscale (U2)")
    watched.screenshot("5-history")

    # Full-size view of one image of a grid.
    page.locator(f"#job-{job_id(zoom)} .grid button").nth(2).click()
    viewer = page.locator("#viewer")
    expect(viewer).to_be_visible()
    expect(page.locator("#viewer-image")).to_have_attribute("src", re.compile(r"-3\.png$"))
    page.keyboard.press("Escape")
    expect(viewer).to_be_hidden()

    # The only console errors are the browser's notes of the two refusals this test provoked.
    assert len(refused(watched, 400)) == 1 and len(refused(watched, 402)) == 1
    assert len(watched.console_errors) == 2, watched.console_errors
    assert watched.foreign_requests() == []
    # Progress came over the event stream.
    assert any(url.endswith("/events") for url in watched.requests)


def test_progress_moves_live_keyboard_only_and_cancel(start_server: Any, open_page: Any) -> None:
    server = start_server("fake", engine="fake", fake_engine_seconds="3", image_size="64")
    key = create_key(server, 100)
    watched: Watched = open_page(server)
    page = watched.page
    # Every value the progress bar shows, as it shows it.
    page.evaluate(
        """() => {
            window.progressSeen = [];
            new MutationObserver(records => {
                for (const r of records) {
                    window.progressSeen.push(Number(r.target.dataset.progress));
                }
            }).observe(document, {
                subtree: true, attributes: true, attributeFilter: ["data-progress"] });
        }"""
    )

    # Keyboard only: the key field has the focus, Enter uses the key; then the prompt has it.
    expect(page.get_by_label("API key")).to_be_focused()
    page.keyboard.type(key)
    page.keyboard.press("Enter")
    expect(page.get_by_label("Prompt", exact=True)).to_be_focused()
    page.keyboard.type("a quiet harbour")
    card = new_card(page, lambda: page.keyboard.press("Enter"))
    done(card)
    seen = page.evaluate("window.progressSeen")
    assert any(0 < value < 100 for value in seen), seen
    assert seen == sorted(seen), seen

    # A grid's button takes the focus, and Enter presses it.
    card.get_by_role("button", name="U3", exact=True).focus()
    up = done(new_card(page, lambda: page.keyboard.press("Enter")))
    expect(up.locator("h3")).to_have_text("Upscale (U3)")
    expect(up.locator(".prompt")).to_have_text("a quiet harbour")  # its parent's
    expect(page.locator("#credits")).to_have_text(str(100 - 16 - 4))

    # Cancel a running job: its card says so, and the credits come back.
    page.get_by_label("Prompt", exact=True).fill("never mind")
    running = new_card(page, page.get_by_role("button", name="Imagine").click)
    expect(page.locator("#credits")).to_have_text(str(100 - 16 - 4 - 16))
    running.get_by_role("button", name="Cancel").click()
    expect(running).to_have_attribute("data-status", "CANCELLED", timeout=JOB_SECONDS)
    expect(running.locator(".failure")).to_have_text("Cancelled. Its 16 credits were refunded.")
    expect(page.locator("#credits")).to_have_text(str(100 - 16 - 4))
    assert watched.console_errors == []
    assert watched.foreign_requests() == []


def test_a_failed_job_is_refunded_and_a_429_says_wait(start_server: Any, open_page: Any) -> None:
    # Jobs time out; and a key may submit once, then waits (100 s) for its next POST.
    server = start_server(
        "failing",
        engine="fake",
        fake_engine_seconds="5",
        job_timeout_seconds="1",
        rate_limit_submit_burst="1",
        rate_limit_submits_per_second="0.01",
    )
    key = create_key(server, 50)
    watched: Watched = open_page(server)
    page = watched.page
    use_key(page, key)
    page.get_by_label("Prompt", exact=True).fill("too slow")
    card = new_card(page, page.get_by_role("button", name="Imagine").click)
    expect(card).to_have_attribute("data-status", "FAILED", timeout=JOB_SECONDS)
    expect(card.locator(".failure")).to_have_text(
        "Failed: timed out after 1 s. Its 16 credits were refunded."
    )
    expect(page.locator("#credits")).to_have_text("50")
    watched.screenshot("6-failed")

    # A 429 says how long to wait.
    page.get_by_role("button", name="Imagine").click()
    limited = page.locator("#errors .error[data-status='429']")
    expect(limited).to_contain_text(re.compile(r"retry after \d+ s"))
    expect(page.locator("#feed article")).to_have_count(1)
    assert watched.console_errors == refused(watched, 429), watched.console_errors
    assert len(watched.console_errors) == 1
    assert watched.foreign_requests() == []


def test_zoom_video_of_a_chain(start_server: Any, open_page: Any) -> None:
    pytest.importorskip("av", reason="zoom videos need the [video] extra (PyAV)")
    server = start_server("video", engine="fake", image_size="128")
    key = create_key(server, 200)
    watched: Watched = open_page(server)
    page = watched.page
    use_key(page, key)
    page.get_by_label("Prompt", exact=True).fill("a long way out")
    grid = done(new_card(page, page.get_by_role("button", name="Imagine").click))
    first = done(new_card(page, grid.get_by_role("button", name="U1", exact=True).click))
    # An upsample of a grid that is no zoom-out ends no chain: no button.
    expect(first.get_by_role("button", name="Zoom video")).to_have_count(0)
    zoom = done(new_card(page, first.get_by_role("button", name="Zoom Out 2x").click))
    last = done(new_card(page, zoom.get_by_role("button", name="U2", exact=True).click))

    last.get_by_label("Zoom video direction").select_option("in")
    video = new_card(page, last.get_by_role("button", name="Zoom video").click)
    expect(video).to_have_attribute("data-status", "COMPLETED", timeout=JOB_SECONDS)
    expect(video.locator("h3")).to_have_text("Zoom video (in)")
    expect(video.locator(".lineage")).to_contain_text("Upscale (U2)")
    player = video.locator("video")
    expect(player).to_have_count(1)
    # The browser read the file: it knows the video's size and length.
    wait_until(player, "v => v.readyState >= 1 && v.videoWidth > 0")
    width, height, seconds = player.evaluate("v => [v.videoWidth, v.videoHeight, v.duration]")
    assert (width, height) == (128, 128) and seconds == pytest.approx(2, abs=0.1)
    expect(video.get_by_role("link", name="Download")).to_have_attribute(
        "href", re.compile(r"-video\.(mp4|webm)$")
    )
    watched.screenshot("7-zoom-video")
    assert watched.console_errors == []
    assert watched.foreign_requests() == []
