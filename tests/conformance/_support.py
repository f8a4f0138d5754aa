"""Helpers shared by the SDK conformance modules: npm install, a second workspace, running a node script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.stamen_server import StamenServer

HERE = Path(__file__).resolve().parent
SDK_VERSION = "0.11.0"
SDK_PACKAGE = HERE / "node_modules" / "@flora-ai" / "flora" / "package.json"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"`{name}` is not on PATH: the FLORA SDK conformance tests need Node.js >= 18 and npm "
            f"(install them, then `cd tests/conformance && npm ci`).",
            pytrace=False,
        )
    return path


def ensure_sdk() -> str:
    """Make sure tests/conformance/node_modules holds @flora-ai/flora 0.11.0; returns the node binary."""
    node = _tool("node")
    major = subprocess.run(
        [node, "-p", "process.versions.node.split('.')[0]"], capture_output=True, text=True, check=False
    )
    if major.returncode != 0 or int(major.stdout.strip() or 0) < 18:
        pytest.fail(
            f"Node.js >= 18 is required (global fetch, web crypto); got {major.stdout.strip()!r}",
            pytrace=False,
        )
    if _installed_version() == SDK_VERSION:
        return node
    npm = _tool("npm")
    attempts = []
    for command in ([npm, "ci", "--no-audit", "--no-fund"], [npm, "install", "--no-audit", "--no-fund"]):
        result = subprocess.run(command, cwd=HERE, capture_output=True, text=True, check=False, timeout=300)
        attempts.append(
            f"$ {' '.join(command[1:])} -> {result.returncode}\n{result.stdout[-1500:]}{result.stderr[-1500:]}"
        )
        if result.returncode == 0 and _installed_version() == SDK_VERSION:
            return node
    pytest.fail(
        f"could not install @flora-ai/flora {SDK_VERSION} in {HERE}:\n" + "\n".join(attempts), pytrace=False
    )


def _installed_version() -> str | None:
    try:
        return json.loads(SDK_PACKAGE.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


@dataclass
class OtherWorkspace:
    workspace_id: str
    project_id: str
    api_key: str


_OTHER_WORKSPACE_SNIPPET = """
from stamen.config import Settings
from stamen.runtime import Runtime
from stamen.services import keys, workspaces
runtime = Runtime(Settings())
runtime.bootstrap()
with runtime.db.session() as session:
    workspace = workspaces.create_workspace(session, "Conformance other workspace")
    session.flush()
    key = keys.create_key(session, workspace.id, mode="live", name="conformance")
    print(workspace.id, workspace.default_project_id, key)
"""


def create_other_workspace(server: StamenServer) -> OtherWorkspace:
    """A second workspace (with its default project and a live key) in the server's database.

    Stamen has no public route or CLI command for creating workspaces, so this uses the service layer."""
    result = subprocess.run(
        [sys.executable, "-c", _OTHER_WORKSPACE_SNIPPET],
        env=server._env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, f"creating a second workspace failed:\n{result.stderr[-3000:]}"
    workspace_id, project_id, api_key = result.stdout.split()[-3:]
    return OtherWorkspace(workspace_id, project_id, api_key)


def webhook_secret(server: StamenServer) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "stamen.cli", "webhook-secret"],
        env=server._env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, f"`stamen webhook-secret` failed:\n{result.stderr[-3000:]}"
    for line in result.stdout.splitlines():
        workspace_id, _, secret = line.partition("\t")
        if workspace_id == server.workspace_id:
            assert secret.startswith("whsec_"), f"webhook secret does not start with whsec_: {line!r}"
            return secret
    raise AssertionError(f"`stamen webhook-secret` did not list {server.workspace_id}:\n{result.stdout}")


@dataclass
class ScriptRun:
    """The outcome of one node script: its per-check JSON lines, exit code and output."""

    returncode: int
    checks: dict[str, dict] = field(default_factory=dict)
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0

    def tail(self, chars: int = 4000) -> str:
        return f"--- stdout ---\n{self.stdout[-chars:]}\n--- stderr ---\n{self.stderr[-chars:]}"


def run_script(node: str, script: str, env: dict[str, str], timeout: float = 120) -> ScriptRun:
    full_env = dict(os.environ)
    full_env.pop("FLORA_CUSTOM_HEADERS", None)
    full_env.update(env)
    started = time.monotonic()
    try:
        result = subprocess.run(
            [node, script],
            cwd=HERE,
            env=full_env,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        err = exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        run = ScriptRun(returncode=-1, stdout=out, stderr=err + f"\n[timed out after {timeout} s]")
    else:
        run = ScriptRun(returncode=result.returncode, stdout=result.stdout, stderr=result.stderr)
    run.seconds = time.monotonic() - started
    for line in run.stdout.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and "check" in record:
            run.checks[record["check"]] = record
    return run


def assert_check(run: ScriptRun, name: str, server: StamenServer | None = None) -> None:
    record = run.checks.get(name)
    if record is None:
        log = ""
        if server is not None and server.log_path and server.log_path.exists():
            log = "\n--- server log ---\n" + server.log_path.read_text(errors="replace")[-3000:]
        pytest.fail(
            f"check {name!r} was not reported by the script (rc={run.returncode})\n{run.tail()}{log}",
            pytrace=False,
        )
    if not record.get("ok"):
        detail = record.get("detail")
        if not isinstance(detail, str):
            detail = json.dumps(detail, indent=2)
        pytest.fail(f"SDK check {name!r} failed: {detail}", pytrace=False)
