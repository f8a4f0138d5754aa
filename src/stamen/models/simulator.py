"""Deterministic stand-in for every model, used by test-mode keys (`sk_test_…`): no weights, no network.

Outputs derive from sha256(prompt, seed) only, so the same prompt and seed always give the same bytes and
another seed gives another output. The simulator runs whatever model spec it is handed (its own `sim-*`
entries, or espeak and remote models in test mode) and picks what to render from the spec's `type`.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import random
import re
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from stamen.errors import RunFailure
from stamen.execution.context import MediaType, RunContext
from stamen.media.ffmpeg import run_ffmpeg
from stamen.models.base import GenerationRequest, ModelParam, ModelSpec

PROVIDER = "stamen-simulator"
STEP_SECONDS = 0.04  # per progress step; a run stays observably `running` for a moment
PROGRESS_STEPS = (10, 30, 50)
DEFAULT_IMAGE_SIZE = (512, 512)
DEFAULT_VIDEO_SIZE = (320, 240)
DEFAULT_SECONDS = 2.0
AUDIO_SAMPLE_RATE = 24_000
VIDEO_FPS = 24

SEED = ModelParam(
    name="seed", type="seed", label="Seed", description="Same prompt and seed give the same output."
)
SIM_DELAY = ModelParam(
    name="sim_delay_seconds",
    type="float",
    default=0.0,
    min=0,
    max=30,
    label="Simulated delay",
    description="Test only: extra seconds the run stays `running`, to simulate a slow job.",
)


def _duration_param(low: float, high: float) -> ModelParam:
    return ModelParam(
        name="duration",
        type="float",
        default=DEFAULT_SECONDS,
        min=low,
        max=high,
        label="Duration",
        description="Length in seconds.",
    )


def _size_param(name: str) -> ModelParam:
    return ModelParam(
        name=name,
        type="int",
        default=512,
        min=64,
        max=2048,
        label=name.capitalize(),
        description=f"Image {name} in pixels.",
    )


SIMULATOR_MODELS = (
    ModelSpec(
        model_id="sim-image",
        name="Simulator image",
        type="image",
        provider=PROVIDER,
        capabilities=("text-to-image",),
        params=(SEED, _size_param("width"), _size_param("height"), SIM_DELAY),
        estimated_seconds=1,
    ),
    ModelSpec(
        model_id="sim-video",
        name="Simulator video",
        type="video",
        provider=PROVIDER,
        capabilities=("text-to-video",),
        params=(SEED, _duration_param(1, 5), SIM_DELAY),
        estimated_seconds=2,
    ),
    ModelSpec(
        model_id="sim-audio",
        name="Simulator audio",
        type="audio",
        provider=PROVIDER,
        capabilities=("text-to-audio",),
        params=(SEED, _duration_param(0.5, 30), SIM_DELAY),
        estimated_seconds=1,
    ),
    ModelSpec(
        model_id="sim-text",
        name="Simulator text",
        type="text",
        provider=PROVIDER,
        capabilities=("text-generation",),
        params=(SEED, SIM_DELAY),
        estimated_seconds=1,
    ),
)


@dataclass(frozen=True)
class Fingerprint:
    """The 32 bytes of sha256(prompt, seed) every simulated output is drawn from."""

    prompt: str
    seed: int
    digest: bytes

    @classmethod
    def of(cls, prompt: str, seed: int) -> Fingerprint:
        digest = hashlib.sha256(f"{prompt}\x00{seed}".encode()).digest()
        return cls(prompt=prompt, seed=seed, digest=digest)

    def color(self, index: int) -> tuple[int, int, int]:
        start = (index * 3) % 30
        return self.digest[start], self.digest[start + 1], self.digest[start + 2]

    def fraction(self, index: int) -> float:
        """A number in [0, 1) from byte `index`."""
        return self.digest[index % 32] / 256

    def rng(self) -> random.Random:
        return random.Random(int.from_bytes(self.digest, "big"))


@dataclass(frozen=True)
class RenderedOutput:
    source: Path | bytes | str
    media_type: MediaType
    content_type: str | None = None
    suffix: str | None = None


class SimulatorBackend:
    """Runs any model spec deterministically; charged nothing."""

    name = "simulator"

    def models(self) -> list[ModelSpec]:
        return list(SIMULATOR_MODELS)

    async def generate(self, request: GenerationRequest, ctx: RunContext) -> None:
        renderer = _RENDERERS.get(request.model.type)
        if renderer is None:
            raise RunFailure("input_invalid", f"the simulator cannot produce {request.model.type!r} outputs")
        fingerprint = Fingerprint.of(request.prompt, _seed(request.params))
        delay = _number(request.params, "sim_delay_seconds", 0.0, 0.0, 30.0)
        step_seconds = STEP_SECONDS + delay / len(PROGRESS_STEPS)
        for percent in PROGRESS_STEPS:
            ctx.progress(percent)
            await asyncio.sleep(step_seconds)
        output = await asyncio.to_thread(renderer, fingerprint, request.params, ctx)
        ctx.progress(90)
        await asyncio.sleep(STEP_SECONDS)
        ctx.save_output(
            output.source, output.media_type, content_type=output.content_type, suffix=output.suffix
        )
        ctx.progress(100)


def render_image(fingerprint: Fingerprint, params: dict[str, Any], ctx: RunContext) -> RenderedOutput:
    """A PNG: a two-colour gradient at a hash-chosen angle under translucent hash-coloured shapes."""
    width, height = _image_size(params, DEFAULT_IMAGE_SIZE)
    angle = fingerprint.fraction(30) * 2 * np.pi
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    ramp = xs / max(width - 1, 1) * np.cos(angle) + ys / max(height - 1, 1) * np.sin(angle)
    ramp = (ramp - ramp.min()) / max(float(ramp.max() - ramp.min()), 1e-6)
    start, end = np.array(fingerprint.color(0), np.float32), np.array(fingerprint.color(1), np.float32)
    pixels = start * (1 - ramp[..., None]) + end * ramp[..., None]
    image = Image.fromarray(pixels.round().astype(np.uint8), "RGB").convert("RGBA")

    rng = fingerprint.rng()
    layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    for index in range(2, 8):
        x0, y0 = rng.randint(0, width - 1), rng.randint(0, height - 1)
        x1 = min(width, x0 + rng.randint(width // 8, width // 2))
        y1 = min(height, y0 + rng.randint(height // 8, height // 2))
        fill = (*fingerprint.color(index), 170)
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=fill)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=fill)
    image = Image.alpha_composite(image, layer).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return RenderedOutput(buffer.getvalue(), "image", "image/png", ".png")


def render_video(fingerprint: Fingerprint, params: dict[str, Any], ctx: RunContext) -> RenderedOutput:
    """An H.264 yuv420p MP4 of `testsrc2`, hue-shifted and marked with a box in hash-chosen colours."""
    width, height = _image_size(params, DEFAULT_VIDEO_SIZE)
    width, height = width - width % 2, height - height % 2
    seconds = _number(params, "duration", DEFAULT_SECONDS, 0.5, 10.0)
    hue = round(fingerprint.fraction(0) * 360)
    red, green, blue = fingerprint.color(1)
    box_x, box_y = round(fingerprint.fraction(4) * width / 2), round(fingerprint.fraction(5) * height / 2)
    filters = (
        f"hue=h={hue},"
        f"drawbox=x={box_x}:y={box_y}:w={width // 3}:h={height // 3}"
        f":color=0x{red:02x}{green:02x}{blue:02x}@0.8:t=fill"
    )
    path = ctx.new_path("simulated.mp4")
    run_ffmpeg(
        [
            "-f", "lavfi",
            "-i", f"testsrc2=size={width}x{height}:rate={VIDEO_FPS}:duration={seconds:.3f}",
            "-vf", filters,
            "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
            "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:v", "+bitexact",
            "-movflags", "+faststart",
            path,
        ]
    )  # fmt: skip
    return RenderedOutput(path, "video", "video/mp4", ".mp4")


def render_audio(fingerprint: Fingerprint, params: dict[str, Any], ctx: RunContext) -> RenderedOutput:
    """A WAV tone (220–880 Hz from the hash) with a soft overtone and short fades; MP3 if `format` asks."""
    seconds = _number(params, "duration", DEFAULT_SECONDS, 0.5, 60.0)
    frequency = 220.0 * 4 ** fingerprint.fraction(0)
    times = np.arange(round(seconds * AUDIO_SAMPLE_RATE)) / AUDIO_SAMPLE_RATE
    signal = 0.3 * np.sin(2 * np.pi * frequency * times) + 0.1 * np.sin(4 * np.pi * frequency * times)
    fade = np.minimum(1.0, np.minimum(times, times[-1] - times) / 0.02)
    samples = (signal * fade * 32767).astype("<i2").tobytes()
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(AUDIO_SAMPLE_RATE)
        writer.writeframes(samples)
    if params.get("format") != "mp3":
        return RenderedOutput(buffer.getvalue(), "audio", "audio/wav", ".wav")
    wav_path, mp3_path = ctx.new_path("simulated.wav"), ctx.new_path("simulated.mp3")
    wav_path.write_bytes(buffer.getvalue())
    run_ffmpeg(["-i", wav_path, "-codec:a", "libmp3lame", "-q:a", "4", mp3_path])
    return RenderedOutput(mp3_path, "audio", "audio/mpeg", ".mp3")


_WORDS = (
    "amber", "brook", "cedar", "delta", "ember", "fjord", "grove", "harbor",
    "iris", "juniper", "kelp", "lumen", "meadow", "nimbus", "orchid", "pebble",
)  # fmt: skip


def render_text(fingerprint: Fingerprint, params: dict[str, Any], ctx: RunContext) -> RenderedOutput:
    """A fixed-shape answer that quotes the prompt and seed, plus words picked by the hash."""
    words = " ".join(_WORDS[byte % len(_WORDS)] for byte in fingerprint.digest[:8])
    text = (
        f"[simulated] Response to: {fingerprint.prompt}\n"
        f"seed: {fingerprint.seed}\n"
        f"fingerprint: {fingerprint.digest.hex()[:16]}\n"
        f"{words}."
    )
    return RenderedOutput(text, "text", "text/plain")


_RENDERERS = {"image": render_image, "video": render_video, "audio": render_audio, "text": render_text}


def _seed(params: dict[str, Any]) -> int:
    """The requested seed; absent (or not a number) counts as 0 so runs stay reproducible."""
    try:
        return int(params.get("seed") or 0)
    except (TypeError, ValueError):
        return 0


def _number(params: dict[str, Any], name: str, default: float, low: float, high: float) -> float:
    """A numeric param clamped to [low, high]; accepts other models' spellings such as "5" or "5s"."""
    value = params.get(name)
    if value is None:
        return default
    try:
        number = float(str(value).strip().rstrip("s"))
    except ValueError:
        return default
    return min(high, max(low, number))


_RATIO = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*[:x/]\s*(\d+(?:\.\d+)?)\s*$")


def _image_size(params: dict[str, Any], default: tuple[int, int]) -> tuple[int, int]:
    """width/height params, else an `aspect_ratio` like "16:9" at the default area, else `default`."""
    if params.get("width") is not None or params.get("height") is not None:
        width = round(_number(params, "width", default[0], 16, 2048))
        height = round(_number(params, "height", default[1], 16, 2048))
        return width, height
    match = _RATIO.match(str(params.get("aspect_ratio") or ""))
    if match and float(match.group(1)) > 0 and float(match.group(2)) > 0:
        ratio = float(match.group(1)) / float(match.group(2))
        area = default[0] * default[1]
        width = min(2048, max(16, round((area * ratio) ** 0.5 / 8) * 8))
        height = min(2048, max(16, round((area / ratio) ** 0.5 / 8) * 8))
        return width, height
    return default
