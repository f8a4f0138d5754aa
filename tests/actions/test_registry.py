"""Registry machinery: catalog entries (for every registered action), params validation, input binding."""

from __future__ import annotations

import json
import math
import re
from typing import Literal

import pytest
from PIL import ImageColor
from pydantic import Field

from stamen.actions import ACTIONS, all_actions, bind_inputs, catalog_entry, get_action, validate_params
from stamen.actions.catalog import humanize, slot_entry
from stamen.actions.registry import (
    ActionParams,
    ActionSpec,
    Color,
    Interval,
    Point2D,
    Point3D,
    Slot,
    register,
)
from stamen.errors import InputValidation, NotFound

ENTRY_KEYS = {"action_id", "name", "description", "language", "charged_cost", "inputs", "outputs", "params"}
PARAM_TYPES = {"number", "boolean", "color", "select", "text", "point2d", "point3d", "interval"}
SLOT_TYPES = {"image", "video", "text", "audio"}
ALL_IDS = sorted(ACTIONS)


def fields_of(error: pytest.ExceptionInfo[InputValidation]) -> dict[str, str]:
    return {item.field: item.message for item in error.value.fields}


# ---------------------------------------------------------------- catalog, for every registered action


def check_slot(slot: dict) -> None:
    assert set(slot) <= {"name", "type", "multiple", "dynamic", "optional"}
    assert isinstance(slot["name"], str) and slot["name"] and slot["type"] in SLOT_TYPES
    if "multiple" in slot:
        multiple = slot["multiple"]
        assert multiple is True or (
            isinstance(multiple, dict)
            and set(multiple) <= {"min", "max"}
            and all(isinstance(v, (int, float)) and v >= 0 for v in multiple.values())
        )
        assert slot["dynamic"] is True
    else:
        assert "dynamic" not in slot
    assert slot.get("optional", True) is True


def check_param(param: dict) -> None:
    assert re.fullmatch(r"[a-z][a-z0-9_]*", param["key"]), param
    assert param["type"] in PARAM_TYPES and isinstance(param.get("label", ""), str)
    assert "default_value" in param, f"{param['key']} has no default"
    default = param["default_value"]
    if param["type"] == "select":
        values = [item["value"] for item in param["available_values"]]
        assert values and len(values) == len(set(values))
        assert all(isinstance(item["label"], str) and item["label"] for item in param["available_values"])
        assert default in values
    else:
        assert "available_values" not in param
    if param["type"] == "number":
        assert isinstance(default, (int, float)) and not isinstance(default, bool)
        low, high = param.get("min_number_value", -math.inf), param.get("max_number_value", math.inf)
        assert low <= default <= high
        assert param.get("number_step", 1) > 0
    else:
        assert not {"min_number_value", "max_number_value", "number_step"} & set(param)
    if param["type"] == "boolean":
        assert isinstance(default, bool)
    if param["type"] == "color":
        ImageColor.getrgb(default)
    if param["type"] in ("text", "color"):
        assert isinstance(default, str)
    members = {"point2d": {"x", "y"}, "point3d": {"x", "y", "z"}, "interval": {"min", "max"}}.get(
        param["type"]
    )
    if members:
        assert set(default) == members


@pytest.mark.parametrize("action_id", ALL_IDS)
def test_catalog_entry_is_well_formed(action_id):
    spec = get_action(action_id)
    entry = catalog_entry(spec)
    assert set(entry) == ENTRY_KEYS
    assert entry["action_id"] == action_id and re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", action_id)
    assert entry["name"] and entry["description"]
    assert entry["language"] in ("javascript", "python")
    assert isinstance(entry["charged_cost"], (int, float)) and entry["charged_cost"] >= 0
    for slot in entry["inputs"] + entry["outputs"]:
        check_slot(slot)
    assert entry["outputs"], "an action produces at least one output"
    assert len({slot["name"] for slot in entry["inputs"]}) == len(entry["inputs"])
    for param in entry["params"]:
        check_param(param)
    assert [p["key"] for p in entry["params"]] == list(spec.params.model_fields)
    assert json.loads(json.dumps(entry)) == entry


