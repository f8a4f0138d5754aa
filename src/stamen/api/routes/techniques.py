"""Techniques (list, retrieve, author) and technique runs (nested and top-level create, retrieve, list)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from starlette.concurrency import run_in_threadpool

from stamen.api.deps import IdempotencyKeyDep, PrincipalDep, RuntimeDep
from stamen.api.presenters import run_created, run_view
from stamen.api.schemas import WorkspaceId
from stamen.errors import InputValidation, NotFound
from stamen.services import idempotency, runs
from stamen.services import techniques as service
from stamen.services.pagination import check_limit
from stamen.services.projects import require_workspace
from stamen.store.models import Run
from stamen.techniques import launch

router = APIRouter()

IoType = Literal["imageUrl", "videoUrl", "audioUrl", "text", "documentUrl"]
RunStatus = Literal["pending", "running", "completed", "failed"]


class Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class NestedInput(Closed):
    id: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    type: IoType
    value: str


class NestedRunBody(Closed):
    inputs: Annotated[list[NestedInput], Field(min_length=1, max_length=100)]
    mode: Literal["async", "stream"]  # stream is not implemented by FLORA either; it runs as async
    callback_url: Annotated[str, StringConstraints(min_length=1, max_length=2048)] | None = None
    idempotency_key: str | None = None


class TopLevelRunBody(Closed):
    technique_id: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    workspace_id: WorkspaceId
    inputs: dict[str, Any]


def _view(runtime, principal, technique) -> dict:
    return service.technique_view(runtime, technique, test_mode=principal.test_mode)


@router.get("/techniques")
async def list_techniques(
    runtime: RuntimeDep, principal: PrincipalDep, workspace_id: str | None = None, query: str | None = None,
    cursor: str | None = None, limit: int | None = None,
):
    def read() -> dict:
        with runtime.db.session(write=False) as session:
            if workspace_id:
                require_workspace(session, workspace_id, principal.workspace_id)
            page, next_cursor = service.list_techniques(
                session, runtime, principal.workspace_id, query=query or None, cursor=cursor, limit=check_limit(limit)
            )
        return {"techniques": [_view(runtime, principal, t) for t in page], "meta": {"next_cursor": next_cursor}}

    return await run_in_threadpool(read)


@router.get("/techniques/{technique_id}")
async def retrieve_technique(technique_id: str, runtime: RuntimeDep, principal: PrincipalDep):
    def read() -> dict:
        with runtime.db.session(write=False) as session:
            technique = service.find_technique(session, runtime, principal.workspace_id, technique_id)
        return _view(runtime, principal, technique)

    return await run_in_threadpool(read)


def _authored_spec(raw: dict[str, Any], runtime, principal) -> dict[str, Any]:
    """The spec without Stamen's optional `workspace_id` (which must be the key's own)."""
    raw = dict(raw)
    workspace_id = raw.pop("workspace_id", None)
    if workspace_id is not None:
        if not isinstance(workspace_id, str):
            raise InputValidation.field("workspace_id", "must be an id starting with 'ws_'")
        with runtime.db.session(write=False) as session:
            require_workspace(session, workspace_id, principal.workspace_id)
    return raw


@router.post("/techniques", status_code=201)
async def create_technique(runtime: RuntimeDep, principal: PrincipalDep, body: Annotated[dict[str, Any], Body()]):
    def create() -> dict:
        spec = _authored_spec(body, runtime, principal)
        return _view(runtime, principal, service.create_technique(runtime, principal.workspace_id, spec))

    return await run_in_threadpool(create)


@router.put("/techniques/{technique_id}")
async def update_technique(
    technique_id: str, runtime: RuntimeDep, principal: PrincipalDep, body: Annotated[dict[str, Any], Body()]
):
    def update() -> dict:
        spec = _authored_spec(body, runtime, principal)
        updated = service.update_technique(runtime, principal.workspace_id, technique_id, spec)
        return _view(runtime, principal, updated)

    return await run_in_threadpool(update)


@router.delete("/techniques/{technique_id}")
async def delete_technique(technique_id: str, runtime: RuntimeDep, principal: PrincipalDep):
    def delete() -> dict:
        with runtime.db.session(write=False) as session:
            found = service.find_technique(session, runtime, principal.workspace_id, technique_id)
        service.delete_technique(runtime, principal.workspace_id, found.technique_id)
        return {"technique_id": found.technique_id, "deleted": True}

    return await run_in_threadpool(delete)


@router.post("/techniques/{technique_id}/runs", status_code=201)
async def create_technique_run(
    technique_id: str, body: NestedRunBody, runtime: RuntimeDep, principal: PrincipalDep, key: IdempotencyKeyDep
):
    body_key = idempotency.check_key(body.idempotency_key) if body.idempotency_key is not None else None
    if key is not None and body_key is not None and key != body_key:
        raise InputValidation.field("idempotency_key", "differs from the Idempotency-Key header; send one or the same")

    def create() -> dict:
        started = launch.start_technique_run(
            runtime, principal, technique_id, launch.nested_binder([item.model_dump() for item in body.inputs]),
            allow_slug=True, callback_url=body.callback_url, idempotency_key=key or body_key,
        )
        return run_view(started.run, runtime.blobs, runtime.settings.api_base_url)

    return await run_in_threadpool(create)


@router.post("/runs/technique", status_code=201)
async def start_technique_run(
    body: TopLevelRunBody, runtime: RuntimeDep, principal: PrincipalDep, key: IdempotencyKeyDep
):
    def create() -> dict:
        started = launch.start_technique_run(
            runtime, principal, body.technique_id, launch.map_binder(body.inputs), allow_slug=False,
            workspace_id=body.workspace_id, idempotency_key=key, scope="runs/technique",
        )
        return run_created(
            started.run, runtime.settings.api_base_url, estimated_seconds=started.estimated_seconds,
            extra={"model": None, "action": None, "technique": launch.technique_of(started.run)},
        )

    return await run_in_threadpool(create)


@router.get("/techniques/{technique_id}/runs/{run_id}")
async def retrieve_technique_run(technique_id: str, run_id: str, runtime: RuntimeDep, principal: PrincipalDep):
    def read() -> dict:
        with runtime.db.session(write=False) as session:
            technique = service.find_technique(session, runtime, principal.workspace_id, technique_id)
            run = runs.get_run(session, run_id, principal.workspace_id)
            if run.kind != "technique" or run.target != technique.technique_id:
                raise NotFound(f"run {run_id} not found for technique {technique_id}")
            return run_view(run, runtime.blobs, runtime.settings.api_base_url)

    return await run_in_threadpool(read)


def technique_run_item(run: Run, runtime) -> dict[str, Any]:
    """`TechniqueRunListItem`: the Run plus its workspace, project, technique and `technique_run_id`."""
    view = run_view(run, runtime.blobs, runtime.settings.api_base_url)
    view.update(
        project_id=run.project_id, workspace_id=run.workspace_id, technique_run_id=run.id,
        technique=launch.technique_of(run),
    )
    return view


@router.get("/technique-runs")
async def list_technique_runs(
    runtime: RuntimeDep, principal: PrincipalDep, workspace_id: str | None = None, project_id: str | None = None,
    technique_id: str | None = None, status: RunStatus | None = None, cursor: str | None = None,
    limit: int | None = None,
):
    def read() -> dict:
        with runtime.db.session(write=False) as session:
            if workspace_id:
                require_workspace(session, workspace_id, principal.workspace_id)
            target = technique_id or None
            if target is not None:
                try:
                    target = service.find_technique(session, runtime, principal.workspace_id, target).technique_id
                except NotFound:
                    pass  # a deleted technique's runs stay listable by its id
            page, next_cursor = runs.list_runs(
                session, kind="technique", workspace_id=principal.workspace_id, project_id=project_id or None,
                status=status, target=target, cursor=cursor, limit=check_limit(limit),
            )
            items = [technique_run_item(run, runtime) for run in page]
        return {"technique_runs": items, "meta": {"next_cursor": next_cursor}}

    return await run_in_threadpool(read)
