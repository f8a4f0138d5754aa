"""POST /generate → GET /runs/{id} → outputs, and GET /generations history, over real HTTP."""

from __future__ import annotations

import io
import uuid
import wave
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from PIL import Image

from tests.api.helpers import assert_envelope, wait_for_run


def generate(client: httpx.Client, server, project_id: str | None = None, **body) -> httpx.Response:
    payload = {
        "type": "image",
        "prompt": "a red fox",
        "workspace_id": server.workspace_id,
        "project_id": project_id or server.project_id,
        **body,
    }
    return client.post("/generate", json=payload)


def new_project(client: httpx.Client, server) -> str:
    response = client.post("/projects", json={"name": f"p-{uuid.uuid4().hex[:6]}", "workspace_id": server.workspace_id})
    assert response.status_code == 201, response.text
    return response.json()["project_id"]


@pytest.mark.parametrize(
    ("kind", "output_type", "content_type"),
    [("image", "imageUrl", "image/png"), ("video", "videoUrl", "video/mp4"), ("audio", "audioUrl", "audio/wav")],
)
def test_test_key_generation_completes_with_downloadable_media(server, kind, output_type, content_type):
    client = server.client(server.test_key)
    created = generate(client, server, type=kind)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["type"] == "generation" and body["run_id"].startswith("run_")
    assert body["poll_url"] == f"{server.api_url}/runs/{body['run_id']}"
    assert body["charged_cost"] == 0 and "status" not in body
    run = wait_for_run(client, body["run_id"])
    assert run["status"] == "completed" and run["progress"] == 100
    assert run["started_at"] >= run["created_at"] and run["completed_at"] >= run["started_at"]
    [output] = run["outputs"]
    assert output["type"] == output_type and output["output_id"] == "output_1"
    media = httpx.get(output["url"])  # no Authorization header
    assert media.status_code == 200
    assert media.headers["content-type"].startswith(content_type)
    if kind == "image":
        assert Image.open(io.BytesIO(media.content)).format == "PNG"
    elif kind == "video":
        assert media.content[4:8] == b"ftyp"
    else:
        with wave.open(io.BytesIO(media.content)) as audio:
            assert audio.getnframes() > 0


def test_text_generation_returns_text_inline(server):
    client = server.client(server.test_key)
    run = wait_for_run(client, generate(client, server, type="text", prompt="haiku about moss").json()["run_id"])
    [output] = run["outputs"]
    assert output["type"] == "text" and "haiku about moss" in output["url"]


def test_live_key_runs_espeak_and_returns_speech(server):
    client = server.client()
    created = generate(client, server, type="audio", prompt="Hello from Stamen", model="espeak-tts")
    assert created.status_code == 201, created.text
    assert created.json()["model"] == {"model_id": "espeak-tts"}
    run = wait_for_run(client, created.json()["run_id"])
    assert run["status"] == "completed", run
    media = httpx.get(run["outputs"][0]["url"])
    with wave.open(io.BytesIO(media.content)) as audio:
        assert audio.getnframes() / audio.getframerate() > 0.5


def test_live_key_without_image_backend_fails_fast_naming_available_models(server):
    response = generate(server.client(), server, type="image")
    error = assert_envelope(response, 400, "input_validation_error")
    assert "espeak-tts" in error["message"]


def test_live_key_never_sees_simulator_models(server):
    live = {m["model_id"] for m in server.client().get("/models").json()["models"]}
    test = {m["model_id"] for m in server.client(server.test_key).get("/models").json()["models"]}
    assert "sim-image" not in live and "espeak-tts" in live
    assert {"sim-image", "sim-video", "sim-audio", "sim-text", "espeak-tts"} <= test
    audio_only = server.client(server.test_key).get("/models", params={"type": "audio"}).json()["models"]
    assert audio_only and all(m["type"] == "audio" for m in audio_only)


def test_unknown_model_and_bad_params_are_rejected_with_fields(server):
    client = server.client(server.test_key)
    error = assert_envelope(generate(client, server, model="no-such-model"), 400, "input_validation_error")
    assert error["fields"][0]["field"] == "model" and "sim-image" in error["message"]
    error = assert_envelope(
        generate(client, server, model="sim-image", params={"width": "wide", "bogus": 1}), 400, "input_validation_error"
    )
    assert {f["field"] for f in error["fields"]} == {"params.width", "params.bogus"}


def test_simulator_is_deterministic_per_seed(server):
    client = server.client(server.test_key)

    def image_bytes(seed: int) -> bytes:
        run = wait_for_run(client, generate(client, server, prompt="same", params={"seed": seed}).json()["run_id"])
        return httpx.get(run["outputs"][0]["url"]).content

    assert image_bytes(7) == image_bytes(7)
    assert image_bytes(7) != image_bytes(8)


