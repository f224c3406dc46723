"""A bounded schemathesis run over the server's own /openapi.json, against a real server: every
operation, with generated valid and invalid requests (and, for routes naming a job, a job that
exists), answers without a 5xx, with a status the document lists, in the content type it lists,
and with a body that matches the document's schema for that status."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import hypothesis
import numpy as np
import pytest
import schemathesis
from hypothesis import HealthCheck, given
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from outframe.core.config import Settings
from tests.api.live import live_server
from tests.conftest import b64png

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Examples per operation and mode: about a minute in all on two cores.
EXAMPLES = {GenerationMode.POSITIVE: 60, GenerationMode.NEGATIVE: 40}


def no_dns(host: str, port: int) -> list[str]:
    """Generated webhook hosts are not looked up: tests reach only loopback."""
    raise OSError("not resolved in tests")


@pytest.mark.slow
def test_generated_requests_get_documented_answers(settings: Settings) -> None:
    open_server = settings.model_copy(
        update={"rate_limit_submits_per_second": 0, "rate_limit_reads_per_second": 0}
    )
    seen: Counter[tuple[str, int]] = Counter()
    unsatisfiable: list[str] = []
    with live_server(open_server, resolver=no_dns) as live:
        headers = {"X-API-Key": live.key(credits=10**9)}
        imported = httpx.post(
            f"{live.url}/v2/images/import",
            json={"image": b64png(np.zeros((32, 32, 3), np.uint8))},
            headers=headers,
        )
        existing = imported.json()["jobId"]
        schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 10
        runs: list[tuple[Any, GenerationMode, dict[str, str] | None]] = []
        for operation in operations:
            for mode in EXAMPLES:
                runs.append((operation, mode, None))
            if "{job_id}" in operation.path:
                runs.append((operation, GenerationMode.POSITIVE, {"job_id": existing}))
        for operation, mode, path_parameters in runs:

            @given(case=operation.as_strategy(mode, path_parameters=path_parameters))
            @hypothesis.settings(
                max_examples=EXAMPLES[mode],
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            def check(case: schemathesis.Case) -> None:
                response = case.call_and_validate(base_url=live.url, headers=headers, checks=CHECKS)
                seen[(case.operation.label, response.status_code)] += 1

            try:
                check()
            except hypothesis.errors.Unsatisfiable:
                # (nothing in the operation can be made invalid: no parameters, no body)
                assert mode is GenerationMode.NEGATIVE, operation.label
                unsatisfiable.append(operation.label)
    assert unsatisfiable == ["GET /healthz"]
    # Valid requests were made and accepted, not only refused.
    assert seen[("POST /v2/images/generate", 202)] and seen[("GET /v2/jobs/{job_id}", 200)]
    assert not [key for key in seen if key[1] >= 500]
