"""Images are deleted once a job is older than the retention period; nothing else is."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from outframe.container import Services
from outframe.services.clock import utcnow
from outframe.services.domain import Action
from outframe.services.errors import BadRequest
from outframe.services.jobs import JobRequest
from outframe.services.retention import purge_expired
from outframe.services.runner import JobRunner
from outframe.storage.base import MemoryStorage
from outframe.store.models import JOBS
from tests.services.conftest import make_caller, submit


def test_purge_deletes_old_images_once(services: Services) -> None:
    caller = make_caller(services)
    old, recent = submit(services, caller, "old"), submit(services, caller, "recent")
    runner = JobRunner(
        services.jobs, services.engine, services.storage, image_size=16, timeout_seconds=30
    )
    for _ in range(2):
        claim = services.jobs.claim("w")
        assert claim is not None
        runner.run(claim)
    storage = services.storage
    assert isinstance(storage, MemoryStorage)
    assert len(storage.blobs) == 10  # two grids: 4 images and a composite each
    with services.db.write() as session:
        session.execute(
            update(JOBS).where(JOBS.c.id == old).values(completed_at=utcnow() - timedelta(days=91))
        )
    assert purge_expired(services.db, storage, days=90) == 1
    assert len(storage.blobs) == 5 and all(name.startswith(recent) for name in storage.blobs)
    assert purge_expired(services.db, storage, days=90) == 0
    with services.db.session() as session:
        purged = session.execute(select(JOBS.c.id).where(JOBS.c.images_purged_at.is_not(None)))
        assert [row.id for row in purged] == [old]


def test_a_parent_past_retention_is_refused_at_submit(services: Services) -> None:
    caller = make_caller(services)
    grid = submit(services, caller, "old")
    runner = JobRunner(
        services.jobs, services.engine, services.storage, image_size=16, timeout_seconds=30
    )
    claim = services.jobs.claim("w")
    assert claim is not None
    runner.run(claim)
    upsample = JobRequest(action=Action.UPSAMPLE, params={"index": 1}, parent_job_id=grid)
    with services.db.write() as session:
        session.execute(
            update(JOBS).where(JOBS.c.id == grid).values(completed_at=utcnow() - timedelta(days=91))
        )
    assert purge_expired(services.db, services.storage, days=90) == 1
    with pytest.raises(BadRequest, match="retention") as refused:
        services.jobs.submit(caller, upsample)
    assert refused.value.code == "invalid_parent"
