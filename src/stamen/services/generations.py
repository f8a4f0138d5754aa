"""Starting a model generation: resolve the model, validate params, price, create, enqueue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stamen.models.params import validate_params
from stamen.runtime import Runtime
from stamen.services import projects, runs, webhooks
from stamen.services.keys import Principal
from stamen.store.models import Run


@dataclass
class GenerationStarted:
    run: Run
    model_id: str
    estimated_seconds: int | None


def start_generation(
    runtime: Runtime, principal: Principal, body: Any, *, idempotency_key: str | None, scope: str
) -> GenerationStarted:
    resolved = runtime.models.resolve(body.model, body.type, test_mode=principal.test_mode)
    params = validate_params(resolved.spec.params, body.params)
    callback_url = None
    if body.callback_url is not None:
        callback_url = webhooks.validate_callback_url(
            body.callback_url, allow_private=runtime.settings.webhook_allow_private
        )
    with runtime.db.session() as session:
        projects.touch_owned(session, body.workspace_id, body.project_id, principal.workspace_id)
        run = runs.create_run(
            session,
            runs.NewRun(
                kind="generation",
                workspace_id=body.workspace_id,
                project_id=body.project_id,
                target=resolved.spec.model_id,
                request={"type": body.type, "prompt": body.prompt, "params": params},
                quoted_cost=resolved.spec.price,
                test_mode=principal.test_mode,
                callback_url=callback_url,
            ),
            idempotency_key=idempotency_key,
            scope=scope,
            window_seconds=runtime.settings.idempotency_window_seconds,
        )
    runtime.executor.submit(run.id)
    return GenerationStarted(run, resolved.spec.model_id, resolved.spec.estimated_seconds)
