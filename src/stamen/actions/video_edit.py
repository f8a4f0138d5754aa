"""duplicate-video and split-video: cut and copy without re-encoding whenever the cuts allow it.

split-video runs one ffmpeg process with the segment muxer: stream copy when every cut falls on (or
within a few percent of) a keyframe of an H.264 input, otherwise one re-encode with keyframes forced at
the cuts. Handles are cut as extra pieces and thrown away, so they cost no second pass.
"""

from __future__ import annotations

import itertools
import re
import shutil
import tempfile
from pathlib import Path
from typing import Literal

from pydantic import Field

from stamen.actions.registry import VIDEO_IN, ActionParams, Slot, action
from stamen.actions.video_support import (
    AUDIO_ENCODE_ARGS,
    MP4_MUX_ARGS,
    audio_args,
    can_copy_video,
    open_input_video,
    save_mp4,
    video_encode_args,
    video_seconds,
)
from stamen.errors import RunFailure
from stamen.execution.context import RunContext
from stamen.media.ffmpeg import run_ffmpeg
from stamen.media.probe import MediaInfo
from stamen.media.segments import index_video_frames

MAX_SEGMENTS = 100
MIN_SCENE_SECONDS = 0.5


class DuplicateVideoParams(ActionParams):
    count: int = Field(2, ge=1, le=20, title="Copies", description="How many identical videos to output")


class SplitVideoParams(ActionParams):
    split_mode: Literal["equal", "duration", "scene"] = Field(
        "equal",
        title="Split Mode",
        description="equal: N parts of the same length; duration: parts of a fixed length; scene: at cuts",
    )
    segments: int = Field(2, ge=2, le=MAX_SEGMENTS, title="Number of Segments", description="For equal mode")
    segment_duration: float = Field(
        5.0,
        ge=0.5,
        le=3600.0,
        title="Segment Duration (s)",
        description="For duration mode; the last part keeps the remainder",
    )
    scene_sensitivity: float = Field(
        0.6, ge=0.0, le=1.0, title="Scene Sensitivity", description="For scene mode; higher finds more cuts"
    )
    trim_handles: float = Field(
        0.0,
        ge=0.0,
        le=10.0,
        title="Trim Handles (s)",
        description="Seconds removed from both ends of each part",
    )
    strip_audio: bool = Field(False, title="Strip Audio", description="Output the parts without sound")


@action(
    "duplicate-video",
    name="Duplicate Video",
    description="Output several identical copies of a video.",
    inputs=VIDEO_IN,
    outputs=[Slot("videos", "video", multiple=True)],
    params=DuplicateVideoParams,
)
def duplicate_video(ctx: RunContext, params: DuplicateVideoParams) -> None:
    """One remux (stream copy) or, for non-MP4-ready input, one encode; then plain file copies."""
    source, info = open_input_video(ctx)
    first = ctx.new_path("copy_1.mp4")
    maps = ["-map", "0:v:0", "-map", "0:a:0?"]
    if can_copy_video(info) and info.audio_codec in {None, "aac"}:
        run_ffmpeg(["-i", source, *maps, "-c", "copy", *MP4_MUX_ARGS, first])
    else:
        run_ffmpeg(
            ["-i", source, *maps, *video_encode_args(), *AUDIO_ENCODE_ARGS, *MP4_MUX_ARGS, first],
            expected_duration=video_seconds(info),
            on_progress=ctx.progress,
        )
    save_mp4(ctx, first)
    for number in range(2, params.count + 1):
        copy = ctx.new_path(f"copy_{number}.mp4")
        shutil.copyfile(first, copy)
        save_mp4(ctx, copy)
    ctx.progress(100)


@action(
    "split-video",
    name="Split Video",
    description="Cut a video into equal parts, parts of a set length, or at scene changes.",
    inputs=VIDEO_IN,
    outputs=[Slot("videos", "video", multiple=True)],
    params=SplitVideoParams,
)
def split_video(ctx: RunContext, params: SplitVideoParams) -> None:
    source, info = open_input_video(ctx)
    duration = video_seconds(info)
    frame = 1.0 / (info.fps or 30.0)
    cuts = _cut_times(ctx, source, info, params, duration)
    parts = list(zip([0.0, *cuts], [*cuts, duration], strict=True))
    handle = params.trim_handles
    shortest = min(end - start for start, end in parts)
    if handle and shortest - 2 * handle < frame:
        raise RunFailure(
            "input_invalid",
            f"params.trim_handles {handle:g} s leaves nothing of a {shortest:.2f} s part; use less than "
            f"{max(0.0, (shortest - frame) / 2):.2f} s",
        )
    # Pieces between consecutive boundaries; with handles, every other piece is a handle to discard.
    boundaries = sorted({t for start, end in parts for t in (start + handle, end - handle)} - {0.0, duration})
    keep = [i for i, (start, end) in enumerate(_pieces(boundaries, duration)) if _is_part(start, end, parts, handle)]
    with tempfile.TemporaryDirectory(prefix="split_", dir=ctx.workdir if ctx.workdir.exists() else None) as tmp:
        pieces = _cut_pieces(ctx, source, info, boundaries, Path(tmp), strip_audio=params.strip_audio)
        for number, piece_index in enumerate(keep, start=1):
            output = ctx.new_path(f"part_{number}.mp4")
            shutil.move(pieces[piece_index], output)
            save_mp4(ctx, output)
    ctx.progress(100)


