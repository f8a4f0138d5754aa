"""POST /runs/action over HTTP: catalog, validation, inputs from assets/URLs/text, failures as runs."""

from __future__ import annotations

import io

import httpx
from PIL import Image

from tests.api.helpers import assert_envelope, wait_for_run
from tests.api.test_assets import png_bytes, upload


def run_action(server, action_id: str, inputs: list[dict], params: dict | None = None) -> httpx.Response:
    body = {
        "action_id": action_id,
        "workspace_id": server.workspace_id,
        "project_id": server.project_id,
        "inputs": inputs,
    }
    if params is not None:
        body["params"] = params
    return server.client().post("/runs/action", json=body)


def test_catalog_lists_legacy_and_browser_ids(server):
    actions = {a["action_id"]: a for a in server.client().get("/actions").json()["actions"]}
    assert len(actions) == 58
    assert {"rotate-image", "rotate-image-browser", "reverse-video", "qr-code-generator"} <= set(actions)
    single = server.client().get("/actions/rotate-image").json()
    assert single == actions["rotate-image"] and single["charged_cost"] == 0
    assert_envelope(server.client().get("/actions/nope"), 404, "not_found")


def test_rotate_image_from_an_asset(server):
    asset_id = upload(server, png_bytes((64, 32))).json()["asset_id"]
    created = run_action(server, "rotate-image", [{"type": "image", "url": asset_id}], {"angle": 90})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["type"] == "action" and body["action"] == {"action_id": "rotate-image"} and body["charged_cost"] == 0
    run = wait_for_run(server.client(), body["run_id"])
    assert run["status"] == "completed", run
    image = Image.open(io.BytesIO(httpx.get(run["outputs"][0]["url"]).content))
    assert image.size == (32, 64)


def test_output_of_one_run_feeds_the_next(server):
    asset_url = upload(server, png_bytes((64, 32))).json()["url"]
    first = wait_for_run(
        server.client(),
        run_action(server, "rotate-image", [{"type": "image", "url": asset_url}], {"angle": 90}).json()["run_id"],
    )
    second = wait_for_run(
        server.client(),
        run_action(
            server, "rotate-image", [{"type": "image", "url": first["outputs"][0]["url"]}], {"angle": 90}
        ).json()["run_id"],
    )
    assert second["status"] == "completed", second
    assert Image.open(io.BytesIO(httpx.get(second["outputs"][0]["url"]).content)).size == (64, 32)


def test_text_action_returns_exact_text(server):
    created = run_action(
        server,
        "find-and-replace-text",
        [{"type": "text", "text": "cat sat on the cat"}],
        {"find": "cat", "replace": "dog", "replace_all": True},
    )
    run = wait_for_run(server.client(), created.json()["run_id"])
    assert run["outputs"][0] == {"output_id": "output_1", "type": "text", "url": "dog sat on the dog"}


def test_request_errors_name_fields(server):
    error = assert_envelope(
        run_action(server, "no-such-action", [{"type": "text", "text": "x"}]), 400, "input_validation_error"
    )
    assert error["fields"][0]["field"] == "action_id"
    error = assert_envelope(
        run_action(server, "rotate-image", [{"type": "image", "url": "asset_x"}], {"nope": 1}),
        400,
        "input_validation_error",
    )
    assert "params.nope" in {f["field"] for f in error["fields"]}
    error = assert_envelope(run_action(server, "rotate-image", []), 400, "input_validation_error")
    error = assert_envelope(
        run_action(server, "rotate-image", [{"type": "image", "url": "asset_missing"}]), 400, "input_validation_error"
    )
    assert error["fields"][0]["field"] == "inputs[0].url"
    assert_envelope(
        run_action(server, "rotate-image", [{"type": "image", "url": "ftp://x/y.png"}]), 400, "input_validation_error"
    )


def test_unreachable_and_invalid_inputs_fail_the_run_not_the_server(server):
    unreachable = run_action(server, "rotate-image", [{"type": "image", "url": "http://127.0.0.1:9/none.png"}])
    run = wait_for_run(server.client(), unreachable.json()["run_id"])
    assert run["status"] == "failed" and run["error_code"] == "input_unreachable" and run["charged_cost"] == 0
    reserved = server.client().post("/assets", json={"source": "signed-url", "workspace_id": server.workspace_id})
    text_url = server.client().post(
        "/runs/action",
        json={
            "action_id": "reverse-video",
            "workspace_id": server.workspace_id,
            "project_id": server.project_id,
            "inputs": [{"type": "video", "url": upload(server, png_bytes()).json()["url"]}],
        },
    )
    run = wait_for_run(server.client(), text_url.json()["run_id"])
    assert run["status"] == "failed" and run["error_code"] == "input_invalid", run
    assert reserved.status_code == 201 and server.client().get("/workspaces").status_code == 200
