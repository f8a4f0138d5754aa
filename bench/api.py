"""Throughput and latency of POST /generate (test key) and GET /runs/{id} at concurrency 32, against a
bare Starlette + SQLite baseline measured in the same run. Usage: python bench/api.py [--seconds 10]"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.stamen_server import StamenServer, free_port  # noqa: E402


class Connection:
    """A minimal HTTP/1.1 keep-alive client: cheap enough that the server, not the client, is measured."""

    def __init__(self, port: int):
        self.port = port

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def request(self, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, bytes]:
        lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        status_line = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        payload = await self.reader.readexactly(length)
        return int(status_line.split()[1]), payload


async def load(port: int, concurrency: int, seconds: float, make_request) -> dict:
    connections = [Connection(port) for _ in range(concurrency)]
    await asyncio.gather(*(c.open() for c in connections))
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def loop(connection: Connection, index: int) -> None:
        nonlocal errors
        n = 0
        while time.perf_counter() < deadline:
            method, path, headers, body, expected = make_request(index, n)
            started = time.perf_counter()
            try:
                status, _ = await connection.request(method, path, headers, body)
            except (ConnectionError, asyncio.IncompleteReadError):
                errors += 1  # counted, then a fresh connection: one reset must not abort the run
                await connection.open()
                continue
            latencies.append(time.perf_counter() - started)
            errors += status != expected
            n += 1

    started = time.perf_counter()
    await asyncio.gather(*(loop(c, i) for i, c in enumerate(connections)))
    elapsed = time.perf_counter() - started
    for c in connections:
        c.writer.close()
    latencies.sort()
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99) - 1],
        "errors": errors,
    }


def wait_idle(port: int, prefix: str, headers: dict, timeout: float = 300.0) -> None:
    """Let queued runs finish so the read phase measures reads, not the executor draining a backlog."""
    if not prefix:
        return

    async def busy() -> bool:
        connection = Connection(port)
        await connection.open()
        for status in ("pending", "running"):
            _, payload = await connection.request("GET", f"{prefix}/generations?limit=1&status={status}", headers)
            if json.loads(payload)["generations"]:
                connection.writer.close()
                return True
        connection.writer.close()
        return False

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and asyncio.run(busy()):
        time.sleep(0.5)


def measure(port: int, prefix: str, headers: dict, body: bytes, args) -> tuple[dict, dict]:
    created: list[str] = []

    def create(index: int, n: int):
        return "POST", f"{prefix}/generate", {**headers, "Content-Type": "application/json"}, body, 201

    post = asyncio.run(load(port, args.concurrency, args.seconds, create))

    # Seed ids to read back.
    async def seed() -> None:
        connection = Connection(port)
        await connection.open()
        for _ in range(200):
            _, payload = await connection.request(
                "POST", f"{prefix}/generate", {**headers, "Content-Type": "application/json"}, body
            )
            created.append(json.loads(payload)["run_id"])

    asyncio.run(seed())
    wait_idle(port, prefix, headers)

    def read(index: int, n: int):
        return "GET", f"{prefix}/runs/{created[(index * 7 + n) % len(created)]}", headers, b"", 200

    get = asyncio.run(load(port, args.concurrency, args.seconds, read))
    return post, get


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="stamen-bench-"))

    port = free_port()
    env = {**os.environ, "BASELINE_DB": str(workdir / "baseline.db")}
    baseline = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench.baseline_app:app", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # wait until the baseline accepts connections
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    try:
        base_post, base_get = measure(port, "", {}, b'{"prompt":"x"}', args)
    finally:
        baseline.terminate()
        baseline.wait()

    server = StamenServer(workdir / "stamen", env={"STAMEN_WORKER_CONCURRENCY": "4"}).start()
    try:
        body = json.dumps(
            {"type": "text", "prompt": "bench", "workspace_id": server.workspace_id, "project_id": server.project_id}
        ).encode()
        headers = {"Authorization": f"Bearer {server.test_key}"}
        stamen_post, stamen_get = measure(server.port, "/api/v1", headers, body, args)
    finally:
        server.stop()

    print(f"\nconcurrency {args.concurrency}, {args.seconds:.0f} s per phase, one process each\n")
    print("| endpoint | baseline rps | Stamen rps | ratio | baseline p50/p99 ms | Stamen p50/p99 ms | errors |")
    print("|---|---|---|---|---|---|---|")
    for name, base, ours in (("POST /generate", base_post, stamen_post), ("GET /runs/{id}", base_get, stamen_get)):
        print(
            f"| {name} | {base['rps']:.0f} | {ours['rps']:.0f} | {ours['rps'] / base['rps']:.2f} | "
            f"{base['p50_ms']:.1f} / {base['p99_ms']:.1f} | {ours['p50_ms']:.1f} / {ours['p99_ms']:.1f} | "
            f"{ours['errors']} |"
        )


if __name__ == "__main__":
    main()
