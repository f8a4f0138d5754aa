"""The model backend interface, as small as a predictor: declare catalog entries, then `generate`.

A backend declares `ModelSpec`s (one per model id it serves) and implements `generate(request, ctx)`.
`generate` is async: long provider jobs are polled with `await asyncio.sleep(...)`, never a blocked thread.
CPU-bound local work (espeak, diffusers) goes through `await ctx_run_sync(fn)` / `asyncio.to_thread`.
Outputs are written with `ctx.save_output(...)` (bytes, a local path, or text) and copied to the BlobStore
by the worker; failures raise `stamen.errors.RunFailure(code, message)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from stamen.execution.context import RunContext

ModelType = Literal["image", "video", "audio", "text"]
ParamType = Literal["string", "string[]", "bool", "int", "int?", "seed", "float", "dict"]


@dataclass(frozen=True)
class ParamOption:
    value: str
    label: str
    description: str | None = None


@dataclass(frozen=True)
class ModelParam:
    """One entry of a model's `params[]` in `GET /models`; also the validation rule for `POST /generate`."""

    name: str
    type: ParamType
    required: bool = False
    default: Any = None
    description: str | None = None
    label: str | None = None
    min: float | None = None
    max: float | None = None
    options: tuple[ParamOption, ...] = ()
    properties: dict[str, dict[str, float]] | None = None


@dataclass(frozen=True)
class ModelSpec:
    model_id: str
    name: str
    type: ModelType
    provider: str
    capabilities: tuple[str, ...] = ()
    params: tuple[ModelParam, ...] = ()
    price: float = 0.0  # USD per run (charged_cost)
    estimated_seconds: int = 5
    beta: bool = False
    target: str | None = None  # provider-side model name (e.g. "llama3.1", "fal-ai/flux/dev")


@dataclass
class GenerationRequest:
    model: ModelSpec
    prompt: str
    params: dict[str, Any] = field(default_factory=dict)  # validated against model.params, defaults applied
    test_mode: bool = False


class ModelBackend(Protocol):
    """A source of models. `name` is stable (`simulator`, `espeak`, `openai`, `fal`, `replicate`, ...)."""

    name: str

    def models(self) -> list[ModelSpec]:
        """Catalog entries this backend serves now (may depend on configuration)."""
        ...

    async def generate(self, request: GenerationRequest, ctx: RunContext) -> None:
        """Produce outputs into `ctx`; raise RunFailure on failure; report `ctx.progress(pct)`."""
        ...
