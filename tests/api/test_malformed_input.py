"""Malformed input on every endpoint answers the contract envelope with the right code; never a 500."""

from __future__ import annotations

import httpx
import pytest

from tests.api.helpers import assert_envelope

ENDPOINTS_WITH_BODY = ["/generate", "/runs/generation", "/projects", "/feedback", "/workspaces/{ws}/projects"]


def url(server, path: str) -> str:
    return path.replace("{ws}", server.workspace_id)


@pytest.mark.parametrize("path", ENDPOINTS_WITH_BODY)
@pytest.mark.parametrize("raw", [b"{not json", b"", b"[1, 2]", b'"text"', b"null", b"\xff\xfe"])
def test_unparseable_or_non_object_bodies_are_invalid_json(server, path, raw):
    response = server.client().post(url(server, path), content=raw, headers={"content-type": "application/json"})
    assert_envelope(response, 400, "invalid_json")


@pytest.mark.parametrize("path", ENDPOINTS_WITH_BODY)
def test_unknown_fields_are_named(server, path):
    response = server.client().post(url(server, path), json={"surprise": 1})
    error = assert_envelope(response, 400, "input_validation_error")
    assert "surprise" in {f["field"] for f in error["fields"]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": 3}, "type"),
        ({"type": "t2i"}, "type"),
        ({"prompt": ""}, "prompt"),
        ({"prompt": ["a"]}, "prompt"),
        ({"workspace_id": "prj_x"}, "workspace_id"),
        ({"project_id": "ws_x"}, "project_id"),
        ({"project_id": 12}, "project_id"),
        ({"params": "seed=1"}, "params"),
        ({"model": ""}, "model"),
        ({"callback_url": 5}, "callback_url"),
    ],
)
def test_generate_field_errors_name_the_field(server, body, field):
    payload = {"type": "image", "prompt": "p", "workspace_id": server.workspace_id, "project_id": server.project_id}
    response = server.client(server.test_key).post("/generate", json={**payload, **body})
    error = assert_envelope(response, 400, "input_validation_error")
    assert field in {f["field"] for f in error["fields"]}


def test_missing_required_fields_are_listed(server):
    error = assert_envelope(server.client().post("/generate", json={}), 400, "input_validation_error")
    assert {f["field"] for f in error["fields"]} >= {"type", "prompt", "workspace_id", "project_id"}
    assert all(f["message"] == "Required" for f in error["fields"])


def test_huge_body_is_refused_without_harm(server):
    payload = b'{"type":"text","prompt":"' + b"a" * (3 * 1024 * 1024) + b'"}'
    response = server.client().post("/generate", content=payload, headers={"content-type": "application/json"})
    assert_envelope(response, 413, "input_validation_error")
    assert server.client().get("/workspaces").status_code == 200


@pytest.mark.parametrize("path", ["/generations", "/projects"])
@pytest.mark.parametrize("cursor", ["garbage", "eyJ4IjoxfQ", "!!!", "bnVsbA"])
def test_bad_cursors_are_rejected(server, path, cursor):
    response = server.client().get(path, params={"cursor": cursor, "workspace_id": server.workspace_id})
    error = assert_envelope(response, 400, "input_validation_error")
    assert error["fields"][0]["field"] == "cursor"


@pytest.mark.parametrize("limit", ["0", "101", "ten", "-1", "1.5"])
def test_bad_limits_are_rejected(server, limit):
    response = server.client().get("/generations", params={"limit": limit})
    assert_envelope(response, 400, "input_validation_error")


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/runs/not-a-run", 400, "input_validation_error"),
        ("/runs/run_missing", 404, "not_found"),
        ("/projects/prj_missing", 404, "not_found"),
        ("/projects/nope", 400, "input_validation_error"),
        ("/generations?status=done", 400, "input_validation_error"),
        ("/models?type=t2i", 400, "input_validation_error"),
        ("/projects", 400, "input_validation_error"),
        ("/projects?workspace_id=ws_other", 404, "not_found"),
        ("/no/such/route", 404, "not_found"),
    ],
)
def test_bad_reads(server, path, status, code):
    assert_envelope(server.client().get(path), status, code)


def test_wrong_method_is_an_envelope(server):
    response = server.client().delete("/generate")
    assert response.status_code in (404, 405)
    assert response.json()["error"]["code"] == "not_found"


def test_models_ignore_pagination_query(server):
    response = server.client().get("/models", params={"limit": 5, "cursor": "x"})
    assert response.status_code == 200 and response.json()["models"]


def test_bad_idempotency_key_is_rejected(server):
    payload = {"type": "text", "prompt": "p", "workspace_id": server.workspace_id, "project_id": server.project_id}
    response = server.client(server.test_key).post("/generate", json=payload, headers={"Idempotency-Key": "k" * 300})
    assert_envelope(response, 400, "input_validation_error")


def test_feedback_records_and_validates(server):
    client = server.client()
    ok = client.post("/feedback", json={"kind": "bug", "summary": "s", "detail": "d", "run_id": "run_x"})
    assert ok.status_code == 201 and ok.json()["feedback_id"].startswith("fb_")
    assert isinstance(ok.json()["received_at"], int)
    error = assert_envelope(
        client.post("/feedback", json={"kind": "rant", "summary": "", "detail": "d"}), 400, "input_validation_error"
    )
    assert {f["field"] for f in error["fields"]} == {"kind", "summary"}


def test_server_still_serves_after_all_that(server):
    assert httpx.get(f"{server.base_url}/healthz").status_code == 200
    assert server.process.poll() is None
