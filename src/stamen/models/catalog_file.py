"""The user's model catalog: their own model ids (or FLORA's well-known ones) mapped onto backend models.

`STAMEN_MODELS_FILE` names a TOML or YAML file with a `models` list. Each entry says which backend serves it
and the provider-side `target`; every backend reads the entries addressed to it with `entries_for(...)`:

    [[models]]
    id = "t2i-flux-2-pro"            # FLORA's id, so existing clients keep working
    backend = "fal"
    target = "fal-ai/flux-2-pro"
    price = 0.05
    param_names = { image_url = "image_urls" }   # Stamen param -> provider input name

Backends also accept short env lists (`STAMEN_FAL_MODELS="image:fal-ai/flux/schnell"`), parsed here too.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, get_args

import yaml

from stamen.models.base import ModelParam, ModelSpec, ModelType, ParamOption, ParamType

MODEL_TYPES: tuple[str, ...] = get_args(ModelType)
PARAM_TYPES: tuple[str, ...] = get_args(ParamType)
TYPE_BY_ID_PREFIX = {
    "t2i": "image",
    "i2i": "image",
    "t2v": "video",
    "i2v": "video",
    "v2v": "video",
    "r2v": "video",
    "t2a": "audio",
    "tts": "audio",
    "t2s": "audio",
    "a2a": "audio",
    "t2m": "audio",
    "t2t": "text",
    "llm": "text",
}
ENTRY_KEYS = {
    "id", "name", "type", "backend", "target", "provider", "price", "estimated_seconds", "params",
    "capabilities", "beta", "param_names", "fixed_params",
}  # fmt: skip
PARAM_KEYS = {
    "name",
    "type",
    "required",
    "default",
    "description",
    "label",
    "min",
    "max",
    "options",
    "properties",
}

DefaultParams = Mapping[str, Sequence[ModelParam]]


class CatalogError(ValueError):
    """The catalog file (or an env model list) is malformed; the message names the file and entry."""


@dataclass(frozen=True)
class CatalogEntry:
    """A model a backend serves: its public spec plus how its params reach the provider."""

    spec: ModelSpec
    backend: str
    param_names: Mapping[str, str] = field(default_factory=dict)  # Stamen param name -> provider input name
    fixed_params: Mapping[str, Any] = field(default_factory=dict)  # always sent to the provider
    declares_params: bool = True  # False: the backend fills in its default params for the type

    @property
    def target(self) -> str:
        return self.spec.target or self.spec.model_id

    def provider_inputs(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Params renamed for the provider, fixed params merged in, unset (None) values left out."""
        inputs = {
            self.param_names.get(name, name): value for name, value in params.items() if value is not None
        }
        return {**inputs, **self.fixed_params}


def infer_type(model_id: str) -> str | None:
    """FLORA ids carry their modality in a family prefix (`t2i-flux-2-pro`); a habit, not a rule."""
    prefix = model_id.split("-", 1)[0].lower()
    return TYPE_BY_ID_PREFIX.get(prefix)


def read_catalog(path: str | Path) -> list[CatalogEntry]:
    """Parse a catalog file; raise CatalogError naming what is wrong."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read the models file ({exc.strerror})") from None
    try:
        if path.suffix.lower() == ".toml":
            document: Any = tomllib.loads(text)
        else:
            document = yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise CatalogError(f"{path}: not valid {path.suffix.lstrip('.').upper() or 'YAML'}: {exc}") from None
    raw_entries = document.get("models") if isinstance(document, dict) else document
    if raw_entries is None:
        return []
    if not isinstance(raw_entries, list):
        raise CatalogError(f"{path}: `models` must be a list of tables")
    entries = [_entry(raw, f"{path.name}: models[{index}]") for index, raw in enumerate(raw_entries)]
    seen: set[str] = set()
    for entry in entries:
        if entry.spec.model_id in seen:
            raise CatalogError(f"{path.name}: model id {entry.spec.model_id!r} appears twice")
        seen.add(entry.spec.model_id)
    return entries


_cache: dict[Path, tuple[float, list[CatalogEntry]]] = {}


def load_catalog(settings_env: Mapping[str, str] = os.environ) -> list[CatalogEntry]:
    """Entries of `STAMEN_MODELS_FILE` (none when unset); re-read when the file changes."""
    raw_path = settings_env.get("STAMEN_MODELS_FILE")
    if not raw_path:
        return []
    path = Path(raw_path).expanduser()
    try:
        mtime = path.stat().st_mtime
    except OSError:
        raise CatalogError(f"STAMEN_MODELS_FILE={raw_path}: file not found") from None
    cached = _cache.get(path)
    if cached is None or cached[0] != mtime:
        cached = (mtime, read_catalog(path))
        _cache[path] = cached
    return cached[1]


def entries_for(
    backend: str,
    settings_env: Mapping[str, str] = os.environ,
    *,
    default_params: DefaultParams | None = None,
) -> list[CatalogEntry]:
    """The catalog entries addressed to `backend`, with its default params where an entry declares none."""
    found = [entry for entry in load_catalog(settings_env) if entry.backend == backend]
    return [with_default_params(entry, default_params) for entry in found]


def configured_entries(
    backend: str,
    settings_env: Mapping[str, str],
    *,
    variable: str,
    default_params: DefaultParams,
    estimated_seconds: Mapping[str, int],
) -> list[CatalogEntry]:
    """A backend's models: those its `variable` lists (e.g. `STAMEN_FAL_MODELS`), then its catalog entries."""
    listed = parse_model_list(
        settings_env.get(variable),
        backend=backend,
        variable=variable,
        default_params=default_params,
        estimated_seconds=estimated_seconds,
    )
    return listed + entries_for(backend, settings_env, default_params=default_params)


