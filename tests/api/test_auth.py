"""API keys: missing → unauthorized, bad/unknown/revoked → invalid_api_key; keys are stored hashed."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time

import httpx
import pytest

from tests.api.helpers import assert_envelope


def test_missing_authorization_is_unauthorized(server):
    assert_envelope(httpx.get(f"{server.api_url}/workspaces"), 401, "unauthorized")


@pytest.mark.parametrize(
    "header", ["Bearer sk_live_unknown", "Bearer nope", "Basic abc", "Bearer", "sk_live_x", "Bearer sk_test_"]
)
def test_bad_keys_are_invalid_api_key(server, header):
    response = httpx.get(f"{server.api_url}/workspaces", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json()["error"]["code"] in ("invalid_api_key", "unauthorized")


def test_every_response_has_a_request_id(server):
    for response in (
        httpx.get(f"{server.base_url}/healthz"),
        httpx.get(f"{server.api_url}/workspaces"),
        server.client().get("/models"),
    ):
        assert response.headers["request-id"].startswith("req_")


def test_keys_are_stored_hashed(server):
    with sqlite3.connect(server.data_dir / "stamen.db") as db:
        stored = " ".join(str(value) for row in db.execute("select * from api_keys") for value in row)
    assert server.live_key not in stored and server.test_key not in stored


def test_revoked_key_stops_working(server):
    key = server.create_key()
    assert server.client(key).get("/workspaces").status_code == 200
    listing = subprocess.run(
        [sys.executable, "-m", "stamen.cli", "keys", "list"],
        env=server._env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    key_id = next(line.split("\t")[0] for line in listing.splitlines() if key[-4:] in line.split("\t")[1])
    subprocess.run(
        [sys.executable, "-m", "stamen.cli", "keys", "revoke", key_id],
        env=server._env(),
        check=True,
        capture_output=True,
    )
    time.sleep(2.2)  # authentication cache lifetime
    assert_envelope(server.client(key).get("/workspaces"), 401, "invalid_api_key")


def test_stamen_api_key_must_have_a_known_prefix(tmp_path):
    from stamen.services.keys import mode_of

    assert mode_of("sk_live_abc") == "live" and mode_of("sk_test_abc") == "test"
    assert mode_of("pk_live_abc") is None and mode_of("sk_live_") is None


def test_keys_of_another_workspace_see_nothing_of_this_one(server):
    created = subprocess.run([sys.executable, "-m", "stamen.cli", "workspace-create", "other"], env=server._env(),
                             capture_output=True, text=True, check=True).stdout.strip().split("\t")
    other_workspace, other_project, other_key = created
    mine = server.client(server.test_key).post("/generate", json={
        "type": "text", "prompt": "private", "workspace_id": server.workspace_id, "project_id": server.project_id})
    run_id = mine.json()["run_id"]
    other = server.client(other_key)
    assert_envelope(other.get(f"/runs/{run_id}"), 404, "not_found")
    assert_envelope(other.get(f"/projects/{server.project_id}"), 404, "not_found")
    assert [w["workspace_id"] for w in other.get("/workspaces").json()["workspaces"]] == [other_workspace]
    assert run_id not in {g["run_id"] for g in other.get("/generations").json()["generations"]}
    response = other.post("/generate", json={
        "type": "audio", "prompt": "x", "workspace_id": other_workspace, "project_id": server.project_id})
    assert_envelope(response, 404, "not_found")
    assert other.get(f"/projects/{other_project}").status_code == 200


def test_revoking_an_unknown_key_is_a_clear_cli_error(server):
    result = subprocess.run([sys.executable, "-m", "stamen.cli", "keys", "revoke", "key_nope"], env=server._env(),
                            capture_output=True, text=True)
    assert result.returncode == 1 and "key_nope not found" in result.stderr and "Traceback" not in result.stderr