@pytest.mark.parametrize("action_id", ALL_IDS)
def test_catalog_defaults_validate_and_equal_the_empty_params(action_id):
    spec = get_action(action_id)
    defaults = {p["key"]: p["default_value"] for p in catalog_entry(spec)["params"]}
    assert validate_params(spec, defaults) == validate_params(spec, None) == validate_params(spec, {})


@pytest.mark.parametrize("action_id", [a for a in ALL_IDS if ACTIONS[a].twin_of])
def test_browser_twin_reuses_its_legacy_implementation_and_legacy_accepts_its_keys(action_id):
    twin, legacy = ACTIONS[action_id], get_action(ACTIONS[action_id].twin_of or "")
    assert action_id == f"{legacy.action_id}-browser"
    assert twin.run is legacy.run and twin.params is not legacy.params
    assert set(twin.params.model_fields) <= set(legacy.params.model_fields)  # Stamen rule: legacy = union


def test_all_actions_lists_every_action_sorted_by_id():
    assert [spec.action_id for spec in all_actions()] == ALL_IDS
    assert {"split-text", "concat-text-browser", "qr-code-generator", "add-text-to-image-browser"} <= set(
        ALL_IDS
    )


def test_get_action_for_an_unknown_slug_is_not_found():
    with pytest.raises(NotFound) as error:
        get_action("teleport-image")
    assert error.value.message == "action teleport-image not found"


def test_an_action_id_cannot_be_declared_twice():
    with pytest.raises(ValueError, match="declared twice"):
        register(get_action("split-text"))


class EveryKindParams(ActionParams):
    mode: Literal["fast", "slowMotion"] = Field("fast", title="Mode", description="How fast.")
    enabled: bool = True
    count: int = Field(3, ge=1, le=9)
    strength: float = Field(0.5, ge=0, le=1, multiple_of=0.25)
    fill_color: str = "#ff0000"
    background: str = "#000000"
    dot_bg: Color = "#ffffff"
    shade: Color = "#ffffff"
    caption: str = "hi"
    center: Point2D = Field(default_factory=lambda: Point2D(x=0.5, y=0.5))
    rotation: Point3D = Point3D(x=0, y=0, z=0)
    window: Interval = Interval(min=0, max=100)
    limit: int | None = None


SYNTHETIC = ActionSpec(
    action_id="synthetic-action",
    name="Synthetic",
    description="Exercises every derivation rule.",
    inputs=[
        Slot("image", "image"),
        Slot("mask", "image", optional=True),
        Slot("texts", "text", multiple=True),
        Slot("clips", "video", multiple={"min": 2, "max": 3}),
    ],
    outputs=[Slot("image", "image")],
    params=EveryKindParams,
    run=lambda ctx, params: None,
)


def test_catalog_derives_controls_labels_and_ranges_from_the_params_model():
    params = {p["key"]: p for p in catalog_entry(SYNTHETIC)["params"]}
    assert params["mode"] == {
        "key": "mode",
        "type": "select",
        "label": "Mode",
        "info_tooltip": "How fast.",
        "default_value": "fast",
        "available_values": [
            {"value": "fast", "label": "Fast"},
            {"value": "slowMotion", "label": "Slow Motion"},
        ],
    }
    assert params["enabled"] == {
        "key": "enabled",
        "type": "boolean",
        "label": "Enabled",
        "default_value": True,
    }
    assert params["count"] | {} == {
        "key": "count", "type": "number", "label": "Count", "default_value": 3,
        "min_number_value": 1, "max_number_value": 9, "number_step": 1,
    }  # fmt: skip
    assert (params["strength"]["min_number_value"], params["strength"]["number_step"]) == (0, 0.25)
    kinds = {key: p["type"] for key, p in params.items()}
    assert kinds == {
        "mode": "select", "enabled": "boolean", "count": "number", "strength": "number",
        "fill_color": "color", "background": "color", "dot_bg": "color", "shade": "color", "caption": "text",
        "center": "point2d", "rotation": "point3d", "window": "interval", "limit": "number",
    }  # fmt: skip
    assert params["center"]["default_value"] == {"x": 0.5, "y": 0.5}
    assert params["window"]["default_value"] == {"min": 0, "max": 100}
    assert "default_value" not in params["limit"]


