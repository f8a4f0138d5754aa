"""POST /generate, POST /runs/generation (deprecated twin), GET /generations."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from stamen.api.deps import PrincipalDep, ReadSession, RuntimeDep
from stamen.api.presenters import generation_list_item, run_created
from stamen.api.schemas import GenerateBody
from stamen.services import idempotency, runs
from stamen.services.generations import start_generation
from stamen.services.keys import Principal
from stamen.services.pagination import check_limit
from stamen.services.projects import require_workspace

router = APIRouter()


async def _create(request: Request, principal: Principal, body: GenerateBody, scope: str) -> JSONResponse:
    runtime = request.app.state.runtime
    key = idempotency.check_key(request.headers.get("idempotency-key"))

    def create() -> dict:
        started = start_generation(runtime, principal, body, idempotency_key=key, scope=scope)
        return run_created(
            started.run,
            runtime.settings.api_base_url,
            estimated_seconds=started.estimated_seconds,
            extra={"model": {"model_id": started.model_id}},
        )

    return JSONResponse(await run_in_threadpool(create), 201)


@router.post("/generate", status_code=201)
async def create_generation(body: GenerateBody, request: Request, principal: PrincipalDep):
    return await _create(request, principal, body, "generate")


@router.post("/runs/generation", status_code=201, deprecated=True)
async def start_generation_run(body: GenerateBody, request: Request, principal: PrincipalDep):
    return await _create(request, principal, body, "runs/generation")


@router.get("/generations")
def list_generations(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    session: ReadSession,
    cursor: str | None = None,
    limit: int | None = None,
    workspace_id: str | None = None,
    project_id: str | None = None,
    status: Literal["pending", "running", "completed", "failed"] | None = None,
):
    if workspace_id:
        require_workspace(session, workspace_id, principal.workspace_id)
    page, next_cursor = runs.list_runs(
        session,
        kind="generation",
        workspace_id=principal.workspace_id,
        project_id=project_id or None,
        status=status,
        cursor=cursor,
        limit=check_limit(limit),
    )
    api_base = runtime.settings.api_base_url
    return {
        "generations": [generation_list_item(run, runtime.blobs, api_base) for run in page],
        "meta": {"next_cursor": next_cursor},
    }
