"""Actions that turn a video into still images: extract-video-frames, video-to-frame-grid,
video-to-long-exposure.

Frame picking streams through one ffmpeg `select` filter (so memory does not grow with the video);
long exposure decodes with PyAV and keeps a single running frame.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import av
import numpy as np
from PIL import Image
from pydantic import Field, field_validator

from stamen.actions.registry import IMAGE_OUT, VIDEO_IN, ActionParams, Color, Interval, Slot, action
from stamen.actions.video_effects import number
from stamen.actions.video_support import ffmpeg_color, open_input_video, video_seconds
from stamen.errors import RunFailure
from stamen.execution.context import RunContext
from stamen.media.ffmpeg import run_ffmpeg
from stamen.media.probe import MediaInfo

MAX_EXTRACTED_FRAMES = 100
TIME_TOLERANCE = 0.0005  # seconds; keeps 0.2 + 0.4 (= 0.6000000000000001) from skipping the 0.6 s frame


def spaced_select(offset: float, step: float, count: int) -> str:
    """`select` keeping, for k = 0..count-1, the first frame at or after `offset + k*step` seconds."""
    target = f"{number(offset - TIME_TOLERANCE)}+selected_n*{number(step)}"
    return f"select='gte(t,{target})*lt(selected_n,{count})'"


# ---------------------------------------------------------------- extract-video-frames


class ExtractVideoFramesParams(ActionParams):
    mode: Literal["single", "evenly", "interval", "scene"] = Field(
        "evenly",
        title="Frames",
        description="single: one frame at Time (%); evenly: Frame Count frames spread over the range; "
        "interval: one frame every N seconds; scene: the first frame and the first frame of each new shot.",
    )
    time_percent: float = Field(
        50, ge=0, le=100, title="Time (%)", description="single: where to take the frame within the range."
    )
    frame_count: int = Field(8, ge=1, le=MAX_EXTRACTED_FRAMES, title="Frame Count")
    every_seconds: float = Field(1.0, ge=0.1, le=3600, multiple_of=0.1, title="Every (s)")
    scene_sensitivity: float = Field(
        0.5,
        ge=0,
        le=1,
        multiple_of=0.01,
        title="Scene Sensitivity",
        description="scene: higher finds more (subtler) cuts; 0.5 catches ordinary hard cuts.",
    )
    range: Interval = Field(
        default_factory=lambda: Interval(min=0, max=100),
        title="Video Range (%)",
        description="The part of the video, in percent of its length, that frames are taken from.",
    )

    @field_validator("range")
    @classmethod
    def range_within_video(cls, value: Interval) -> Interval:
        if not 0 <= value.min < value.max <= 100:
            raise ValueError("must satisfy 0 <= min < max <= 100")
        return value


def scene_threshold(sensitivity: float) -> float:
    """ffmpeg's scene score (0–1) above which a frame counts as a cut: 0.65 at sensitivity 0, 0.05 at 1."""
    return 0.05 + 0.6 * (1 - sensitivity)


@action(
    "extract-video-frames",
    name="Extract Video Frames",
    description="Save frames of a video as PNG images: one at a chosen time, N spread evenly, one every "
    f"N seconds, or one per detected scene (at most {MAX_EXTRACTED_FRAMES}), within a chosen range.",
    inputs=VIDEO_IN,
    outputs=[Slot("frames", "image", multiple=True)],
    params=ExtractVideoFramesParams,
)
def extract_video_frames(ctx: RunContext, params: ExtractVideoFramesParams) -> None:
    source, info = open_input_video(ctx)
    duration = video_seconds(info)
    fps = info.fps or 25.0
    start = duration * params.range.min / 100
    span = duration * (params.range.max - params.range.min) / 100
    seek, length, filters = start, span, ""
    count = MAX_EXTRACTED_FRAMES
    if params.mode == "single":
        seek = start + min(span * params.time_percent / 100, max(0.0, span - 1 / fps))
        length, count = span - (seek - start), 1
    elif params.mode == "evenly":
        count = params.frame_count
        filters = spaced_select(span / count / 2, span / count, count)
    elif params.mode == "interval":
        count = min(MAX_EXTRACTED_FRAMES, math.floor(span / params.every_seconds) + 1)
        filters = spaced_select(0, params.every_seconds, count)
    else:
        threshold = number(scene_threshold(params.scene_sensitivity))
        filters = f"select='eq(selected_n,0)+gt(scene,{threshold})'"
    pattern = ctx.new_path("frames") / "frame_%04d.png"
    pattern.parent.mkdir(parents=True, exist_ok=True)
    args: list[str | Path] = ["-ss", number(seek), "-t", number(max(length, 1 / fps)), "-i", source]
    if filters:
        args += ["-vf", filters]
    args += ["-map", "0:v:0", "-frames:v", str(count), "-fps_mode", "passthrough", pattern]
    run_ffmpeg(args, expected_duration=length, on_progress=ctx.progress)
    frames = sorted(pattern.parent.glob("frame_*.png"))
    if not frames:
        raise RunFailure("input_invalid", "no video frames in the chosen range")
    ctx.progress(100)
    for frame in frames:
        ctx.save_output(frame, "image", content_type="image/png")


