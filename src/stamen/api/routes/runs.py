"""GET /runs/{runId}: any run (generation, action, technique)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from stamen.api.deps import PrincipalDep, RuntimeDep
from stamen.api.presenters import run_view
from stamen.errors import InputValidation
from stamen.services import runs

router = APIRouter()


@router.get("/runs/{run_id}")
async def retrieve_run(run_id: str, runtime: RuntimeDep, principal: PrincipalDep):
    if not run_id.startswith("run_") or len(run_id) <= 4 or any(c.isspace() for c in run_id):
        raise InputValidation.field("runId", "must be an id starting with 'run_'")

    def read() -> dict:
        with runtime.db.session(write=False) as session:
            run = runs.get_run(session, run_id, principal.workspace_id)
            return run_view(run, runtime.blobs, runtime.settings.api_base_url)

    return await run_in_threadpool(read)
