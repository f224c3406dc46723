"""Claims, leases, retries, timeouts and per-team concurrency, on the real store."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import select

from outframe.container import Services, build_services
from outframe.core.config import Settings
from outframe.engines.fake import FakeEngine
from outframe.queue.base import RecordingQueue
from outframe.services import credits
from outframe.services.domain import JobStatus
from outframe.services.jobs import Claim
from outframe.services.runner import JobRunner
from outframe.storage.base import MemoryStorage
from outframe.store.models import Job, LedgerEntry
from tests.services.conftest import make_caller, submit


def job(services: Services, job_id: str) -> Job:
    with services.db.session() as session:
        found = session.scalar(select(Job).where(Job.id == job_id))
        assert found is not None
        return found


def ledger(services: Services, job_id: str) -> list[str]:
    with services.db.session() as session:
        return sorted(session.scalars(select(LedgerEntry.kind).where(LedgerEntry.job_id == job_id)))


def test_claim_is_exclusive(services: Services) -> None:
    caller = make_caller(services)
    job_id = submit(services, caller)
    claims = [services.jobs.claim(f"w{i}") for i in range(3)]
    held = [c for c in claims if c is not None]
    assert len(held) == 1 and held[0].job_id == job_id
    assert job(services, job_id).status == JobStatus.PROCESSING.value


def test_concurrent_claimers_never_share_a_job(services: Services) -> None:
    caller = make_caller(services, max_concurrent=100)
    ids = {submit(services, caller, f"p{i}") for i in range(20)}
    got: list[str] = []
    lock = threading.Lock()

    def claimer(n: int) -> None:
        while (claim := services.jobs.claim(f"w{n}")) is not None:
            with lock:
                got.append(claim.job_id)

    threads = [threading.Thread(target=claimer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == sorted(ids)


def test_expired_lease_is_requeued_then_fails_after_max_attempts(services: Services) -> None:
    caller = make_caller(services)
    job_id = submit(services, caller)
    for attempt in (1, 2, 3):
        claim = services.jobs.claim("dying-worker")
        assert claim is not None and claim.attempt == attempt
        time.sleep(0.25)  # the worker "dies": its lease runs out
        assert len(services.jobs.reap()) == 1
        expected = JobStatus.QUEUED if attempt < 3 else JobStatus.FAILED
        assert job(services, job_id).status == expected.value
    failed = job(services, job_id)
    assert failed.credit_cost == 0 and "3 times" in (failed.error or "")
    assert ledger(services, job_id) == ["hold", "void"]
    with services.db.session() as session:
        assert credits.balance(session, caller.team_id) == 1000


def test_late_finish_after_requeue_is_discarded(services: Services) -> None:
    caller = make_caller(services)
    job_id = submit(services, caller)
    stale = services.jobs.claim("slow")
    assert stale is not None
    time.sleep(0.25)
    services.jobs.reap()
    fresh = services.jobs.claim("fast")
    assert fresh is not None and fresh.job_id == job_id
    assert services.jobs.complete(fresh, {"images": []}, (1, 1))
    assert not services.jobs.complete(stale, {"images": []}, (1, 1))
    assert not services.jobs.fail(stale, "late")
    assert ledger(services, job_id) == ["hold", "post"]


def test_renewed_lease_survives_reaping(services: Services) -> None:
    caller = make_caller(services)
    submit(services, caller)
    claim = services.jobs.claim("w")
    assert claim is not None
    for _ in range(3):
        time.sleep(0.1)
        services.jobs.renew([claim.token])
        assert services.jobs.reap() == []


def test_timeout_fails_and_refunds(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, engine="fake", lease_seconds=5, job_timeout_seconds=0.3)
    services = build_services(settings, storage=MemoryStorage(), queue=RecordingQueue())
    caller = make_caller(services)
    job_id = submit(services, caller)
    claim = services.jobs.claim("w")
    assert claim is not None
    # The engine reports progress after the deadline: the runner stops and fails the job.
    runner = JobRunner(
        services.jobs,
        FakeEngine(seconds_per_job=0.6),
        services.storage,
        image_size=16,
        timeout_seconds=0.3,
    )
    runner.run(claim)
    done = job(services, job_id)
    assert done.status == JobStatus.FAILED.value and "timed out" in (done.error or "")
    assert ledger(services, job_id) == ["hold", "void"]


def test_reaper_fails_a_job_past_its_timeout(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, engine="fake", lease_seconds=5, job_timeout_seconds=0.1)
    services = build_services(settings, storage=MemoryStorage(), queue=RecordingQueue())
    job_id = submit(services, make_caller(services))
    assert services.jobs.claim("hung-worker") is not None
    time.sleep(0.15)
    services.jobs.renew([])  # the hung worker's lease is still alive...
    assert len(services.jobs.reap()) == 1  # ...but its time is up
    assert job(services, job_id).status == JobStatus.FAILED.value


def test_team_concurrency_limit_and_fifo(services: Services) -> None:
    busy = make_caller(services, max_concurrent=2)
    other = make_caller(services)
    first = [submit(services, busy, f"b{i}") for i in range(4)]
    late = submit(services, other, "o")
    order = [services.jobs.claim("w") for _ in range(4)]
    claimed = [c.job_id for c in order if c is not None]
    # Two of the busy team's jobs, in order, then the other team's; the rest wait.
    assert claimed == [first[0], first[1], late]
    running = order[0]
    assert running is not None
    services.jobs.complete(running, {"images": []}, (1, 1))
    nxt = services.jobs.claim("w")
    assert nxt is not None and nxt.job_id == first[2]


def test_engine_error_fails_and_refunds(services: Services) -> None:
    class Broken(FakeEngine):
        def generate(self, *args: object, **kwargs: object) -> list:  # type: ignore[override,type-arg]
            raise RuntimeError("no pixels today")

    caller = make_caller(services)
    job_id = submit(services, caller)
    claim = services.jobs.claim("w")
    assert claim is not None
    JobRunner(services.jobs, Broken(), services.storage, image_size=16, timeout_seconds=10).run(
        claim
    )
    failed = job(services, job_id)
    assert failed.status == "FAILED" and "no pixels today" in (failed.error or "")
    with services.db.session() as session:
        assert credits.balance(session, caller.team_id) == 1000
        assert credits.ledger_sum(session, caller.team_id) == 1000


def claim_at_once(services: Services, workers: int) -> list[Claim]:
    """`workers` threads call claim at the same moment; the claims they got."""
    start = threading.Barrier(workers)
    claims: list[Claim] = []
    lock = threading.Lock()

    def claimer(n: int) -> None:
        start.wait()
        if (claim := services.jobs.claim(f"w{n}")) is not None:
            with lock:
                claims.append(claim)

    threads = [threading.Thread(target=claimer, args=(n,)) for n in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return claims


def test_simultaneous_claimers_respect_the_team_limit(services: Services) -> None:
    """Claimers racing for one team's jobs never run more than its maxConcurrentJobs (on
    PostgreSQL, two transactions could each see the other's claim as not yet made)."""
    caller = make_caller(services, max_concurrent=2)
    for _ in range(8):
        for i in range(6):
            submit(services, caller, f"p{i}")
        claims = claim_at_once(services, 6)
        assert len(claims) == 2
        for claim in claims:
            services.jobs.fail(claim, "done with it")
