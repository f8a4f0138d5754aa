"""Bind a run request to an action: validate `params` against its Params model and map `inputs` to slots.

Both raise `InputValidation` with contract field paths (`params.angle`, `inputs[1].name`, `inputs`) so
the HTTP layer answers 400 before a run exists.
"""

from __future__ import annotations

import json
import math
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from stamen.actions.catalog import unwrap_optional
from stamen.actions.registry import ActionParams, ActionSpec, Slot
from stamen.errors import FieldError, InputValidation

MEDIA_TYPES = ("image", "video", "audio")


def validate_params(spec: ActionSpec, raw: Any) -> ActionParams:
    """Params as the action's model, defaults applied. Values are checked strictly, as JSON: `"2"` is not 2."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InputValidation.field("params", "must be an object")
    try:
        return spec.params.model_validate_json(
            json.dumps(_integral_floats_as_ints(raw), default=str), strict=True
        )
    except ValidationError as exc:
        raise InputValidation.many([_field_error(spec, error) for error in exc.errors()]) from None


def _integral_floats_as_ints(value: Any) -> Any:
    """`64.0` → `64`, so integer params accept what some JSON encoders write for whole numbers."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _integral_floats_as_ints(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_integral_floats_as_ints(item) for item in value]
    return value


def _field_error(spec: ActionSpec, error: ErrorDetails) -> FieldError:
    loc = [str(part) for part in error["loc"]]
    path = "params." + ".".join(loc)
    kind = error["type"]
    context = error.get("ctx") or {}
    owner = _model_at(spec.params, loc[:-1])
    if kind == "extra_forbidden":
        allowed = ", ".join(owner.model_fields) if owner else ""
        if len(loc) == 1:
            return FieldError(path, f"is not a parameter of {spec.action_id}; allowed: {allowed or 'none'}")
        return FieldError(path, f"is not a member of params.{'.'.join(loc[:-1])}; allowed: {allowed}")
    if kind == "literal_error" and owner is not None:
        annotation = unwrap_optional(owner.model_fields[loc[-1]].annotation)
        if get_origin(annotation) is Literal:
            return FieldError(path, "must be one of " + ", ".join(str(v) for v in get_args(annotation)))
    messages = {
        "missing": "is required",
        "bool_type": "must be true or false",
        "string_type": "must be a string",
        "int_type": "must be an integer",
        "int_from_float": "must be an integer",
        "int_parsing": "must be an integer",
        "float_type": "must be a number",
        "float_parsing": "must be a number",
        "finite_number": "must be a finite number",
        "model_type": "must be an object",
        "model_attributes_type": "must be an object",
        "dict_type": "must be an object",
        "greater_than_equal": f"must be at least {context.get('ge')}",
        "greater_than": f"must be greater than {context.get('gt')}",
        "less_than_equal": f"must be at most {context.get('le')}",
        "less_than": f"must be less than {context.get('lt')}",
        "multiple_of": f"must be a multiple of {context.get('multiple_of')}",
    }
    if kind in messages:
        message = messages[kind]
        if kind in ("model_type", "model_attributes_type", "dict_type"):
            nested = _model_at(spec.params, loc)
            if nested is not None:
                message += " with " + ", ".join(nested.model_fields)
        return FieldError(path, message)
    message = str(error["msg"]).removeprefix("Value error, ")
    return FieldError(path, message[:1].lower() + message[1:])


