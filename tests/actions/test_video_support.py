"""Shared helpers for the video action tests, and tests of the helpers in stamen.actions.video_support."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from stamen.actions import get_action, validate_params
from stamen.actions.video_support import (
    atempo_chain,
    even,
    ffmpeg_color,
    frame_size_for_ratio,
    open_video,
)
from stamen.errors import RunFailure
from stamen.execution.context import RunContext
from stamen.media.limits import check_input_limits
from stamen.media.probe import probe


def run_video_action(make_context, action_id: str, inputs: dict[str, list[Path]], **params) -> RunContext:
    """Run an action through its registry declaration, as the worker does."""
    spec = get_action(action_id)
    slot_types = {slot.name: slot.type for slot in spec.inputs}
    ctx: RunContext = make_context(inputs, slot_types)
    spec.run(ctx, validate_params(spec, params))
    return ctx


def output_paths(ctx: RunContext) -> list[Path]:
    return [output.path for output in ctx.outputs if output.path is not None]


def decode_frames(path: Path, fmt: str = "rgb24") -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format=fmt).astype(np.int16) for frame in container.decode(video=0)]


def difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).mean())


def duration_of(path: Path) -> float:
    info = probe(path)
    assert info.duration is not None
    return info.duration


# ---------------------------------------------------------------- helpers


def test_atempo_chain_keeps_each_stage_within_quality_range():
    for factor in (0.125, 0.3, 0.5, 1.0, 1.5, 2.0, 7.0, 16.0):
        stages = [float(stage.split("=")[1]) for stage in atempo_chain(factor).split(",")]
        assert all(0.5 <= stage <= 2.0 for stage in stages)
        assert np.prod(stages) == pytest.approx(factor, rel=1e-5)


def test_frame_size_for_ratio_crops_inside_and_pads_outside():
    assert frame_size_for_ratio(320, 240, 1.0, "crop") == (240, 240)
    assert frame_size_for_ratio(320, 240, 1.0, "pad") == (320, 320)
    assert frame_size_for_ratio(320, 240, 16 / 9, "crop") == (320, 180)
    assert frame_size_for_ratio(320, 240, 16 / 9, "pad") == (426, 240)


def test_even_rounds_to_even_sizes():
    assert [even(v) for v in (0, 1, 3, 425.9, 427)] == [2, 2, 4, 426, 428]


def test_ffmpeg_color_accepts_css_colours_and_rejects_others():
    assert ffmpeg_color("#1E90FF") == "0x1e90ff"
    assert ffmpeg_color("red") == "0xff0000"
    with pytest.raises(ValueError):
        ffmpeg_color("not-a-colour")


def test_open_video_rejects_text_file(tmp_path):
    bogus = tmp_path / "notes.mp4"
    bogus.write_text("this is not a video")
    with pytest.raises(RunFailure) as failure:
        open_video(bogus)
    assert failure.value.code == "input_invalid"


def test_open_video_rejects_audio_only_file(make_audio):
    with pytest.raises(RunFailure) as failure:
        open_video(make_audio("sound.wav", duration=0.5))
    assert failure.value.code == "input_invalid"
    assert "no video track" in failure.value.message


def test_open_video_rejects_still_image(make_image):
    with pytest.raises(RunFailure) as failure:
        open_video(make_image("still.png"))
    assert failure.value.code == "input_invalid"


def test_open_video_rejects_truncated_file_with_index_at_end(make_video, tmp_path):
    clip = make_video("whole.mp4", duration=1.0)
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])
    with pytest.raises(RunFailure) as failure:
        open_video(truncated)
    assert failure.value.code == "input_invalid"


def test_open_video_rejects_truncated_file_with_index_up_front(make_video, tmp_path):
    from stamen.media.ffmpeg import run_ffmpeg

    clip = make_video("whole.mp4", duration=2.0)
    faststart = tmp_path / "faststart.mp4"
    run_ffmpeg(["-i", clip, "-c", "copy", "-movflags", "+faststart", faststart])
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(faststart.read_bytes()[: faststart.stat().st_size // 3])
    with pytest.raises(RunFailure) as failure:
        open_video(truncated)
    assert failure.value.code == "input_invalid"
    assert "truncated" in failure.value.message


def test_limits_reject_long_video_from_environment(make_video, monkeypatch):
    clip = make_video("long.mp4", duration=1.0)
    monkeypatch.setenv("STAMEN_MAX_VIDEO_SECONDS", "0.5")
    with pytest.raises(RunFailure) as failure:
        check_input_limits(clip, probe(clip))
    assert failure.value.code == "media_too_large"


def test_limits_reject_large_frames_from_environment(make_video, monkeypatch):
    clip = make_video("big.mp4", duration=0.2)
    monkeypatch.setenv("STAMEN_MAX_VIDEO_PIXELS", str(320 * 240 - 1))
    with pytest.raises(RunFailure) as failure:
        open_video(clip)
    assert failure.value.code == "media_too_large"
