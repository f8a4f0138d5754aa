"""stitch-videos: durations add up (minus transition overlaps), clips are framed to one size."""

from __future__ import annotations

import pytest

from stamen.errors import RunFailure
from stamen.media.probe import probe
from tests.actions.test_video_support import decode_frames, output_paths, run_video_action


def test_stitch_videos_without_transition_sums_durations(make_context, make_video):
    first = make_video("a.mp4", duration=1.0)
    second = make_video("b.mp4", duration=1.5)
    ctx = run_video_action(make_context, "stitch-videos", {"videos": [first, second]})
    info = probe(output_paths(ctx)[0])
    assert info.duration == pytest.approx(2.5, abs=0.06)
    assert (info.width, info.height, info.has_audio) == (320, 240, True)
    assert ctx.progress_log[-1] == 100


@pytest.mark.parametrize("transition", ["fade", "wipeleft", "wiperight"])
def test_stitch_videos_with_transition_overlaps_clips(make_context, make_video, transition):
    first = make_video("a.mp4", duration=1.0)
    second = make_video("b.mp4", duration=1.5)
    ctx = run_video_action(
        make_context,
        "stitch-videos",
        {"videos": [first, second]},
        transition=transition,
        transition_duration=0.4,
    )
    info = probe(output_paths(ctx)[0])
    assert info.duration == pytest.approx(1.0 + 1.5 - 0.4, abs=0.06)
    assert info.audio_duration == pytest.approx(2.1, abs=0.06)


def test_stitch_videos_frames_mixed_sizes_and_silent_clips(make_context, make_video):
    landscape = make_video("wide.mp4", duration=0.5, size="320x180", audio=False)
    portrait = make_video("tall.mp4", duration=0.5, size="180x320", audio=True)
    ctx = run_video_action(
        make_context,
        "stitch-videos",
        {"videos": [landscape, portrait]},
        aspect_ratio="1:1",
        fit_mode="contain",
        background_mode="blur",
    )
    info = probe(output_paths(ctx)[0])
    assert info.width == info.height
    assert info.has_audio and info.duration == pytest.approx(1.0, abs=0.06)


def test_stitch_videos_pads_with_the_background_colour(make_context, make_video):
    wide = make_video("wide.mp4", duration=0.4, size="320x120", audio=False)
    ctx = run_video_action(
        make_context,
        "stitch-videos",
        {"videos": [wide, wide]},
        aspect_ratio="4:3",
        background_color="#ff0000",
    )
    top_row = decode_frames(output_paths(ctx)[0])[0][2]
    assert top_row[:, 0].mean() > 200 and top_row[:, 1].mean() < 60  # red bars above the picture


def test_stitch_videos_needs_two_clips(make_context, make_video):
    with pytest.raises(RunFailure) as failure:
        run_video_action(make_context, "stitch-videos", {"videos": [make_video("a.mp4", duration=0.5)]})
    assert failure.value.code == "input_invalid"
