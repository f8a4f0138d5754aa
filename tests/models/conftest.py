"""Loopback fake provider servers and run contexts for the model backend tests.

`FakeProvider` is a real HTTP server on 127.0.0.1 whose routes each test programs; it records every request
(method, path, headers, body) so tests can assert the wire format the official clients produced.
"""

from __future__ import annotations

import io
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image, ImageDraw

from stamen.execution.context import RunContext


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list -> JSON, bytes -> as is, str -> text
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


Handler = Callable[[Recorded], Reply | dict | list]


class FakeProvider:
    """A programmable HTTP server on loopback."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self.requests: list[Recorded] = []
        provider = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                recorded = Recorded(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                provider.requests.append(recorded)
                reply = provider._dispatch(recorded)
                if reply.delay:
                    time.sleep(reply.delay)
                payload, content_type = _encode(reply.body)
                try:
                    self.send_response(reply.status)
                    headers = {
                        "content-type": content_type,
                        **{k.lower(): v for k, v in reply.headers.items()},
                    }
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def route(self, method: str, path: str, handler: Handler | Reply | dict | list) -> None:
        """Answer `method path` (a regex matched against the whole path) with a handler or a fixed reply."""
        fixed = handler
        function = handler if callable(handler) else (lambda request: fixed)
        self.routes.insert(0, (method, re.compile(path), function))

    def sequence(self, method: str, path: str, replies: list[Reply | dict | list]) -> None:
        """Answer successive requests with successive replies; the last one repeats."""
        remaining = list(replies)

        def next_reply(request: Recorded) -> Reply | dict | list:
            return remaining.pop(0) if len(remaining) > 1 else remaining[0]

        self.route(method, path, next_reply)

    def serve_file(self, path: str, payload: bytes, content_type: str) -> str:
        self.route("GET", re.escape(path), Reply(200, payload, {"content-type": content_type}))
        return self.url + path

    def requests_to(self, method: str, path_pattern: str) -> list[Recorded]:
        pattern = re.compile(path_pattern)
        return [r for r in self.requests if r.method == method and pattern.fullmatch(r.path)]

    def _dispatch(self, request: Recorded) -> Reply:
        for method, pattern, handler in self.routes:
            if method == request.method and pattern.fullmatch(request.path):
                result = handler(request)
                return result if isinstance(result, Reply) else Reply(200, result)
        return Reply(404, {"detail": f"no route for {request.method} {request.path}"})

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _encode(body: Any) -> tuple[bytes, str]:
    if body is None:
        return b"", "text/plain"
    if isinstance(body, bytes):
        return body, "application/octet-stream"
    if isinstance(body, str):
        return body.encode(), "text/plain; charset=utf-8"
    return json.dumps(body).encode(), "application/json"


@pytest.fixture
def fake_provider():
    server = FakeProvider()
    yield server
    server.close()


@dataclass
class ProgressLog:
    values: list[float] = field(default_factory=list)

    def __call__(self, pct: float) -> None:
        self.values.append(pct)


@pytest.fixture
def progress() -> ProgressLog:
    return ProgressLog()


@pytest.fixture
def ctx(tmp_path, progress) -> RunContext:
    return RunContext(run_id="run_test", workdir=tmp_path / "work", on_progress=progress)


def make_png(width: int = 64, height: int = 48, color: str = "red") -> bytes:
    image = Image.new("RGB", (width, height), "white")
    ImageDraw.Draw(image).rectangle((8, 8, width - 8, height - 8), fill=color)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def png_bytes() -> bytes:
    return make_png()


def backend_loader(
    load: Callable[[dict[str, str]], Any], base_env: dict[str, str], *, models_variable: str, default_models: str
) -> Callable[..., Any]:
    """`make(models, **extra)`: a backend loaded from `base_env` with `models_variable` set; it must load."""

    def make(models: str = default_models, **extra: str) -> Any:
        backend = load({**base_env, models_variable: models, **extra})
        assert backend is not None
        return backend

    return make


@pytest.fixture
def remote_env() -> dict[str, str]:
    """Settings that keep the remote backends fast under test and let inputs come from loopback."""
    return {
        "STAMEN_REMOTE_POLL_SECONDS": "0.01",
        "STAMEN_REMOTE_RETRY_BASE_SECONDS": "0.01",
        "STAMEN_REMOTE_RETRY_ATTEMPTS": "3",
        "STAMEN_REMOTE_TIMEOUT_SECONDS": "15",
        "STAMEN_REMOTE_REQUEST_TIMEOUT_SECONDS": "5",
        "STAMEN_FETCH_ALLOW_PRIVATE": "1",
    }
