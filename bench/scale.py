"""Jobs per second through the queue, with a fast fake engine, at 1, 2 and 4 worker processes:
embedded workers on SQLite and on PostgreSQL, and Celery workers over Redis on PostgreSQL.

    .venv/bin/python -m bench.scale [--jobs 200] [--workers 1,2,4]

One API node (`outframe serve --no-worker`) takes the submits; N `outframe worker` processes
run the jobs (the fake engine at 64 px: the cost measured is the queue's, the database's and
the settlement's, not the pixels'). Throughput is jobs / (last completion - first submit).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from tests.backends import REDIS_URL, fresh_postgres_database
from tests.e2e.server import ServerProcess, outframe_cli

from bench import NO_RATE_LIMITS

BASE = {"engine": "fake", "image_size": "64", "poll_seconds": "0.2", "workers": "1"}
BASE |= NO_RATE_LIMITS


def wait_ready(workers: list[ServerProcess], timeout: float = 60) -> None:
    """Celery workers log "ready" once they consume; embedded ones are ready at once."""
    deadline = time.monotonic() + timeout
    for worker in workers:
        if worker.env.get("OUTFRAME_QUEUE") != "celery":
            continue
        while "ready" not in (worker.log.read_text() if worker.log.exists() else ""):
            if time.monotonic() > deadline:
                raise RuntimeError(f"worker not ready: {worker.log}")
            time.sleep(0.1)


def run(tmp: Path, settings: dict[str, str], database_url: str, workers: int, jobs: int) -> float:
    env = {f"OUTFRAME_{k.upper()}": v for k, v in settings.items()}
    key = (
        outframe_cli(
            tmp,
            "keys",
            "create",
            "--name",
            "bench",
            "--credits",
            str(16 * jobs),
            "--max-concurrent-jobs",
            "64",
            env=env,
        )
        .strip()
        .splitlines()[-1]
    )
    # One data dir for all: with local storage, workers write the images the API serves.
    api = ServerProcess(tmp, **(settings | {"workers": "0"})).start()
    pool = [ServerProcess(tmp, "worker", **settings).start() for _ in range(workers)]
    try:
        wait_ready(pool)
        with httpx.Client(base_url=api.url, headers={"X-API-Key": key}) as client:
            started = time.time()
            with ThreadPoolExecutor(8) as submitters:
                list(
                    submitters.map(
                        lambda i: client.post("/v2/images/generate", json={"prompt": f"s{i}"}),
                        range(jobs),
                    )
                )
        engine = create_engine(database_url)
        try:
            while True:
                with engine.connect() as conn:
                    left = conn.execute(
                        text("SELECT count(*) FROM jobs WHERE status IN ('QUEUED','PROCESSING')")
                    ).scalar()
                    if left == 0:
                        last = conn.execute(text("SELECT max(completed_at) FROM jobs")).scalar()
                        break
                time.sleep(0.05)
        finally:
            engine.dispose()
        if isinstance(last, str):  # SQLite hands back text
            from datetime import datetime

            last = datetime.fromisoformat(last)
        return jobs / (last.timestamp() - started)
    finally:
        for process in [api, *pool]:
            process.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument(
        "--setups", default="sqlite,postgres,celery", help="which of sqlite, postgres, celery"
    )
    args = parser.parse_args()
    setups = {
        "sqlite": "embedded, SQLite",
        "postgres": "embedded, PostgreSQL",
        "celery": "Celery + Redis, PostgreSQL",
    }
    chosen = [setups[key] for key in args.setups.split(",")]
    levels = [int(n) for n in args.workers.split(",")]
    results: dict[str, dict[int, float]] = {}
    for name in chosen:
        results[name] = {}
        for n in levels:
            with tempfile.TemporaryDirectory() as tmp:
                if name == "embedded, SQLite":
                    url = f"sqlite:///{Path(tmp) / 'shared.db'}"
                    settings = BASE | {"database_url": url}
                    results[name][n] = run(Path(tmp), settings, url, n, args.jobs)
                    continue
                with fresh_postgres_database() as url:
                    settings = BASE | {"database_url": url}
                    if name.startswith("Celery"):
                        settings |= {"queue": "celery", "broker_url": REDIS_URL}
                    results[name][n] = run(Path(tmp), settings, url, n, args.jobs)
    print(f"\njobs per second, {args.jobs} jobs, fake engine at 64 px, 2 cores")
    print(f"{'queue and store':28}" + "".join(f"{f'{n} worker(s)':>13}" for n in levels))
    for name, row in results.items():
        print(f"{name:28}" + "".join(f"{row[n]:13.1f}" for n in levels))


if __name__ == "__main__":
    main()
