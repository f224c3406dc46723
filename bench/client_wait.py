"""What outframe.client's wait() costs against a bare polling loop: how long after a job completes
each one knows it, and how many requests it sends, median of runs, in one run against a real
`outframe serve` (fake engine: every job takes the same --job-seconds).

    .venv/bin/python -m bench.client_wait [--runs 7] [--job-seconds 1]

"after completion" is the moment the call returns less the job's completedAt (same machine
clock), so it is the latency of noticing the end, whatever the job's length.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import httpx
from tests.e2e.server import ServerProcess, outframe_cli

from bench import NO_RATE_LIMITS
from outframe.client import Client


def bare_loop(http: httpx.Client, interval: float) -> Callable[[str], int]:
    """The loop every user writes: GET, sleep, until COMPLETED. Returns its request count."""

    def wait(job_id: str) -> int:
        requests = 0
        while True:
            requests += 1
            if http.get(f"/v2/jobs/{job_id}").json()["status"] == "COMPLETED":
                return requests
            time.sleep(interval)

    return wait


def client_wait(client: Client, counter: list[int], stream: bool) -> Callable[[str], int]:
    def wait(job_id: str) -> int:
        before = counter[0]
        client.wait(job_id, stream=stream)
        return counter[0] - before

    return wait


def completed_at(http: httpx.Client, job_id: str) -> float:
    stamp = http.get(f"/v2/jobs/{job_id}").json()["completedAt"]
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--job-seconds", type=float, default=1.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = {"engine": "fake", "fake_engine_seconds": str(args.job_seconds),
                    "image_size": "64", "log_level": "WARNING", **NO_RATE_LIMITS}  # fmt: skip
        server = ServerProcess(Path(tmp) / "data", **settings).start()
        try:
            out = outframe_cli(
                server.data_dir, "keys", "create", "--name", "b", "--credits", "99999"
            )
            key = out.strip().splitlines()[-1]
            counter = [0]
            http = httpx.Client(base_url=server.url, headers={"X-API-Key": key}, timeout=30)
            client = Client(server.url, key)
            client.http.event_hooks["request"].append(
                lambda _: counter.__setitem__(0, counter[0] + 1)
            )
            ways = {
                "bare loop, GET every 0.05 s": bare_loop(http, 0.05),
                "bare loop, GET every 0.5 s": bare_loop(http, 0.5),
                "client.wait, event stream": client_wait(client, counter, stream=True),
                "client.wait, polling (0.5 s growing to 3 s)": client_wait(client, counter, False),
            }
            rows = {name: ([], []) for name in ways}  # type: dict[str, tuple[list[float], list[int]]]
            for _ in range(args.runs):
                for name, wait in ways.items():  # interleaved: drift hits every way alike
                    job_id = client.generate("bench").job_id
                    requests = wait(job_id)
                    returned = time.time()
                    rows[name][0].append((returned - completed_at(http, job_id)) * 1000)
                    rows[name][1].append(requests)
            http.close()
            client.close()
        finally:
            server.stop()
    base = statistics.median(rows["bare loop, GET every 0.05 s"][0])
    print(f"jobs of {args.job_seconds:g} s, median of {args.runs} runs each")
    print(f"{'way':46} {'after completion (ms)':>22} {'vs 0.05 s loop':>15} {'requests':>9}")
    for name, (late, requests) in rows.items():
        median = statistics.median(late)
        print(f"{name:46} {median:22.1f} {median - base:+15.1f} {statistics.median(requests):9.0f}")


if __name__ == "__main__":
    main()
