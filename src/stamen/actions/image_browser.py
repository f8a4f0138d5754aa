"""Image actions that exist only as `-browser` ids (SDK 0.11.0): overlay, draw, crop, resize, shader effects.

Positions and sizes given as point2d are fractions of the base image (`{x: 0.5, y: 0.5}` is the centre);
rotations are degrees clockwise. The 3D scene renderer lives in `image_scene`.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
from PIL import Image, ImageFilter
from pydantic import Field

from stamen.actions.registry import IMAGE_IN, IMAGE_OUT, ActionParams, Color, Point2D, Slot, action
from stamen.execution.context import RunContext
from stamen.media.images import (
    MAX_SIDE,
    blend,
    canvas,
    check_pixels,
    color_array,
    contain,
    cover,
    from_float,
    gaussian_blur,
    luma,
    mix,
    open_image,
    resize,
    save_png,
    stroke_mask,
    to_float,
)


def point(x: float, y: float, title: str, description: str) -> Any:
    """A point2d Field defaulting to `{x, y}`."""
    return Field(default_factory=lambda: Point2D(x=x, y=y), title=title, description=description)


# ---------------------------------------------------------------- overlay-image-browser


class OverlayImageBrowserParams(ActionParams):
    blend: Literal["normal", "multiply", "screen", "overlay", "soft-light"] = Field("normal", title="Blend")
    opacity: float = Field(1.0, ge=0, le=1, title="Opacity")
    center: Point2D = point(0.5, 0.5, "Center", "Where the overlay's centre goes, as fractions of the image.")
    size: Point2D = point(0.5, 0.5, "Size", "Overlay width and height as fractions of the image.")
    rotation: float = Field(0.0, ge=-360, le=360, title="Rotation (deg)")


def overlay(base: Image.Image, top: Image.Image, params: OverlayImageBrowserParams) -> Image.Image:
    """W3C compositing: the blended colour where both exist, source-over alpha."""
    width, height = base.size
    top = resize(top.convert("RGBA"), (abs(params.size.x) * width, abs(params.size.y) * height))
    if params.rotation:
        top = top.rotate(-params.rotation, resample=Image.Resampling.BICUBIC, expand=True)
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    position = (
        round(params.center.x * width - top.width / 2),
        round(params.center.y * height - top.height / 2),
    )
    layer.paste(top, position)
    base_rgb, base_alpha = to_float(base)
    top_rgb, top_alpha = to_float(layer)
    assert top_alpha is not None
    top_alpha = top_alpha * params.opacity
    backdrop_alpha = np.ones_like(top_alpha) if base_alpha is None else base_alpha
    source = mix(top_rgb, blend(base_rgb, top_rgb, params.blend), backdrop_alpha)
    out_alpha = top_alpha + backdrop_alpha * (1 - top_alpha)
    premultiplied = top_alpha[..., None] * source + ((1 - top_alpha) * backdrop_alpha)[..., None] * base_rgb
    rgb = premultiplied / np.maximum(out_alpha, 1e-6)[..., None]
    return from_float(rgb, None if base_alpha is None else out_alpha)


@action(
    "overlay-image-browser",
    name="Overlay Image",
    description="Places the `overlay` image on the `image` with position, size, rotation, opacity and blend.",
    inputs=[Slot("image", "image"), Slot("overlay", "image")],
    outputs=IMAGE_OUT,
    params=OverlayImageBrowserParams,
    language="javascript",
)
def overlay_image(ctx: RunContext, params: OverlayImageBrowserParams) -> None:
    base, top = open_image(ctx.input_path("image")), open_image(ctx.input_path("overlay"))
    save_png(ctx, overlay(base, top, params))


# ---------------------------------------------------------------- draw-image-browser


class DrawImageBrowserParams(ActionParams):
    color: Color = Field("#ff0000", title="Brush color")
    size: float = Field(12.0, ge=1, le=500, title="Brush size")
    erase: bool = Field(False, title="Erase", description="Make the painted area transparent instead.")


@action(
    "draw-image-browser",
    name="Draw on Image",
    description="Paints brush strokes onto an image. Headless runs take the strokes from the optional "
    "`mask` input (white marks = where the brush passed); without it the image is unchanged.",
    inputs=[Slot("image", "image"), Slot("mask", "image", optional=True)],
    outputs=IMAGE_OUT,
    params=DrawImageBrowserParams,
    language="javascript",
)
def draw_image(ctx: RunContext, params: DrawImageBrowserParams) -> None:
    image = open_image(ctx.input_path("image"))
    strokes = ctx.input_paths("mask")
    if strokes:
        painted = stroke_mask(strokes[0], image.size, widen=params.size / 2)
        rgb, alpha = to_float(image)
        if params.erase:
            image = from_float(rgb, (1 - painted) * (1 if alpha is None else alpha))
        else:
            rgb = mix(rgb, color_array(params.color), painted)
            image = from_float(rgb, None if alpha is None else np.maximum(alpha, painted))
    save_png(ctx, image)


# ---------------------------------------------------------------- crop-image-browser


class CropImageBrowserParams(ActionParams):
    center: Point2D = point(0.5, 0.5, "Center", "Centre of the crop box, as fractions of the image.")
    size: Point2D = point(1.0, 1.0, "Size", "Width and height of the crop box, as fractions of the image.")
    rotation: float = Field(0.0, ge=-360, le=360, title="Rotation (deg)", description="Of the crop box.")
    lock_aspect: bool = Field(
        False, title="Lock ratio", description="Keep the source's aspect ratio: the height follows size.x."
    )


def crop(image: Image.Image, params: CropImageBrowserParams) -> Image.Image:
    """The (possibly rotated) box; parts outside the image come out transparent."""
    width, height = image.size
    size_y = params.size.x if params.lock_aspect else params.size.y
    out_width, out_height = max(1, round(abs(params.size.x) * width)), max(1, round(abs(size_y) * height))
    check_pixels(out_width, out_height)
    center_x, center_y = params.center.x * width, params.center.y * height
    outside = not (
        center_x - out_width / 2 >= 0
        and center_x + out_width / 2 <= width
        and center_y - out_height / 2 >= 0
        and center_y + out_height / 2 <= height
    )
    if (outside or params.rotation % 360) and image.mode != "RGBA":
        image = image.convert("RGBA")
    if not params.rotation % 360:
        left, top = round(center_x - out_width / 2), round(center_y - out_height / 2)
        return image.crop((left, top, left + out_width, top + out_height))
    angle = math.radians(params.rotation)
    cos_a, sin_a = math.cos(angle), math.sin(angle)
    # output pixel (u, v) → input: centre + R(angle)·(u - w/2, v - h/2)
    offset_x, offset_y = -out_width / 2, -out_height / 2
    coefficients = (
        cos_a,
        -sin_a,
        center_x + cos_a * offset_x - sin_a * offset_y,
        sin_a,
        cos_a,
        center_y + sin_a * offset_x + cos_a * offset_y,
    )
    return image.transform(
        (out_width, out_height), Image.Transform.AFFINE, coefficients, resample=Image.Resampling.BICUBIC
    )


@action(
    "crop-image-browser",
    name="Crop Image",
    description="Crops a box (centre and size as fractions of the image, optionally rotated).",
    inputs=IMAGE_IN,
    outputs=IMAGE_OUT,
    params=CropImageBrowserParams,
    language="javascript",
)
def crop_image(ctx: RunContext, params: CropImageBrowserParams) -> None:
    save_png(ctx, crop(open_image(ctx.input_path("image")), params))


# ---------------------------------------------------------------- resize-image-browser


class ResizeImageBrowserParams(ActionParams):
    mode: Literal["exact", "percent", "longest"] = Field("percent", title="Resize by")
    width: int = Field(1024, ge=1, le=MAX_SIDE, title="Width (px)")
    height: int = Field(1024, ge=1, le=MAX_SIDE, title="Height (px)")
    percent: float = Field(50.0, ge=1, le=1000, title="Scale (%)")
    longest: int = Field(1024, ge=1, le=MAX_SIDE, title="Longest Side (px)")
    fit: Literal["contain", "cover", "stretch"] = Field(
        "contain", title="Fit", description="For exact sizes: letterbox, crop to fill, or distort."
    )
    bg_color: Color = Field("#000000", title="Letterbox Color")


def resize_image_to(image: Image.Image, params: ResizeImageBrowserParams) -> Image.Image:
    if params.mode == "percent":
        scale = params.percent / 100
        return resize(image, (image.width * scale, image.height * scale))
    if params.mode == "longest":
        scale = params.longest / max(image.size)
        return resize(image, (image.width * scale, image.height * scale))
    size = (params.width, params.height)
    if params.fit == "stretch":
        return resize(image, size)
    if params.fit == "cover":
        return cover(image, size)
    return contain(image, size, canvas(size, params.bg_color, force_alpha=image.mode == "RGBA"))


@action(
    "resize-image-browser",
    name="Resize Image",
    description="Resizes to an exact size, a percentage, or a longest side.",
    inputs=IMAGE_IN,
    outputs=IMAGE_OUT,
    params=ResizeImageBrowserParams,
    language="javascript",
)
def resize_image(ctx: RunContext, params: ResizeImageBrowserParams) -> None:
    save_png(ctx, resize_image_to(open_image(ctx.input_path("image")), params))


# ---------------------------------------------------------------- shader-effect-browser


class ShaderEffectBrowserParams(ActionParams):
    effect: Literal["chromatic", "glitch", "edges", "crt", "ripple", "kaleidoscope", "bloom", "pixelate"] = (
        Field("chromatic", title="Effect")
    )
    intensity: float = Field(
        1.0, ge=0, le=1, title="Intensity", description="Mix with the original; for pixelate, the block size."
    )
    shift: float = Field(
        8.0, ge=0, le=200, title="Shift (px)", description="Channel offset (chromatic, glitch)."
    )
    glitch_amount: float = Field(0.5, ge=0, le=1, title="Glitch Amount")
    edge_thickness: int = Field(1, ge=1, le=10, title="Edge Thickness")
    scanline_strength: float = Field(0.5, ge=0, le=1, title="Scanline Strength")
    ripple_amp: float = Field(10.0, ge=0, le=200, title="Ripple Amplitude", description="In pixels.")
    ripple_freq: float = Field(
        6.0, ge=0, le=100, title="Ripple Frequency", description="Waves across the image."
    )
    segments: int = Field(6, ge=2, le=64, title="Segments")
    bloom_threshold: float = Field(0.7, ge=0, le=1, title="Bloom Threshold")
    bloom_strength: float = Field(1.0, ge=0, le=5, title="Bloom Strength")


def sample(data: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Nearest-neighbour lookup with clamped coordinates."""
    height, width = data.shape[:2]
    return data[
        np.clip(np.rint(ys), 0, height - 1).astype(np.intp),
        np.clip(np.rint(xs), 0, width - 1).astype(np.intp),
    ]


