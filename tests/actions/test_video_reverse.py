"""reverse-video and boomerang-video: frame order, durations and sound, through the chunked pipeline."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from stamen.media.ffmpeg import run_ffmpeg
from stamen.media.probe import probe
from tests.actions.conftest import FAST_H264_ARGS
from tests.actions.test_video_support import (
    decode_frames,
    difference,
    duration_of,
    output_paths,
    run_video_action,
)

FRAME_BYTES_320X240 = 320 * 240 * 3 // 2


@pytest.fixture
def clip(make_video) -> Path:
    return make_video("clip.mp4", duration=2.0, size="320x240", fps=25)


@pytest.fixture
def silent_then_tone(tmp_path) -> Path:
    """2 s video whose sound is silent for the first second and a tone for the second."""
    path = tmp_path / "half_tone.mp4"
    run_ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=25:duration=2",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000:duration=2,volume='if(lt(t,1),0,1)':eval=frame",
            *FAST_H264_ARGS,
            "-c:a",
            "aac",
            "-shortest",
            path,
        ]
    )
    return path


def sound_energy_by_half(path: Path) -> tuple[float, float]:
    with av.open(str(path)) as container:
        samples = np.concatenate(
            [frame.to_ndarray().astype(np.float64).mean(axis=0) for frame in container.decode(audio=0)]
        )
    half = len(samples) // 2
    return float(np.sqrt(np.mean(samples[:half] ** 2))), float(np.sqrt(np.mean(samples[half:] ** 2)))


def assert_reversed(source: Path, output: Path) -> None:
    forward, backward = decode_frames(source), decode_frames(output)
    assert len(backward) == len(forward)
    neighbour = difference(forward[0], forward[1])
    assert difference(backward[0], forward[-1]) < neighbour / 2
    for index, frame in enumerate(backward):
        assert difference(frame, forward[-1 - index]) < neighbour / 2, f"frame {index} is out of order"


def test_reverse_video_first_frame_is_last_input_frame(make_context, clip):
    ctx = run_video_action(make_context, "reverse-video", {"video": [clip]})
    [output] = output_paths(ctx)
    assert_reversed(clip, output)
    assert duration_of(output) == pytest.approx(duration_of(clip), abs=0.05)
    info = probe(output)
    assert (info.video_codec, info.pixel_format, info.audio_codec) == ("h264", "yuv420p", "aac")
    assert ctx.progress_log[-1] == 100


@pytest.mark.parametrize("frames_per_chunk", [9, 4])  # 4 frames: sparse keyframes force a re-key pass
def test_reverse_video_in_many_small_chunks_keeps_every_frame_in_order(
    make_context, clip, monkeypatch, frames_per_chunk
):
    monkeypatch.setenv("STAMEN_REVERSE_BUFFER_BYTES", str(FRAME_BYTES_320X240 * frames_per_chunk))
    ctx = run_video_action(make_context, "reverse-video", {"video": [clip]})
    assert_reversed(clip, output_paths(ctx)[0])


def test_reverse_video_reverses_sound(make_context, silent_then_tone):
    ctx = run_video_action(make_context, "reverse-video", {"video": [silent_then_tone]}, audio_mode="reverse")
    first_half, second_half = sound_energy_by_half(output_paths(ctx)[0])
    assert first_half > 10 * second_half


def test_reverse_video_keep_plays_sound_forwards(make_context, silent_then_tone):
    ctx = run_video_action(make_context, "reverse-video", {"video": [silent_then_tone]}, audio_mode="keep")
    first_half, second_half = sound_energy_by_half(output_paths(ctx)[0])
    assert second_half > 10 * first_half


def test_reverse_video_strip_removes_sound(make_context, clip):
    ctx = run_video_action(make_context, "reverse-video", {"video": [clip]}, audio_mode="strip")
    assert not probe(output_paths(ctx)[0]).has_audio


def test_boomerang_video_doubles_duration_and_turns_at_the_input_end(make_context, clip):
    ctx = run_video_action(make_context, "boomerang-video", {"video": [clip]})
    [output] = output_paths(ctx)
    forward, loop = decode_frames(clip), decode_frames(output)
    assert len(loop) == 2 * len(forward) - 1  # the turn frame is shown once
    neighbour = difference(forward[0], forward[1])
    middle = loop[len(loop) // 2]
    assert difference(middle, forward[-1]) < neighbour / 2
    assert difference(loop[0], forward[0]) < neighbour / 2
    assert difference(loop[-1], forward[0]) < neighbour / 2
    assert duration_of(output) == pytest.approx(2 * duration_of(clip), abs=0.1)
    assert not probe(output).has_audio


def test_boomerang_video_speed_and_sound(make_context, silent_then_tone):
    ctx = run_video_action(
        make_context, "boomerang-video", {"video": [silent_then_tone]}, speed=2.0, include_audio=True
    )
    [output] = output_paths(ctx)
    info = probe(output)
    assert info.has_audio
    assert info.duration == pytest.approx(2.0, abs=0.1)  # 2 s forwards + 2 s back, at double speed
