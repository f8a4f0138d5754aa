"""Starting a technique run: bind the caller's inputs (array or map form), resolve models, quote, enqueue.

The run stores a snapshot of the spec (default models resolved, params validated), so editing the
technique later never changes a run that already exists, and any worker can execute it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stamen.actions import ACTIONS
from stamen.errors import FieldError, InputValidation
from stamen.models.params import validate_params as validate_model_params
from stamen.services import projects, runs, webhooks
from stamen.services.keys import Principal
from stamen.services.techniques import find_technique
from stamen.store.models import Asset, Run, Workspace
from stamen.techniques.catalog import StoredTechnique
from stamen.techniques.spec import Source, TechniqueSpec
from stamen.techniques.validation import execution_order, model_for, needed_nodes, node_ports

if TYPE_CHECKING:
    from stamen.runtime import Runtime

Bound = dict[str, list[dict[str, Any]]]  # input id -> items ({type, url} or {type: text, text})
Fields = dict[tuple[str, int], str]  # (input id, position) -> the request field that supplied it
Binder = Callable[[TechniqueSpec], tuple[Bound, Fields]]


@dataclass
class TechniqueStarted:
    run: Run
    technique: StoredTechnique
    estimated_seconds: int | None


def _item(media: str, value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, str) or not value:
        raise InputValidation.field(field, "must be a non-empty string")
    if media == "text":
        return {"type": "text", "text": value}
    if not value.startswith(("https://", "http://", "asset_")):
        raise InputValidation.field(field, f"must be an http(s) URL or an asset id (asset_…) for a {media} input")
    return {"type": media, "url": value}


def _require_all(spec: TechniqueSpec, bound: dict[str, list], field_for: Callable[[str], str]) -> list[FieldError]:
    return [
        FieldError(field_for(item.id), f"Required: the technique input {item.id!r} ({item.type}) has no value")
        for item in spec.inputs
        if not item.optional and not bound.get(item.id)
    ]


def nested_binder(items: list[dict[str, Any]]) -> Binder:
    """`[{id, type, value}]` (POST /techniques/{id}/runs); a repeated id fills an `allow_multiple` input."""

    def bind(spec: TechniqueSpec) -> tuple[Bound, Fields]:
        bound: Bound = {}
        fields: Fields = {}
        errors: list[FieldError] = []
        for index, item in enumerate(items):
            declared = spec.input(item["id"])
            if declared is None:
                names = ", ".join(i.id for i in spec.inputs) or "none"
                errors.append(FieldError(f"inputs[{index}].id", f"is not an input of this technique; inputs: {names}"))
            elif item["type"] != declared.type:
                errors.append(FieldError(f"inputs[{index}].type", f"input {declared.id} takes {declared.type}"))
            elif bound.get(declared.id) and not declared.allow_multiple:
                errors.append(FieldError(f"inputs[{index}].id", f"input {declared.id} takes one value"))
            else:
                try:
                    values = bound.setdefault(declared.id, [])
                    values.append(_item(declared.media, item["value"], f"inputs[{index}].value"))
                    fields[declared.id, len(values) - 1] = f"inputs[{index}].value"
                except InputValidation as error:
                    errors += error.fields
        errors += _require_all(spec, bound, lambda _: "inputs")
        if errors:
            raise InputValidation.many(errors)
        return bound, fields

    return bind


def map_binder(inputs: dict[str, Any]) -> Binder:
    """`{ <input id>: value | [values] }` (POST /runs/technique)."""

    def bind(spec: TechniqueSpec) -> tuple[Bound, Fields]:
        bound: Bound = {}
        fields: Fields = {}
        errors: list[FieldError] = []
        for key, value in inputs.items():
            declared = spec.input(key)
            if declared is None:
                names = ", ".join(i.id for i in spec.inputs) or "none"
                errors.append(FieldError(f"inputs.{key}", f"is not an input of this technique; inputs: {names}"))
                continue
            listed = isinstance(value, list) and declared.allow_multiple
            values = value if listed else [value]
            if not values:
                errors.append(FieldError(f"inputs.{key}", "must hold at least one value"))
            for position, single in enumerate(values):
                field = f"inputs.{key}[{position}]" if listed else f"inputs.{key}"
                try:
                    bound.setdefault(key, []).append(_item(declared.media, single, field))
                    fields[key, position] = field
                except InputValidation as error:
                    errors += error.fields
        errors += _require_all(spec, bound, lambda input_id: f"inputs.{input_id}")
        if errors:
            raise InputValidation.many(errors)
        return bound, fields

    return bind


def _check_assets(session: Session, workspace_id: str, bound: Bound, fields: Fields) -> None:
    errors = []
    for input_id, items in bound.items():
        for position, item in enumerate(items):
            url = item.get("url") or ""
            if not url.startswith("asset_"):
                continue
            field = fields[input_id, position]
            asset = session.scalar(select(Asset).where(Asset.id == url))
            if asset is None or asset.workspace_id != workspace_id:
                errors.append(FieldError(field, f"asset {url} not found"))
            elif asset.status != "ready":
                errors.append(FieldError(field, f"asset {url} is {asset.status}, not ready"))
    if errors:
        raise InputValidation.many(errors)


@dataclass
class Plan:
    spec: dict[str, Any]  # snapshot with default models resolved and model params validated
    prices: dict[str, float]
    quote: float
    estimated_seconds: int


def plan_run(runtime: Runtime, spec: TechniqueSpec, bound: dict[str, list], *, test_mode: bool) -> Plan:
    """Resolve each model node for this caller; quote = Σ price × fan-out width (actions are free)."""
    snapshot = spec.model_dump(mode="json", by_alias=True, exclude_none=True)
    prices: dict[str, float] = {}
    seconds: dict[str, float] = {}
    widths: dict[str, int] = {}
    errors: list[FieldError] = []
    for node_id in execution_order(spec, needed_nodes(spec)):
        node = spec.nodes[node_id]
        inputs, _ = node_ports(node, None) if node.is_action else ({}, {})
        width = 1
        for port, reference in ((p, r) for p in node.inputs for r in node.references(p)):
            source = Source.parse(reference)
            if source is None or (node.is_action and inputs[port].multiple):
                continue
            if source.node is None:
                declared = spec.input(source.port)
                width = max(width, len(bound.get(source.port, [])) if declared and declared.allow_multiple else 1)
            else:
                width = max(width, widths.get(source.node, 1))
        widths[node_id] = width
        upstream = [seconds[s.node] for r in node.inputs for ref in node.references(r)
                    if (s := Source.parse(ref)) is not None and s.node in seconds]
        if node.is_action:
            prices[node_id] = ACTIONS[node.action].charged_cost  # type: ignore[index]
            own = ACTIONS[node.action].estimated_seconds or 2  # type: ignore[index]
        else:
            model = model_for(node, runtime.models)
            kind = node.type or (model.type if model is not None else "")
            try:
                resolved = runtime.models.resolve(node.model, kind, test_mode=test_mode)
            except InputValidation as error:
                message = error.fields[0].message if error.fields else error.message
                errors.append(FieldError(f"nodes.{node_id}.{'model' if node.model else 'type'}", message))
                continue
            literal = {k: v for k, v in node.params.items() if k not in node.inputs}
            try:
                params = validate_model_params(resolved.spec.params, literal)
            except InputValidation as error:
                errors += [FieldError(f"nodes.{node_id}.{e.field}", e.message) for e in error.fields]
                continue
            snapshot["nodes"][node_id].update(model=resolved.spec.model_id, type=resolved.spec.type, params=params)
            prices[node_id] = resolved.spec.price
            own = resolved.spec.estimated_seconds
        seconds[node_id] = max(upstream, default=0) + own
    if errors:
        raise InputValidation.many(errors)
    quote = round(sum(prices[n] * widths[n] for n in prices), 6)
    return Plan(snapshot, prices, quote, int(max(seconds.values(), default=0)))


def _default_project(session: Session, workspace_id: str) -> str:
    workspace = session.get(Workspace, workspace_id)
    assert workspace is not None
    if workspace.default_project_id is None:
        workspace.default_project_id = projects.create_project(session, workspace_id, "Default project").id
    return workspace.default_project_id


def start_technique_run(
    runtime: Runtime,
    principal: Principal,
    reference: str,
    bind: Binder,
    *,
    allow_slug: bool,
    workspace_id: str | None = None,
    callback_url: str | None = None,
    idempotency_key: str | None,
    scope: str | None = None,
) -> TechniqueStarted:
    """Validate and enqueue; `scope` defaults to the nested route's (per technique id, slug or not)."""
    if callback_url is not None:
        allow_private = runtime.settings.webhook_allow_private
        callback_url = webhooks.validate_callback_url(callback_url, allow_private=allow_private)
    with runtime.db.session() as session:
        if workspace_id is not None:
            projects.require_workspace(session, workspace_id, principal.workspace_id)
        technique = find_technique(session, runtime, principal.workspace_id, reference, allow_slug=allow_slug)
        bound, fields = bind(technique.spec)
        _check_assets(session, principal.workspace_id, bound, fields)
        plan = plan_run(runtime, technique.spec, bound, test_mode=principal.test_mode)
        project_id = _default_project(session, principal.workspace_id)
        run = runs.create_run(
            session,
            runs.NewRun(
                kind="technique", workspace_id=principal.workspace_id, project_id=project_id,
                target=technique.technique_id,
                request={
                    "technique": {"technique_id": technique.technique_id, "name": technique.spec.name},
                    "spec": plan.spec, "prices": plan.prices, "inputs": bound,
                },
                quoted_cost=plan.quote, test_mode=principal.test_mode, callback_url=callback_url,
            ),
            idempotency_key=idempotency_key, scope=scope or f"techniques/{technique.technique_id}/runs",
            window_seconds=runtime.settings.idempotency_window_seconds,
        )
        projects.touch(session, project_id)
    runtime.executor.submit(run.id)
    return TechniqueStarted(run, technique, plan.estimated_seconds)


def technique_of(run: Run) -> dict[str, str]:
    """`{name, technique_id}` as the run was started."""
    return dict(run.request.get("technique") or {"technique_id": run.target, "name": run.target})
