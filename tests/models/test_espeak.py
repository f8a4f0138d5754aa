"""The eSpeak NG backend: real speech from the prompt, shaped by voice, speed and format."""

from __future__ import annotations

import asyncio
import io
import wave
from pathlib import Path

import numpy as np
import pytest

from stamen.errors import RunFailure
from stamen.execution.context import RunContext, SavedOutput
from stamen.media.probe import probe
from stamen.models.base import GenerationRequest
from stamen.models.espeak import ESPEAK_TTS, VOICES, EspeakBackend

SHORT = "Hi."
LONG = "The quick brown fox jumps over the lazy dog, then rests beneath the old oak tree until sunset."


@pytest.fixture
def backend() -> EspeakBackend:
    return EspeakBackend()


async def speak(backend: EspeakBackend, workdir: Path, prompt: str, **params) -> SavedOutput:
    ctx = RunContext(run_id="run_t", workdir=workdir)
    await backend.generate(GenerationRequest(model=ESPEAK_TTS, prompt=prompt, params=params), ctx)
    assert len(ctx.outputs) == 1
    return ctx.outputs[0]


def read_wav(output: SavedOutput) -> tuple[np.ndarray, int]:
    assert output.path is not None
    with wave.open(io.BytesIO(output.path.read_bytes())) as reader:
        assert reader.getnchannels() == 1 and reader.getsampwidth() == 2
        frames = reader.readframes(reader.getnframes())
        return np.frombuffer(frames, dtype="<i2").astype(np.float64), reader.getframerate()


def seconds(output: SavedOutput) -> float:
    samples, rate = read_wav(output)
    return len(samples) / rate


def test_catalog_entry_is_a_free_text_to_speech_audio_model(backend):
    [spec] = backend.models()
    params = {param.name: param for param in spec.params}
    assert (spec.model_id, spec.type, spec.provider, spec.price) == ("espeak-tts", "audio", "espeak-ng", 0)
    assert "text-to-speech" in spec.capabilities
    assert params["voice"].default == "en"
    assert {"en", "en-us", "fr", "de", "es", "it", "pt"} <= {
        option.value for option in params["voice"].options
    }
    assert (params["speed"].min, params["speed"].max, params["speed"].default) == (80, 450, 175)
    assert (params["pitch"].min, params["pitch"].max, params["pitch"].default) == (0, 99, 50)
    assert [option.value for option in params["format"].options] == ["wav", "mp3"]


async def test_speech_is_an_audible_wav(backend, tmp_path):
    output = await speak(backend, tmp_path, LONG)
    assert output.media_type == "audio" and output.content_type == "audio/wav"
    samples, rate = read_wav(output)
    assert rate >= 16_000
    rms = np.sqrt(np.mean(samples**2))
    assert rms > 500  # speech, not silence (full scale is 32767)


async def test_long_sentence_lasts_longer_than_a_short_word(backend, tmp_path):
    short = await speak(backend, tmp_path / "short", SHORT)
    long = await speak(backend, tmp_path / "long", LONG)
    assert seconds(short) > 0.1
    assert seconds(long) > 3 * seconds(short)


async def test_higher_speed_shortens_the_speech(backend, tmp_path):
    slow = await speak(backend, tmp_path / "slow", LONG, speed=120)
    fast = await speak(backend, tmp_path / "fast", LONG, speed=350)
    assert seconds(fast) < 0.6 * seconds(slow)


async def test_pitch_changes_the_audio(backend, tmp_path):
    low = await speak(backend, tmp_path / "low", SHORT, pitch=10)
    high = await speak(backend, tmp_path / "high", SHORT, pitch=90)
    assert low.path.read_bytes() != high.path.read_bytes()


async def test_mp3_format_probes_as_mp3(backend, tmp_path):
    output = await speak(backend, tmp_path, LONG, format="mp3")
    assert output.content_type == "audio/mpeg" and output.path.suffix == ".mp3"
    info = probe(output.path)
    assert info.format_name == "mp3" and info.audio_codec.startswith("mp3")
    assert info.duration > 2


@pytest.mark.parametrize("voice", sorted(VOICES))
async def test_every_listed_voice_speaks(backend, tmp_path, voice):
    output = await speak(backend, tmp_path, "one two three", voice=voice)
    assert seconds(output) > 0.3


async def test_unknown_voice_fails_as_invalid_input(backend, tmp_path):
    with pytest.raises(RunFailure) as failure:
        await speak(backend, tmp_path, SHORT, voice="klingon")
    assert failure.value.code == "input_invalid"
    assert "voice" in failure.value.message


@pytest.mark.parametrize(
    ("prompt", "params"),
    [("   ", {}), (SHORT, {"speed": 1000}), (SHORT, {"pitch": -1}), (SHORT, {"format": "ogg"})],
)
async def test_bad_prompt_or_params_fail_as_invalid_input(backend, tmp_path, prompt, params):
    with pytest.raises(RunFailure) as failure:
        await speak(backend, tmp_path, prompt, **params)
    assert failure.value.code == "input_invalid"


async def test_concurrent_runs_each_get_their_own_speech(backend, tmp_path):
    short, long = await asyncio.gather(
        speak(backend, tmp_path / "short", SHORT), speak(backend, tmp_path / "long", LONG, voice="en-us")
    )
    assert seconds(long) > 3 * seconds(short)
