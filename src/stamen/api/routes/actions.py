"""GET /actions, GET /actions/{actionId}, POST /runs/action."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from stamen.actions import all_actions, catalog_entry, get_action
from stamen.api.deps import IdempotencyKeyDep, PrincipalDep, RuntimeDep
from stamen.api.presenters import run_created
from stamen.api.schemas import ActionRunBody
from stamen.services.actions import start_action

router = APIRouter()


@router.get("/actions")
async def list_actions(principal: PrincipalDep):
    return {"actions": [catalog_entry(spec) for spec in all_actions()]}


@router.get("/actions/{action_id}")
async def retrieve_action(action_id: str, principal: PrincipalDep):
    return catalog_entry(get_action(action_id))


@router.post("/runs/action", status_code=201)
async def run_action(body: ActionRunBody, runtime: RuntimeDep, principal: PrincipalDep, key: IdempotencyKeyDep):
    started = await run_in_threadpool(start_action, runtime, principal, body, idempotency_key=key)
    return run_created(
        started.run,
        runtime.settings.api_base_url,
        estimated_seconds=started.spec.estimated_seconds,
        extra={"action": {"action_id": body.action_id}, "model": None, "technique": None},
    )
