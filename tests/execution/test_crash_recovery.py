"""kill -9 mid-run, restart: every run reaches a terminal state, nothing lost, nothing stuck running."""

from __future__ import annotations

import time

from tests.api.helpers import wait_for_run
from tests.stamen_server import StamenServer

FAST_RECOVERY = {"STAMEN_LEASE_SECONDS": "2", "STAMEN_SWEEP_INTERVAL_SECONDS": "0.5", "STAMEN_WORKER_CONCURRENCY": "2"}


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
