"""kill -9 mid-run, restart: every run reaches a terminal state, nothing lost, nothing stuck running."""

from __future__ import annotations

import time

from tests.api.helpers import wait_for_run
from tests.stamen_server import StamenServer

FAST_RECOVERY = {"STAMEN_LEASE_SECONDS": "2", "STAMEN_SWEEP_INTERVAL_SECONDS": "0.5", "STAMEN_WORKER_CONCURRENCY": "2"}
DEFAULT_LEASE = {"STAMEN_SWEEP_INTERVAL_SECONDS": "0.5", "STAMEN_WORKER_CONCURRENCY": "2"}  # 30 s leases


def test_runs_survive_kill_9_and_complete_after_restart(tmp_path):
    server = StamenServer(tmp_path / "data", env=FAST_RECOVERY).start()
    client = server.client(server.test_key)
    run_ids = []
    for index in range(6):
        response = client.post(
            "/generate",
            json={
                "type": "image",
                "prompt": f"slow {index}",
                "model": "sim-image",
                "workspace_id": server.workspace_id,
                "project_id": server.project_id,
                "params": {"sim_delay_seconds": 2, "width": 64, "height": 64},
            },
        )
        assert response.status_code == 201
        run_ids.append(response.json()["run_id"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        statuses = [client.get(f"/runs/{r}").json()["status"] for r in run_ids]
        if "running" in statuses:
            break
        time.sleep(0.05)
    assert "running" in statuses and "pending" in statuses, statuses
    server.kill()

    restarted = StamenServer(tmp_path / "data", port=server.port, env=FAST_RECOVERY, test_key=server.test_key).start()
    try:
        client = restarted.client(restarted.test_key)
        finished = [wait_for_run(client, run_id, timeout=60) for run_id in run_ids]
        assert [run["status"] for run in finished] == ["completed"] * 6, finished
        assert all(run["outputs"][0]["type"] == "imageUrl" for run in finished)
        listed = client.get("/generations", params={"project_id": restarted.project_id, "limit": 100}).json()
        assert set(run_ids) <= {g["run_id"] for g in listed["generations"]}
    finally:
        restarted.stop()


def test_restart_recovers_runs_of_the_killed_process_without_waiting_for_lease_expiry(tmp_path):
    """Default 30 s leases: a restarted server sees the old pid is gone and resumes its runs at once."""
    server = StamenServer(tmp_path / "data", env=DEFAULT_LEASE).start()
    client = server.client(server.test_key)
    response = client.post(
        "/generate",
        json={
            "type": "image",
            "prompt": "slow",
            "model": "sim-image",
            "workspace_id": server.workspace_id,
            "project_id": server.project_id,
            "params": {"sim_delay_seconds": 3, "width": 64, "height": 64},
        },
    )
    run_id = response.json()["run_id"]
    deadline = time.monotonic() + 10
    while client.get(f"/runs/{run_id}").json()["status"] != "running" and time.monotonic() < deadline:
        time.sleep(0.05)
    server.kill()
    restarted = StamenServer(tmp_path / "data", port=server.port, env=DEFAULT_LEASE, test_key=server.test_key)
    started = time.monotonic()
    restarted.start()
    try:
        run = wait_for_run(restarted.client(restarted.test_key), run_id, timeout=25)
        assert run["status"] == "completed"
        assert time.monotonic() - started < 20, "recovered well before the 30 s lease expired"
    finally:
        restarted.stop()
