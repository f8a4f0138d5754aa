"""The declarative technique spec: typed inputs and outputs plus a DAG of model and action nodes.

Edges are written where they land: a node's `inputs` map each input port to a reference, either
`inputs.<technique input id>` or `<node id>.<output port>`; a technique output names its source the same
way in `from`. The same shape is accepted as JSON (`POST /techniques`) and YAML (`STAMEN_TECHNIQUES_DIR`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

IoType = Literal["imageUrl", "videoUrl", "audioUrl", "text", "documentUrl"]
MediaKind = Literal["image", "video", "audio", "text", "document"]
ModelKind = Literal["image", "video", "audio", "text"]

MEDIA_BY_IO_TYPE: dict[str, str] = {
    "imageUrl": "image",
    "videoUrl": "video",
    "audioUrl": "audio",
    "text": "text",
    "documentUrl": "document",
}
IO_TYPE_BY_MEDIA = {media: io_type for io_type, media in MEDIA_BY_IO_TYPE.items()}

INPUTS_PREFIX = "inputs."
RESERVED_NODE_IDS = frozenset({"inputs"})

Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,99}$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=500)]
Reference = Annotated[str, StringConstraints(min_length=3, max_length=200)]


class Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class TechniqueInput(Closed):
    """A value the caller supplies (`TechniqueIO` in the contract)."""

    id: Identifier
    name: Text
    type: IoType
    description: str | None = None
    optional: bool = False
    allow_multiple: bool = False  # several values → the nodes fed by it run once per value
    accepts_element: bool = False
    specified_aspect_ratio: str | None = None
    specified_duration: float | None = None

    @property
    def media(self) -> str:
        return MEDIA_BY_IO_TYPE[self.type]


class TechniqueOutput(Closed):
    """A result of the run, taken from a node output port (or passed through from an input)."""

    id: Identifier
    name: Text
    type: IoType
    description: str | None = None
    source: Reference = Field(alias="from")

    @property
    def media(self) -> str:
        return MEDIA_BY_IO_TYPE[self.type]


class NodeSpec(Closed):
    """One step: an action (`action: <id>`) or a model (`model: <id>`, or `type:` for the default model)."""

    action: str | None = None
    model: str | None = None
    type: ModelKind | None = None
    prompt: str | None = None  # model nodes: a fixed prompt when no `inputs.prompt` edge is bound
    inputs: dict[str, Reference | list[Reference]] = Field(default_factory=dict)
    params: dict[str, Any] = Field(default_factory=dict)

    @property
    def is_action(self) -> bool:
        return self.action is not None

    def references(self, port: str) -> list[str]:
        bound = self.inputs.get(port)
        if bound is None:
            return []
        return [bound] if isinstance(bound, str) else list(bound)

    def describe(self) -> str:
        if self.action is not None:
            return f"action {self.action}"
        return f"model {self.model}" if self.model else f"default {self.type} model"


class TechniqueSpec(Closed):
    name: Text
    slug: Slug | None = None
    description: str | None = None
    inputs: list[TechniqueInput] = Field(default_factory=list, max_length=50)
    outputs: Annotated[list[TechniqueOutput], Field(min_length=1, max_length=50)]
    nodes: Annotated[dict[Identifier, NodeSpec], Field(min_length=1, max_length=100)]

    def input(self, input_id: str) -> TechniqueInput | None:
        return next((item for item in self.inputs if item.id == input_id), None)


@dataclass(frozen=True)
class Port:
    """A node's input or output port: a media kind, and whether it takes or yields several values."""

    name: str
    media: str
    multiple: bool = False
    optional: bool = False


@dataclass(frozen=True)
class Source:
    """A parsed reference: a technique input (`node` is None) or a node's output port."""

    node: str | None
    port: str

    @classmethod
    def parse(cls, reference: str) -> Source | None:
        if reference.startswith(INPUTS_PREFIX):
            return cls(None, reference.removeprefix(INPUTS_PREFIX))
        node, dot, port = reference.partition(".")
        if not dot or not node or not port:
            return None
        return cls(node, port)

    def __str__(self) -> str:
        return f"{INPUTS_PREFIX}{self.port}" if self.node is None else f"{self.node}.{self.port}"
