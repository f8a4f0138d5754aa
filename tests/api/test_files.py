"""Output URLs: signed and expiring, no API key needed, Range requests for media."""

from __future__ import annotations

import httpx

from tests.api.helpers import wait_for_run


def video_output_url(server) -> str:
    client = server.client(server.test_key)
    created = client.post(
        "/generate",
        json={"type": "video", "prompt": "waves", "workspace_id": server.workspace_id, "project_id": server.project_id},
    )
    return wait_for_run(client, created.json()["run_id"])["outputs"][0]["url"]


def test_range_requests_return_partial_content(server):
    url = video_output_url(server)
    whole = httpx.get(url)
    part = httpx.get(url, headers={"Range": "bytes=0-99"})
    assert part.status_code == 206
    assert part.content == whole.content[:100]
    assert part.headers["content-range"].startswith("bytes 0-99/")
    assert whole.headers["accept-ranges"] == "bytes"


def test_tampered_or_expired_signatures_are_refused(server):
    url = video_output_url(server)
    assert httpx.get(url.replace("signature=", "signature=0")).status_code == 403
    base, _, query = url.partition("?")
    params = dict(p.split("=") for p in query.split("&"))
    assert httpx.get(base, params={**params, "expires": "1000"}).status_code == 403
    assert httpx.get(base).status_code == 403
    assert httpx.get(url.replace("output_1", "output_2")).status_code == 403
