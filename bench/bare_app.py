"""The baseline: a bare FastAPI endpoint that returns a job-shaped JSON body from memory."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

app = FastAPI()

JOB: dict[str, Any] = {
    "id": "00000000-0000-0000-0000-000000000000",
    "status": "COMPLETED",
    "model": "midjourney",
    "action": "generate",
    "parentJobId": None,
    "progress": 100,
    "result": {"images": [f"http://127.0.0.1/cdn/x-{n}.png" for n in range(1, 5)]},
    "error": None,
    "creditCost": 16,
    "webhookStatus": None,
    "createdAt": "2026-01-01T00:00:00Z",
    "completedAt": "2026-01-01T00:00:01Z",
}


@app.get("/v2/jobs/{job_id}")
async def get_job(job_id: str) -> dict[str, Any]:
    return JOB
