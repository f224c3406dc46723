"""Chaos runs: clients submit jobs while processes are SIGKILLed and restarted; afterwards the
database must account for every accepted job exactly once."""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from sqlalchemy import create_engine, text

from tests.e2e.server import ServerProcess


@dataclass
class Accepted:
    job_ids: set[str] = field(default_factory=set)
    rate_limited: int = 0  # 429 answers, each retried after its Retry-After
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, job_id: str) -> None:
        with self.lock:
            self.job_ids.add(job_id)

    def throttled(self) -> None:
        with self.lock:
            self.rate_limited += 1


def submit_all(
    nodes: list[ServerProcess], key: str, *, jobs: int, clients: int, deadline: float
) -> Accepted:
    """`clients` threads submit `jobs` generate jobs in all, spread over the API nodes. A submit
    that gets no answer (its node is down) is retried on another node with the same
    Idempotency-Key, as a careful client would: it must never create a second job. A 429 (the
    key's request budget spent) is retried after its Retry-After, as the API asks."""
    accepted = Accepted()
    per_client = jobs // clients

    def client(n: int) -> None:
        with httpx.Client(timeout=10) as http:
            for i in range(per_client):
                idempotency = str(uuid.uuid4())
                body = {"prompt": f"chaos {n}-{i}"}
                attempt = 0
                while time.monotonic() < deadline:
                    node = nodes[(n + i + attempt) % len(nodes)]
                    attempt += 1
                    try:
                        response = http.post(
                            f"{node.url}/v2/images/generate",
                            json=body,
                            headers={"X-API-Key": key, "Idempotency-Key": idempotency},
                        )
                    except httpx.TransportError:
                        time.sleep(0.05)
                        continue
                    if response.status_code == 429:
                        accepted.throttled()
                        time.sleep(float(response.headers["Retry-After"]))
                        continue
                    assert response.status_code == 202, response.text
                    accepted.add(response.json()["jobId"])
                    break

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return accepted


def chaos_monkey(
    victims: list[ServerProcess], kills: int, *, every: tuple[float, float], seed: int = 7
) -> Callable[[], int]:
    """Start a thread that SIGKILLs a random victim `kills` times and restarts it; returns a
    function that waits for it and gives how many kills were made."""
    rng = random.Random(seed)
    done = {"kills": 0}

    def run() -> None:
        for _ in range(kills):
            time.sleep(rng.uniform(*every))
            victim = rng.choice(victims)
            victim.kill()
            done["kills"] += 1
            victim.start()

    thread = threading.Thread(target=run)
    thread.start()

    def wait() -> int:
        thread.join()
        return done["kills"]

    return wait


@dataclass
class Report:
    accepted: int
    completed: int
    failed: int
    retried: int
    lost: int
    double_charged: int
    balance_ok: bool
    missing_images: int

    def assert_clean(self, submitted: int) -> None:
        """Every submitted job accepted once, ended, charged once, its images there."""
        assert self.accepted == submitted
        assert self.lost == 0 and self.double_charged == 0
        assert self.completed + self.failed == submitted
        assert self.balance_ok and self.missing_images == 0

    def line(self) -> str:
        return (
            f"accepted={self.accepted} completed={self.completed} failed={self.failed} "
            f"retried={self.retried} lost={self.lost} double-charged={self.double_charged} "
            f"balance_ok={self.balance_ok} missing_images={self.missing_images}"
        )


def wait_settled(database_url: str, job_ids: set[str], timeout: float) -> None:
    engine = create_engine(database_url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                open_jobs = conn.execute(
                    text("SELECT count(*) FROM jobs WHERE status IN ('QUEUED', 'PROCESSING')")
                ).scalar()
            if open_jobs == 0:
                return
            time.sleep(0.5)
    finally:
        engine.dispose()


def audit(
    database_url: str, job_ids: set[str], initial: int, image_exists: Callable[[str], bool]
) -> Report:
    """Check the books: every accepted job ended, was charged once, and has its images."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, status, attempts, result FROM jobs")).all()
            ledger = conn.execute(text("SELECT job_id, kind, amount FROM ledger")).all()
            balance = conn.execute(text("SELECT sum(credits) FROM teams")).scalar()
    finally:
        engine.dispose()
    jobs = {row.id: row for row in rows}
    kinds: dict[str, list[str]] = {}
    for entry in ledger:
        if entry.job_id:
            kinds.setdefault(entry.job_id, []).append(entry.kind)
    lost = sum(
        1
        for job_id in job_ids
        if job_id not in jobs or jobs[job_id].status not in ("COMPLETED", "FAILED")
    )
    double = 0
    for job_id, job in jobs.items():
        want = ["hold", "post"] if job.status == "COMPLETED" else ["hold", "void"]
        if sorted(kinds.get(job_id, [])) != sorted(want):
            double += 1
    posted_jobs = {e.job_id for e in ledger if e.kind == "post"}
    posted = sum(-e.amount for e in ledger if e.kind == "hold" and e.job_id in posted_jobs)
    missing = 0
    for job in jobs.values():
        if job.status == "COMPLETED":
            result = job.result if isinstance(job.result, dict) else json.loads(job.result)
            names = [*result["images"], result["grid"]]
            missing += sum(1 for name in names if not image_exists(name))
    return Report(
        accepted=len(job_ids),
        completed=sum(1 for j in jobs.values() if j.status == "COMPLETED"),
        failed=sum(1 for j in jobs.values() if j.status == "FAILED"),
        retried=sum(1 for j in jobs.values() if j.attempts > 1),
        lost=lost,
        double_charged=double + (len(jobs) - len(job_ids)),  # an extra job is a double charge
        balance_ok=balance == initial - posted,
        missing_images=missing,
    )