def shifted_channels(rgb: np.ndarray, shift: float) -> np.ndarray:
    xs = np.arange(rgb.shape[1])
    red = rgb[:, np.clip(xs - round(shift), 0, rgb.shape[1] - 1), 0]
    blue = rgb[:, np.clip(xs + round(shift), 0, rgb.shape[1] - 1), 2]
    return np.stack([red, rgb[..., 1], blue], axis=2)


def glitch(rgb: np.ndarray, params: ShaderEffectBrowserParams) -> np.ndarray:
    """Horizontal bands displaced sideways (deterministic), with split channels inside them."""
    height, width = rgb.shape[:2]
    rng = np.random.default_rng(0)
    result = rgb.copy()
    top = 0
    while top < height:
        band = int(rng.integers(2, max(3, height // 12)))
        if rng.random() < params.glitch_amount:
            offset = int(rng.integers(-width // 10 - 1, width // 10 + 2))
            rows = shifted_channels(np.roll(rgb[top : top + band], offset, axis=1), params.shift)
            result[top : top + band] = rows
        top += band
    return result


def shader_effect(image: Image.Image, params: ShaderEffectBrowserParams) -> Image.Image:
    rgb, alpha = to_float(image)
    height, width = rgb.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    effect = params.effect
    if effect == "pixelate":
        block = 2 + round(62 * params.intensity)
        small = resize(image, (width / block, height / block))
        return small.resize(image.size, Image.Resampling.NEAREST)
    if effect == "chromatic":
        out = shifted_channels(rgb, params.shift)
    elif effect == "glitch":
        out = glitch(rgb, params)
    elif effect == "edges":
        gray = luma(rgb)
        gx = np.zeros_like(gray)
        gy = np.zeros_like(gray)
        gx[:, 1:-1] = gray[:, 2:] - gray[:, :-2]
        gy[1:-1, :] = gray[2:, :] - gray[:-2, :]
        edges = Image.fromarray(np.clip(np.hypot(gx, gy) * 2 * 255, 0, 255).astype(np.uint8), "L")
        if params.edge_thickness > 1:
            edges = edges.filter(ImageFilter.MaxFilter(2 * params.edge_thickness - 1))
        out = np.repeat((np.asarray(edges, np.float32) / 255)[..., None], 3, axis=2)
    elif effect == "crt":
        out = shifted_channels(rgb, 1)
        scan = 1 - params.scanline_strength * (ys % 3 == 2)
        mask = np.full((width, 3), 0.85, np.float32)
        mask[np.arange(width), np.arange(width) % 3] = 1.0
        radius = np.hypot(xs / width - 0.5, ys / height - 0.5) / math.sqrt(0.5)
        out = out * scan[..., None] * mask[None] * (1 - 0.5 * radius**2)[..., None]
    elif effect == "ripple":
        phase = 2 * math.pi * params.ripple_freq
        out = sample(
            rgb,
            xs + params.ripple_amp * np.sin(phase * ys / height),
            ys + params.ripple_amp * np.sin(phase * xs / width),
        )
        if alpha is not None:
            alpha = sample(
                alpha,
                xs + params.ripple_amp * np.sin(phase * ys / height),
                ys + params.ripple_amp * np.sin(phase * xs / width),
            )
    elif effect == "kaleidoscope":
        center_x, center_y = width / 2, height / 2
        angle = np.arctan2(ys - center_y, xs - center_x)
        radius = np.hypot(xs - center_x, ys - center_y)
        wedge = 2 * math.pi / params.segments
        folded = np.abs(np.mod(angle, wedge) - wedge / 2)
        source_x, source_y = center_x + radius * np.cos(folded), center_y + radius * np.sin(folded)
        out = sample(rgb, source_x, source_y)
        if alpha is not None:
            alpha = sample(alpha, source_x, source_y)
    else:
        bright = np.clip(luma(rgb) - params.bloom_threshold, 0, None) / max(1e-3, 1 - params.bloom_threshold)
        glow = to_float(
            gaussian_blur(from_float(rgb * bright[..., None]), max(2.0, min(width, height) * 0.03))
        )[0]
        out = rgb + params.bloom_strength * glow
    return from_float(np.clip(mix(rgb, out, params.intensity), 0, 1), alpha)


@action(
    "shader-effect-browser",
    name="Shader Effect",
    description="Stylised effects: chromatic aberration, glitch, edges, CRT, ripple, kaleidoscope, bloom, pixelate.",
    inputs=IMAGE_IN,
    outputs=IMAGE_OUT,
    params=ShaderEffectBrowserParams,
    language="javascript",
)
def shader_effect_image(ctx: RunContext, params: ShaderEffectBrowserParams) -> None:
    save_png(ctx, shader_effect(open_image(ctx.input_path("image")), params))
