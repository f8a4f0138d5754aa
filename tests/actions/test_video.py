"""resize-video and change-video-ar; every video action refuses input that is not a video."""

from __future__ import annotations

import pytest

from stamen.actions import get_action
from stamen.errors import RunFailure
from stamen.media.probe import probe
from tests.actions.test_video_support import decode_frames, output_paths, run_video_action

VIDEO_ACTIONS = [
    "reverse-video",
    "boomerang-video",
    "speed-up-video",
    "slow-down-video",
    "duplicate-video",
    "split-video",
    "stitch-videos",
    "merge-audio-into-video",
    "split-audio-from-video",
    "resize-video",
    "change-video-ar",
]


@pytest.mark.parametrize(("resolution", "expected"), [("240", (320, 240)), ("360", (480, 360)), ("custom", (160, 120))])
def test_resize_video_gives_the_asked_height(make_context, make_video, resolution, expected):
    clip = make_video("clip.mp4", duration=0.5)
    ctx = run_video_action(
        make_context, "resize-video", {"video": [clip]}, resolution=resolution, custom_resolution=120
    )
    info = probe(output_paths(ctx)[0])
    assert (info.width, info.height) == expected
    assert info.has_audio and info.pixel_format == "yuv420p"


def test_resize_video_uses_the_short_side_of_portrait_video(make_context, make_video):
    clip = make_video("tall.mp4", duration=0.5, size="240x320")
    ctx = run_video_action(make_context, "resize-video", {"video": [clip]}, resolution="360")
    info = probe(output_paths(ctx)[0])
    assert (info.width, info.height) == (360, 480)


@pytest.mark.parametrize(
    ("aspect_ratio", "fit", "expected"),
    [
        ("1:1", "crop", (240, 240)),
        ("1:1", "pad", (320, 320)),
        ("16:9", "crop", (320, 180)),
        ("9:16", "pad", (320, 568)),
        ("21:9", "crop", (320, 138)),
    ],
)
def test_change_video_ar_gives_the_ratio(make_context, make_video, aspect_ratio, fit, expected):
    clip = make_video("clip.mp4", duration=0.5)
    ctx = run_video_action(make_context, "change-video-ar", {"video": [clip]}, aspect_ratio=aspect_ratio, fit=fit)
    info = probe(output_paths(ctx)[0])
    assert (info.width, info.height) == expected
    assert info.duration == pytest.approx(0.5, abs=0.05)


def test_change_video_ar_pads_with_colour_or_blur(make_context, make_video):
    clip = make_video("clip.mp4", duration=0.3)
    solid = run_video_action(
        make_context, "change-video-ar", {"video": [clip]}, aspect_ratio="1:1", fit="pad", pad_color="#00ff00"
    )
    corner = decode_frames(output_paths(solid)[0])[0][2, 2]
    assert corner[1] > 200 and corner[0] < 60
    blurred = run_video_action(
        make_context,
        "change-video-ar",
        {"video": [clip]},
        aspect_ratio="1:1",
        fit="pad",
        background_mode="blur",
    )
    top_band = decode_frames(output_paths(blurred)[0])[0][:30]
    assert top_band.std() > 5  # a blurred picture, not a flat bar


@pytest.mark.parametrize("action_id", VIDEO_ACTIONS)
def test_video_action_fails_on_non_video_input(make_context, make_audio, tmp_path, action_id):
    bogus = tmp_path / "not_a_video.mp4"
    bogus.write_bytes(b"\x00\x01 definitely not a video " * 100)
    spec = get_action(action_id)
    inputs = {slot.name: [bogus] * (2 if slot.multiple else 1) for slot in spec.inputs if slot.type == "video"}
    inputs.update({slot.name: [make_audio("tone.wav", duration=0.5)] for slot in spec.inputs if slot.type == "audio"})
    with pytest.raises(RunFailure) as failure:
        run_video_action(make_context, action_id, inputs)
    assert failure.value.code == "input_invalid"
