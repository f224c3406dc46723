"""Webhook delivery: 1,000 completed events from a running server to a local HTTPS receiver;
deliveries per second and the lag from a job's completion to the receiver getting its webhook,
beside the receiver's own capacity (the same POSTs sent straight from this process).

    .venv/bin/python -m bench.webhooks [--jobs 1000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import httpx
import orjson
import trustme
from tests.e2e.server import ServerProcess, outframe_cli
from tests.webhooks.receiver import Receiver, write_ca

from bench import NO_RATE_LIMITS


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def direct_rate(url: str, ca_file: Path, count: int, concurrency: int) -> float:
    """What the receiver takes when nothing but POSTs are sent to it."""
    with httpx.Client(verify=str(ca_file)) as client:
        body = b'{"event": "completed"}'
        started = time.monotonic()
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(lambda _: client.post(f"{url}/direct", content=body), range(count)))
        return count / (time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=1000)
    args = parser.parse_args()
    ca = trustme.CA()
    with tempfile.TemporaryDirectory() as tmp, Receiver(ca) as receiver:
        data_dir = Path(tmp) / "data"
        ca_file = write_ca(ca, Path(tmp))
        key = (
            outframe_cli(
                data_dir, "keys", "create", "--name", "bench", "--credits", str(16 * args.jobs)
            )
            .strip()
            .splitlines()[-1]
        )
        server = ServerProcess(
            data_dir,
            engine="fake",
            image_size="64",
            poll_seconds="0.05",
            default_max_concurrent_jobs="8",
            webhook_allow_networks="127.0.0.0/8",
            webhook_ca_bundle=str(ca_file),
            **NO_RATE_LIMITS,
        ).start()
        try:
            headers = {"X-API-Key": key}
            body = {"prompt": "bench", "webhookUrl": f"{receiver.url}/hook"}
            with httpx.Client(base_url=server.url, headers=headers) as client:
                with ThreadPoolExecutor(8) as pool:
                    list(
                        pool.map(
                            lambda _: client.post("/v2/images/generate", json=body),
                            range(args.jobs),
                        )
                    )
                got = receiver.wait_for(args.jobs, "/hook", timeout=600)
        finally:
            server.stop()
        completed = [
            datetime.fromisoformat(orjson.loads(r.body)["completedAt"]).timestamp() for r in got
        ]
        lags = [(r.wall - done) * 1000 for r, done in zip(got, completed, strict=True)]
        job_rate = len(got) / (max(completed) - min(completed))
        rate = len(got) / (max(r.wall for r in got) - min(r.wall for r in got))
        direct = direct_rate(receiver.url, ca_file, args.jobs, 16)

    print(
        f"\n{args.jobs} completed jobs with a webhook (fake engine at 64 px, 2 workers, SQLite); "
        f"jobs completed at {job_rate:.0f} per s"
    )
    print(f"{'what':34} {'per s':>8} {'lag p50 ms':>11} {'lag p99 ms':>11} {'max ms':>8}")
    print(
        f"{'outframe webhooks':34} {rate:8.0f} {statistics.median(lags):11.1f} "
        f"{percentile(lags, 99):11.1f} {max(lags):8.1f}"
    )
    print(f"{'receiver capacity (direct POSTs)':34} {direct:8.0f} {'-':>11} {'-':>11} {'-':>8}")


if __name__ == "__main__":
    main()
