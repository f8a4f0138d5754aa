"""The runner: parallel branches, failures named by node, fan-out, and resuming after a crash."""

from __future__ import annotations

import pytest
from PIL import Image

from stamen.errors import RunFailure
from stamen.execution.context import RunContext
from stamen.techniques import runner
from tests.techniques.conftest import execute, make_run, text_inputs

PROMPT = [{"id": "prompt", "name": "Prompt", "type": "text"}]


def slow_image(delay: float) -> dict:
    return {"model": "sim-image", "inputs": {"prompt": "seed.text"},
            "params": {"sim_delay_seconds": delay, "width": 64, "height": 64}}


DIAMOND = {
    "name": "Diamond",
    "inputs": PROMPT,
    "outputs": [{"id": "pair", "name": "Pair", "type": "imageUrl", "from": "join.image"}],
    "nodes": {
        "seed": {"model": "sim-text", "inputs": {"prompt": "inputs.prompt"}},
        "left": slow_image(1),
        "right": slow_image(1),
        "join": {"action": "side-by-side-composite", "inputs": {"images": ["left.image", "right.image"]}},
    },
}


async def test_diamond_runs_its_two_branches_concurrently(runtime, tmp_path):
    ctx = await execute(runtime, make_run(runtime, DIAMOND, text_inputs(prompt="two views")), tmp_path)
    nodes = ctx.state["nodes"]
    assert all(nodes[n]["status"] == "completed" for n in ("seed", "left", "right", "join"))
    left, right = nodes["left"], nodes["right"]
    assert left["started_at"] < right["finished_at"] and right["started_at"] < left["finished_at"]  # overlap
    both = max(left["finished_at"], right["finished_at"]) - min(left["started_at"], right["started_at"])
    assert 1000 <= both < 1800, both  # ~1 s each, together ~1 s (not ~2 s)
    assert min(left["started_at"], right["started_at"]) >= nodes["seed"]["finished_at"]
    assert nodes["join"]["started_at"] >= max(left["finished_at"], right["finished_at"])
    [output] = ctx.outputs
    assert output.media_type == "image" and Image.open(output.path).size == (128, 64)


async def test_a_failing_node_fails_the_run_naming_it_and_keeps_finished_work(runtime, tmp_path):
    garbage = "runs/failing/inputs/clip/0.mp4"
    (tmp_path / "garbage.mp4").write_bytes(b"this is not a video")
    runtime.blobs.put_file(garbage, tmp_path / "garbage.mp4")
    spec = {
        "name": "Half broken",
        "inputs": [*PROMPT, {"id": "clip", "name": "Clip", "type": "videoUrl"}],
        "outputs": [
            {"id": "still", "name": "Still", "type": "imageUrl", "from": "picture.image"},
            {"id": "reversed", "name": "Reversed", "type": "videoUrl", "from": "flip.video"},
        ],
        "nodes": {
            "picture": {"model": "sim-image", "inputs": {"prompt": "inputs.prompt"},
                        "params": {"sim_delay_seconds": 0.5, "width": 64, "height": 64}},
            "flip": {"action": "reverse-video", "inputs": {"video": "inputs.clip"}},
        },
    }
    run = make_run(runtime, spec, {**text_inputs(prompt="p"), "clip": [{"type": "video", "url": "https://x"}]})
    state = {"inputs": {"prompt": [{"type": "text", "text": "p"}], "clip": [{"type": "video", "key": garbage}]}}
    with pytest.raises(RunFailure) as caught:
        await execute(runtime, run, tmp_path / "work", state)
    assert caught.value.message.startswith("node 'flip' (action reverse-video) failed:"), caught.value.message
    assert caught.value.code == "input_invalid" and "not a readable media file" in caught.value.message


