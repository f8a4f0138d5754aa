"""What executes each kind of run: model generations, actions, techniques."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from stamen.errors import RunFailure
from stamen.execution.context import RunContext
from stamen.models.base import GenerationRequest
from stamen.store.models import Run

if TYPE_CHECKING:
    from stamen.runtime import Runtime

Handler = Callable[["Runtime", Run, RunContext], Awaitable[None]]


async def run_generation(runtime: Runtime, run: Run, ctx: RunContext) -> None:
    resolved = runtime.models.get(run.target, test_mode=run.test_mode)
    if resolved is None:
        raise RunFailure("provider_error", f"model {run.target} is no longer configured on this server")
    ctx.prompt = run.request.get("prompt")
    ctx.params = dict(run.request.get("params") or {})
    if not run.test_mode:
        from stamen.services.inputs import inline_model_references

        ctx.params = await asyncio.to_thread(inline_model_references, runtime, run.workspace_id, ctx.params)
    request = GenerationRequest(
        model=resolved.spec, prompt=ctx.prompt or "", params=ctx.params, test_mode=run.test_mode
    )
    await resolved.backend.generate(request, ctx)


async def run_action(runtime: Runtime, run: Run, ctx: RunContext) -> None:
    from stamen.actions import get_action, validate_params
    from stamen.services.inputs import resolve_action_inputs

    spec = get_action(run.target)
    params = validate_params(spec, run.request.get("params"))
    ctx.params = params.model_dump()
    ctx.inputs = await resolve_action_inputs(runtime, run.workspace_id, run.request["bound_inputs"], ctx)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(runtime.cpu_pool, spec.run, ctx, params)


async def run_technique(runtime: Runtime, run: Run, ctx: RunContext) -> None:
    from stamen.techniques.runner import run_technique as execute_technique

    await execute_technique(runtime, run, ctx)


HANDLERS: dict[str, Handler] = {"generation": run_generation, "action": run_action, "technique": run_technique}


def handler_for(kind: str) -> Handler:
    return HANDLERS[kind]
