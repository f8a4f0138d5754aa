"""Techniques from files: the built-ins and YAML files in STAMEN_TECHNIQUES_DIR, validated like API specs."""

from __future__ import annotations

import pytest

from stamen.config import Settings
from stamen.models.registry import build_registry
from stamen.techniques.catalog import TechniqueFileError, load_catalog

MODELS = build_registry()

GREETING = """
name: Greeting card
inputs:
  - {id: words, name: Words, type: text}
outputs:
  - {id: card, name: Card, type: imageUrl, from: card.image}
nodes:
  card:
    action: generate-text-image
    inputs: {text: inputs.words}
"""


def test_builtins_are_valid_and_have_stable_ids(monkeypatch):
    monkeypatch.delenv("STAMEN_TECHNIQUES_DIR", raising=False)
    catalog = load_catalog(Settings(), MODELS, strict=True)
    ids = {t.slug: t.technique_id for t in catalog.techniques}
    assert ids["narrated-title"] == "tech_narrated_title" and ids["boomerang-clip"] == "tech_boomerang_clip"
    assert catalog.find("tech_prompt_to_loop") is catalog.find("prompt-to-loop")
    assert all(t.origin == "builtin" for t in catalog.techniques)


def test_directory_files_load_override_builtins_and_bad_files_are_skipped(tmp_path, monkeypatch):
    (tmp_path / "greeting-card.yaml").write_text(GREETING)
    (tmp_path / "mine.yaml").write_text(GREETING.replace("Greeting card", "Mine") + "slug: boomerang-clip\n")
    (tmp_path / "broken.yaml").write_text(GREETING.replace("generate-text-image", "no-such-action"))
    monkeypatch.setenv("STAMEN_TECHNIQUES_DIR", str(tmp_path))
    catalog = load_catalog(Settings(), MODELS)
    greeting = catalog.find("greeting-card")
    assert greeting is not None and greeting.technique_id == "tech_greeting_card" and greeting.origin == "directory"
    assert catalog.find("boomerang-clip").spec.name == "Mine"
    assert catalog.find("broken") is None
    with pytest.raises(TechniqueFileError, match="nodes.card.action"):
        load_catalog(Settings(), MODELS, strict=True)
