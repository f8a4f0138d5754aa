"""Technique endpoints over HTTP: catalog, retrieve by id or slug, both run forms, listings, idempotency."""

from __future__ import annotations

import uuid

from tests.api.helpers import assert_envelope, wait_for_run

TITLE = [{"id": "title", "type": "text", "value": "Hello techniques"}]
TECHNIQUE_KEYS = {"technique_id", "name", "description", "run_cost", "inputs", "outputs", "slug", "source", "nodes"}


def nested_run(client, technique: str, inputs=TITLE, **extra):
    return client.post(f"/techniques/{technique}/runs", json={"inputs": inputs, "mode": "async", **extra})


def test_catalog_lists_builtins_with_contract_fields_and_paginates(server):
    client = server.client(server.test_key)
    listed = client.get("/techniques").json()
    by_slug = {t["slug"]: t for t in listed["techniques"]}
    assert {"narrated-title", "boomerang-clip", "prompt-to-loop"} <= set(by_slug)
    assert listed["meta"] == {"next_cursor": None}
    title = by_slug["narrated-title"]
    assert set(title) == TECHNIQUE_KEYS and title["technique_id"].startswith("tech_") and title["run_cost"] == 0
    assert title["inputs"][0] | {"id": "title", "type": "text"} == title["inputs"][0]
    assert title["outputs"] == [{"id": "video", "name": "Narrated title video", "type": "videoUrl",
                                 "from": "narrate.video"}]
    first = client.get("/techniques", params={"limit": 1}).json()
    second = client.get("/techniques", params={"limit": 1, "cursor": first["meta"]["next_cursor"]}).json()
    assert first["techniques"][0]["technique_id"] != second["techniques"][0]["technique_id"]
    found = client.get("/techniques", params={"query": "Narrated"}).json()["techniques"]
    assert [t["slug"] for t in found] == ["narrated-title"]
    assert_envelope(client.get("/techniques", params={"cursor": "garbage"}), 400, "input_validation_error")


def test_retrieve_by_id_or_slug_and_404_for_unknown(server):
    client = server.client(server.test_key)
    by_slug = client.get("/techniques/narrated-title").json()
    assert client.get(f"/techniques/{by_slug['technique_id']}").json() == by_slug
    assert_envelope(client.get("/techniques/no-such-technique"), 404, "not_found")
    assert_envelope(client.get("/techniques/tech_nope"), 404, "not_found")
    assert_envelope(nested_run(client, "no-such-technique"), 404, "not_found")


def test_nested_run_returns_the_full_run_and_completes_with_typed_outputs(server):
    client = server.client(server.test_key)
    created = nested_run(client, "narrated-title", mode="stream")
    assert created.status_code == 201, created.text
    run = created.json()
    assert run["status"] == "pending" and run["run_id"].startswith("run_") and run["progress"] == 0
    finished = wait_for_run(client, run["run_id"])
    assert finished["status"] == "completed", finished
    assert [o["type"] for o in finished["outputs"]] == ["videoUrl"] and finished["charged_cost"] == 0
    nested = client.get(f"/techniques/narrated-title/runs/{run['run_id']}").json()
    assert nested == client.get(f"/runs/{run['run_id']}").json()
    assert_envelope(client.get(f"/techniques/prompt-to-loop/runs/{run['run_id']}"), 404, "not_found")


def test_nested_inputs_are_checked_against_the_declaration(server):
    client = server.client(server.test_key)
    wrong_type = nested_run(client, "narrated-title", [{"id": "title", "type": "imageUrl", "value": "https://x/y.png"}])
    assert assert_envelope(wrong_type, 400, "input_validation_error")["fields"][0]["field"] == "inputs[0].type"
    unknown = nested_run(client, "narrated-title", [{"id": "subtitle", "type": "text", "value": "x"}])
    fields = {f["field"] for f in assert_envelope(unknown, 400, "input_validation_error")["fields"]}
    assert fields == {"inputs[0].id", "inputs"}
    bad_callback = nested_run(client, "narrated-title", callback_url="ftp://example.com/hook")
    assert assert_envelope(bad_callback, 400, "input_validation_error")["fields"][0]["field"] == "callback_url"
    no_mode = client.post("/techniques/narrated-title/runs", json={"inputs": TITLE})
    assert assert_envelope(no_mode, 400, "input_validation_error")["fields"][0]["field"] == "mode"


