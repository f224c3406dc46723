"""The same chain on the several-machines stack: PostgreSQL, Celery workers over Redis in
their own processes, and S3 storage (moto's standalone server stands in for S3/MinIO)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.backends import (
    RABBITMQ_URL,
    REDIS_URL,
    fresh_postgres_database,
    require_rabbitmq,
    require_redis,
)
from tests.e2e.client import Api, run_chain
from tests.e2e.server import ServerProcess, free_port, outframe_cli

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture
def s3_endpoint() -> Iterator[str]:
    """An S3-compatible server on loopback, with a bucket."""
    import boto3
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    ).create_bucket(Bucket="outframe-images")
    yield endpoint
    server.stop()


@pytest.fixture(params=["redis", "rabbitmq"])
def broker_url(request: pytest.FixtureRequest) -> str:
    if request.param == "redis":
        require_redis()
        return REDIS_URL
    require_rabbitmq()
    return RABBITMQ_URL


@pytest.fixture
def stack_settings(s3_endpoint: str, broker_url: str) -> Iterator[dict[str, str]]:
    with fresh_postgres_database() as database_url:
        yield {
            "database_url": database_url,
            "queue": "celery",
            "broker_url": broker_url,
            "storage": "s3",
            "s3_bucket": "outframe-images",
            "s3_endpoint_url": s3_endpoint,
            "s3_region": "us-east-1",
            "image_size": "256",
            "lease_seconds": "2",
            "poll_seconds": "0.2",
        }


AWS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}


def test_chain_on_postgres_celery_and_s3(tmp_path: Path, stack_settings: dict[str, str]) -> None:
    env = {f"OUTFRAME_{k.upper()}": v for k, v in stack_settings.items()} | AWS
    key = outframe_cli(tmp_path, "keys", "create", "--name", "stack", "--credits", "1000", env=env)
    processes: list[ServerProcess] = []
    try:
        for _ in range(2):
            worker = ServerProcess(tmp_path / "w", "worker", **stack_settings)
            worker.env |= AWS
            processes.append(worker.start())
        api_node = ServerProcess(tmp_path / "api", **stack_settings)
        api_node.env |= AWS
        processes.append(api_node.start())
        api: Any = Api(api_node.url, key.strip().splitlines()[-1])
        try:
            run_chain(api, side=256)
            job = api.http.get("/v2/jobs?limit=1").json()["jobs"][0]
            assert job["result"]["images"][0].startswith(stack_settings["s3_endpoint_url"])
        finally:
            api.close()
    finally:
        for process in processes:
            process.stop()
