"""The simulator backend: deterministic outputs that really are the media type they claim to be."""

from __future__ import annotations

import io
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from stamen.execution.context import RunContext, SavedOutput
from stamen.media.probe import probe
from stamen.models.base import GenerationRequest, ModelParam, ModelSpec
from stamen.models.simulator import SimulatorBackend


@pytest.fixture
def backend() -> SimulatorBackend:
    return SimulatorBackend()


def model(backend: SimulatorBackend, model_id: str) -> ModelSpec:
    return next(spec for spec in backend.models() if spec.model_id == model_id)


async def run_model(
    backend: SimulatorBackend, spec: ModelSpec, workdir: Path, prompt: str = "a red fox", **params
) -> tuple[SavedOutput, list[float]]:
    progress: list[float] = []
    ctx = RunContext(run_id="run_t", workdir=workdir, on_progress=progress.append)
    await backend.generate(GenerationRequest(model=spec, prompt=prompt, params=params, test_mode=True), ctx)
    assert len(ctx.outputs) == 1
    return ctx.outputs[0], progress


def output_bytes(output: SavedOutput) -> bytes:
    assert output.path is not None
    return output.path.read_bytes()


def test_catalog_has_one_free_model_per_type_with_a_seed_and_delay_param(backend):
    specs = {spec.model_id: spec for spec in backend.models()}
    assert {spec_id: spec.type for spec_id, spec in specs.items()} == {
        "sim-image": "image",
        "sim-video": "video",
        "sim-audio": "audio",
        "sim-text": "text",
    }
    for spec in specs.values():
        params = {param.name: param for param in spec.params}
        assert spec.provider == "stamen-simulator"
        assert spec.price == 0
        assert spec.estimated_seconds <= 5
        assert params["seed"].type == "seed"
        assert (params["sim_delay_seconds"].min, params["sim_delay_seconds"].max) == (0, 30)
    image_params = {param.name: param for param in specs["sim-image"].params}
    assert image_params["width"].type == "int" and image_params["width"].min is not None
    video_duration = next(param for param in specs["sim-video"].params if param.name == "duration")
    assert (video_duration.type, video_duration.min, video_duration.max) == ("float", 1, 5)
    assert any(param.name == "duration" for param in specs["sim-audio"].params)


async def test_image_same_prompt_and_seed_gives_identical_bytes(backend, tmp_path):
    spec = model(backend, "sim-image")
    first, _ = await run_model(backend, spec, tmp_path / "a", seed=7)
    second, _ = await run_model(backend, spec, tmp_path / "b", seed=7)
    assert output_bytes(first) == output_bytes(second)


async def test_image_other_seed_or_prompt_gives_a_different_image(backend, tmp_path):
    spec = model(backend, "sim-image")
    base, _ = await run_model(backend, spec, tmp_path / "a", seed=7)
    other_seed, _ = await run_model(backend, spec, tmp_path / "b", seed=8)
    other_prompt, _ = await run_model(backend, spec, tmp_path / "c", prompt="a blue whale", seed=7)
    base_pixels = Image.open(base.path).tobytes()
    assert Image.open(other_seed.path).tobytes() != base_pixels
    assert Image.open(other_prompt.path).tobytes() != base_pixels


async def test_image_is_a_png_at_the_requested_size(backend, tmp_path):
    output, _ = await run_model(backend, model(backend, "sim-image"), tmp_path, width=300, height=200)
    assert output.media_type == "image" and output.content_type == "image/png"
    with Image.open(output.path) as image:
        assert image.format == "PNG"
        assert image.size == (300, 200)
        pixels = np.asarray(image.convert("RGB")).reshape(-1, 3)
        assert len(np.unique(pixels, axis=0)) > 100  # a picture, not a flat fill


async def test_image_defaults_to_512_square(backend, tmp_path):
    output, _ = await run_model(backend, model(backend, "sim-image"), tmp_path)
    with Image.open(output.path) as image:
        assert image.size == (512, 512)


