"""FLORA SDK conformance (actions + assets): runs actions.mjs — `@flora-ai/flora` 0.11.0 — against a real
`stamen serve`: assets.upload a small PNG, actions.run rotate/flip, poll, download, and check the result's
dimensions and pixels (90° clockwise, horizontal mirror)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conformance._support import ScriptRun, assert_check, ensure_sdk, run_script
from tests.stamen_server import StamenServer

CHECKS = [
    "actions.list+retrieve",
    "assets.upload",
    "actions.run.rotate-image",
    "actions.run.rotate-image-browser",
    "actions.run.flip-image",
    "actions.run.bad_params",
]


@pytest.fixture(scope="module")
def actions_server(tmp_path_factory: pytest.TempPathFactory):
    server = StamenServer(Path(tmp_path_factory.mktemp("stamen-conformance-actions"))).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def actions_run(actions_server: StamenServer) -> ScriptRun:
    node = ensure_sdk()
    return run_script(
        node,
        "actions.mjs",
        {
            "FLORA_BASE_URL": actions_server.api_url,
            "FLORA_API_KEY": actions_server.live_key,
            "STAMEN_WORKSPACE_ID": actions_server.workspace_id,
        },
        timeout=90,
    )


@pytest.mark.parametrize("name", CHECKS)
def test_sdk_check(actions_run: ScriptRun, actions_server: StamenServer, name: str) -> None:
    assert_check(actions_run, name, actions_server)


def test_script_completed(actions_run: ScriptRun) -> None:
    unknown = sorted(set(actions_run.checks) - set(CHECKS))
    assert not unknown, f"script reported checks this module does not know: {unknown}\n{actions_run.tail()}"
    failed = sorted(name for name, record in actions_run.checks.items() if not record.get("ok"))
    assert actions_run.returncode == (1 if failed else 0), (
        f"rc={actions_run.returncode}, failed={failed}\n{actions_run.tail()}"
    )
    assert actions_run.seconds < 60, f"actions.mjs took {actions_run.seconds:.1f} s (budget 60 s)"