def _pieces(boundaries: list[float], duration: float) -> list[tuple[float, float]]:
    return list(zip([0.0, *boundaries], [*boundaries, duration], strict=True))


def _is_part(start: float, end: float, parts: list[tuple[float, float]], handle: float) -> bool:
    middle = (start + end) / 2
    return any(a + handle <= middle <= b - handle for a, b in parts)


def _cut_times(
    ctx: RunContext, source: Path, info: MediaInfo, params: SplitVideoParams, duration: float
) -> list[float]:
    if params.split_mode == "equal":
        return [duration * i / params.segments for i in range(1, params.segments)]
    if params.split_mode == "duration":
        count = int(duration / params.segment_duration + 1e-6)
        if count >= MAX_SEGMENTS:
            raise RunFailure(
                "input_invalid",
                f"params.segment_duration {params.segment_duration:g} s would make more than {MAX_SEGMENTS} parts",
            )
        cuts = [params.segment_duration * i for i in range(1, count + 1)]
        return [t for t in cuts if t < duration - 0.5 / (info.fps or 30.0)]
    return _scene_cuts(ctx, source, params.scene_sensitivity, duration)


def _scene_cuts(ctx: RunContext, source: Path, sensitivity: float, duration: float) -> list[float]:
    """Scene changes found by ffmpeg's `scdet` on a small copy of each frame (one decoding pass)."""
    threshold = 2.0 + 28.0 * (1.0 - sensitivity)  # scdet scores a hard cut at roughly 10-50
    with tempfile.TemporaryDirectory(prefix="scenes_") as tmp:
        report = Path(tmp) / "scenes.txt"
        graph = f"scale=160:-2,scdet=threshold={threshold:.2f},metadata=mode=print:key=lavfi.scd.time:file={report}"
        if not re.fullmatch(r"[\w./-]+", str(report)):
            raise RunFailure("internal_error", "the scratch directory path cannot be passed to ffmpeg")
        run_ffmpeg(["-i", source, "-map", "0:v:0", "-vf", graph, "-an", "-f", "null", "-"])
        text = report.read_text() if report.exists() else ""
    ctx.progress(40)
    cuts: list[float] = []
    for match in re.finditer(r"lavfi\.scd\.time=([0-9.]+)", text):
        time = float(match.group(1))
        previous = cuts[-1] if cuts else 0.0
        if time - previous >= MIN_SCENE_SECONDS and duration - time >= MIN_SCENE_SECONDS:
            cuts.append(time)
    return cuts[: MAX_SEGMENTS - 1]


def _cut_pieces(
    ctx: RunContext,
    source: Path,
    info: MediaInfo,
    boundaries: list[float],
    scratch: Path,
    *,
    strip_audio: bool,
) -> list[Path]:
    """Cut at every boundary in one ffmpeg process; stream copy when the cuts sit on keyframes."""
    frame = 1.0 / (info.fps or 30.0)
    maps = ["-map", "0:v:0"] + ([] if strip_audio else ["-map", "0:a:0?"])
    snapped = _snap_to_keyframes(source, info, boundaries)
    if snapped is not None:
        # The segment muxer cuts at the first keyframe at or after each time; aim just before it.
        times = [max(0.0, t - frame / 4) for t in snapped]
        codecs = ["-c", "copy"]
    else:
        times = boundaries
        forced = ",".join(f"{t:.6f}" for t in times) or "0"
        codecs = [*video_encode_args(), "-force_key_frames", forced, *audio_args(info)]
    segment = [
        "-f",
        "segment",
        "-reset_timestamps",
        "1",
        "-segment_format",
        "mp4",
        "-segment_format_options",
        "movflags=+faststart",
    ]
    if times:
        segment += [
            "-segment_times",
            ",".join(f"{t:.6f}" for t in times),
            "-segment_time_delta",
            f"{frame / 2:.6f}",
        ]
    else:
        segment += ["-segment_time", "1000000"]
    pattern = scratch / "piece_%05d.mp4"
    run_ffmpeg(
        ["-i", source, *maps, *codecs, *segment, pattern],
        expected_duration=video_seconds(info),
        on_progress=lambda pct: ctx.progress(40 + pct * 0.6),
    )
    pieces = sorted(scratch.glob("piece_*.mp4"))
    if len(pieces) != len(boundaries) + 1:
        raise RunFailure("ffmpeg_failed", f"expected {len(boundaries) + 1} pieces, ffmpeg wrote {len(pieces)}")
    return pieces


def _snap_to_keyframes(source: Path, info: MediaInfo, boundaries: list[float]) -> list[float] | None:
    """Keyframe times for every boundary when each has one close by (and the streams can be copied)."""
    if not can_copy_video(info) or info.audio_codec not in {None, "aac"}:
        return None
    if not boundaries:
        return []
    index = index_video_frames(source)
    keyframe_times = [index.times[i] for i in index.keyframes]
    edges = [0.0, *boundaries, video_seconds(info)]
    shortest = min(b - a for a, b in itertools.pairwise(edges))
    tolerance = max(0.5 / (info.fps or 30.0), min(0.25, 0.05 * shortest))
    snapped = []
    for time in boundaries:
        nearest = min(keyframe_times, key=lambda k: abs(k - time))
        if abs(nearest - time) > tolerance or nearest <= (snapped[-1] if snapped else 0.0):
            return None
        snapped.append(nearest)
    return snapped
