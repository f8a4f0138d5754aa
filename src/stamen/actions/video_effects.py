"""Video look actions: color-grade-video, color-filter-video, video-effect, greenscreen-video, ken-burns-video.

Each action is one ffmpeg process: a filter chain on the input's video stream, audio kept, output MP4
H.264 yuv420p (`video_support` settings) — except greenscreen, whose output is VP9 WebM with alpha.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

from PIL import Image, ImageColor, ImageOps
from pydantic import Field

from stamen.actions.registry import IMAGE_IN, VIDEO_IN, VIDEO_OUT, ActionParams, Color, action
from stamen.actions.video_support import (
    MP4_MUX_ARGS,
    audio_args,
    even,
    ffmpeg_color,
    open_input_video,
    save_mp4,
    video_encode_args,
    video_seconds,
)
from stamen.errors import RunFailure
from stamen.execution.context import RunContext
from stamen.media.ffmpeg import run_ffmpeg

EVEN_DIMENSIONS = "scale=trunc(iw/2)*2:trunc(ih/2)*2"


def number(value: float) -> str:
    """A number as ffmpeg options and expressions read it (no exponent, no trailing zeros)."""
    return f"{value:.6f}".rstrip("0").rstrip(".") or "0"


def render_video(ctx: RunContext, chain: str) -> None:
    """Run `chain` (a filtergraph body after `[0:v]`) over the input video; save an MP4 H.264 output."""
    source, info = open_input_video(ctx)
    output = ctx.new_path("output.mp4")
    graph = f"[0:v]{chain},{EVEN_DIMENSIONS},format=yuv420p[v]"
    args: list[str | Path] = ["-i", source, "-filter_complex", graph, "-map", "[v]", "-map", "0:a?"]
    args += [*video_encode_args(), *audio_args(info), *MP4_MUX_ARGS, output]
    run_ffmpeg(args, expected_duration=video_seconds(info), on_progress=ctx.progress)
    ctx.progress(100)
    save_mp4(ctx, output)


# ---------------------------------------------------------------- color-grade-video


class ColorGradeVideoParams(ActionParams):
    brightness: float = Field(
        0, ge=-1, le=1, multiple_of=0.01, title="Brightness", description="0 is unchanged."
    )
    contrast: float = Field(1, ge=0, le=3, multiple_of=0.01, title="Contrast", description="1 is unchanged.")
    saturation: float = Field(
        1.0, ge=0, le=3, multiple_of=0.01, title="Saturation", description="0 is grey, 1 is unchanged."
    )
    gamma: float = Field(
        1, ge=0.1, le=4, multiple_of=0.01, title="Gamma", description="Above 1 lifts midtones."
    )


@action(
    "color-grade-video",
    name="Color Grade Video",
    description="Adjust brightness, contrast, saturation and gamma of a video (ffmpeg eq).",
    inputs=VIDEO_IN,
    outputs=VIDEO_OUT,
    params=ColorGradeVideoParams,
)
def color_grade_video(ctx: RunContext, params: ColorGradeVideoParams) -> None:
    render_video(
        ctx,
        f"eq=brightness={number(params.brightness)}:contrast={number(params.contrast)}"
        f":saturation={number(params.saturation)}:gamma={number(params.gamma)}",
    )


# ---------------------------------------------------------------- color-filter-video

GRAY = "lutyuv=u=128:v=128"
FILTER_LOOKS: dict[str, str] = {
    "grayscale": GRAY,
    "sepia": "colorchannelmixer=.393:.769:.189:0:.349:.686:.168:0:.272:.534:.131",
    "invert": "negate",
    "clarendon": "eq=contrast=1.2:saturation=1.35,colorbalance=bs=0.08:bm=0.03:rh=0.06:bh=-0.04",
    "moon": f"{GRAY},eq=contrast=1.1:brightness=0.08:gamma=1.1",
    "nashville": "colorbalance=rs=0.08:bs=-0.02:rh=0.06:gh=0.02:bh=-0.08,eq=contrast=0.92:brightness=0.04"
    ":saturation=1.2,curves=all='0/0.08 1/0.98'",
    "noir": f"{GRAY},eq=contrast=1.5:brightness=-0.04",
    "fade": "curves=all='0/0.12 1/0.9',eq=saturation=0.8",
    "crossprocess": "curves=preset=cross_process",
}


class ColorFilterVideoParams(ActionParams):
    filter: Literal[
        "grayscale", "sepia", "invert", "bw", "posterize", "solarize",
        "clarendon", "moon", "nashville", "noir", "fade", "crossprocess",
    ] = Field("grayscale", title="Filter")  # fmt: skip
    grain: int = Field(0, ge=0, le=100, title="Grain", description="Film grain added on top; 0 adds none.")
    bw_threshold: int = Field(128, ge=0, le=255, title="B&W Threshold", description="bw: luma turning white.")
    posterize_bits: int = Field(
        3, ge=1, le=8, title="Posterize Bits", description="posterize: bits per channel."
    )
    solarize_threshold: int = Field(
        128,
        ge=0,
        le=255,
        title="Solarize Threshold",
        description="solarize: channel values above it are inverted.",
    )


def color_filter_chain(params: ColorFilterVideoParams) -> str:
    """The filter chain for one named look; threshold/bit looks are per-pixel lookup tables."""
    if params.filter == "bw":
        threshold = f"minval+{params.bw_threshold}/255*(maxval-minval)"
        chain = f"lutyuv=y='if(gte(val,{threshold}),maxval,minval)':u=128:v=128"
    elif params.filter == "posterize":
        levels = 2**params.posterize_bits
        level = f"floor(val*{levels}/256)*255/{levels - 1}"
        chain = f"lutrgb=r='{level}':g='{level}':b='{level}'"
    elif params.filter == "solarize":
        flip = f"if(gte(val,{params.solarize_threshold}),255-val,val)"
        chain = f"lutrgb=r='{flip}':g='{flip}':b='{flip}'"
    else:
        chain = FILTER_LOOKS[params.filter]
    if params.grain:
        chain += f",format=yuv420p,noise=c0s={params.grain}:c0f=t"
    return chain


@action(
    "color-filter-video",
    name="Color Filter Video",
    description="Apply a named look (grayscale, sepia, invert, bw, posterize, solarize, clarendon, moon, "
    "nashville, noir, fade, crossprocess) with optional film grain.",
    inputs=VIDEO_IN,
    outputs=VIDEO_OUT,
    params=ColorFilterVideoParams,
)
def color_filter_video(ctx: RunContext, params: ColorFilterVideoParams) -> None:
    render_video(ctx, color_filter_chain(params))


# ---------------------------------------------------------------- video-effect


class VideoEffectParams(ActionParams):
    effect: Literal["vignette", "grain", "pixelate", "shake", "chromatic", "vhs"] = Field(
        "vignette", title="Effect"
    )
    vignette_angle: float = Field(
        0.63,
        ge=0,
        le=1.57,
        multiple_of=0.01,
        title="Vignette Falloff",
        description="vignette: lens angle in radians; larger darkens more of the frame.",
    )
    grain_strength: int = Field(30, ge=0, le=100, title="Grain Strength", description="grain: noise amount.")
    pixel_block_size: int = Field(
        16, ge=2, le=256, title="Block Size (px)", description="pixelate: block edge."
    )
    shake_amount: int = Field(
        10, ge=1, le=100, title="Shake Amount (px)", description="shake: largest offset."
    )
    chromatic_offset: int = Field(
        6,
        ge=1,
        le=100,
        title="Channel Offset (px)",
        description="chromatic: red/blue shift in opposite directions.",
    )


def wave(amount: int, first: float, second: float, phase: float) -> str:
    """A smooth pseudo-random offset in [0, 2*amount] from two sines (deterministic handheld wobble)."""
    return f"'{amount}*(1+0.6*sin(2*PI*{first}*t+{phase})+0.4*sin(2*PI*{second}*t))'"


def effect_chain(params: VideoEffectParams) -> str:
    """A filtergraph body from `[0:v]` (the caller prefixes it) for one effect."""
    effect = params.effect
    if effect == "vignette":
        return f"vignette=angle={number(params.vignette_angle)}"
    if effect == "grain":
        return f"noise=alls={params.grain_strength}:allf=t+u"
    if effect == "pixelate":
        return f"pixelize=w={params.pixel_block_size}:h={params.pixel_block_size}"
    if effect == "shake":
        amount = params.shake_amount
        window = f"crop=w=iw-{2 * amount}:h=ih-{2 * amount}"
        moving = f"{window}:x={wave(amount, 1.3, 3.7, 0)}:y={wave(amount, 1.1, 4.3, 1)}"
        return f"split[shake_in][shake_ref];[shake_in]{moving}[shake_crop];[shake_crop][shake_ref]scale=rw:rh"
    if effect == "chromatic":
        return f"rgbashift=rh=-{params.chromatic_offset}:bh={params.chromatic_offset}"
    return (  # vhs: colour bleed, soft horizontal smear, boosted colour, noise, scanlines
        "rgbashift=rh=-3:bh=3,gblur=sigma=1.2:sigmaV=0.01,eq=saturation=1.25:contrast=1.05,"
        "noise=alls=14:allf=t,drawgrid=w=iw:h=3:t=1:c=black@0.3"
    )


@action(
    "video-effect",
    name="Video Effect",
    description="Apply one stylised effect: vignette, film grain, pixelate, camera shake (frame size kept), "
    "chromatic aberration or a VHS look.",
    inputs=VIDEO_IN,
    outputs=VIDEO_OUT,
    params=VideoEffectParams,
)
def video_effect(ctx: RunContext, params: VideoEffectParams) -> None:
    if params.effect == "shake":
        _, info = open_input_video(ctx)
        if info.width and info.height and 2 * params.shake_amount >= min(info.width, info.height):
            raise RunFailure(
                "input_invalid", "params.shake_amount must be less than half the frame's shorter side"
            )
    render_video(ctx, effect_chain(params))


# ---------------------------------------------------------------- greenscreen-video

KEY_PRESETS = {"green": "#00FF00", "blue": "#0000FF"}
VP9_SPEED_ARGS = ["-deadline", "realtime", "-cpu-used", "8", "-row-mt", "1"]  # ~4x faster than "good"


class GreenscreenVideoParams(ActionParams):
    color_preset: Literal["green", "blue", "custom"] = Field("green", title="Background Preset")
    custom_color: Color = Field(
        "#00FF00", title="Custom Background Color", description="custom: the screen colour to remove."
    )
    similarity: float = Field(
        0.3,
        ge=0.01,
        le=1,
        multiple_of=0.01,
        title="Similarity",
        description="How close to the key colour (in chroma) a pixel must be to become transparent.",
    )
    blend: float = Field(
        0.1,
        ge=0,
        le=1,
        multiple_of=0.01,
        title="Edge Blend (softness)",
        description="Partial transparency for pixels just outside the similarity range.",
    )
    spill: bool = Field(
        True, title="Spill Suppression", description="Remove the key colour's cast from edges."
    )


def key_color(params: GreenscreenVideoParams) -> str:
    return params.custom_color if params.color_preset == "custom" else KEY_PRESETS[params.color_preset]


def despill_type(color: str) -> str | None:
    """`despill` handles green or blue screens; a key colour dominated by neither gets no spill pass."""
    red, green, blue = ImageColor.getrgb(color)[:3]
    if green > max(red, blue):
        return "green"
    if blue > max(red, green):
        return "blue"
    return None


@action(
    "greenscreen-video",
    name="Greenscreen Video",
    description="Key out a green, blue or custom screen colour (ffmpeg chromakey; despill for spill "
    "suppression). The output is a VP9 WebM video with an alpha channel (yuva420p): the screen becomes "
    "transparent, ready to composite over another layer. Audio is kept as Opus.",
    inputs=VIDEO_IN,
    outputs=VIDEO_OUT,
    params=GreenscreenVideoParams,
)
def greenscreen_video(ctx: RunContext, params: GreenscreenVideoParams) -> None:
    source, info = open_input_video(ctx)
    color = key_color(params)
    chain = f"chromakey={ffmpeg_color(color)}:{number(params.similarity)}:{number(params.blend)}"
    spill = despill_type(color) if params.spill else None
    if spill:
        chain += f",format=rgba,despill=type={spill}"
    graph = f"[0:v]{chain},{EVEN_DIMENSIONS},format=yuva420p[v]"
    output = ctx.new_path("output.webm")
    args: list[str | Path] = ["-i", source, "-filter_complex", graph, "-map", "[v]", "-map", "0:a?"]
    args += ["-c:v", "libvpx-vp9", "-pix_fmt", "yuva420p", "-crf", "30", "-b:v", "0"]
    args += [*VP9_SPEED_ARGS, "-c:a", "libopus", "-b:a", "128k", output]
    run_ffmpeg(args, expected_duration=video_seconds(info), on_progress=ctx.progress)
    ctx.progress(100)
    ctx.save_output(output, "video", content_type="video/webm")


# ---------------------------------------------------------------- ken-burns-video

MAX_KEN_BURNS_SIDE = 1920
SUPERSAMPLE = 3  # zoompan crops on whole pixels; a 3x source keeps the motion smooth at output size
EASINGS = {
    "linear": "T",
    "ease-in": "T*T",
    "ease-out": "1-(1-T)*(1-T)",
    "ease-in-out": "if(lt(T,0.5),2*T*T,1-2*(1-T)*(1-T))",
}


class KenBurnsVideoParams(ActionParams):
    duration: float = Field(5.0, ge=1, le=60, multiple_of=0.1, title="Duration (s)")
    fps: Literal["24", "30", "60"] = Field("30", title="FPS")
    zoom: float = Field(
        1.3,
        ge=1,
        le=3,
        multiple_of=0.05,
        title="Zoom Level",
        description="Magnification of the tightest framing; panning needs a zoom above 1.",
    )
    zoom_direction: Literal["none", "in", "out"] = Field("in", title="Zoom Direction")
    pan_direction: Literal["none", "left", "right", "up", "down"] = Field("none", title="Pan")
    easing: Literal["linear", "ease-in", "ease-out", "ease-in-out"] = Field("ease-in-out", title="Easing")


def output_size(width: int, height: int) -> tuple[int, int]:
    """The image's own size, shrunk to fit MAX_KEN_BURNS_SIDE, with even sides (H.264 yuv420p)."""
    scale = min(1.0, MAX_KEN_BURNS_SIDE / max(width, height))
    return even(width * scale), even(height * scale)


