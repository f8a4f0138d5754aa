"""POST /generate, POST /runs/generation (deprecated twin), GET /generations."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from stamen.api.deps import IdempotencyKeyDep, PrincipalDep, ReadSession, RuntimeDep
from stamen.api.presenters import generation_list_item, run_created
from stamen.api.schemas import GenerateBody
from stamen.services import runs
from stamen.services.generations import start_generation
from stamen.services.pagination import check_limit
from stamen.services.projects import require_workspace

router = APIRouter()


def _create(runtime, principal, body: GenerateBody, key: str | None, scope: str) -> dict:
    started = start_generation(runtime, principal, body, idempotency_key=key, scope=scope)
    return run_created(
        started.run,
        runtime.settings.api_base_url,
        estimated_seconds=started.estimated_seconds,
        extra={"model": {"model_id": started.model_id}},
    )


@router.post("/generate", status_code=201)
async def create_generation(body: GenerateBody, runtime: RuntimeDep, principal: PrincipalDep, key: IdempotencyKeyDep):
    return JSONResponse(await run_in_threadpool(_create, runtime, principal, body, key, "generate"), 201)


@router.post("/runs/generation", status_code=201, deprecated=True)
async def start_generation_run(
    body: GenerateBody, runtime: RuntimeDep, principal: PrincipalDep, key: IdempotencyKeyDep
):
    return await run_in_threadpool(_create, runtime, principal, body, key, "runs/generation")


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
