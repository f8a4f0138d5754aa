"""URL fetches refuse private hosts on every hop: a public-looking URL that redirects to a private
address is refused, in both fetchers (action inputs and model inputs)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from stamen.errors import RunFailure
from stamen.execution.context import RunContext
from stamen.net import check_public_host
from stamen.services import fetch


@pytest.fixture
def redirecting_host():
    """Serves `/go` as a redirect to http://127.0.0.1:<port>/secret (a private target)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/go":
                self.send_response(302)
                self.send_header("Location", f"http://127.0.0.1:{self.server.server_port}/secret")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Length", "6")
            self.end_headers()
            self.wfile.write(b"secret")

        def log_message(self, *args):
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://localhost:{httpd.server_port}/go"
    httpd.shutdown()


def pretend_localhost_is_public(host: str) -> str | None:
    return None if host == "localhost" else check_public_host(host)


async def test_action_input_fetch_refuses_redirect_to_private(redirecting_host, tmp_path, monkeypatch):
    monkeypatch.setattr(fetch, "check_public_host", pretend_localhost_is_public)
    with pytest.raises(RunFailure) as failure:
        await fetch.fetch_to_file(redirecting_host, tmp_path / "x", max_bytes=100, timeout=5, allow_private=False)
    assert failure.value.code == "input_unreachable" and "127.0.0.1" in failure.value.message
    size, _ = await fetch.fetch_to_file(redirecting_host, tmp_path / "y", max_bytes=100, timeout=5, allow_private=True)
    assert (tmp_path / "y").read_bytes() == b"secret" and size == 6


async def test_model_input_fetch_refuses_redirect_to_private(redirecting_host, tmp_path, monkeypatch):
    from stamen.models import remote_common

    monkeypatch.setattr(remote_common, "check_public_host", pretend_localhost_is_public)
    settings = remote_common.RemoteSettings.from_env({"STAMEN_FETCH_ALLOW_PRIVATE": "0"})
    ctx = RunContext(run_id="run_t", workdir=tmp_path)
    with pytest.raises(RunFailure) as failure:
        await remote_common.fetch_input(redirecting_host, ctx, settings, name="image_url")
    assert failure.value.code == "input_unreachable" and "127.0.0.1" in failure.value.message
