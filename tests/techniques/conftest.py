"""Fixtures for technique tests: a Runtime without a server, and a way to run a spec through the runner."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stamen.config import Settings
from stamen.execution.context import RunContext
from stamen.ids import new_id
from stamen.runtime import Runtime
from stamen.store.models import Run
from stamen.techniques.launch import plan_run
from stamen.techniques.runner import run_technique
from stamen.techniques.validation import validate_spec


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory):
    instance = Runtime(Settings(data_dir=tmp_path_factory.mktemp("technique-runtime")))
    yield instance
    instance.cpu_pool.shutdown(wait=True)
    instance.db.engine.dispose()


def make_run(runtime: Runtime, raw_spec: dict[str, Any], inputs: dict[str, list[dict]] | None = None) -> Run:
    """A technique run as `start_technique_run` would store it (test mode), without a database row."""
    spec = validate_spec(raw_spec, runtime.models)
    bound = inputs or {}
    plan = plan_run(runtime, spec, bound, test_mode=True)
    return Run(
        id=new_id("run"), kind="technique", workspace_id="ws_test", project_id="prj_test", status="running",
        target="tech_test", test_mode=True, quoted_cost=plan.quote,
        request={"technique": {"technique_id": "tech_test", "name": spec.name}, "spec": plan.spec,
                 "prices": plan.prices, "inputs": bound},
    )


async def execute(runtime: Runtime, run: Run, workdir: Path, state: dict | None = None) -> RunContext:
    """Run the technique handler; the context keeps the checkpointed state and the saved outputs."""
    ctx = RunContext(run_id=run.id, workdir=workdir, state=dict(state or {}))
    await run_technique(runtime, run, ctx)
    return ctx


def text_inputs(**values: str | list[str]) -> dict[str, list[dict]]:
    bound = {}
    for key, value in values.items():
        items = value if isinstance(value, list) else [value]
        bound[key] = [{"type": "text", "text": item} for item in items]
    return bound
