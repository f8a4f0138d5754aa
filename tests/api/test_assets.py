"""Assets over HTTP: multipart direct upload, signed reservation (PUT, complete, retry), URL fetch, reads."""

from __future__ import annotations

import io
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import pytest
from PIL import Image

from tests.api.helpers import assert_envelope


def png_bytes(size=(64, 32)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 200, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def upload(server, content: bytes, name="a.png", **fields) -> httpx.Response:
    return server.client().post(
        "/assets", files={"file": (name, content, "image/png")}, data={"workspace_id": server.workspace_id, **fields}
    )


def test_direct_upload_is_ready_and_served(server):
    response = upload(server, png_bytes(), project_id=server.project_id)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["asset_id"].startswith("asset_") and created["status"] == "ready"
    assert created["uploaded_via"] == "direct" and created["visibility"] == "workspace"
    assert Image.open(io.BytesIO(httpx.get(created["url"]).content)).size == (64, 32)
    retrieved = server.client().get(f"/assets/{created['asset_id']}").json()
    assert (retrieved["width"], retrieved["height"], retrieved["content_type"]) == (64, 32, "image/png")
    assert isinstance(retrieved["created_at"], str) and retrieved["name"] == "a.png"
    listed = server.client().get("/assets", params={"project_id": server.project_id}).json()
    assert created["asset_id"] in [a["asset_id"] for a in listed["assets"]]
    assert all(isinstance(a["created_at"], int) for a in listed["assets"])


def test_non_media_and_oversized_direct_uploads_are_rejected(server):
    assert_envelope(upload(server, b"#!/bin/sh\necho hi\n", name="x.png"), 400, "input_validation_error")
    assert_envelope(upload(server, b"\0" * (4 * 1024 * 1024 + 1)), 400, "input_validation_error")
    response = server.client().post("/assets", files={"file": ("a.png", png_bytes())}, data={"workspace_id": "nope"})
    assert_envelope(response, 400, "input_validation_error")


def test_signed_reservation_upload_complete_and_state_errors(server):
    client = server.client()
    reserved = client.post("/assets", json={"source": "signed-url", "workspace_id": server.workspace_id}).json()
    assert reserved["status"] == "pending_upload" and reserved["uploaded_via"] == "signed_url"
    assert reserved["expires_at"].endswith("Z") and reserved["upload_url"].startswith(server.base_url)
    assert_envelope(client.post(f"/assets/{reserved['asset_id']}/complete"), 409, "conflict")  # no bytes yet
    assert_envelope(client.post(f"/assets/{reserved['asset_id']}/retry"), 409, "conflict")  # not failed
    assert httpx.put(reserved["upload_url"], content=png_bytes((8, 8))).status_code == 200
    completed = client.post(f"/assets/{reserved['asset_id']}/complete")
    assert completed.status_code == 200 and completed.json()["status"] == "ready"
    assert_envelope(client.post(f"/assets/{reserved['asset_id']}/complete"), 409, "conflict")
    assert httpx.put(reserved["upload_url"], content=b"again").status_code == 404  # token spent


def test_bad_upload_fails_then_retry_issues_a_fresh_reservation(server):
    client = server.client()
    reserved = client.post("/assets", json={"source": "signed-url", "workspace_id": server.workspace_id}).json()
    httpx.put(reserved["upload_url"], content=b"not media at all")
    failed = client.post(f"/assets/{reserved['asset_id']}/complete").json()
    assert failed["status"] == "failed" and failed["failure_message"]
    retried = client.post(f"/assets/{reserved['asset_id']}/retry").json()
    assert retried["status"] == "pending_upload" and retried["upload_url"] != reserved["upload_url"]
    httpx.put(retried["upload_url"], content=png_bytes())
    assert client.post(f"/assets/{reserved['asset_id']}/complete").json()["status"] == "ready"


def test_large_upload_streams_without_buffering_in_memory(server):
    def peak_rss_kb() -> int:
        status = open(f"/proc/{server.process.pid}/status").read()
        return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM")))

    reserved = (
        server.client().post("/assets", json={"source": "signed-url", "workspace_id": server.workspace_id}).json()
    )
    before = peak_rss_kb()
    size = 300 * 1024 * 1024

    def body():
        chunk = b"\0" * (1024 * 1024)
        for _ in range(size // len(chunk)):
            yield chunk

    response = httpx.put(reserved["upload_url"], content=body(), timeout=120)
    assert response.status_code == 200
    assert peak_rss_kb() - before < 100 * 1024, "a 300 MB upload must not be held in memory"


@pytest.fixture
def media_host():
    payload = png_bytes((20, 10))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/missing.png":
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


def test_url_source_is_fetched_server_side(server, media_host):
    client = server.client()
    created = client.post("/assets", json={"source": f"{media_host}/pic.png", "workspace_id": server.workspace_id})
    assert created.status_code == 201, created.text
    assert created.json()["uploaded_via"] == "url" and created.json()["status"] == "ready"
    missing = client.post("/assets", json={"source": f"{media_host}/missing.png", "workspace_id": server.workspace_id})
    assert_envelope(missing, 400, "input_validation_error")
    bad = client.post("/assets", json={"source": "file:///etc/passwd", "workspace_id": server.workspace_id})
    assert_envelope(bad, 400, "input_validation_error")


def test_failed_url_fetch_releases_its_idempotency_key(server, media_host):
    client = server.client()
    key = {"Idempotency-Key": "asset-fetch-key"}
    missing = client.post("/assets", json={"source": f"{media_host}/missing.png", "workspace_id": server.workspace_id},
                          headers=key)
    assert_envelope(missing, 400, "input_validation_error")
    good = client.post("/assets", json={"source": f"{media_host}/pic.png", "workspace_id": server.workspace_id},
                       headers=key)
    assert good.status_code == 201, good.text
    again = client.post("/assets", json={"source": f"{media_host}/pic.png", "workspace_id": server.workspace_id},
                        headers=key)
    assert_envelope(again, 409, "idempotency_duplicate")


def test_unknown_or_malformed_asset_ids(server):
    assert_envelope(server.client().get("/assets/asset_nope"), 404, "not_found")
    assert_envelope(server.client().get("/assets/ast_nope"), 400, "input_validation_error")
    assert_envelope(server.client().post("/assets/asset_nope/complete"), 404, "not_found")