def test_generations_history_pages_newest_first_without_duplicates(server):
    client = server.client(server.test_key)
    project_id = new_project(client, server)
    created = [generate(client, server, project_id=project_id, type="text").json()["run_id"] for _ in range(5)]
    seen, cursor = [], None
    while True:
        params = {"limit": 2, "project_id": project_id, **({"cursor": cursor} if cursor else {})}
        page = client.get("/generations", params=params).json()
        seen += [g["run_id"] for g in page["generations"]]
        assert all(g["generation_id"] == g["run_id"] and g["project_id"] == project_id for g in page["generations"])
        cursor = page["meta"]["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(created))


def test_generations_filter_by_status(server):
    client = server.client(server.test_key)
    project_id = new_project(client, server)
    run_id = generate(client, server, project_id=project_id, type="text").json()["run_id"]
    wait_for_run(client, run_id)
    completed = client.get("/generations", params={"project_id": project_id, "status": "completed"}).json()
    pending = client.get("/generations", params={"project_id": project_id, "status": "pending"}).json()
    assert [g["run_id"] for g in completed["generations"]] == [run_id]
    assert pending["generations"] == [] and pending["meta"]["next_cursor"] is None


def test_deprecated_runs_generation_twin_works(server):
    client = server.client(server.test_key)
    response = client.post(
        "/runs/generation",
        json={"type": "text", "prompt": "x", "workspace_id": server.workspace_id, "project_id": server.project_id},
    )
    assert response.status_code == 201
    assert wait_for_run(client, response.json()["run_id"])["status"] == "completed"


def test_idempotency_key_blocks_duplicates_and_is_scoped_per_operation(server):
    client = server.client(server.test_key)
    key = {"Idempotency-Key": uuid.uuid4().hex}
    payload = {"type": "text", "prompt": "x", "workspace_id": server.workspace_id, "project_id": server.project_id}
    assert client.post("/generate", json=payload, headers=key).status_code == 201
    duplicate = client.post("/generate", json=payload, headers=key)
    assert_envelope(duplicate, 409, "idempotency_duplicate")
    assert duplicate.headers["x-should-retry"] == "false"
    assert client.post("/runs/generation", json=payload, headers=key).status_code == 201  # other route


def test_failed_request_releases_its_idempotency_key(server):
    client = server.client(server.test_key)
    key = {"Idempotency-Key": uuid.uuid4().hex}
    bad = {"type": "text", "prompt": "x", "workspace_id": server.workspace_id, "project_id": "prj_missing"}
    assert client.post("/generate", json=bad, headers=key).status_code == 404
    good = {**bad, "project_id": server.project_id}
    assert client.post("/generate", json=good, headers=key).status_code == 201


def test_concurrent_duplicates_create_exactly_one_run(server):
    client = server.client(server.test_key)
    project_id = new_project(client, server)
    key = {"Idempotency-Key": uuid.uuid4().hex}
    payload = {"type": "text", "prompt": "x", "workspace_id": server.workspace_id, "project_id": project_id}
    with ThreadPoolExecutor(8) as pool:
        statuses = list(
            pool.map(
                lambda _: server.client(server.test_key).post("/generate", json=payload, headers=key).status_code,
                range(8),
            )
        )
    assert sorted(statuses) == [201] + [409] * 7
    assert len(client.get("/generations", params={"project_id": project_id}).json()["generations"]) == 1


def test_other_workspace_and_missing_project_are_404(server):
    client = server.client(server.test_key)
    assert_envelope(generate(client, server, project_id="prj_nope"), 404, "not_found")
    response = client.post(
        "/generate",
        json={"type": "text", "prompt": "x", "workspace_id": "ws_someoneelse", "project_id": server.project_id},
    )
    assert_envelope(response, 404, "not_found")
    assert_envelope(client.get("/runs/run_doesnotexist"), 404, "not_found")


def test_callback_url_must_be_https_public_by_default(tmp_path):
    from stamen.errors import InputValidation
    from stamen.services.webhooks import validate_callback_url

    for url in (
        "http://example.com/hook",
        "https://localhost/hook",
        "https://10.0.0.5/h",
        "https://[::1]/h",
        "https://169.254.169.254/latest",
        "https://printer.local/h",
        "ftp://x",
    ):
        with pytest.raises(InputValidation):
            validate_callback_url(url, allow_private=False)
    assert validate_callback_url("https://93.184.216.34/hook", allow_private=False)
    assert validate_callback_url("http://127.0.0.1:9/hook", allow_private=True)
