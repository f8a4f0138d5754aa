"""speed-up-video and slow-down-video: one ffmpeg process each, retiming picture and (optionally) sound.

Sound keeps its pitch (`atempo`). Slow motion either repeats frames, blends neighbours, or synthesises
in-between frames with motion interpolation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from stamen.actions.registry import VIDEO_IN, VIDEO_OUT, ActionParams, action
from stamen.actions.video_support import (
    AUDIO_ENCODE_ARGS,
    MP4_MUX_ARGS,
    atempo_chain,
    open_input_video,
    save_mp4,
    video_encode_args,
    video_seconds,
)
from stamen.execution.context import RunContext
from stamen.media.ffmpeg import run_ffmpeg
from stamen.media.limits import check_output_seconds
from stamen.media.probe import MediaInfo

MAX_OUTPUT_FPS = 60.0


class SpeedUpVideoParams(ActionParams):
    factor: float = Field(2.0, ge=1.0, le=16.0, title="Speed Factor (x)", description="2 plays twice as fast")
    keep_audio: bool = Field(
        True, title="Keep Audio (pitch-preserved)", description="Speed the sound up too, at its own pitch"
    )


class SlowDownVideoParams(ActionParams):
    factor: float = Field(2.0, ge=1.0, le=8.0, title="Slow Factor (x)", description="2 plays at half speed")
    keep_audio: bool = Field(True, title="Keep Audio", description="Slow the sound down too, at its own pitch")
    smoothing: Literal["off", "blend", "motion"] = Field(
        "off",
        title="Smoothing",
        description="off: repeat frames; blend: cross-fade neighbouring frames; motion: interpolate motion "
        "(smoothest, slowest)",
    )


@action(
    "speed-up-video",
    name="Speed Up Video",
    description="Play a video faster; the sound can follow at its own pitch.",
    inputs=VIDEO_IN,
    outputs=VIDEO_OUT,
    params=SpeedUpVideoParams,
)
def speed_up_video(ctx: RunContext, params: SpeedUpVideoParams) -> None:
    source, info = open_input_video(ctx)
    output = ctx.new_path("faster.mp4")
    retime(ctx, source, info, output, params.factor, keep_audio=params.keep_audio)
    save_mp4(ctx, output)


@action(
    "slow-down-video",
    name="Slow Down Video",
    description="Play a video slower, optionally smoothing motion; the sound can follow at its own pitch.",
    inputs=VIDEO_IN,
    outputs=VIDEO_OUT,
    params=SlowDownVideoParams,
)
def slow_down_video(ctx: RunContext, params: SlowDownVideoParams) -> None:
    source, info = open_input_video(ctx)
    check_output_seconds(video_seconds(info) * params.factor)
    output = ctx.new_path("slower.mp4")
    retime(
        ctx,
        source,
        info,
        output,
        1.0 / params.factor,
        keep_audio=params.keep_audio,
        smoothing=params.smoothing,
    )
    save_mp4(ctx, output)


def retime(
    ctx: RunContext,
    source: Path,
    info: MediaInfo,
    output: Path,
    speed: float,
    *,
    keep_audio: bool,
    smoothing: str = "off",
) -> None:
    """Play `source` at `speed` (2 = twice as fast) in one ffmpeg process, keeping the input frame rate."""
    fps = min(info.fps or 30.0, MAX_OUTPUT_FPS)
    video = f"setpts=PTS/{speed:.6f}"
    # Interpolators hold back the last few frames; hold the final one so the picture lasts its length.
    hold = f",tpad=stop_mode=clone:stop_duration={4 / fps:.6f}"
    if smoothing == "blend":
        video += f",framerate=fps={fps:g}{hold}"
    elif smoothing == "motion":
        video += f",minterpolate=fps={fps:g}:mi_mode=mci{hold}"
    video += f",fps={fps:g}"  # constant rate: fills any gap an interpolator leaves before the hold
    graph = f"[0:v:0]{video}[v]"
    maps = ["-map", "[v]"]
    audio = ["-an"]
    if keep_audio and info.has_audio:
        graph += f";[0:a:0]{atempo_chain(speed)}[a]"
        maps += ["-map", "[a]"]
        audio = list(AUDIO_ENCODE_ARGS)
    expected = video_seconds(info) / speed
    run_ffmpeg(
        [
            "-i",
            source,
            "-filter_complex",
            graph,
            *maps,
            *video_encode_args(),
            *audio,
            "-t",
            f"{expected:.6f}",
            *MP4_MUX_ARGS,
            output,
        ],
        expected_duration=expected,
        on_progress=ctx.progress,
    )
    ctx.progress(100)
