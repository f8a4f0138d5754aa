"""GET /runs/{runId}: any run (generation, action, technique)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from stamen.api.deps import authenticate
from stamen.api.presenters import run_view
from stamen.errors import InputValidation
from stamen.services import runs
from stamen.store.models import Run

router = APIRouter()


@router.get("/runs/{run_id}")
async def retrieve_run(run_id: str, request: Request):
    runtime = request.app.state.runtime
    principal = authenticate(request)
    if not run_id.startswith("run_") or len(run_id) <= 4 or any(c.isspace() for c in run_id):
        raise InputValidation.field("runId", "must be an id starting with 'run_'")

    run = runtime.terminal_runs.get(run_id)
    if run is None or run.workspace_id != principal.workspace_id:

        def read() -> Run:
            with runtime.db.session(write=False) as session:
                return runs.get_run(session, run_id, principal.workspace_id)

        run = await run_in_threadpool(read)
        runtime.terminal_runs.remember(run)
    return JSONResponse(run_view(run, runtime.blobs, runtime.settings.api_base_url))
