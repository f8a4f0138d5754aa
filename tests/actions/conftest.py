"""Fixtures for action tests: media built with ffmpeg lavfi sources and Pillow, and a RunContext factory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from stamen.execution.context import InputValue, RunContext
from stamen.media.ffmpeg import run_ffmpeg

FAST_H264_ARGS = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
"""Encoder settings for test media: quick to encode, and playable as any video action's input."""


@pytest.fixture
def make_video(tmp_path: Path) -> Callable[..., Path]:
    """Build an H.264 MP4 from `testsrc2` (frame counter visible), optional sine audio."""

    def build(
        name: str = "input.mp4",
        *,
        duration: float = 2.0,
        size: str = "320x240",
        fps: int = 25,
        audio: bool = True,
        source: str = "testsrc2",
    ) -> Path:
        out = tmp_path / name
        args: list[str] = ["-f", "lavfi", "-i", f"{source}=size={size}:rate={fps}:duration={duration}"]
        if audio:
            args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={duration}"]
        args += [*FAST_H264_ARGS, "-g", str(fps)]
        if audio:
            args += ["-c:a", "aac", "-shortest"]
        run_ffmpeg([*args, out])
        return out

    return build


@pytest.fixture
def make_audio(tmp_path: Path) -> Callable[..., Path]:
    def build(name: str = "input.wav", *, duration: float = 2.0, frequency: int = 440) -> Path:
        out = tmp_path / name
        run_ffmpeg(["-f", "lavfi", "-i", f"sine=frequency={frequency}:duration={duration}", out])
        return out

    return build


@pytest.fixture
def make_image(tmp_path: Path) -> Callable[..., Path]:
    """A PNG with a red square marker in the top-left corner on a blue background."""

    def build(name: str = "input.png", *, size: tuple[int, int] = (200, 100), mode: str = "RGB") -> Path:
        image = Image.new(mode, size, (0, 0, 255) if mode == "RGB" else (0, 0, 255, 255))
        ImageDraw.Draw(image).rectangle([0, 0, size[0] // 5, size[1] // 5], fill=(255, 0, 0))
        out = tmp_path / name
        image.save(out)
        return out

    return build


@pytest.fixture
def non_video_files(tmp_path: Path, make_image: Callable[..., Path]) -> list[Path]:
    """Inputs every video action must refuse as `input_invalid`: text named `.mp4`, and a still image."""
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video")
    return [text, make_image("still.png")]


@pytest.fixture
def make_context(tmp_path: Path) -> Callable[..., RunContext]:
    """RunContext with `inputs` given as slot -> list of paths (media) or strings (text)."""

    def build(inputs: dict[str, list[Path | str]] | None = None, slot_types: dict[str, str] | None = None):
        bound: dict[str, list[InputValue]] = {}
        for slot, values in (inputs or {}).items():
            kind = (slot_types or {}).get(slot)
            bound[slot] = [
                InputValue(type=kind or "image", path=v) if isinstance(v, Path)
                else InputValue(type="text", text=v)
                for v in values
            ]
        progress: list[float] = []
        ctx = RunContext(run_id="run_test", workdir=tmp_path / "work", inputs=bound, on_progress=progress.append)
        ctx.progress_log = progress  # type: ignore[attr-defined]
        return ctx

    return build