def _model_at(model: type[BaseModel], loc: list[str]) -> type[BaseModel] | None:
    """The pydantic model that owns the field at `loc` (None when the path leaves models)."""
    current: Any = model
    for part in loc:
        if (
            not (isinstance(current, type) and issubclass(current, BaseModel))
            or part not in current.model_fields
        ):
            return None
        current = unwrap_optional(current.model_fields[part].annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def slot_bounds(slot: Slot) -> tuple[int, float]:
    """(fewest, most) inputs a slot takes."""
    if isinstance(slot.multiple, dict):
        return int(slot.multiple.get("min", 0)), float(slot.multiple.get("max", math.inf))
    fewest = 0 if slot.optional else 1
    return fewest, (math.inf if slot.multiple else 1)


def bind_inputs(spec: ActionSpec, inputs: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Map request inputs to slots (actions.md §3): a named input goes to that slot; unnamed inputs fill
    slots of their type in declaration order, a multiple slot taking all remaining of its type.

    Returns every slot name, in declaration order, with its inputs (possibly empty)."""
    bound: dict[str, list[dict[str, Any]]] = {slot.name: [] for slot in spec.inputs}
    slots = {slot.name: slot for slot in spec.inputs}
    errors: list[FieldError] = []
    unnamed: list[tuple[int, dict[str, Any]]] = []
    for index, item in enumerate(inputs):
        problem = _value_problem(item)
        if problem:
            errors.append(FieldError(f"inputs[{index}].{problem[0]}", problem[1]))
            continue
        name = item.get("name")
        if name is None:
            unnamed.append((index, item))
            continue
        slot = slots.get(name)
        if slot is None:
            errors.append(
                FieldError(f"inputs[{index}].name", f"is not an input of {spec.action_id}; {_describe(spec)}")
            )
        elif slot.type != item["type"]:
            errors.append(
                FieldError(
                    f"inputs[{index}].type", f"slot {name} takes {slot.type} inputs, not {item['type']}"
                )
            )
        elif len(bound[name]) >= slot_bounds(slot)[1]:
            errors.append(FieldError(f"inputs[{index}].name", f"slot {name} takes at most {_count(slot)}"))
        else:
            bound[name].append(item)
    extra: dict[str, int] = {}
    for index, item in unnamed:
        same_type = [slot for slot in spec.inputs if slot.type == item["type"]]
        if not same_type:
            errors.append(
                FieldError(
                    f"inputs[{index}].type",
                    f"{spec.action_id} takes no {item['type']} input; {_describe(spec)}",
                )
            )
            continue
        target = next((s for s in same_type if len(bound[s.name]) < slot_bounds(s)[1]), None)
        if target is None:
            extra[item["type"]] = extra.get(item["type"], 0) + 1
        else:
            bound[target.name].append(item)
    for kind, count in extra.items():
        errors.append(FieldError("inputs", f"too many {kind} inputs ({count} left over); {_describe(spec)}"))
    for slot in spec.inputs:
        fewest = slot_bounds(slot)[0]
        if len(bound[slot.name]) < fewest:
            if fewest == 1:
                need = f"{'an' if slot.type[0] in 'aeiou' else 'a'} {slot.type} input"
            else:
                need = f"at least {fewest} {slot.type} inputs"
            errors.append(FieldError("inputs", f"{spec.action_id} needs {need} for slot {slot.name}"))
    if errors:
        raise InputValidation.many(errors)
    return bound


def _value_problem(item: dict[str, Any]) -> tuple[str, str] | None:
    kind = item.get("type")
    if kind in MEDIA_TYPES:
        if not isinstance(item.get("url"), str) or not item["url"]:
            return "url", f"is required for {kind} inputs"
    elif kind == "text":
        if not isinstance(item.get("text"), str):
            return "text", "is required for text inputs"
    else:
        return "type", "must be one of image, video, audio, text"
    return None


def _count(slot: Slot) -> str:
    most = slot_bounds(slot)[1]
    return f"{int(most)} {slot.type} input{'s' if most != 1 else ''}"


def _describe(spec: ActionSpec) -> str:
    if not spec.inputs:
        return "it has no input slots"
    parts = []
    for slot in spec.inputs:
        fewest, most = slot_bounds(slot)
        if most == math.inf:
            amount = f"{fewest}+"
        else:
            amount = str(int(most)) if fewest == most else f"{fewest}-{int(most)}"
        parts.append(f"{slot.name} ({slot.type} ×{amount})")
    return "slots: " + ", ".join(parts)
