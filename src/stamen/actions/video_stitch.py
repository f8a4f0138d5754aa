"""stitch-videos: join clips end to end in one ffmpeg process, framed to one size, with optional transitions.

Every clip is framed to the output size (contain on a colour or a blurred copy, or cover), resampled to
one frame rate, and given a sound track of exactly its picture's length (silence when it has none), so
clips with and without sound join cleanly. Transitions overlap neighbouring clips by their duration.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

from pydantic import Field

from stamen.actions.registry import VIDEO_OUT, ActionParams, Color, Slot, action
from stamen.actions.video_support import (
    AUDIO_ENCODE_ARGS,
    MP4_MUX_ARGS,
    even,
    ffmpeg_color,
    fit_filter,
    open_video,
    ratio_value,
    save_mp4,
    video_encode_args,
    video_seconds,
)
from stamen.errors import RunFailure
from stamen.execution.context import RunContext
from stamen.media.ffmpeg import run_ffmpeg
from stamen.media.limits import check_output_seconds
from stamen.media.probe import MediaInfo

MAX_OUTPUT_FPS = 60.0
AUDIO_FORMAT = "aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo"


class StitchVideosParams(ActionParams):
    aspect_ratio: Literal["auto", "21:9", "16:9", "3:2", "4:3", "5:4", "1:1", "4:5", "3:4", "2:3", "9:16", "9:21"] = (
        Field("auto", title="Output Aspect Ratio", description="auto: the first clip's aspect ratio")
    )
    fit_mode: Literal["contain", "cover"] = Field(
        "contain",
        title="Fit Mode",
        description="contain: show each whole clip; cover: fill the frame, cropping",
    )
    background_mode: Literal["solid", "blur"] = Field(
        "solid", title="Background", description="What fills the bars around a contained clip"
    )
    background_color: Color = Field("#000000", title="Background Color", description="For a solid background")
    blur_amount: float = Field(20.0, ge=0.0, le=100.0, title="Blur Amount", description="For a blurred background")
    transition: Literal["none", "fade", "wipeleft", "wiperight"] = Field(
        "none", title="Transition", description="How one clip gives way to the next"
    )
    transition_duration: float = Field(
        0.5,
        ge=0.1,
        le=5.0,
        title="Transition Duration (s)",
        description="Neighbouring clips overlap this long; capped at half the shortest clip",
    )


@action(
    "stitch-videos",
    name="Stitch Videos",
    description="Join several videos end to end into one, optionally with transitions.",
    inputs=[Slot("videos", "video", multiple={"min": 2, "max": 20})],
    outputs=VIDEO_OUT,
    params=StitchVideosParams,
)
def stitch_videos(ctx: RunContext, params: StitchVideosParams) -> None:
    sources = ctx.input_paths("videos")
    if len(sources) < 2:
        raise RunFailure("input_invalid", f"stitch-videos needs at least 2 videos, got {len(sources)}")
    infos = [open_video(path) for path in sources]
    durations = [video_seconds(info) for info in infos]
    transition = params.transition != "none"
    overlap = min(params.transition_duration, min(durations) / 2) if transition else 0.0
    total = sum(durations) - overlap * (len(sources) - 1)
    check_output_seconds(total)

    width, height = _output_size(infos[0], params.aspect_ratio)
    fps = min(infos[0].fps or 30.0, MAX_OUTPUT_FPS)
    with_audio = any(info.has_audio for info in infos)
    graph = _stitch_graph(params, infos, durations, width, height, fps, with_audio, overlap)
    output = ctx.new_path("stitched.mp4")
    inputs: list[str | Path] = [arg for path in sources for arg in ("-i", path)]
    maps = ["-map", "[video]"] + (["-map", "[audio]", *AUDIO_ENCODE_ARGS] if with_audio else ["-an"])
    run_ffmpeg(
        [*inputs, "-filter_complex", graph, *maps, *video_encode_args(), *MP4_MUX_ARGS, output],
        expected_duration=total,
        on_progress=ctx.progress,
    )
    save_mp4(ctx, output)
    ctx.progress(100)


def _output_size(first: MediaInfo, aspect_ratio: str) -> tuple[int, int]:
    """The requested ratio at about the first clip's pixel count."""
    width, height = first.width or 1280, first.height or 720
    ratio = width / height if aspect_ratio == "auto" else ratio_value(aspect_ratio)
    area = width * height
    out_height = math.sqrt(area / ratio)
    return even(out_height * ratio), even(out_height)


def _stitch_graph(
    params: StitchVideosParams,
    infos: list[MediaInfo],
    durations: list[float],
    width: int,
    height: int,
    fps: float,
    with_audio: bool,
    overlap: float,
) -> str:
    color = ffmpeg_color(params.background_color)
    chains: list[str] = []
    for i, (info, duration) in enumerate(zip(infos, durations, strict=True)):
        framing = fit_filter(
            width,
            height,
            fit=params.fit_mode,
            background_mode=params.background_mode,
            color=color,
            blur=params.blur_amount,
            label=f"clip{i}",
        )
        chains.append(
            f"[{i}:v:0]setpts=PTS-STARTPTS,{framing},fps={fps:g},format=yuv420p,trim=end={duration:.6f}[v{i}]"
        )
        if with_audio:
            sound = f"[{i}:a:0]{AUDIO_FORMAT}," if info.has_audio else "anullsrc=r=48000:cl=stereo,"
            chains.append(f"{sound}apad=whole_dur={duration:.6f},atrim=end={duration:.6f}[a{i}]")
    count = len(infos)
    if not overlap:
        pads = "".join(f"[v{i}]" + (f"[a{i}]" if with_audio else "") for i in range(count))
        outs = "[video][audio]" if with_audio else "[video]"
        chains.append(f"{pads}concat=n={count}:v=1:a={int(with_audio)}{outs}")
        return ";".join(chains)
    video, audio, elapsed = "[v0]", "[a0]", durations[0]
    for i in range(1, count):
        offset = elapsed - overlap * i
        last = i == count - 1
        video_out = "[video]" if last else f"[x{i}]"
        chains.append(
            f"{video}[v{i}]xfade=transition={params.transition}:duration={overlap:.6f}:offset={offset:.6f}{video_out}"
        )
        video = video_out
        if with_audio:
            audio_out = "[audio]" if last else f"[y{i}]"
            chains.append(f"{audio}[a{i}]acrossfade=d={overlap:.6f}{audio_out}")
            audio = audio_out
        elapsed += durations[i]
    return ";".join(chains)