# ---------------------------------------------------------------- video-to-frame-grid


class VideoToFrameGridParams(ActionParams):
    rows: int = Field(3, ge=1, le=10, title="Rows")
    cols: int = Field(3, ge=1, le=10, title="Columns")
    cell_width: int = Field(320, ge=32, le=1024, multiple_of=2, title="Cell Width (px)")
    gap: int = Field(8, ge=0, le=100, title="Gap Between Cells (px)")
    background: Color = Field("#000000", title="Background", description="Colour of the gaps.")


@action(
    "video-to-frame-grid",
    name="Video to Frame Grid",
    description="A contact sheet: rows × columns frames spread evenly over the video, each scaled to the "
    "cell width (aspect kept), left to right then top to bottom, separated by gaps, as one PNG.",
    inputs=VIDEO_IN,
    outputs=IMAGE_OUT,
    params=VideoToFrameGridParams,
)
def video_to_frame_grid(ctx: RunContext, params: VideoToFrameGridParams) -> None:
    source, info = open_input_video(ctx)
    duration = video_seconds(info)
    cells = params.rows * params.cols
    tile = f"tile={params.cols}x{params.rows}:padding={params.gap}:color={ffmpeg_color(params.background)}"
    graph = f"{spaced_select(duration / cells / 2, duration / cells, cells)},scale={params.cell_width}:-2,"
    graph += f"setsar=1,{tile},format=rgb24"
    output = ctx.new_path("grid.png")
    args: list[str | Path] = ["-i", source, "-vf", graph, "-map", "0:v:0", "-frames:v", "1"]
    args += ["-fps_mode", "passthrough", "-update", "1", output]
    run_ffmpeg(args, expected_duration=duration, on_progress=ctx.progress)
    ctx.progress(100)
    ctx.save_output(output, "image", content_type="image/png")


# ---------------------------------------------------------------- video-to-long-exposure


class VideoToLongExposureParams(ActionParams):
    blend_mode: Literal["average", "lighten", "darken"] = Field(
        "average",
        title="Blend Mode",
        description="average: motion blur; lighten: light trails (brightest value); darken: darkest value.",
    )
    frame_stride: int = Field(1, ge=1, le=100, title="Frame Stride", description="Sample every N frames.")
    max_frames: int = Field(
        120,
        ge=2,
        le=1000,
        title="Max Frames to Sample",
        description="When the stride would sample more, it widens so the samples still span the whole video.",
    )


def estimated_frames(info: MediaInfo) -> int:
    return max(1, info.frame_count or math.ceil(video_seconds(info) * (info.fps or 25)))


def sampling_stride(info: MediaInfo, params: VideoToLongExposureParams) -> int:
    """The frame step: the requested stride, widened so at most `max_frames` samples cover the video."""
    return max(params.frame_stride, math.ceil(estimated_frames(info) / params.max_frames))


def long_exposure(
    path: Path, info: MediaInfo, params: VideoToLongExposureParams, ctx: RunContext
) -> np.ndarray:
    """Blend the sampled frames into one RGB image, holding only a running accumulator in memory."""
    stride = sampling_stride(info, params)
    estimated = estimated_frames(info)
    accumulator: np.ndarray | None = None
    sampled = 0
    size: tuple[int, int] | None = None
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for index, frame in enumerate(container.decode(stream)):
                if index % stride:
                    continue
                size = size or (frame.width, frame.height)
                pixels = frame.reformat(width=size[0], height=size[1], format="rgb24").to_ndarray()
                pixels = np.rot90(pixels, k=round((frame.rotation or 0) / 90) % 4)
                if accumulator is None:
                    accumulator = pixels.astype(np.uint32 if params.blend_mode == "average" else np.uint8)
                elif params.blend_mode == "average":
                    accumulator += pixels
                elif params.blend_mode == "lighten":
                    np.maximum(accumulator, pixels, out=accumulator)
                else:
                    np.minimum(accumulator, pixels, out=accumulator)
                sampled += 1
                ctx.progress(min(99.0, 100 * index / estimated))
                if sampled >= params.max_frames:
                    break
    except (av.FFmpegError, ValueError) as error:
        raise RunFailure("input_invalid", f"could not decode the video: {error}") from error
    if accumulator is None:
        raise RunFailure("input_invalid", "the video has no decodable frames")
    if params.blend_mode == "average":
        return np.rint(accumulator / sampled).astype(np.uint8)
    return accumulator


@action(
    "video-to-long-exposure",
    name="Video to Long Exposure",
    description="Blend sampled frames of a video into one PNG, like a long camera exposure: average (motion "
    "blur), lighten (light trails) or darken.",
    inputs=VIDEO_IN,
    outputs=IMAGE_OUT,
    params=VideoToLongExposureParams,
)
def video_to_long_exposure(ctx: RunContext, params: VideoToLongExposureParams) -> None:
    source, info = open_input_video(ctx)
    image = long_exposure(source, info, params, ctx)
    output = ctx.new_path("long_exposure.png")
    Image.fromarray(image).save(output)
    ctx.progress(100)
    ctx.save_output(output, "image", content_type="image/png")