def test_catalog_slots_mirror_multiple_as_dynamic_and_mark_optional():
    inputs = catalog_entry(SYNTHETIC)["inputs"]
    assert inputs == [
        {"name": "image", "type": "image"},
        {"name": "mask", "type": "image", "optional": True},
        {"name": "texts", "type": "text", "multiple": True, "dynamic": True},
        {"name": "clips", "type": "video", "multiple": {"min": 2, "max": 3}, "dynamic": True},
    ]
    assert slot_entry(Slot("more", "audio", multiple=True, optional=True))["optional"] is True


def test_humanize_turns_keys_and_values_into_labels():
    assert [humanize(v) for v in ("split_mode", "charCount", "top-left", "1:1", "L")] == [
        "Split Mode", "Char Count", "Top Left", "1:1", "L",
    ]  # fmt: skip


# ---------------------------------------------------------------- validate_params


def test_validate_params_applies_defaults_and_keeps_given_values():
    params = validate_params(SYNTHETIC, {"count": 5, "center": {"x": 0.1, "y": 0.2}, "strength": 1})
    assert (params.count, params.center, params.strength, params.mode) == (
        5,
        Point2D(x=0.1, y=0.2),
        1.0,
        "fast",
    )
    assert validate_params(SYNTHETIC, {"count": 4.0}).count == 4  # a whole-number float is an integer


def test_validate_params_rejects_unknown_keys_naming_the_allowed_ones():
    with pytest.raises(InputValidation) as error:
        validate_params(get_action("split-text"), {"foo": 1})
    message = fields_of(error)["params.foo"]
    assert message.startswith("is not a parameter of split-text; allowed: split_mode, separator")
    assert error.value.code == "input_validation_error" and error.value.status == 400


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        ({"mode": "slow"}, "params.mode", "must be one of fast, slowMotion"),
        ({"enabled": "yes"}, "params.enabled", "must be true or false"),
        ({"enabled": 1}, "params.enabled", "must be true or false"),
        ({"count": "3"}, "params.count", "must be an integer"),
        ({"count": 2.5}, "params.count", "must be an integer"),
        ({"count": 10}, "params.count", "must be at most 9"),
        ({"count": 0}, "params.count", "must be at least 1"),
        ({"strength": 0.3}, "params.strength", "must be a multiple of 0.25"),
        ({"caption": 7}, "params.caption", "must be a string"),
        (
            {"shade": "not-a-colour"},
            "params.shade",
            "must be a colour such as #ff0000, #ff000080 or a CSS colour name",
        ),
        ({"center": [1, 2]}, "params.center", "must be an object with x, y"),
        ({"center": {"x": 1}}, "params.center.y", "is required"),
        (
            {"center": {"x": 1, "y": 2, "z": 3}},
            "params.center.z",
            "is not a member of params.center; allowed: x, y",
        ),
    ],
)
def test_validate_params_reports_each_bad_value_on_its_params_field(raw, field, message):
    with pytest.raises(InputValidation) as error:
        validate_params(SYNTHETIC, raw)
    assert fields_of(error) == {field: message}


def test_validate_params_reports_every_bad_key_at_once_and_rejects_non_objects():
    with pytest.raises(InputValidation) as error:
        validate_params(SYNTHETIC, {"count": "x", "mode": 3, "nope": True})
    assert set(fields_of(error)) == {"params.count", "params.mode", "params.nope"}
    with pytest.raises(InputValidation) as error:
        validate_params(SYNTHETIC, [1, 2])
    assert fields_of(error) == {"params": "must be an object"}


