"""kill -9 in the middle of a technique run: after a restart the run resumes without redoing finished nodes."""

from __future__ import annotations

import json
import sqlite3
import time

from tests.api.helpers import wait_for_run
from tests.stamen_server import StamenServer

FAST_RECOVERY = {"STAMEN_LEASE_SECONDS": "2", "STAMEN_SWEEP_INTERVAL_SECONDS": "0.5"}
TWO_STEPS = {
    "name": "Two steps",
    "inputs": [{"id": "prompt", "name": "Prompt", "type": "text"}],
    "outputs": [{"id": "answer", "name": "Answer", "type": "text", "from": "slow.text"}],
    "nodes": {
        "quick": {"model": "sim-text", "inputs": {"prompt": "inputs.prompt"}},
        "slow": {"model": "sim-text", "inputs": {"prompt": "quick.text"}, "params": {"sim_delay_seconds": 3}},
    },
}


def test_technique_resumes_after_kill_9_without_redoing_completed_nodes(tmp_path):
    server = StamenServer(tmp_path / "data", env=FAST_RECOVERY).start()
    client = server.client(server.test_key)
    technique = client.post("/techniques", json=TWO_STEPS).json()
    run_id = client.post(f"/techniques/{technique['slug']}/runs", json={
        "inputs": [{"id": "prompt", "type": "text", "value": "resume me"}], "mode": "async"}).json()["run_id"]
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and client.get(f"/runs/{run_id}").json()["progress"] < 40:
        time.sleep(0.05)  # 47.5 % once `quick` is done and checkpointed
    assert client.get(f"/runs/{run_id}").json()["status"] == "running"
    server.kill()
    killed_at = time.time() * 1000

    restarted = StamenServer(tmp_path / "data", port=server.port, env=FAST_RECOVERY, test_key=server.test_key).start()
    try:
        finished = wait_for_run(restarted.client(restarted.test_key), run_id, timeout=30)
    finally:
        restarted.stop()
    assert finished["status"] == "completed", finished
    assert finished["outputs"][0]["url"].startswith("[simulated] Response to: [simulated] Response to: resume me")
    with sqlite3.connect(tmp_path / "data" / "stamen.db") as db:
        raw_state, attempts = db.execute("select state, attempts from runs where id = ?", (run_id,)).fetchone()
    state = json.loads(raw_state)
    assert attempts == 2 and state["attempts"] == 2
    assert state["nodes"]["quick"]["finished_at"] < killed_at  # done once, before the crash
    assert state["nodes"]["slow"]["started_at"] > killed_at  # redone after the restart
