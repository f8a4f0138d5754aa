"""The user's models file (TOML/YAML) and the short env model lists."""

from __future__ import annotations

import os

import pytest

from stamen.models import catalog_file
from stamen.models.base import ModelParam
from stamen.models.catalog_file import CatalogError

TOML_CATALOG = """
[[models]]
id = "t2i-flux-2-pro"
name = "FLUX.2 [pro]"
backend = "fal"
target = "fal-ai/flux-2-pro"
price = 0.05
estimated_seconds = 12
capabilities = ["text-to-image"]

[[models.params]]
name = "aspect_ratio"
type = "string"
default = "1:1"
options = ["1:1", { value = "16:9", label = "Wide" }]

[[models.params]]
name = "seed"
type = "seed"

[[models]]
id = "house-voice"
type = "audio"
backend = "openai"
target = "tts-1"
"""

YAML_CATALOG = """
models:
  - id: v2v-seedance-2-5
    backend: replicate
    target: bytedance/seedance-1-pro
    param_names: {video_url: video}
    fixed_params: {fps: 24}
"""


def write(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_toml_entries_become_model_specs(tmp_path):
    [flux, voice] = catalog_file.read_catalog(write(tmp_path, "models.toml", TOML_CATALOG))

    assert flux.backend == "fal" and flux.target == "fal-ai/flux-2-pro"
    spec = flux.spec
    assert (spec.model_id, spec.name, spec.type, spec.provider) == (
        "t2i-flux-2-pro",
        "FLUX.2 [pro]",
        "image",
        "fal",
    )
    assert (spec.price, spec.estimated_seconds, spec.capabilities) == (0.05, 12, ("text-to-image",))
    aspect, seed = spec.params
    assert aspect.default == "1:1" and [(o.value, o.label) for o in aspect.options] == [
        ("1:1", "1:1"),
        ("16:9", "Wide"),
    ]
    assert seed.type == "seed"
    assert voice.spec.type == "audio" and not voice.declares_params


def test_yaml_entry_infers_type_from_the_flora_prefix_and_renames_params(tmp_path):
    [entry] = catalog_file.read_catalog(write(tmp_path, "models.yaml", YAML_CATALOG))
    assert entry.spec.type == "video"
    assert entry.provider_inputs({"video_url": "https://x/v.mp4", "seed": None, "prompt_extend": True}) == {
        "video": "https://x/v.mp4",
        "prompt_extend": True,
        "fps": 24,
    }


def test_entries_for_a_backend_get_its_default_params(tmp_path):
    env = {"STAMEN_MODELS_FILE": write(tmp_path, "models.toml", TOML_CATALOG)}
    defaults = {"audio": (ModelParam("voice", "string"),)}
    [voice] = catalog_file.entries_for("openai", env, default_params=defaults)
    assert [p.name for p in voice.spec.params] == ["voice"]
    assert [e.spec.model_id for e in catalog_file.entries_for("fal", env)] == ["t2i-flux-2-pro"]
    assert catalog_file.entries_for("fal", {}) == []


def test_models_file_is_reread_when_it_changes(tmp_path):
    path = write(tmp_path, "models.yaml", YAML_CATALOG)
    env = {"STAMEN_MODELS_FILE": path}
    assert len(catalog_file.load_catalog(env)) == 1
    (tmp_path / "models.yaml").write_text(YAML_CATALOG + "  - {id: t2i-extra, backend: fal}\n")
    os.utime(path, (1, 2_000_000_000))
    assert [e.spec.model_id for e in catalog_file.load_catalog(env)] == ["v2v-seedance-2-5", "t2i-extra"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[models]]\nid = "x"\nbackend = "fal"\n', "type must be one of"),
        ('[[models]]\nid = "t2i-x"\n', "`backend` is required"),
        ('[[models]]\nid = "t2i-x"\nbackend = "fal"\ncolour = "red"\n', "unknown keys colour"),
        ('[[models]]\nid = "t2i-x"\nbackend = "fal"\nprice = -1\n', "`price` must be a number ≥ 0"),
        (
            '[[models]]\nid = "t2i-x"\nbackend = "fal"\n[[models.params]]\nname = "n"\ntype = "integer"\n',
            "type must be one of",
        ),
        (
            '[[models]]\nid = "t2i-x"\nbackend = "fal"\n[[models]]\nid = "t2i-x"\nbackend = "fal"\n',
            "appears twice",
        ),
        ("models = [", "not valid TOML"),
    ],
)
def test_malformed_catalogs_name_what_is_wrong(tmp_path, text, message):
    with pytest.raises(CatalogError, match=message) as raised:
        catalog_file.read_catalog(write(tmp_path, "models.toml", text))
    assert "models.toml" in str(raised.value)


def test_missing_models_file_is_reported():
    with pytest.raises(CatalogError, match="file not found"):
        catalog_file.load_catalog({"STAMEN_MODELS_FILE": "/nonexistent/models.toml"})


def test_env_model_list_accepts_own_ids():
    entries = catalog_file.parse_model_list(
        "text:llama3.1, image:t2i-house=dall-e-3",
        backend="openai",
        variable="STAMEN_OPENAI_MODELS",
        default_params={"text": (ModelParam("temperature", "float"),)},
    )
    assert [(e.spec.model_id, e.spec.type, e.target) for e in entries] == [
        ("llama3.1", "text", "llama3.1"),
        ("t2i-house", "image", "dall-e-3"),
    ]
    assert [p.name for p in entries[0].spec.params] == ["temperature"]


@pytest.mark.parametrize("value", ["llama3.1", "movie:x", "text:"])
def test_env_model_list_rejects_items_without_a_type(value):
    with pytest.raises(CatalogError, match="STAMEN_OPENAI_MODELS"):
        catalog_file.parse_model_list(value, backend="openai", variable="STAMEN_OPENAI_MODELS")


@pytest.mark.parametrize(
    ("model_id", "expected"),
    [("t2i-flux-2-pro", "image"), ("i2v-kling", "video"), ("tts-eleven", "audio"), ("my-model", None)],
)
def test_flora_prefixes_tell_the_type(model_id, expected):
    assert catalog_file.infer_type(model_id) == expected
