"""Derive the `GET /actions` ActionEntry (actions.md §2) from an action's declaration.

Nothing here knows a particular action: slots come from the `Slot` list, params from the pydantic
Params model (type → UI control, Field title/description/default/bounds → label/tooltip/default/range).
"""

from __future__ import annotations

import types
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from stamen.actions.registry import ActionSpec, Interval, Point2D, Point3D, Slot, check_color

COLOR_NAMES = {"background", "bg_color", "pad_color"}
MODEL_CONTROLS: tuple[tuple[type[BaseModel], str], ...] = (
    (Point3D, "point3d"),
    (Point2D, "point2d"),
    (Interval, "interval"),
)


def catalog_entry(spec: ActionSpec) -> dict[str, Any]:
    """The ActionEntry for one action; every key of §2 is present."""
    return {
        "action_id": spec.action_id,
        "name": spec.name,
        "description": spec.description,
        "language": spec.language,
        "charged_cost": int(spec.charged_cost)
        if float(spec.charged_cost).is_integer()
        else spec.charged_cost,
        "inputs": [slot_entry(slot) for slot in spec.inputs],
        "outputs": [slot_entry(slot) for slot in spec.outputs],
        "params": [param_entry(key, info) for key, info in spec.params.model_fields.items()],
    }


def slot_entry(slot: Slot) -> dict[str, Any]:
    """A Slot; `dynamic` mirrors `multiple`, `optional` only for single slots (object form uses `min`)."""
    entry: dict[str, Any] = {"name": slot.name, "type": slot.type}
    if slot.multiple:
        multiple = dict(slot.multiple) if isinstance(slot.multiple, dict) else True
        entry["multiple"] = multiple
        entry["dynamic"] = True
        if slot.optional and multiple is True:
            entry["optional"] = True
    elif slot.optional:
        entry["optional"] = True
    return entry


def param_entry(key: str, info: FieldInfo) -> dict[str, Any]:
    """One Param of §2 for a Params field."""
    annotation = unwrap_optional(info.annotation)
    control = control_type(key, annotation, info)
    entry: dict[str, Any] = {"key": key, "type": control, "label": info.title or humanize(key)}
    if info.description:
        entry["info_tooltip"] = info.description
    default = info.get_default(call_default_factory=True)
    if isinstance(default, BaseModel):
        default = default.model_dump()
    if default is not None:
        entry["default_value"] = default
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    if control == "select":
        value_labels: dict = extra.get("value_labels") or {}  # type: ignore[assignment]
        entry["available_values"] = [
            {"value": value, "label": value_labels.get(value, humanize(str(value)))}
            for value in get_args(annotation)
        ]
    if control == "number":
        entry.update(number_bounds(annotation, info, extra))
    return entry


def control_type(key: str, annotation: Any, info: FieldInfo) -> str:
    """The §2 mapping: Literal → select, bool → boolean, int/float → number, point/interval models,
    colour-named (or `Color`-typed) strings → color, other strings → text."""
    if get_origin(annotation) is Literal:
        return "select"
    if annotation is bool:
        return "boolean"
    if annotation in (int, float):
        return "number"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for model, control in MODEL_CONTROLS:
            if issubclass(annotation, model):
                return control
    if annotation is str:
        return "color" if is_color_field(key, info) else "text"
    raise TypeError(f"param {key}: no catalog control for type {annotation!r}")


def is_color_field(key: str, info: FieldInfo) -> bool:
    if "color" in key or key in COLOR_NAMES or key.endswith("_bg"):
        return True
    return any(getattr(m, "func", None) is check_color for m in info.metadata)


def number_bounds(annotation: Any, info: FieldInfo, extra: dict) -> dict[str, Any]:
    bounds: dict[str, Any] = {}
    for meta in info.metadata:
        if isinstance(meta, annotated_types.Ge):
            bounds["min_number_value"] = meta.ge
        elif isinstance(meta, annotated_types.Gt):
            bounds["min_number_value"] = meta.gt
        elif isinstance(meta, annotated_types.Le):
            bounds["max_number_value"] = meta.le
        elif isinstance(meta, annotated_types.Lt):
            bounds["max_number_value"] = meta.lt
        elif isinstance(meta, annotated_types.MultipleOf):
            bounds["number_step"] = meta.multiple_of
    if "step" in extra:
        bounds["number_step"] = extra["step"]
    elif "number_step" not in bounds and annotation is int:
        bounds["number_step"] = 1
    return bounds


def unwrap_optional(annotation: Any) -> Any:
    """`X | None` → `X`; anything else unchanged."""
    if get_origin(annotation) in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return members[0]
    return annotation


def humanize(text: str) -> str:
    """`split_mode` → "Split Mode", `charCount` → "Char Count", `top-left` → "Top Left"."""
    spaced = "".join(
        f" {c}" if c.isupper() and i and text[i - 1].islower() else c for i, c in enumerate(text)
    )
    words = spaced.replace("_", " ").replace("-", " ").split()
    return " ".join(w[:1].upper() + w[1:] for w in words) or text
