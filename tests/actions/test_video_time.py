"""speed-up-video and slow-down-video: durations scale by the factor, sound follows or is dropped."""

from __future__ import annotations

import pytest

from stamen.media.probe import probe
from tests.actions.test_video_support import duration_of, output_paths, run_video_action


def test_speed_up_video_by_2_halves_duration(make_context, make_video):
    clip = make_video("clip.mp4", duration=2.0)
    ctx = run_video_action(make_context, "speed-up-video", {"video": [clip]}, factor=2.0)
    [output] = output_paths(ctx)
    info = probe(output)
    assert info.duration == pytest.approx(1.0, abs=0.06)
    assert info.has_audio and info.audio_duration == pytest.approx(1.0, abs=0.06)
    assert info.fps == pytest.approx(25, abs=0.5)
    assert ctx.progress_log[-1] == 100


def test_speed_up_video_without_audio(make_context, make_video):
    clip = make_video("clip.mp4", duration=2.0)
    ctx = run_video_action(make_context, "speed-up-video", {"video": [clip]}, factor=4.0, keep_audio=False)
    info = probe(output_paths(ctx)[0])
    assert not info.has_audio
    assert info.duration == pytest.approx(0.5, abs=0.06)


@pytest.mark.parametrize("smoothing", ["off", "blend", "motion"])
def test_slow_down_video_by_2_doubles_duration(make_context, make_video, smoothing):
    clip = make_video("clip.mp4", duration=1.0)
    ctx = run_video_action(make_context, "slow-down-video", {"video": [clip]}, factor=2.0, smoothing=smoothing)
    info = probe(output_paths(ctx)[0])
    assert info.duration == pytest.approx(2.0, abs=0.08)
    assert info.has_audio
    assert info.frame_count == pytest.approx(50, abs=2)  # the input frame rate is kept


def test_slow_down_video_refuses_output_beyond_the_length_limit(make_context, make_video, monkeypatch):
    from stamen.errors import RunFailure

    clip = make_video("clip.mp4", duration=1.0)
    monkeypatch.setenv("STAMEN_MAX_VIDEO_SECONDS", "3")
    with pytest.raises(RunFailure) as failure:
        run_video_action(make_context, "slow-down-video", {"video": [clip]}, factor=4.0)
    assert failure.value.code == "media_too_large"
    assert duration_of(clip) == pytest.approx(1.0, abs=0.05)
