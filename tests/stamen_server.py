"""Start a real `stamen serve` process on a free port for HTTP-level tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

LIVE_KEY = "sk_live_stamen_tests_0123456789abcdef"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class StamenServer:
    data_dir: Path
    port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    live_key: str = LIVE_KEY
    test_key: str = ""
    workspace_id: str = ""
    project_id: str = ""
    log_path: Path | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/v1"

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            STAMEN_DATA_DIR=str(self.data_dir),
            STAMEN_PORT=str(self.port),
            STAMEN_HOST="127.0.0.1",
            STAMEN_API_KEY=self.live_key,
            STAMEN_WEBHOOK_ALLOW_PRIVATE="1",
            STAMEN_FETCH_ALLOW_PRIVATE="1",
        )
        env.update(self.env)
        return env

    def create_key(self, *extra: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "stamen.cli", "keys", "create", *extra],
            env=self._env(),
            capture_output=True,
            text=True,
            check=True,
        )
        return result.stdout.strip().splitlines()[-1]

    def start(self, timeout: float = 30.0) -> StamenServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not self.test_key:
            self.test_key = self.create_key("--test")
        self.log_path = self.data_dir / "server.log"
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "stamen.cli", "serve"],
            env=self._env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError("server did not become healthy")
        headers = {"Authorization": f"Bearer {self.live_key}"}
        self.workspace_id = httpx.get(f"{self.api_url}/workspaces", headers=headers).json()["workspaces"][0][
            "workspace_id"
        ]
        projects = httpx.get(f"{self.api_url}/projects", params={"workspace_id": self.workspace_id}, headers=headers)
        self.project_id = projects.json()["projects"][-1]["project_id"]
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks run, as in a crash."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def client(self, key: str | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=self.api_url, headers={"Authorization": f"Bearer {key or self.live_key}"}, timeout=30
        )