async def test_failure_leaves_parallel_results_checkpointed(runtime, tmp_path, monkeypatch):
    saved: list[dict] = []
    spec = {
        "name": "Broken branch",
        "inputs": PROMPT,
        "outputs": [{"id": "a", "name": "A", "type": "text", "from": "good.text"},
                    {"id": "b", "name": "B", "type": "text", "from": "bad.text"}],
        "nodes": {"good": {"model": "sim-text", "inputs": {"prompt": "inputs.prompt"},
                           "params": {"sim_delay_seconds": 0.3}},
                  "bad": {"model": "sim-text", "inputs": {"prompt": "inputs.prompt"}}},
    }
    original = runner.TechniqueExecution.run_instance

    async def explode(self, node_id, index, binding):
        if node_id == "bad":
            raise RunFailure("provider_error", "the provider said no")
        return await original(self, node_id, index, binding)

    monkeypatch.setattr(runner.TechniqueExecution, "run_instance", explode)
    run = make_run(runtime, spec, text_inputs(prompt="p"))
    ctx = RunContext(run_id=run.id, workdir=tmp_path, on_checkpoint=saved.append)
    with pytest.raises(RunFailure) as caught:
        await runner.run_technique(runtime, run, ctx)
    assert caught.value.code == "provider_error"
    assert caught.value.message == "node 'bad' (model sim-text) failed: the provider said no"
    final = saved[-1]["nodes"]
    assert final["bad"]["status"] == "failed" and final["good"]["status"] == "completed"
    assert "[simulated] Response to: p" in final["good"]["outputs"]["text"][0]["text"]


async def test_fan_out_over_a_list_input_gives_one_output_per_value(runtime, tmp_path):
    spec = {
        "name": "Many pictures",
        "inputs": [{"id": "prompts", "name": "Prompts", "type": "text", "allow_multiple": True}],
        "outputs": [{"id": "pictures", "name": "Pictures", "type": "imageUrl", "from": "small.image"}],
        "nodes": {
            "picture": {"model": "sim-image", "inputs": {"prompt": "inputs.prompts"},
                        "params": {"width": 96, "height": 64}},
            "small": {"action": "rotate-image", "inputs": {"image": "picture.image"}, "params": {"angle": 90}},
        },
    }
    ctx = await execute(runtime, make_run(runtime, spec, text_inputs(prompts=["a", "b", "c"])), tmp_path)
    assert [o.media_type for o in ctx.outputs] == ["image"] * 3
    images = [Image.open(o.path) for o in ctx.outputs]
    assert all(image.size == (64, 96) for image in images)
    assert len({image.tobytes() for image in images}) == 3  # one per prompt, in order
    assert ctx.state["nodes"]["picture"]["instances"] == 3


async def test_resume_skips_nodes_the_checkpoint_marks_completed(runtime, tmp_path, monkeypatch):
    spec = {
        "name": "Two steps",
        "inputs": PROMPT,
        "outputs": [{"id": "answer", "name": "Answer", "type": "text", "from": "second.text"}],
        "nodes": {"first": {"model": "sim-text", "inputs": {"prompt": "inputs.prompt"}},
                  "second": {"model": "sim-text", "inputs": {"prompt": "first.text"}}},
    }
    executed: list[str] = []
    original = runner.TechniqueExecution.run_instance

    async def spy(self, node_id, index, binding):
        executed.append(node_id)
        return await original(self, node_id, index, binding)

    monkeypatch.setattr(runner.TechniqueExecution, "run_instance", spy)
    earlier = {
        "attempts": 1,
        "inputs": {"prompt": [{"type": "text", "text": "original prompt"}]},
        "nodes": {"first": {"status": "completed", "started_at": 1.0, "finished_at": 2.0, "cost": 0.0,
                            "instances": 1, "outputs": {"text": [{"type": "text", "text": "made before the crash"}]}},
                  "second": {"status": "running", "started_at": 3.0}},
    }
    ctx = await execute(runtime, make_run(runtime, spec, text_inputs(prompt="original prompt")), tmp_path, earlier)
    assert executed == ["second"]
    assert ctx.state["attempts"] == 2 and ctx.state["nodes"]["first"]["finished_at"] == 2.0
    assert ctx.outputs[0].text.startswith("[simulated] Response to: made before the crash")