async def test_video_is_an_h264_mp4_with_the_requested_duration(backend, tmp_path):
    output, _ = await run_model(backend, model(backend, "sim-video"), tmp_path, seed=3, duration=1.5)
    assert output.media_type == "video" and output.content_type == "video/mp4"
    info = probe(output.path)
    assert info.has_video and info.video_codec == "h264"
    assert "mp4" in info.format_name
    assert info.duration == pytest.approx(1.5, abs=0.1)
    assert info.width % 2 == 0 and info.height % 2 == 0


async def test_video_defaults_to_two_seconds_and_is_deterministic(backend, tmp_path):
    spec = model(backend, "sim-video")
    first, _ = await run_model(backend, spec, tmp_path / "a", seed=3)
    second, _ = await run_model(backend, spec, tmp_path / "b", seed=3)
    assert probe(first.path).duration == pytest.approx(2.0, abs=0.1)
    assert output_bytes(first) == output_bytes(second)


async def test_audio_is_a_wav_with_the_requested_duration(backend, tmp_path):
    output, _ = await run_model(backend, model(backend, "sim-audio"), tmp_path, duration=1.25)
    assert output.media_type == "audio" and output.content_type == "audio/wav"
    with wave.open(io.BytesIO(output_bytes(output))) as reader:
        assert reader.getnchannels() == 1 and reader.getsampwidth() == 2
        assert reader.getnframes() / reader.getframerate() == pytest.approx(1.25, abs=0.01)


async def test_audio_tone_depends_on_the_seed(backend, tmp_path):
    spec = model(backend, "sim-audio")
    first, _ = await run_model(backend, spec, tmp_path / "a", seed=1)
    again, _ = await run_model(backend, spec, tmp_path / "b", seed=1)
    other, _ = await run_model(backend, spec, tmp_path / "c", seed=2)
    assert output_bytes(first) == output_bytes(again)
    assert output_bytes(first) != output_bytes(other)


async def test_text_mentions_the_prompt_and_seed_and_is_deterministic(backend, tmp_path):
    spec = model(backend, "sim-text")
    first, _ = await run_model(backend, spec, tmp_path, prompt="write a haiku", seed=42)
    again, _ = await run_model(backend, spec, tmp_path, prompt="write a haiku", seed=42)
    assert first.media_type == "text"
    assert "write a haiku" in first.text and "42" in first.text
    assert first.text == again.text


async def test_runs_a_foreign_model_spec_by_its_type(backend, tmp_path):
    foreign = ModelSpec(
        model_id="espeak-tts",
        name="eSpeak",
        type="audio",
        provider="espeak-ng",
        params=(ModelParam(name="voice", type="string", default="en"),),
    )
    output, _ = await run_model(backend, foreign, tmp_path / "wav", prompt="hello", voice="fr")
    assert probe(output.path).audio_codec.startswith("pcm")
    mp3, _ = await run_model(backend, foreign, tmp_path / "mp3", prompt="hello", format="mp3")
    mp3_info = probe(mp3.path)
    assert mp3_info.format_name == "mp3" and mp3_info.audio_codec.startswith("mp3")

    remote_image = ModelSpec(model_id="t2i-flux", name="Flux", type="image", provider="fal")
    image, _ = await run_model(backend, remote_image, tmp_path / "img", aspect_ratio="16:9")
    with Image.open(image.path) as picture:
        assert picture.width > picture.height


async def test_progress_rises_to_100_and_a_plain_run_is_quick(backend, tmp_path):
    started = time.monotonic()
    _, progress = await run_model(backend, model(backend, "sim-text"), tmp_path)
    assert time.monotonic() - started < 0.5
    assert len(progress) >= 3
    assert progress == sorted(progress) and progress[-1] == 100


async def test_sim_delay_seconds_keeps_the_run_going_longer(backend, tmp_path):
    started = time.monotonic()
    await run_model(backend, model(backend, "sim-text"), tmp_path, sim_delay_seconds=0.6)
    assert time.monotonic() - started >= 0.6