def with_default_params(entry: CatalogEntry, default_params: DefaultParams | None) -> CatalogEntry:
    if entry.declares_params or not default_params:
        return entry
    params = tuple(default_params.get(entry.spec.type, ()))
    return replace(entry, spec=replace(entry.spec, params=params), declares_params=True)


def parse_model_list(
    value: str | None,
    *,
    backend: str,
    variable: str,
    default_params: DefaultParams | None = None,
    estimated_seconds: Mapping[str, int] | None = None,
) -> list[CatalogEntry]:
    """Parse `type:target` or `type:id=target` items separated by commas (e.g. `text:llama3.1,image:dall-e-3`)."""
    entries: list[CatalogEntry] = []
    for item in (value or "").split(","):
        item = item.strip()
        if not item:
            continue
        model_type, colon, rest = item.partition(":")
        model_type = model_type.strip().lower()
        if not colon or model_type not in MODEL_TYPES or not rest.strip():
            raise CatalogError(
                f"{variable}: {item!r} must look like type:target or type:id=target, "
                f"type one of {', '.join(MODEL_TYPES)}"
            )
        model_id, equals, target = rest.partition("=")
        model_id, target = model_id.strip(), (target.strip() if equals else model_id.strip())
        spec = ModelSpec(
            model_id=model_id,
            name=target,
            type=model_type,  # type: ignore[arg-type]
            provider=backend,
            target=target,
            estimated_seconds=(estimated_seconds or {}).get(model_type, 10),
        )
        entries.append(
            with_default_params(CatalogEntry(spec, backend, declares_params=False), default_params)
        )
    return entries


def _entry(raw: Any, where: str) -> CatalogEntry:
    if not isinstance(raw, dict):
        raise CatalogError(f"{where} must be a table")
    unknown = set(raw) - ENTRY_KEYS
    if unknown:
        raise CatalogError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    model_id = _string(raw, "id", where, required=True)
    where = f"{where} ({model_id})"
    backend = _string(raw, "backend", where, required=True)
    model_type = raw.get("type") or infer_type(model_id)
    if model_type not in MODEL_TYPES:
        raise CatalogError(f"{where}: type must be one of {', '.join(MODEL_TYPES)}")
    price = _number(raw, "price", where, 0.0)
    estimated_seconds = _number(raw, "estimated_seconds", where, 10)
    capabilities = raw.get("capabilities", [])
    if not isinstance(capabilities, list) or not all(isinstance(c, str) for c in capabilities):
        raise CatalogError(f"{where}: capabilities must be a list of strings")
    param_names = raw.get("param_names", {})
    if not isinstance(param_names, dict) or not all(isinstance(v, str) for v in param_names.values()):
        raise CatalogError(f"{where}: param_names must map param names to provider input names")
    fixed_params = raw.get("fixed_params", {})
    if not isinstance(fixed_params, dict):
        raise CatalogError(f"{where}: fixed_params must be a table")
    raw_params = raw.get("params")
    if raw_params is not None and not isinstance(raw_params, list):
        raise CatalogError(f"{where}: params must be a list of tables")
    params = tuple(_param(p, f"{where}.params[{i}]") for i, p in enumerate(raw_params or []))
    spec = ModelSpec(
        model_id=model_id,
        name=_string(raw, "name", where) or model_id,
        type=model_type,
        provider=_string(raw, "provider", where) or backend,
        capabilities=tuple(capabilities),
        params=params,
        price=price,
        estimated_seconds=int(estimated_seconds),
        beta=bool(raw.get("beta", False)),
        target=_string(raw, "target", where) or model_id,
    )
    return CatalogEntry(
        spec, backend, dict(param_names), dict(fixed_params), declares_params=raw_params is not None
    )


def _param(raw: Any, where: str) -> ModelParam:
    if not isinstance(raw, dict):
        raise CatalogError(f"{where} must be a table")
    unknown = set(raw) - PARAM_KEYS
    if unknown:
        raise CatalogError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    name = _string(raw, "name", where, required=True)
    param_type = raw.get("type", "string")
    if param_type not in PARAM_TYPES:
        raise CatalogError(f"{where} ({name}): type must be one of {', '.join(PARAM_TYPES)}")
    options = []
    for option in raw.get("options", []):
        if isinstance(option, str | int | float):
            options.append(ParamOption(value=str(option), label=str(option)))
        elif isinstance(option, dict) and "value" in option:
            options.append(
                ParamOption(
                    value=str(option["value"]),
                    label=str(option.get("label", option["value"])),
                    description=option.get("description"),
                )
            )
        else:
            raise CatalogError(f"{where} ({name}): each option is a value or a table with `value`")
    return ModelParam(
        name=name,
        type=param_type,
        required=bool(raw.get("required", False)),
        default=raw.get("default"),
        description=raw.get("description"),
        label=raw.get("label"),
        min=_number(raw, "min", where, None),
        max=_number(raw, "max", where, None),
        options=tuple(options),
        properties=raw.get("properties"),
    )


def _string(raw: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> str | None:
    value = raw.get(key)
    if value is None:
        if required:
            raise CatalogError(f"{where}: `{key}` is required")
        return None
    if not isinstance(value, str) or not value.strip():
        raise CatalogError(f"{where}: `{key}` must be a non-empty string")
    return value.strip()


def _number(raw: Mapping[str, Any], key: str, where: str, default: Any) -> Any:
    value = raw.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CatalogError(f"{where}: `{key}` must be a number")
    if value < 0 and key in ("price", "estimated_seconds"):
        raise CatalogError(f"{where}: `{key}` must be a number ≥ 0")
    return value
