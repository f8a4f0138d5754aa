"""A spec is validated completely before it is saved; each problem points at the node and port."""

from __future__ import annotations

import copy

import pytest

from stamen.errors import InputValidation
from stamen.models.registry import build_registry
from stamen.techniques.validation import validate_spec

MODELS = build_registry()

VALID = {
    "name": "Prompt to boomerang",
    "inputs": [{"id": "prompt", "name": "Prompt", "type": "text"}],
    "outputs": [{"id": "loop", "name": "Loop", "type": "videoUrl", "from": "loop.video"}],
    "nodes": {
        "picture": {"model": "sim-image", "inputs": {"prompt": "inputs.prompt"}, "params": {"width": 64}},
        "animate": {"action": "ken-burns-video", "inputs": {"image": "picture.image"}, "params": {"duration": 1}},
        "loop": {"action": "boomerang-video", "inputs": {"video": "animate.video"}},
    },
}


def fields_of(raw: dict) -> dict[str, str]:
    with pytest.raises(InputValidation) as caught:
        validate_spec(raw, MODELS)
    return {error.field: error.message for error in caught.value.fields}


def changed(**nodes: dict) -> dict:
    raw = copy.deepcopy(VALID)
    raw["nodes"].update(nodes)
    return raw


def test_valid_spec_passes_and_keeps_node_order():
    spec = validate_spec(VALID, MODELS)
    assert list(spec.nodes) == ["picture", "animate", "loop"] and spec.outputs[0].source == "loop.video"


def test_unknown_action_is_reported_on_the_node():
    fields = fields_of(changed(animate={"action": "no-such-action", "inputs": {"image": "picture.image"}}))
    assert list(fields) == ["nodes.animate.action"]
    assert "unknown action 'no-such-action'" in fields["nodes.animate.action"]


def test_unknown_model_is_reported_on_the_node():
    fields = fields_of(changed(picture={"model": "no-such-model", "inputs": {"prompt": "inputs.prompt"}}))
    assert list(fields) == ["nodes.picture.model"] and "unknown model 'no-such-model'" in fields["nodes.picture.model"]


def test_edge_type_mismatch_names_the_port_and_both_types():
    fields = fields_of(changed(animate={"action": "ken-burns-video", "inputs": {"image": "inputs.prompt"}}))
    assert fields == {"nodes.animate.inputs.image": "type mismatch: expects image but inputs.prompt is text"}


def test_cycle_is_reported_on_the_port_that_closes_it():
    raw = changed(
        first={"action": "reverse-video", "inputs": {"video": "second.video"}},
        second={"action": "reverse-video", "inputs": {"video": "first.video"}},
    )
    fields = fields_of(raw)
    assert list(fields) == ["nodes.second.inputs.video"]
    assert fields["nodes.second.inputs.video"] == "creates a cycle: first → second → first"


def test_unbound_required_input_is_reported_on_the_port():
    fields = fields_of(changed(animate={"action": "ken-burns-video", "params": {"duration": 1}}))
    assert list(fields) == ["nodes.animate.inputs.image"]
    assert fields["nodes.animate.inputs.image"].startswith("is required")


def test_unknown_output_reference_is_reported_on_the_output():
    raw = copy.deepcopy(VALID)
    raw["outputs"].append({"id": "still", "name": "Still", "type": "imageUrl", "from": "ghost.image"})
    raw["outputs"].append({"id": "frame", "name": "Frame", "type": "imageUrl", "from": "picture.frame"})
    fields = fields_of(raw)
    assert fields == {
        "outputs[1].from": "'ghost.image': unknown node 'ghost'",
        "outputs[2].from": "'picture.frame': node picture has no output 'frame'; outputs: image",
    }


def test_every_problem_is_reported_at_once_with_params_and_unknown_ports():
    raw = changed(
        picture={"model": "sim-image", "inputs": {"prompt": "inputs.nope"}, "params": {"width": "wide"}},
        animate={"action": "ken-burns-video", "inputs": {"image": "picture.image", "sound": "inputs.prompt"},
                 "params": {"zoom": 9}},
    )
    fields = fields_of(raw)
    assert set(fields) == {"nodes.picture.params.width", "nodes.animate.params.zoom"}
    raw["nodes"]["picture"]["params"] = {}
    raw["nodes"]["animate"]["params"] = {}
    fields = fields_of(raw)
    assert set(fields) == {"nodes.picture.inputs.prompt", "nodes.animate.inputs.sound"}
    assert "no input 'nope'" in fields["nodes.picture.inputs.prompt"]


def test_shape_errors_use_field_paths():
    raw = copy.deepcopy(VALID)
    raw["nodes"]["animate"]["colour"] = "red"
    raw["outputs"][0]["type"] = "gif"
    del raw["name"]
    fields = fields_of(raw)
    assert set(fields) == {"name", "nodes.animate.colour", "outputs[0].type"}


def test_node_kind_must_be_clear():
    fields = fields_of(changed(animate={"inputs": {"image": "picture.image"}}))
    assert list(fields) == ["nodes.animate"]
    fields = fields_of(changed(animate={"action": "ken-burns-video", "model": "sim-image"}))
    assert list(fields) == ["nodes.animate"]


def test_single_port_rejects_several_references_but_multiple_slot_gathers_them():
    fields = fields_of(changed(animate={"action": "ken-burns-video", "inputs": {"image": ["picture.image"] * 2}}))
    assert list(fields) == ["nodes.animate.inputs.image"]
    raw = copy.deepcopy(VALID)
    raw["nodes"]["grid"] = {"action": "side-by-side-composite", "inputs": {"images": ["picture.image"] * 2}}
    raw["outputs"] = [{"id": "grid", "name": "Grid", "type": "imageUrl", "from": "grid.image"}]
    assert validate_spec(raw, MODELS).nodes["grid"].references("images") == ["picture.image"] * 2


def test_default_model_node_by_type_is_accepted():
    raw = changed(picture={"type": "image", "inputs": {"prompt": "inputs.prompt"}})
    assert validate_spec(raw, MODELS).nodes["picture"].type == "image"
