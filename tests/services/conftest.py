"""Services on a temporary SQLite database, with fakes for storage and the queue."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from outframe.container import Services, build_services
from outframe.core.config import Settings
from outframe.queue.base import RecordingQueue
from outframe.services import keys
from outframe.services.domain import Action
from outframe.services.jobs import JobRequest
from outframe.services.keys import Caller
from outframe.storage.base import MemoryStorage
from tests.backends import fresh_postgres_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each service test runs on the embedded SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield ""
    else:
        with fresh_postgres_database() as url:
            yield url


@pytest.fixture
def services(tmp_path: Path, database_url: str) -> Iterator[Services]:
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        engine="fake",
        image_size=64,
        lease_seconds=0.2,
        job_timeout_seconds=60,
        max_attempts=3,
    )
    built = build_services(settings, storage=MemoryStorage(), queue=RecordingQueue())
    yield built
    built.db.dispose()


def make_caller(services: Services, credits_: int = 1000, max_concurrent: int = 3) -> Caller:
    with services.db.write() as session:
        _, plaintext = keys.create_key(
            session, name="t", credits_=credits_, max_concurrent_jobs=max_concurrent
        )
    with services.db.session() as session:
        return keys.authenticate(session, plaintext)


def submit(services: Services, caller: Caller, prompt: str = "x") -> str:
    request = JobRequest(Action.GENERATE, {"prompt": prompt, "aspectRatio": "1:1"})
    return services.jobs.submit(caller, request).job_id
