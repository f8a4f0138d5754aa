"""duplicate-video and split-video: copies are stream-identical; parts add up to the input."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from stamen.errors import RunFailure
from stamen.media.ffmpeg import run_ffmpeg
from stamen.media.probe import probe
from tests.actions.conftest import FAST_H264_ARGS
from tests.actions.test_video_support import duration_of, output_paths, run_video_action


def packets(path: Path) -> list[tuple[int, int | None, bytes]]:
    with av.open(str(path)) as container:
        return [(packet.stream.index, packet.pts, bytes(packet)) for packet in container.demux() if packet.size]


def test_duplicate_video_outputs_count_stream_identical_copies(make_context, make_video):
    clip = make_video("clip.mp4", duration=1.0)
    ctx = run_video_action(make_context, "duplicate-video", {"video": [clip]}, count=3)
    copies = output_paths(ctx)
    assert len(copies) == 3 and len(set(copies)) == 3
    assert all(copy.read_bytes() == copies[0].read_bytes() for copy in copies)
    video_packets = [p for p in packets(copies[0]) if p[0] == 0]
    source_video = [p for p in packets(clip) if p[0] == 0]
    assert [p[2] for p in video_packets] == [p[2] for p in source_video]  # stream copy, not re-encoded


def test_duplicate_video_encodes_input_that_mp4_cannot_carry(make_context, tmp_path):
    webm = tmp_path / "clip.webm"
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10:duration=1", "-c:v", "libvpx", webm])
    ctx = run_video_action(make_context, "duplicate-video", {"video": [webm]}, count=2)
    info = probe(output_paths(ctx)[1])
    assert (info.video_codec, info.pixel_format) == ("h264", "yuv420p")


def test_split_video_equal_into_3_parts_sums_to_input(make_context, make_video):
    clip = make_video("clip.mp4", duration=2.0)
    ctx = run_video_action(make_context, "split-video", {"video": [clip]}, split_mode="equal", segments=3)
    parts = output_paths(ctx)
    assert len(parts) == 3
    lengths = [probe(part).video_duration or 0 for part in parts]
    assert sum(lengths) == pytest.approx(duration_of(clip), abs=0.05)
    assert all(length == pytest.approx(2 / 3, abs=0.05) for length in lengths)
    assert all(probe(part).has_audio for part in parts)


def test_split_video_at_keyframes_copies_streams(make_context, make_video):
    clip = make_video("clip.mp4", duration=2.0)  # a keyframe every second
    ctx = run_video_action(make_context, "split-video", {"video": [clip]}, split_mode="equal", segments=2)
    first, second = output_paths(ctx)
    source_video = [p[2] for p in packets(clip) if p[0] == 0]
    parts_video = [p[2] for part in (first, second) for p in packets(part) if p[0] == 0]
    assert parts_video == source_video


def test_split_video_by_duration_keeps_the_remainder(make_context, make_video):
    clip = make_video("clip.mp4", duration=2.0)
    ctx = run_video_action(
        make_context,
        "split-video",
        {"video": [clip]},
        split_mode="duration",
        segment_duration=0.8,
        strip_audio=True,
    )
    parts = output_paths(ctx)
    assert [round(probe(p).duration or 0, 1) for p in parts] == [0.8, 0.8, 0.4]
    assert not any(probe(p).has_audio for p in parts)


def test_split_video_trim_handles_shorten_each_part(make_context, make_video):
    clip = make_video("clip.mp4", duration=2.0)
    ctx = run_video_action(make_context, "split-video", {"video": [clip]}, segments=2, trim_handles=0.2)
    lengths = [probe(p).video_duration or 0 for p in output_paths(ctx)]
    assert lengths == pytest.approx([0.6, 0.6], abs=0.05)


def test_split_video_finds_scene_changes(make_context, tmp_path):
    scenes = tmp_path / "scenes.mp4"
    run_ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=25:duration=1",
            "-f",
            "lavfi",
            "-i",
            "color=c=red:size=320x240:rate=25:duration=1",
            "-filter_complex",
            "[0:v][1:v]concat=n=2:v=1[v]",
            "-map",
            "[v]",
            *FAST_H264_ARGS,
            scenes,
        ]
    )
    ctx = run_video_action(make_context, "split-video", {"video": [scenes]}, split_mode="scene")
    lengths = [probe(p).video_duration or 0 for p in output_paths(ctx)]
    assert lengths == pytest.approx([1.0, 1.0], abs=0.05)


def test_split_video_refuses_handles_longer_than_parts(make_context, make_video):
    clip = make_video("clip.mp4", duration=1.0)
    with pytest.raises(RunFailure) as failure:
        run_video_action(make_context, "split-video", {"video": [clip]}, segments=4, trim_handles=0.2)
    assert failure.value.code == "input_invalid"
