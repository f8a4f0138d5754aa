"""GET /models: the catalog of every configured backend (plus the simulator's for test keys)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Literal

from fastapi import APIRouter

from stamen.api.deps import PrincipalDep, RuntimeDep
from stamen.models.base import ModelParam, ModelSpec

router = APIRouter()


def param_view(param: ModelParam) -> dict:
    view: dict = {"name": param.name, "required": param.required, "type": param.type}
    for key in ("default", "description", "label", "min", "max", "properties"):
        value = getattr(param, key)
        if value is not None:
            view[key] = value
    if param.options:
        view["options"] = [{k: v for k, v in asdict(o).items() if v is not None} for o in param.options]
    return view


def model_view(spec: ModelSpec, *, test_mode: bool) -> dict:
    view = {
        "model_id": spec.model_id,
        "name": spec.name,
        "provider": spec.provider,
        "type": spec.type,
        "capabilities": list(spec.capabilities),
        "estimated_credits": 0 if test_mode else round(spec.price * 1000),
        "estimated_seconds": spec.estimated_seconds,
        "params": [param_view(p) for p in spec.params],
    }
    if spec.beta:
        view["beta"] = True
    return view


@router.get("/models")
def list_models(
    runtime: RuntimeDep, principal: PrincipalDep, type: Literal["image", "video", "audio", "text"] | None = None
):
    specs = runtime.models.catalog(test_mode=principal.test_mode, type=type)
    return {"models": [model_view(s, test_mode=principal.test_mode) for s in specs]}
