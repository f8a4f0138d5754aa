"""Starting an action run: validate action id, params and inputs against the declaration, then enqueue."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from stamen.actions import bind_inputs, get_action, validate_params
from stamen.actions.registry import ActionSpec
from stamen.errors import FieldError, InputValidation, NotFound
from stamen.runtime import Runtime
from stamen.services import projects, runs
from stamen.services.keys import Principal
from stamen.store.models import Asset, Run


@dataclass
class ActionStarted:
    run: Run
    spec: ActionSpec


def _check_references(session, workspace_id: str, inputs: list[dict]) -> None:
    errors = []
    for index, item in enumerate(inputs):
        url = item.get("url")
        if item["type"] == "text" or url is None:
            continue
        if url.startswith("asset_"):
            asset = session.scalar(select(Asset).where(Asset.id == url))
            if asset is None or asset.workspace_id != workspace_id:
                errors.append(FieldError(f"inputs[{index}].url", f"asset {url} not found"))
            elif asset.status != "ready":
                errors.append(FieldError(f"inputs[{index}].url", f"asset {url} is {asset.status}, not ready"))
        elif not url.startswith(("https://", "http://")):
            errors.append(FieldError(f"inputs[{index}].url", "must be an http(s) URL or an asset id (asset_…)"))
    if errors:
        raise InputValidation.many(errors)


def start_action(runtime: Runtime, principal: Principal, body, *, idempotency_key: str | None) -> ActionStarted:
    try:
        spec = get_action(body.action_id)
    except NotFound:
        raise InputValidation.field("action_id", f"unknown action {body.action_id!r}; see GET /actions") from None
    params = validate_params(spec, body.params)
    inputs = [item.model_dump(exclude_none=True) for item in body.inputs]
    bound = bind_inputs(spec, inputs)
    with runtime.db.session() as session:
        projects.touch_owned(session, body.workspace_id, body.project_id, principal.workspace_id)
        _check_references(session, principal.workspace_id, inputs)
        run = runs.create_run(
            session,
            runs.NewRun(
                kind="action",
                workspace_id=body.workspace_id,
                project_id=body.project_id,
                target=spec.action_id,
                request={"params": params.model_dump(mode="json", exclude_unset=True), "bound_inputs": bound},
                quoted_cost=spec.charged_cost,
                test_mode=principal.test_mode,
            ),
            idempotency_key=idempotency_key,
            scope="runs/action",
            window_seconds=runtime.settings.idempotency_window_seconds,
        )
    runtime.executor.submit(run.id)
    return ActionStarted(run, spec)
