"""The model catalog: every enabled backend's `ModelSpec`s under one id space.

Live keys see and run only real backends; test keys (`sk_test_…`) see the simulator's models as well
and run every model through the simulator, so clients can integrate offline at no cost.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, replace

from stamen.errors import InputValidation
from stamen.models.base import ModelBackend, ModelSpec

log = logging.getLogger(__name__)

# Optional backends: module name -> loader returning a backend or None when not configured.
OPTIONAL_BACKENDS = ("openai_compat", "fal", "replicate", "diffusers_local")


@dataclass(frozen=True)
class ResolvedModel:
    spec: ModelSpec
    backend: ModelBackend


class ModelRegistry:
    def __init__(self, backends: list[ModelBackend], simulator: ModelBackend):
        self.simulator = simulator
        self._live: dict[str, ResolvedModel] = {}
        for backend in backends:
            for spec in backend.models():
                if spec.model_id in self._live:
                    log.warning("model id %s is served by two backends; keeping the first", spec.model_id)
                    continue
                self._live[spec.model_id] = ResolvedModel(spec, backend)
        self._simulated = {s.model_id: ResolvedModel(s, simulator) for s in simulator.models()}

    def catalog(self, *, test_mode: bool, type: str | None = None) -> list[ModelSpec]:
        specs = [r.spec for r in self._live.values()]
        if test_mode:
            specs += [r.spec for r in self._simulated.values() if r.spec.model_id not in self._live]
        return [s for s in specs if type is None or s.type == type]

    def resolve(self, model_id: str | None, type: str, *, test_mode: bool) -> ResolvedModel:
        """The model to run (defaulted per type), its backend (the simulator in test mode)."""
        candidates = self.catalog(test_mode=test_mode, type=type)
        if model_id is None:
            if not candidates:
                available = ", ".join(s.model_id for s in self.catalog(test_mode=test_mode)) or "none"
                raise InputValidation.field(
                    "type",
                    f"no {type} model is configured on this server; available models: {available}",
                )
            spec = candidates[0]
        else:
            found = self._live.get(model_id) or (self._simulated.get(model_id) if test_mode else None)
            if found is None or found.spec.type != type:
                names = ", ".join(s.model_id for s in candidates) or "none"
                what = "unknown model" if found is None else f"model {model_id} is not of type {type}"
                raise InputValidation.field("model", f"{what}; available {type} models: {names}")
            spec = found.spec
        if test_mode:
            # Test keys never reach a real backend and are never charged.
            return ResolvedModel(replace(spec, price=0.0), self.simulator)
        return self._live[spec.model_id]

    def get(self, model_id: str, *, test_mode: bool) -> ResolvedModel | None:
        found = self._live.get(model_id) or self._simulated.get(model_id)
        if found is None:
            return None
        return ResolvedModel(replace(found.spec, price=0.0), self.simulator) if test_mode else found


def load_backends() -> list[ModelBackend]:
    """Built-in backends plus each optional backend that its environment configures."""
    from stamen.models import espeak

    backends: list[ModelBackend] = [espeak.EspeakBackend()]
    for name in OPTIONAL_BACKENDS:
        try:
            module = importlib.import_module(f"stamen.models.{name}")
        except ImportError as error:
            log.debug("backend %s unavailable: %s", name, error)
            continue
        backend = module.load()
        if backend is not None:
            backends.append(backend)
    return backends


def build_registry() -> ModelRegistry:
    from stamen.models import simulator

    return ModelRegistry(load_backends(), simulator.SimulatorBackend())
