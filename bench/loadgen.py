"""A small closed-loop HTTP/1.1 load generator: N keep-alive connections, each sending its next
request when the previous answer is in. Raw asyncio sockets keep its own cost low and equal for
every target, so targets measured in the same run compare fairly."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")

    @property
    def p99(self) -> float:
        return self.percentile(99)


@dataclass
class Summary:
    """Medians over repeated runs of one cell."""

    throughput: float
    p50: float
    p99: float
    errors: int

    @classmethod
    def of(cls, runs: list[LoadResult]) -> Summary:
        return cls(
            throughput=statistics.median(r.throughput for r in runs),
            p50=statistics.median(r.p50 for r in runs),
            p99=statistics.median(r.p99 for r in runs),
            errors=sum(r.errors for r in runs),
        )


RequestFactory = Callable[[int], bytes]


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length:
        await reader.readexactly(length)
    return status


async def _client(
    host: str,
    port: int,
    make_request: RequestFactory,
    deadline: float,
    warmup_until: float,
    latencies: list[float],
    counts: list[int],
    expect: int,
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    n = 0
    try:
        while True:
            start = time.perf_counter()
            if start >= deadline:
                break
            writer.write(make_request(n))
            n += 1
            status = await _read_response(reader)
            if start < warmup_until:
                continue
            latencies.append((time.perf_counter() - start) * 1000)
            counts[0] += 1
            if status != expect:
                counts[1] += 1
    finally:
        writer.close()


async def run_load(
    host: str,
    port: int,
    make_request: RequestFactory,
    *,
    clients: int,
    seconds: float,
    warmup: float = 0.5,
    expect: int = 200,
) -> LoadResult:
    latencies: list[float] = []
    counts = [0, 0]
    now = time.perf_counter()
    warmup_until = now + warmup
    deadline = warmup_until + seconds
    await asyncio.gather(
        *[
            _client(host, port, make_request, deadline, warmup_until, latencies, counts, expect)
            for _ in range(clients)
        ]
    )
    return LoadResult(counts[0], counts[1], seconds, latencies)


def get_request(path: str, host: str, headers: dict[str, str]) -> bytes:
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n".encode()


def post_request(path: str, host: str, headers: dict[str, str], body: bytes) -> bytes:
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
