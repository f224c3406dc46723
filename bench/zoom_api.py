"""A whole 4-candidate zoom-out through the API: submit, the worker's fill and encoding, and the
client seeing COMPLETED, against a real `outframe serve` on the classic engine; beside it, in the
same run and interleaved, the same fill and PNG encoding called in-process (the engine's share).

    .venv/bin/python -m bench.zoom_api [--size 1024] [--runs 5] [--images astronaut,chelsea]

Each run imports a photo (bench/outpaint_cases.py, centre-cropped square, resized to --size) as
a job and zooms it out 2x; the time is from the POST to the client's `wait` returning (the event
stream), so it holds everything a caller waits for.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.e2e.server import ServerProcess, outframe_cli

from bench import NO_RATE_LIMITS
from bench import outpaint_cases as cases
from outframe.client import Client
from outframe.engines.classic import ClassicEngine
from outframe.imaging.canvas import grid, zoom_out
from outframe.imaging.codec import encode_png

SEEDS = [1, 2, 3, 4]


def in_process(engine: ClassicEngine, photo: cases.Image) -> float:
    """The engine's share: the fill of four candidates, then their PNGs and the grid's."""
    start = time.perf_counter()
    images = engine.fill(zoom_out(photo, 2.0), "", SEEDS, lambda _: None)
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(encode_png, [*images, grid(images)]))
    return time.perf_counter() - start


def through_api(client: Client, parent: str) -> float:
    start = time.perf_counter()
    job = client.wait(client.outpaint(parent, 2.0).job_id)
    seconds = time.perf_counter() - start
    assert job.status == "COMPLETED" and len(job.images) == 4, job
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--images", default="astronaut,chelsea")
    args = parser.parse_args()
    names, missing = cases.available(args.images.split(","))
    if missing:
        print(f"note: photos not installed here, left out: {', '.join(missing)}")
    photos = {name: cases.truth(name, args.size) for name in names}
    engine = ClassicEngine()
    engine.start()
    api: list[float] = []
    local: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = {"log_level": "WARNING", **NO_RATE_LIMITS}
        server = ServerProcess(Path(tmp) / "data", **settings).start()
        try:
            out = outframe_cli(
                server.data_dir, "keys", "create", "--name", "b", "--credits", "99999"
            )
            with Client(server.url, out.strip().splitlines()[-1]) as client:
                parents = {}
                for name, photo in photos.items():
                    parents[name] = client.import_image(encode_png(photo)).job_id
                # One unmeasured job first: the server's worker loads its kernels on start.
                through_api(client, parents[names[0]])
                for _ in range(args.runs):
                    for name, photo in photos.items():  # interleaved: drift hits both alike
                        api.append(through_api(client, parents[name]))
                        local.append(in_process(engine, photo))
        finally:
            server.stop()
    n = len(api)
    print(f"4-candidate 2x zoom-out at {args.size} x {args.size}, {n} jobs ({', '.join(names)})")
    print(f"{'way':34} {'median s':>9} {'max s':>7}")
    print(f"{'through the API (submit to wait)':34} {statistics.median(api):9.2f} {max(api):7.2f}")
    print(
        f"{'in-process fill + PNG encoding':34} {statistics.median(local):9.2f} {max(local):7.2f}"
    )
    print(f"API overhead: {statistics.median(api) - statistics.median(local):+.2f} s at the median")


if __name__ == "__main__":
    main()
