"""merge-audio-into-video and split-audio-from-video: streams, formats and the duration rule."""

from __future__ import annotations

import pytest

from stamen.errors import RunFailure
from stamen.media.probe import probe
from tests.actions.test_video_support import output_paths, run_video_action


@pytest.mark.parametrize(
    ("rule", "audio_seconds", "expected"),
    [
        ("video", 1.0, 2.0),
        ("video", 3.0, 2.0),
        ("audio", 1.0, 1.0),
        ("audio", 3.0, 3.0),
        ("shortest", 1.0, 1.0),
        ("shortest", 3.0, 2.0),
    ],
)
def test_merge_audio_into_video_has_both_streams_and_follows_duration_rule(
    make_context, make_video, make_audio, rule, audio_seconds, expected
):
    video = make_video("silent.mp4", duration=2.0, audio=False)
    sound = make_audio("tone.wav", duration=audio_seconds)
    ctx = run_video_action(make_context, "merge-audio-into-video", {"video": [video], "audio": [sound]}, duration=rule)
    info = probe(output_paths(ctx)[0])
    assert info.has_video and info.has_audio and info.audio_codec == "aac"
    assert info.duration == pytest.approx(expected, abs=0.06)
    assert info.video_duration == pytest.approx(expected, abs=0.06)
    assert info.audio_duration == pytest.approx(expected, abs=0.06)


def test_merge_audio_into_video_copies_the_picture_when_it_can(make_context, make_video, make_audio):
    video = make_video("clip.mp4", duration=1.0)
    sound = make_audio("tone.wav", duration=1.0, frequency=880)
    ctx = run_video_action(make_context, "merge-audio-into-video", {"video": [video], "audio": [sound]})
    info = probe(output_paths(ctx)[0])
    assert info.frame_count == probe(video).frame_count


@pytest.mark.parametrize(
    ("audio_format", "codec", "content_type"),
    [
        ("auto", "aac", "audio/mp4"),
        ("m4a", "aac", "audio/mp4"),
        ("mp3", "mp3", "audio/mpeg"),
        ("wav", "pcm_s16le", "audio/wav"),
    ],
)
def test_split_audio_from_video_yields_audio_of_the_input_duration(
    make_context, make_video, audio_format, codec, content_type
):
    clip = make_video("clip.mp4", duration=2.0)
    ctx = run_video_action(make_context, "split-audio-from-video", {"video": [clip]}, audio_format=audio_format)
    [output] = ctx.outputs
    info = probe(output.path)
    assert (output.media_type, output.content_type) == ("audio", content_type)
    assert not info.has_video and info.audio_codec == codec
    assert info.duration == pytest.approx(2.0, abs=0.08)


def test_split_audio_from_video_without_sound_fails(make_context, make_video):
    clip = make_video("silent.mp4", duration=0.5, audio=False)
    with pytest.raises(RunFailure) as failure:
        run_video_action(make_context, "split-audio-from-video", {"video": [clip]})
    assert failure.value.code == "input_invalid"