def test_nested_idempotency_by_header_or_body_and_conflicting_keys(server):
    client = server.client(server.test_key)
    key = f"tech-{uuid.uuid4()}"
    assert nested_run(client, "narrated-title", idempotency_key=key).status_code == 201
    assert_envelope(nested_run(client, "narrated-title", idempotency_key=key), 409, "idempotency_duplicate")
    header = {"Idempotency-Key": key}
    duplicate = client.post("/techniques/narrated-title/runs", json={"inputs": TITLE, "mode": "async"}, headers=header)
    assert_envelope(duplicate, 409, "idempotency_duplicate")
    other = f"tech-{uuid.uuid4()}"
    both = client.post("/techniques/narrated-title/runs", headers=header,
                       json={"inputs": TITLE, "mode": "async", "idempotency_key": other})
    assert assert_envelope(both, 400, "input_validation_error")["fields"][0]["field"] == "idempotency_key"
    same = client.post("/techniques/narrated-title/runs", headers={"Idempotency-Key": other},
                       json={"inputs": TITLE, "mode": "async", "idempotency_key": other})
    assert same.status_code == 201


def test_top_level_run_takes_a_map_of_inputs_and_tech_ids_only(server):
    client = server.client(server.test_key)
    technique_id = client.get("/techniques/narrated-title").json()["technique_id"]
    body = {"technique_id": technique_id, "workspace_id": server.workspace_id, "inputs": {"title": "Map form"}}
    created = client.post("/runs/technique", json=body)
    assert created.status_code == 201, created.text
    response = created.json()
    assert response["type"] == "technique" and response["model"] is None and response["action"] is None
    assert response["technique"] == {"technique_id": technique_id, "name": "Narrated title"}
    assert response["charged_cost"] == 0 and isinstance(response["estimated_seconds"], int)
    assert response["poll_url"].endswith(f"/runs/{response['run_id']}")
    assert response["project_id"] == server.project_id  # the workspace's default project
    assert wait_for_run(client, response["run_id"])["status"] == "completed"

    slug = client.post("/runs/technique", json={**body, "technique_id": "narrated-title"})
    assert assert_envelope(slug, 400, "input_validation_error")["fields"][0]["field"] == "technique_id"
    assert_envelope(client.post("/runs/technique", json={**body, "technique_id": "tech_nope"}), 404, "not_found")
    missing = client.post("/runs/technique", json={**body, "inputs": {}})
    assert assert_envelope(missing, 400, "input_validation_error")["fields"][0]["field"] == "inputs.title"
    empty = client.post("/runs/technique", json={**body, "inputs": {"title": ""}})
    assert assert_envelope(empty, 400, "input_validation_error")["fields"][0]["field"] == "inputs.title"


def test_technique_runs_listing_filters_and_item_shape(server):
    client = server.client(server.test_key)
    run_id = nested_run(client, "narrated-title").json()["run_id"]
    wait_for_run(client, run_id)
    listed = client.get("/technique-runs", params={"technique_id": "narrated-title", "status": "completed",
                                                   "workspace_id": server.workspace_id, "limit": 100}).json()
    item = next(i for i in listed["technique_runs"] if i["run_id"] == run_id)
    assert item["technique_run_id"] == run_id and item["workspace_id"] == server.workspace_id
    assert item["project_id"] == server.project_id and item["technique"]["name"] == "Narrated title"
    assert {i["technique"]["technique_id"] for i in listed["technique_runs"]} == {item["technique"]["technique_id"]}
    other = client.get("/technique-runs", params={"technique_id": "prompt-to-loop"}).json()["technique_runs"]
    assert run_id not in {i["run_id"] for i in other}
    assert client.get("/technique-runs", params={"status": "failed"}).status_code == 200
    assert_envelope(client.get("/technique-runs", params={"status": "done"}), 400, "input_validation_error")
