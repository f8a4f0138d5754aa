"""Video actions. This module holds the framing actions (resize-video, change-video-ar) and imports the
other video families so that importing `stamen.actions.video` registers them all:

- video_reverse: reverse-video, boomerang-video (bounded memory, chunked)
- video_time: speed-up-video, slow-down-video
- video_edit: duplicate-video, split-video
- video_stitch: stitch-videos
- video_audio: merge-audio-into-video, split-audio-from-video
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from stamen.actions import video_audio, video_edit, video_reverse, video_stitch, video_time
from stamen.actions.registry import VIDEO_IN, VIDEO_OUT, ActionParams, Color, action
from stamen.actions.video_support import (
    MP4_MUX_ARGS,
    audio_args,
    even,
    ffmpeg_color,
    fit_filter,
    frame_size_for_ratio,
    open_input_video,
    ratio_value,
    save_mp4,
    video_encode_args,
    video_seconds,
)
from stamen.execution.context import RunContext
from stamen.media.ffmpeg import run_ffmpeg
from stamen.media.probe import MediaInfo

__all__ = ["video_audio", "video_edit", "video_reverse", "video_stitch", "video_time"]

Resolution = Literal["240", "360", "480", "540", "720", "1080", "1440", "2160", "custom"]


class ResizeVideoParams(ActionParams):
    resolution: Resolution = Field(
        "720",
        title="Resolution",
        description="Target size of the short side in pixels (the height of a landscape video); "
        "the aspect ratio is kept",
    )
    custom_resolution: int = Field(
        720,
        ge=16,
        le=4320,
        title="Custom Resolution (px)",
        description="Short side when resolution is custom",
    )


class ChangeVideoArParams(ActionParams):
    aspect_ratio: Literal["1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "21:9"] = Field(
        "1:1", title="Aspect Ratio", description="Width:height of the output"
    )
    fit: Literal["crop", "pad"] = Field(
        "crop", title="Fit", description="crop: fill the frame, cutting edges; pad: keep everything, add bars"
    )
    background_mode: Literal["solid", "blur"] = Field(
        "solid", title="Background", description="What fills the bars when padding"
    )
    pad_color: Color = Field("#000000", title="Pad Color", description="Bar colour for a solid background")
    blur_amount: float = Field(20.0, ge=0.0, le=100.0, title="Blur Amount", description="For a blurred background")


@action(
    "resize-video",
    name="Resize Video",
    description="Scale a video to a standard resolution, keeping its aspect ratio.",
    inputs=VIDEO_IN,
    outputs=VIDEO_OUT,
    params=ResizeVideoParams,
)
def resize_video(ctx: RunContext, params: ResizeVideoParams) -> None:
    source, info = open_input_video(ctx)
    short_side = params.custom_resolution if params.resolution == "custom" else int(params.resolution)
    width, height = info.width or short_side, info.height or short_side
    scale = short_side / min(width, height)
    size = (even(width * scale), even(height * scale))
    output = ctx.new_path("resized.mp4")
    _reframe(ctx, source, info, output, f"scale={size[0]}:{size[1]}:flags=lanczos,setsar=1")
    save_mp4(ctx, output)


@action(
    "change-video-ar",
    name="Change Video Aspect Ratio",
    description="Crop or pad a video to a new aspect ratio.",
    inputs=VIDEO_IN,
    outputs=VIDEO_OUT,
    params=ChangeVideoArParams,
)
def change_video_ar(ctx: RunContext, params: ChangeVideoArParams) -> None:
    source, info = open_input_video(ctx)
    width, height = frame_size_for_ratio(
        info.width or 1280, info.height or 720, ratio_value(params.aspect_ratio), params.fit
    )
    framing = fit_filter(
        width,
        height,
        fit=params.fit,
        background_mode=params.background_mode,
        color=ffmpeg_color(params.pad_color),
        blur=params.blur_amount,
    )
    output = ctx.new_path("reframed.mp4")
    _reframe(ctx, source, info, output, framing)
    save_mp4(ctx, output)


def _reframe(ctx: RunContext, source: Path, info: MediaInfo, output: Path, video_filter: str) -> None:
    """Re-encode the picture through `video_filter` in one ffmpeg process; the sound is copied if AAC."""
    sound = ["-map", "0:a:0", *audio_args(info)] if info.has_audio else ["-an"]
    run_ffmpeg(
        [
            "-i",
            source,
            "-filter_complex",
            f"[0:v:0]{video_filter}[v]",
            "-map",
            "[v]",
            *sound,
            *video_encode_args(),
            *MP4_MUX_ARGS,
            output,
        ],
        expected_duration=video_seconds(info),
        on_progress=ctx.progress,
    )
    ctx.progress(100)
