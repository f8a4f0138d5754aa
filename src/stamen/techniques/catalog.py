"""Techniques from files: the built-ins shipped in `techniques/builtin/` and YAML files in
`STAMEN_TECHNIQUES_DIR`. They are read-only, visible to every workspace, and validated like API specs.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

from stamen.errors import InputValidation
from stamen.techniques.spec import TechniqueSpec
from stamen.techniques.validation import validate_spec

if TYPE_CHECKING:
    from stamen.config import Settings
    from stamen.models.registry import ModelRegistry

log = logging.getLogger(__name__)

BUILTIN_DIR = Path(__file__).parent / "builtin"
Origin = Literal["builtin", "directory", "workspace"]


@dataclass(frozen=True)
class StoredTechnique:
    """A technique whatever its origin, with its public id and slug."""

    technique_id: str
    slug: str
    spec: TechniqueSpec
    origin: Origin
    workspace_id: str | None = None  # None: a file technique, visible to every workspace


class TechniqueFileError(Exception):
    def __init__(self, path: Path, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path


def techniques_dir(settings: Settings) -> Path | None:
    """`STAMEN_TECHNIQUES_DIR` (read from settings when it declares the knob, else the environment)."""
    configured = getattr(settings, "techniques_dir", None) or os.environ.get("STAMEN_TECHNIQUES_DIR")
    return Path(configured) if configured else None


def file_technique_id(slug: str) -> str:
    return "tech_" + slug.replace("-", "_")


def load_file(path: Path, models: ModelRegistry, origin: Origin) -> StoredTechnique:
    """One YAML (or JSON) file: the spec, plus an optional top-level `id` (`tech_…`)."""
    try:
        raw: Any = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise TechniqueFileError(path, f"cannot be read as YAML: {error}") from None
    if not isinstance(raw, dict):
        raise TechniqueFileError(path, "must hold a mapping (name, inputs, outputs, nodes)")
    technique_id = raw.pop("id", None)
    try:
        spec = validate_spec(raw, models)
    except InputValidation as error:
        raise TechniqueFileError(path, error.message) from None
    slug = spec.slug or path.stem.lower().replace("_", "-")
    if technique_id is not None and (not isinstance(technique_id, str) or not technique_id.startswith("tech_")):
        raise TechniqueFileError(path, "id must be a string starting with 'tech_'")
    return StoredTechnique(technique_id or file_technique_id(slug), slug, spec, origin)


def load_folder(folder: Path, models: ModelRegistry, origin: Origin, *, strict: bool) -> list[StoredTechnique]:
    found: list[StoredTechnique] = []
    if not folder.is_dir():
        if strict:
            raise TechniqueFileError(folder, "is not a directory")
        log.error("techniques directory %s does not exist; no techniques loaded from it", folder)
        return found
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml"), *folder.glob("*.json")]):
        try:
            found.append(load_file(path, models, origin))
        except TechniqueFileError as error:
            if strict:
                raise
            log.error("skipping technique file %s", error)
    return found


class FileCatalog:
    """Built-ins first, then the directory; a directory file with a built-in's slug replaces it."""

    def __init__(self, techniques: list[StoredTechnique]):
        by_slug: dict[str, StoredTechnique] = {}
        for technique in techniques:
            if technique.slug in by_slug and technique.origin == by_slug[technique.slug].origin:
                log.warning("two technique files declare slug %s; keeping the first", technique.slug)
                continue
            by_slug[technique.slug] = technique
        self.techniques = sorted(by_slug.values(), key=lambda t: t.slug)
        self._by_id = {t.technique_id: t for t in self.techniques}
        self._by_slug = by_slug

    def find(self, id_or_slug: str) -> StoredTechnique | None:
        return self._by_id.get(id_or_slug) or self._by_slug.get(id_or_slug)


def load_catalog(settings: Settings, models: ModelRegistry, *, strict: bool = False) -> FileCatalog:
    techniques = load_folder(BUILTIN_DIR, models, "builtin", strict=True)
    folder = techniques_dir(settings)
    if folder is not None:
        techniques += load_folder(folder, models, "directory", strict=strict)
    return FileCatalog(techniques)


_catalogs: dict[tuple[str, int], FileCatalog] = {}
_lock = threading.Lock()


def file_catalog(settings: Settings, models: ModelRegistry) -> FileCatalog:
    """Loaded once per process (directory + model registry); call at start-up to load eagerly."""
    key = (str(techniques_dir(settings)), id(models))
    with _lock:
        if key not in _catalogs:
            _catalogs[key] = load_catalog(settings, models)
            log.info("loaded %d file techniques", len(_catalogs[key].techniques))
        return _catalogs[key]
