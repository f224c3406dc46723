"""Chaos, bounded in count and time: processes SIGKILLed at random while 200 jobs run. Lost = 0,
double-charged = 0, the books balance and every completed job's images exist."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.backends import REDIS_URL, fresh_postgres_database, require_redis
from tests.chaos.harness import audit, chaos_monkey, submit_all, wait_settled
from tests.e2e.server import ServerProcess, outframe_cli
from tests.e2e.test_distributed import AWS, s3_endpoint

pytestmark = pytest.mark.slow
__all__ = ["s3_endpoint"]

JOBS = 200
CLIENTS = 8
INITIAL = 16 * JOBS
CHAOS_ENGINE = {
    "engine": "fake",
    "fake_engine_seconds": "0.4",  # long enough that kills land mid-job
    "image_size": "64",
    "lease_seconds": "1",
    "poll_seconds": "0.2",
    "default_max_concurrent_jobs": "100",
}


def create_key(data_dir: Path, env: dict[str, str]) -> str:
    out = outframe_cli(
        data_dir,
        "keys",
        "create",
        "--name",
        "chaos",
        "--credits",
        str(INITIAL),
        "--max-concurrent-jobs",
        "100",
        env=env,
    )
    return out.strip().splitlines()[-1]


@pytest.mark.postgres
def test_chaos_on_postgres_celery_s3(tmp_path: Path, s3_endpoint: str) -> None:
    require_redis()
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    with fresh_postgres_database() as database_url:
        settings = CHAOS_ENGINE | {
            "database_url": database_url,
            "queue": "celery",
            "broker_url": REDIS_URL,
            "storage": "s3",
            "s3_bucket": "outframe-images",
            "s3_endpoint_url": s3_endpoint,
            "s3_region": "us-east-1",
        }
        env = {f"OUTFRAME_{k.upper()}": v for k, v in settings.items()} | AWS
        key = create_key(tmp_path, env)
        workers = [ServerProcess(tmp_path / f"w{n}", "worker", **settings) for n in range(3)]
        apis = [ServerProcess(tmp_path / f"api{n}", **settings) for n in range(2)]
        for process in [*workers, *apis]:
            process.env |= AWS
            process.start()
        try:
            deadline = time.monotonic() + 240
            workers_monkey = chaos_monkey(workers, 10, every=(0.5, 2.0))
            api_monkey = chaos_monkey(apis[:1], 1, every=(1.0, 3.0), seed=11)
            accepted = submit_all(apis, key, jobs=JOBS, clients=CLIENTS, deadline=deadline)
            kills = workers_monkey() + api_monkey()
            wait_settled(database_url, accepted.job_ids, timeout=180)

            def exists(name: str) -> bool:
                try:
                    s3.head_object(Bucket="outframe-images", Key=name)
                    return True
                except s3.exceptions.ClientError:
                    return False

            report = audit(database_url, accepted.job_ids, INITIAL, exists)
        finally:
            for process in [*workers, *apis]:
                process.stop()
    print(
        f"\nchaos (PostgreSQL, Celery, S3; {kills} kills): {report.line()} "
        f"rate-limited={accepted.rate_limited}"
    )
    assert kills == 11
    report.assert_clean(JOBS)


def test_chaos_on_the_embedded_default(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    key = create_key(data_dir, {})
    server = ServerProcess(data_dir, **CHAOS_ENGINE).start()
    try:
        deadline = time.monotonic() + 240
        monkey = chaos_monkey([server], 3, every=(1.0, 3.0))
        accepted = submit_all([server], key, jobs=JOBS, clients=CLIENTS, deadline=deadline)
        kills = monkey()
        database_url = f"sqlite:///{data_dir / 'outframe.db'}"
        wait_settled(database_url, accepted.job_ids, timeout=180)
        images = data_dir / "images"
        report = audit(database_url, accepted.job_ids, INITIAL, lambda n: (images / n).exists())
    finally:
        server.stop()
    print(
        f"\nchaos (embedded: SQLite, in-process workers; {kills} kills): {report.line()} "
        f"rate-limited={accepted.rate_limited}"
    )
    assert kills == 3
    report.assert_clean(JOBS)