def prepare_still(source: Path, target: Path) -> tuple[int, int]:
    """Write the image upright and opaque as an uncompressed PPM (no larger than the supersampled size);
    return the output video size."""
    try:
        with Image.open(source) as opened:
            image = ImageOps.exif_transpose(opened)
            if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
                rgba = image.convert("RGBA")
                image = Image.new("RGB", rgba.size, (0, 0, 0))
                image.paste(rgba, mask=rgba.getchannel("A"))
            image = image.convert("RGB")
            width, height = output_size(*image.size)
            image.thumbnail((width * SUPERSAMPLE, height * SUPERSAMPLE), Image.Resampling.LANCZOS)
            image.save(target, format="PPM")
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        raise RunFailure("input_invalid", f"the input is not a readable image: {error}") from error
    return width, height


def zoompan_filter(params: KenBurnsVideoParams, frames: int, size: tuple[int, int]) -> str:
    """zoompan expressions: `P` is the eased progress 0→1 over the output frames."""
    progress = "(" + EASINGS[params.easing].replace("T", f"(on/{max(frames - 1, 1)})") + ")"
    zoom = number(params.zoom)
    if params.zoom_direction == "in":
        z = f"1+({zoom}-1)*{progress}"
    elif params.zoom_direction == "out":
        z = f"{zoom}-({zoom}-1)*{progress}"
    else:
        z = zoom
    x_room, y_room = "(iw-iw/zoom)", "(ih-ih/zoom)"
    x = {"left": f"{x_room}*(1-{progress})", "right": f"{x_room}*{progress}"}.get(
        params.pan_direction, f"{x_room}/2"
    )
    y = {"up": f"{y_room}*(1-{progress})", "down": f"{y_room}*{progress}"}.get(
        params.pan_direction, f"{y_room}/2"
    )
    return f"zoompan=z='{z}':x='{x}':y='{y}':d={frames}:s={size[0]}x{size[1]}:fps={params.fps}"


@action(
    "ken-burns-video",
    name="Ken Burns Video",
    description="Turn a still image into a video with a slow zoom and/or pan (eased), at the image's "
    "aspect ratio (longest side at most 1920 px).",
    inputs=IMAGE_IN,
    outputs=VIDEO_OUT,
    params=KenBurnsVideoParams,
)
def ken_burns_video(ctx: RunContext, params: KenBurnsVideoParams) -> None:
    still = ctx.new_path("ken_burns_source.ppm")
    width, height = prepare_still(ctx.input_path("image"), still)
    frames = max(1, math.floor(params.duration * int(params.fps) + 0.5))
    output = ctx.new_path("output.mp4")
    supersampled = f"scale={width * SUPERSAMPLE}:{height * SUPERSAMPLE}:flags=lanczos,setsar=1"
    graph = f"{supersampled},{zoompan_filter(params, frames, (width, height))},format=yuv420p"
    args: list[str | Path] = ["-i", still, "-vf", graph, "-frames:v", str(frames)]
    args += [*video_encode_args(), *MP4_MUX_ARGS, output]
    run_ffmpeg(args, expected_duration=params.duration, on_progress=ctx.progress)
    ctx.progress(100)
    save_mp4(ctx, output)
