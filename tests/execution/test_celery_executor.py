"""STAMEN_EXECUTOR=celery: the API process only submits; `stamen worker` processes execute runs, and a
worker killed mid-run loses nothing (late acks + leases). Uses kombu's filesystem broker, so no Redis."""

from __future__ import annotations

import subprocess
import sys
import time

from tests.api.helpers import wait_for_run
from tests.stamen_server import StamenServer

CELERY = {
    "STAMEN_EXECUTOR": "celery",
    "STAMEN_CELERY_BROKER_URL": "filesystem://",
    "STAMEN_LEASE_SECONDS": "2",
    "STAMEN_SWEEP_INTERVAL_SECONDS": "0.5",
    "STAMEN_CELERY_RESUBMIT_AFTER_SECONDS": "5",
}


def start_worker(server: StamenServer, name: str) -> subprocess.Popen:
    log = open(server.data_dir / f"{name}.log", "ab")
    return subprocess.Popen(
        [sys.executable, "-m", "stamen.cli", "worker", "--concurrency", "2", "--pool", "threads"],
        env=server._env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def generate(server: StamenServer, delay: float = 0) -> str:
    response = server.client(server.test_key).post(
        "/generate",
        json={
            "type": "image",
            "model": "sim-image",
            "prompt": "scaled out",
            "workspace_id": server.workspace_id,
            "project_id": server.project_id,
            "params": {"width": 64, "height": 64, "sim_delay_seconds": delay},
        },
    )
    assert response.status_code == 201, response.text
    return response.json()["run_id"]


def test_api_process_submits_and_workers_execute(tmp_path):
    server = StamenServer(tmp_path / "data", env=CELERY).start()
    worker = None
    try:
        run_id = generate(server)
        time.sleep(1.5)
        assert server.client(server.test_key).get(f"/runs/{run_id}").json()["status"] == "pending"  # no worker yet
        worker = start_worker(server, "worker-a")
        run = wait_for_run(server.client(server.test_key), run_id, timeout=60)
        assert run["status"] == "completed" and run["outputs"][0]["type"] == "imageUrl"
    finally:
        if worker:
            worker.kill()
        server.stop()


def test_worker_killed_mid_run_is_replaced_without_losing_runs(tmp_path):
    server = StamenServer(tmp_path / "data", env=CELERY).start()
    first = start_worker(server, "worker-a")
    second = None
    try:
        run_ids = [generate(server, delay=2) for _ in range(3)]
        client = server.client(server.test_key)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if any(client.get(f"/runs/{r}").json()["status"] == "running" for r in run_ids):
                break
            time.sleep(0.1)
        first.kill()  # SIGKILL mid-run
        first.wait()
        second = start_worker(server, "worker-b")
        finished = [wait_for_run(client, r, timeout=90) for r in run_ids]
        assert [run["status"] for run in finished] == ["completed"] * 3, finished
    finally:
        for process in (first, second):
            if process and process.poll() is None:
                process.kill()
        server.stop()