# ---------------------------------------------------------------- bind_inputs

IMAGE = {"type": "image", "url": "https://x.example/a.png"}
VIDEO = {"type": "video", "url": "https://x.example/a.mp4"}
TEXT = {"type": "text", "text": "hello"}


def test_bind_inputs_fills_slots_by_type_in_order_and_multiple_takes_the_rest():
    inputs = [IMAGE, TEXT, VIDEO, {**IMAGE, "url": "https://x.example/b.png"}, TEXT, VIDEO, TEXT]
    bound = bind_inputs(SYNTHETIC, inputs)
    assert list(bound) == ["image", "mask", "texts", "clips"]
    assert bound["image"] == [IMAGE] and bound["mask"] == [inputs[3]]
    assert bound["texts"] == [TEXT, TEXT, TEXT] and bound["clips"] == [VIDEO, VIDEO]


def test_bind_inputs_sends_a_named_input_to_its_slot_first():
    mask = {**IMAGE, "name": "mask"}
    bound = bind_inputs(SYNTHETIC, [mask, IMAGE, TEXT, VIDEO, VIDEO])
    assert bound["mask"] == [mask] and bound["image"] == [IMAGE]


def test_bind_inputs_leaves_an_optional_slot_empty():
    assert bind_inputs(SYNTHETIC, [IMAGE, TEXT, VIDEO, VIDEO])["mask"] == []


@pytest.mark.parametrize(
    ("inputs", "field", "fragment"),
    [
        ([TEXT, VIDEO, VIDEO], "inputs", "needs an image input for slot image"),
        ([IMAGE, VIDEO, VIDEO], "inputs", "needs a text input for slot texts"),
        ([IMAGE, TEXT, VIDEO], "inputs", "needs at least 2 video inputs for slot clips"),
        ([IMAGE, IMAGE, IMAGE, TEXT, VIDEO, VIDEO], "inputs", "too many image inputs (1 left over)"),
        ([IMAGE, TEXT, VIDEO, VIDEO, VIDEO, VIDEO], "inputs", "too many video inputs"),
        ([IMAGE, TEXT, VIDEO, VIDEO, {**IMAGE, "name": "nope"}], "inputs[4].name", "is not an input of"),
        (
            [IMAGE, TEXT, VIDEO, VIDEO, {**TEXT, "name": "mask"}],
            "inputs[4].type",
            "slot mask takes image inputs",
        ),
        (
            [{**IMAGE, "name": "image"}, {**IMAGE, "name": "image"}, TEXT, VIDEO, VIDEO],
            "inputs[1].name",
            "at most 1",
        ),
        ([{"type": "image"}, TEXT, VIDEO, VIDEO], "inputs[0].url", "is required for image inputs"),
        ([IMAGE, {"type": "text"}, VIDEO, VIDEO], "inputs[1].text", "is required for text inputs"),
        (
            [IMAGE, TEXT, VIDEO, VIDEO, {"type": "audio", "url": "https://x/a.wav"}],
            "inputs[4].type",
            "no audio input",
        ),
    ],
)
def test_bind_inputs_rejects_bad_bindings_with_field_paths(inputs, field, fragment):
    with pytest.raises(InputValidation) as error:
        bind_inputs(SYNTHETIC, inputs)
    messages = fields_of(error)
    assert field in messages and fragment in messages[field], messages


def test_bind_inputs_for_a_registered_action_uses_its_declared_slots():
    bound = bind_inputs(get_action("concat-text"), [TEXT, {"type": "text", "text": ""}])
    assert bound == {"texts": [TEXT, {"type": "text", "text": ""}]}
    with pytest.raises(InputValidation):
        bind_inputs(get_action("qr-code-generator"), [IMAGE])
