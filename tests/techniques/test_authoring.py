"""Authoring techniques over HTTP: complete validation before saving, update, delete, and running them."""

from __future__ import annotations

import copy
import uuid

from tests.api.helpers import assert_envelope, wait_for_run


def spec(name: str) -> dict:
    return {
        "name": name,
        "description": "Several prompts in, one small picture per prompt out.",
        "inputs": [{"id": "prompts", "name": "Prompts", "type": "text", "allow_multiple": True}],
        "outputs": [{"id": "pictures", "name": "Pictures", "type": "imageUrl", "from": "turn.image"}],
        "nodes": {
            "picture": {"model": "sim-image", "inputs": {"prompt": "inputs.prompts"},
                        "params": {"width": 96, "height": 64}},
            "turn": {"action": "rotate-image", "inputs": {"image": "picture.image"}, "params": {"angle": 90}},
        },
    }


def test_invalid_spec_is_rejected_with_every_field(server):
    client = server.client(server.test_key)
    broken = spec("Broken")
    broken["nodes"]["picture"]["model"] = "no-such-model"
    broken["nodes"]["turn"]["inputs"]["image"] = "inputs.prompts"
    broken["outputs"][0]["from"] = "ghost.image"
    error = assert_envelope(client.post("/techniques", json=broken), 400, "input_validation_error")
    fields = {f["field"] for f in error["fields"]}
    assert fields == {"nodes.picture.model", "nodes.turn.inputs.image", "outputs[0].from"}


def test_create_run_update_and_delete_an_authored_technique(server):
    client = server.client(server.test_key)
    name = f"Pictures {uuid.uuid4().hex[:6]}"
    created = client.post("/techniques", json={**spec(name), "workspace_id": server.workspace_id})
    assert created.status_code == 201, created.text
    technique = created.json()
    assert technique["source"] == "workspace" and technique["slug"] == name.lower().replace(" ", "-")
    assert client.get(f"/techniques/{technique['slug']}").json() == technique

    run = client.post("/runs/technique", json={"technique_id": technique["technique_id"],
                                               "workspace_id": server.workspace_id,
                                               "inputs": {"prompts": ["a fox", "a heron", "a moth"]}})
    assert run.status_code == 201, run.text
    finished = wait_for_run(client, run.json()["run_id"])
    assert [o["type"] for o in finished["outputs"]] == ["imageUrl"] * 3  # fan-out: one per prompt
    assert len({o["url"] for o in finished["outputs"]}) == 3

    changed = copy.deepcopy(spec(name))
    changed["nodes"]["turn"]["params"]["angle"] = 180
    changed["slug"] = technique["slug"]
    updated = client.put(f"/techniques/{technique['technique_id']}", json=changed)
    assert updated.status_code == 200, updated.text
    assert updated.json()["nodes"]["turn"]["params"] == {"angle": 180}
    invalid = copy.deepcopy(changed)
    invalid["nodes"]["turn"]["action"] = "no-such-action"
    error = assert_envelope(client.put(f"/techniques/{technique['slug']}", json=invalid), 400, "input_validation_error")
    assert error["fields"] == [{"field": "nodes.turn.action", "message": error["fields"][0]["message"]}]

    assert_envelope(client.post("/techniques", json={**spec("x"), "slug": technique["slug"]}), 400,
                    "input_validation_error")
    assert_envelope(client.put("/techniques/narrated-title", json=changed), 403, "forbidden")
    assert client.delete(f"/techniques/{technique['technique_id']}").json()["deleted"] is True
    assert_envelope(client.get(f"/techniques/{technique['technique_id']}"), 404, "not_found")
    listed = client.get("/technique-runs", params={"technique_id": technique["technique_id"]}).json()
    assert [i["run_id"] for i in listed["technique_runs"]] == [run.json()["run_id"]]


def test_default_model_node_needs_a_model_of_that_type_for_live_keys(server):
    live = server.client()
    created = live.post("/techniques/prompt-to-loop/runs",
                        json={"inputs": [{"id": "prompt", "type": "text", "value": "a lake"}], "mode": "async"})
    models = live.get("/models").json()["models"]
    if any(m.get("type") == "image" for m in models):
        assert created.status_code == 201
    else:
        error = assert_envelope(created, 400, "input_validation_error")
        assert error["fields"][0]["field"] == "nodes.picture.type"
