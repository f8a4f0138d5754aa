"""The action registry: each action is declared once (id, slots, Params model, cost, implementation).

`GET /actions`, request validation, input binding, docs and the parametrised tests all derive from
these declarations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Literal

from pydantic import BaseModel, ConfigDict

from stamen.execution.context import RunContext

SlotType = Literal["image", "video", "text", "audio"]


class ActionParams(BaseModel):
    """Base for every action's params: closed (unknown keys are rejected), every field optional."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Slot:
    name: str
    type: SlotType
    multiple: bool | dict = False  # True = unbounded; {"min": .., "max": ..} = bounded
    optional: bool = False


@dataclass
class ActionSpec:
    action_id: str
    name: str
    description: str
    inputs: list[Slot]
    outputs: list[Slot]
    params: type[ActionParams]
    run: Callable[[RunContext, ActionParams], None]
    language: Literal["javascript", "python"] = "python"
    charged_cost: float = 0.0
    estimated_seconds: int | None = None
    twin_of: str | None = None  # for `-browser` ids: the legacy id whose implementation runs
    tags: list[str] = field(default_factory=list)


ACTIONS: dict[str, ActionSpec] = {}


def register(spec: ActionSpec) -> ActionSpec:
    if spec.action_id in ACTIONS:
        raise ValueError(f"action {spec.action_id} declared twice")
    ACTIONS[spec.action_id] = spec
    return spec


def action(
    action_id: str,
    *,
    name: str,
    description: str,
    inputs: list[Slot],
    outputs: list[Slot],
    params: type[ActionParams],
    language: Literal["javascript", "python"] = "python",
    estimated_seconds: int | None = None,
) -> Callable[[Callable[[RunContext, ActionParams], None]], Callable[[RunContext, ActionParams], None]]:
    """Decorator form of `register` for an implementation function `fn(ctx, params)`."""

    def wrap(fn: Callable[[RunContext, ActionParams], None]) -> Callable[[RunContext, ActionParams], None]:
        register(
            ActionSpec(
                action_id=action_id,
                name=name,
                description=description,
                inputs=inputs,
                outputs=outputs,
                params=params,
                run=fn,
                language=language,
                estimated_seconds=estimated_seconds,
            )
        )
        return fn

    return wrap
