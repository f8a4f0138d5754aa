"""FLORA SDK conformance (core): runs core.mjs — the official `@flora-ai/flora` 0.11.0 client — against a
real `stamen serve` and reports every SDK-level check as its own test.

Needs Node.js >= 18 and npm; `npm ci` runs here on first use (node_modules is git-ignored)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conformance._support import (
    ScriptRun,
    assert_check,
    create_other_workspace,
    ensure_sdk,
    run_script,
    webhook_secret,
)
from tests.stamen_server import StamenServer

CHECKS = [
    "workspaces.list",
    "models.list",
    "projects.create+retrieve",
    "workspaces.projects.create",
    "generate.image",
    "generate.video",
    "generate.audio",
    "generate.text",
    "generate.audio.espeak-tts.live",
    "generations.list.pagination",
    "idempotency.duplicate",
    "errors.not_found",
    "errors.request_id_header",
    "errors.authentication",
    "errors.validation_fields",
    "errors.other_workspace_project",
    "feedback.record",
    "webhooks.unwrap",
    "webhooks.tampered_rejected",
]


@pytest.fixture(scope="module")
def conformance_server(tmp_path_factory: pytest.TempPathFactory):
    server = StamenServer(Path(tmp_path_factory.mktemp("stamen-conformance"))).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def core_run(conformance_server: StamenServer) -> ScriptRun:
    node = ensure_sdk()
    server = conformance_server
    other = create_other_workspace(server)
    return run_script(
        node,
        "core.mjs",
        {
            "FLORA_BASE_URL": server.api_url,
            "FLORA_API_KEY": server.live_key,
            "STAMEN_TEST_KEY": server.test_key,
            "STAMEN_WORKSPACE_ID": server.workspace_id,
            "STAMEN_WEBHOOK_SECRET": webhook_secret(server),
            "STAMEN_OTHER_API_KEY": other.api_key,
            "STAMEN_OTHER_PROJECT_ID": other.project_id,
        },
        timeout=120,
    )


@pytest.mark.parametrize("name", CHECKS)
def test_sdk_check(core_run: ScriptRun, conformance_server: StamenServer, name: str) -> None:
    assert_check(core_run, name, conformance_server)


def test_script_completed(core_run: ScriptRun) -> None:
    """The script ran to the end, reported nothing unexpected, and exited 0 only if every check passed."""
    unknown = sorted(set(core_run.checks) - set(CHECKS))
    assert not unknown, f"script reported checks this module does not know: {unknown}\n{core_run.tail()}"
    failed = sorted(name for name, record in core_run.checks.items() if not record.get("ok"))
    assert core_run.returncode == (1 if failed else 0), (
        f"rc={core_run.returncode}, failed={failed}\n{core_run.tail()}"
    )
    assert core_run.seconds < 60, f"core.mjs took {core_run.seconds:.1f} s (budget 60 s)"
