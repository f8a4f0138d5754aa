"""The action registry: each action is declared once (id, slots, Params model, cost, implementation).

`GET /actions`, request validation, input binding, docs and the parametrised tests all derive from
these declarations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypeVar

from PIL import ImageColor
from pydantic import AfterValidator, BaseModel, ConfigDict

from stamen.errors import NotFound
from stamen.execution.context import RunContext

SlotType = Literal["image", "video", "text", "audio"]


def check_color(value: str) -> str:
    try:
        ImageColor.getrgb(value)
    except ValueError:
        raise ValueError("must be a colour such as #ff0000, #ff000080 or a CSS colour name") from None
    return value


Color = Annotated[str, AfterValidator(check_color)]
"""A colour string (`#rrggbb`, `#rrggbbaa`, CSS name); shown as a `color` control in the catalog."""


class Point2D(BaseModel):
    """A `point2d` param `{x, y}`."""

    model_config = ConfigDict(extra="forbid")
    x: float
    y: float


class Point3D(BaseModel):
    """A `point3d` param `{x, y, z}`."""

    model_config = ConfigDict(extra="forbid")
    x: float
    y: float
    z: float


class Interval(BaseModel):
    """An `interval` param `{min, max}`."""

    model_config = ConfigDict(extra="forbid")
    min: float
    max: float


class ActionParams(BaseModel):
    """Base for every action's params: closed (unknown keys are rejected), every field optional."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Slot:
    name: str
    type: SlotType
    multiple: bool | dict = False  # True = unbounded; {"min": .., "max": ..} = bounded
    optional: bool = False


IMAGE_IN = [Slot("image", "image")]
IMAGE_OUT = [Slot("image", "image")]
VIDEO_IN = [Slot("video", "video")]
VIDEO_OUT = [Slot("video", "video")]


@dataclass
class ActionSpec:
    action_id: str
    name: str
    description: str
    inputs: list[Slot]
    outputs: list[Slot]
    params: type[ActionParams]
    run: Callable[[RunContext, Any], None]  # called with an instance of `params`
    language: Literal["javascript", "python"] = "python"
    charged_cost: float = 0.0
    estimated_seconds: int | None = None
    twin_of: str | None = None  # for `-browser` ids: the legacy id whose implementation runs
    tags: list[str] = field(default_factory=list)


ACTIONS: dict[str, ActionSpec] = {}
Implementation = TypeVar("Implementation", bound=Callable[..., None])


def get_action(action_id: str) -> ActionSpec:
    """The declaration for a raw slug; import `stamen.actions` first so every module has registered."""
    spec = ACTIONS.get(action_id)
    if spec is None:
        raise NotFound(f"action {action_id} not found")
    return spec


def all_actions() -> list[ActionSpec]:
    """Every declared action, ordered by id (legacy and `-browser` twins sit side by side)."""
    return [ACTIONS[action_id] for action_id in sorted(ACTIONS)]


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
    charged_cost: float = 0.0,
    estimated_seconds: int | None = None,
    twin_of: str | None = None,
    tags: list[str] | None = None,
) -> Callable[[Implementation], Implementation]:
    """Decorator form of `register` for an implementation function `fn(ctx, params)`.

    Stack two decorators to declare a `-browser` twin (own id and Params, `twin_of=`) on the same function.
    """

    def wrap(fn: Implementation) -> Implementation:
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
                charged_cost=charged_cost,
                estimated_seconds=estimated_seconds,
                twin_of=twin_of,
                tags=list(tags or []),
            )
        )
        return fn

    return wrap
