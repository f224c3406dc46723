"""API throughput and latency: GET /v2/jobs/:id and a submit, at 1, 16 and 64 clients, against a
running `outframe serve`, beside a bare FastAPI endpoint served the same way, in one run.

    .venv/bin/python -m bench.api [--seconds 3] [--clients 1,16,64] [--rounds 3]

Both servers are single uvicorn processes with the same options; the load generator is this
process. The outframe server runs with OUTFRAME_WORKERS=0 so that only the API is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from PIL import Image
from tests.e2e.server import ServerProcess, free_port, outframe_cli

from bench import NO_RATE_LIMITS
from bench.loadgen import LoadResult, Summary, get_request, post_request, run_load

ROOT = Path(__file__).resolve().parent.parent


def start_bare(port: int) -> subprocess.Popen[bytes]:
    code = (
        "import uvicorn; from bench.bare_app import app; "
        f"uvicorn.run(app, host='127.0.0.1', port={port}, log_level='warning', access_log=False)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/v2/jobs/x", timeout=1)
            return proc
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("bare server did not start")


def png_b64() -> str:
    buf = io.BytesIO()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--clients", default="1,16,64")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    levels = [int(c) for c in args.clients.split(",")]

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        key = (
            outframe_cli(data_dir, "keys", "create", "--name", "bench", "--credits", str(10**9))
            .strip()
            .splitlines()[-1]
        )
        server = ServerProcess(data_dir, engine="fake", workers="0", **NO_RATE_LIMITS).start()
        bare_port = free_port()
        bare = start_bare(bare_port)
        try:
            headers = {"X-API-Key": key}
            imported = httpx.post(
                f"{server.url}/v2/images/import", headers=headers, json={"image": png_b64()}
            ).json()["jobId"]
            host = f"127.0.0.1:{server.port}"
            get_ours = get_request(f"/v2/jobs/{imported}", host, headers)
            get_bare = get_request(f"/v2/jobs/{imported}", f"127.0.0.1:{bare_port}", {})
            submit = post_request(
                "/v2/images/generate", host, headers, json.dumps({"prompt": "benchmark"}).encode()
            )
            targets = [
                ("bare FastAPI GET", bare_port, get_bare, 200),
                ("GET /v2/jobs/:id", server.port, get_ours, 200),
                ("POST /v2/images/generate", server.port, submit, 202),
            ]
            rows: list[tuple[str, int, Summary]] = []
            for clients in levels:
                # Rounds alternate the targets, so that a noisy neighbour hits them alike.
                runs: dict[str, list[LoadResult]] = {name: [] for name, *_ in targets}
                for _ in range(args.rounds):
                    for name, port, request, expect in targets:
                        runs[name].append(
                            asyncio.run(
                                run_load(
                                    "127.0.0.1",
                                    port,
                                    lambda _, r=request: r,  # type: ignore[misc]
                                    clients=clients,
                                    seconds=args.seconds,
                                    expect=expect,
                                )
                            )
                        )
                rows += [(name, clients, Summary.of(runs[name])) for name, *_ in targets]
        finally:
            server.stop()
            bare.terminate()
            bare.wait()

    print(f"\ncpus={os.cpu_count()}  {args.rounds} rounds of {args.seconds} s per cell; medians")
    print(
        f"{'endpoint':26} {'clients':>7} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'errors':>6} {'vs bare GET':>11}"
    )
    bare = {clients: summary for name, clients, summary in rows if name.startswith("bare")}
    for name, clients, summary in rows:
        ratio = summary.throughput / bare[clients].throughput
        vs = "-" if name.startswith("bare") else f"{ratio:.0%}"
        print(
            f"{name:26} {clients:7d} {summary.throughput:9.0f} {summary.p50:8.2f} "
            f"{summary.p99:8.2f} {summary.errors:6d} {vs:>11}"
        )


if __name__ == "__main__":
    main()
