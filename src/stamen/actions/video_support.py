"""What every video action shares: opening and checking inputs, encoder settings, framing filters.

Outputs are MP4, H.264 yuv420p (+ AAC), with the index up front (`+faststart`) for streaming playback.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

from PIL import ImageColor

from stamen.errors import RunFailure
from stamen.execution.context import RunContext
from stamen.media.limits import check_input_limits
from stamen.media.probe import MediaInfo, check_complete, probe

MP4_CONTENT_TYPE = "video/mp4"
MP4_MUX_ARGS = ["-movflags", "+faststart"]
AUDIO_ENCODE_ARGS = ["-c:a", "aac", "-b:a", "160k"]
AspectRatio = str  # "16:9" style


def video_encode_args() -> list[str]:
    """libx264 settings for every re-encoded output; STAMEN_X264_PRESET trades speed for size."""
    preset = os.environ.get("STAMEN_X264_PRESET", "veryfast")
    return ["-c:v", "libx264", "-preset", preset, "-crf", "20", "-pix_fmt", "yuv420p"]


def open_video(path: Path) -> MediaInfo:
    """Probe an input that must be a video: readable, complete, moving, and within the size limits."""
    info = probe(path)
    if not info.has_video:
        raise RunFailure("input_invalid", f"{path.name} has no video track (got {info.format_name})")
    if info.is_still_image:
        raise RunFailure("input_invalid", f"{path.name} is a still image, not a video")
    check_input_limits(path, info)
    check_complete(path, info)
    if not info.duration or info.duration <= 0:
        raise RunFailure("input_invalid", f"{path.name} has no duration; is it a complete video file?")
    return info


def open_input_video(ctx: RunContext, slot: str = "video") -> tuple[Path, MediaInfo]:
    path = ctx.input_path(slot)
    return path, open_video(path)


def video_seconds(info: MediaInfo) -> float:
    """Length of the picture track (falls back to the container's duration)."""
    return info.video_duration or info.duration or 0.0


def can_copy_video(info: MediaInfo) -> bool:
    """True when the video track already is what we output (H.264 yuv420p), so it can be stream-copied."""
    return info.video_codec == "h264" and info.pixel_format in {"yuv420p", "yuvj420p"}


def audio_args(info: MediaInfo) -> list[str]:
    """Copy AAC audio as it is; encode anything else to AAC."""
    return ["-c:a", "copy"] if info.audio_codec == "aac" else AUDIO_ENCODE_ARGS


def save_mp4(ctx: RunContext, path: Path) -> None:
    ctx.save_output(path, "video", content_type=MP4_CONTENT_TYPE)


def ffmpeg_color(value: str) -> str:
    """Any CSS colour (`#1e90ff`, `red`, `rgb(0,0,0)`) as ffmpeg's `0xRRGGBB`; ValueError otherwise."""
    try:
        rgb = ImageColor.getrgb(value.strip())
    except ValueError as error:
        raise ValueError(f"{value!r} is not a colour (use #RRGGBB or a CSS name)") from error
    return "0x{:02x}{:02x}{:02x}".format(*rgb[:3])


def even(value: float) -> int:
    """Nearest even integer ≥ 2: H.264 yuv420p needs even width and height."""
    return max(2, round(value / 2) * 2)


def ratio_value(aspect_ratio: AspectRatio) -> float:
    width, height = aspect_ratio.split(":")
    return float(Fraction(int(width), int(height)))


def frame_size_for_ratio(width: int, height: int, ratio: float, fit: str) -> tuple[int, int]:
    """Output size with `ratio`: `crop`/`cover` keeps the largest inner area, `pad`/`contain` the smallest
    canvas that holds the whole frame."""
    source_ratio = width / height
    inside = fit in {"crop", "cover"}
    if (source_ratio > ratio) == inside:
        return even(height * ratio), even(height)
    return even(width), even(width / ratio)


def fit_filter(
    width: int,
    height: int,
    *,
    fit: str,
    background_mode: str = "solid",
    color: str = "0x000000",
    blur: float = 20.0,
    label: str = "fit",
) -> str:
    """A filter chain (one input, one output) that frames any picture into `width`x`height`.

    `cover`/`crop` fills and crops; `contain`/`pad` letterboxes on a solid colour or on a blurred,
    enlarged copy of the picture itself. `label` keeps pad names unique when several chains share a graph.
    """
    size = f"{width}:{height}"
    if fit in {"cover", "crop"}:
        return f"scale={size}:force_original_aspect_ratio=increase,crop={size},setsar=1"
    contained = f"scale={size}:force_original_aspect_ratio=decrease:force_divisible_by=2"
    if background_mode == "blur":
        sigma = max(0.5, float(blur))
        return (
            f"split=2[{label}_bg][{label}_fg];[{label}_bg]scale={size}:force_original_aspect_ratio=increase,"
            f"crop={size},gblur=sigma={sigma:g}[{label}_blur];[{label}_fg]{contained}[{label}_small];"
            f"[{label}_blur][{label}_small]overlay=(W-w)/2:(H-h)/2,setsar=1"
        )
    return f"{contained},pad={size}:(ow-iw)/2:(oh-ih)/2:color={color},setsar=1"


def atempo_chain(factor: float) -> str:
    """`atempo` filters whose product is `factor`, each within 0.5–2 where atempo keeps quality."""
    stages: list[str] = []
    remaining = factor
    while remaining > 2.0:
        stages.append("atempo=2.0")
        remaining /= 2.0
    while remaining < 0.5:
        stages.append("atempo=0.5")
        remaining /= 0.5
    if abs(remaining - 1.0) > 1e-9 or not stages:
        stages.append(f"atempo={remaining:.6f}")
    return ",".join(stages)
