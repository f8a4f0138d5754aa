"""Validate `POST /generate` params against a model's declared `ModelParam`s, applying defaults."""

from __future__ import annotations

from typing import Any

from stamen.errors import FieldError, InputValidation
from stamen.models.base import ModelParam


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check(param: ModelParam, value: Any) -> str | None:
    kind = param.type
    if kind == "int?" and value is None:
        return None
    if kind in ("int", "int?", "seed") and not _is_int(value):
        return "must be an integer"
    if kind == "float" and not _is_number(value):
        return "must be a number"
    if kind == "bool" and not isinstance(value, bool):
        return "must be true or false"
    if kind == "string" and not isinstance(value, str):
        return "must be a string"
    if kind == "string[]" and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        return "must be an array of strings"
    if kind == "dict":
        if not isinstance(value, dict):
            return "must be an object"
        for name, member in value.items():
            bounds = (param.properties or {}).get(name)
            if bounds is None:
                return f"has no member {name!r}; allowed: {', '.join(param.properties or {})}"
            if not _is_number(member) or not bounds["min"] <= member <= bounds["max"]:
                return f"member {name!r} must be a number between {bounds['min']} and {bounds['max']}"
    if _is_number(value) and kind in ("int", "int?", "seed", "float"):
        if param.min is not None and value < param.min:
            return f"must be at least {param.min:g}"
        if param.max is not None and value > param.max:
            return f"must be at most {param.max:g}"
    if param.options:
        allowed = [o.value for o in param.options]
        if value not in allowed:
            return f"must be one of {', '.join(allowed)}"
    return None


def validate_params(params: list[ModelParam] | tuple[ModelParam, ...], raw: dict[str, Any] | None) -> dict[str, Any]:
    raw = raw or {}
    declared = {p.name: p for p in params}
    errors: list[FieldError] = []
    for name in raw:
        if name not in declared:
            allowed = ", ".join(declared) or "none"
            errors.append(FieldError(f"params.{name}", f"is not a parameter of this model; allowed: {allowed}"))
    result: dict[str, Any] = {}
    for name, param in declared.items():
        if name in raw:
            problem = _check(param, raw[name])
            if problem:
                errors.append(FieldError(f"params.{name}", problem))
            else:
                result[name] = raw[name]
        elif param.required:
            errors.append(FieldError(f"params.{name}", "Required"))
        elif param.default is not None:
            result[name] = param.default
    if errors:
        raise InputValidation.many(errors)
    return result
