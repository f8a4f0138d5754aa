"""blur-image and blur-image-browser: eight blur kinds, applied to the whole image or through a mask.

The browser's `draw` mode paints where to blur. Headless runs carry no strokes, so the painted area
comes from the optional `mask` input (white = painted); without one nothing is painted.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from pydantic import Field

from stamen.actions.registry import IMAGE_OUT, ActionParams, Color, Slot, action
from stamen.execution.context import RunContext
from stamen.media.images import (
    color_distance_mask,
    filter_premultiplied,
    gaussian_blur,
    mix,
    open_image,
    save_png,
    stroke_mask,
    to_float,
)

BlurType = Literal["gaussian", "box", "motion", "radial", "bilateral", "bokeh", "tiltshift", "targetcolor"]
MOTION_SAMPLES = 64
RADIAL_SAMPLES = 16


class BlurImageBrowserParams(ActionParams):
    blur_type: BlurType = Field("gaussian", title="Blur Type")
    radius: float = Field(8.0, ge=0, le=200, title="Radius", description="Blur radius in pixels.")
    angle: float = Field(0.0, ge=-180, le=180, title="Motion Angle (°)", description="0 is horizontal.")
    radial_mode: Literal["zoom", "spin"] = Field("zoom", title="Radial Mode")
    radial_strength: float = Field(0.3, ge=0, le=1, title="Radial Strength")
    edge_threshold: float = Field(
        30.0,
        ge=1,
        le=255,
        title="Edge Preservation (bilateral)",
        description="Colour difference (0–255) above which an edge is kept sharp.",
    )
    bokeh_shape: Literal["circle", "hexagon", "pentagon"] = Field("circle", title="Bokeh Shape")
    tilt_center: float = Field(
        0.5, ge=0, le=1, title="Sharp Band Center", description="Fraction of the frame."
    )
    tilt_width: float = Field(0.3, ge=0, le=1, title="Sharp Band Width", description="Fraction of the frame.")
    tilt_orientation: Literal["horizontal", "vertical"] = Field("horizontal", title="Band Orientation")
    target_color: Color = Field("#00ff00", title="Target Color")
    target_tolerance: float = Field(
        30.0, ge=0, le=100, title="Color Tolerance", description="In % of RGB range."
    )
    target_invert: bool = Field(False, title="Invert Selection (blur non-matching)")
    mode: Literal["full", "draw"] = Field(
        "full", title="Mode", description="full: blur everything; draw: blur where the `mask` input is white."
    )
    brush_size: float = Field(40.0, ge=1, le=1000, title="Brush Size (px)")
    brush_hardness: float = Field(0.5, ge=0, le=1, title="Brush Hardness")
    brush_intensity: float = Field(1.0, ge=0, le=1, title="Brush Intensity")
    erase: bool = Field(False, title="Erase", description="Blur everywhere except the painted area.")


class BlurImageParams(BlurImageBrowserParams):
    """Legacy id: the browser keys (a superset of the legacy ones)."""


def blur_float(image: Image.Image, transform) -> Image.Image:  # type: ignore[no-untyped-def]
    """Run a float (height, width, channels) transform on premultiplied RGB(A)."""
    data = np.asarray(image, dtype=np.float32) / 255.0
    if image.mode == "RGBA":
        alpha = data[..., 3:4]
        result = transform(np.concatenate([data[..., :3] * alpha, alpha], axis=2))
        rgb = result[..., :3] / np.maximum(result[..., 3:4], 1e-6)
        data = np.concatenate([rgb, result[..., 3:4]], axis=2)
    else:
        data = transform(data)
    return Image.fromarray(np.clip(data * 255 + 0.5, 0, 255).astype(np.uint8), image.mode)


def motion_blur(data: np.ndarray, radius: float, angle: float) -> np.ndarray:
    """Average of copies shifted along a line of length 2·radius."""
    pad = math.ceil(radius) + 1
    padded = np.pad(data, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
    dx, dy = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    height, width = data.shape[:2]
    steps = np.linspace(-radius, radius, min(MOTION_SAMPLES, max(2, round(2 * radius) + 1)))
    total = np.zeros_like(data)
    for step in steps:
        x, y = pad + round(step * dx), pad + round(step * dy)
        total += padded[y : y + height, x : x + width]
    return total / len(steps)


def kernel_image(radius: int, shape: str) -> np.ndarray:
    """A flat bokeh kernel of the given shape, normalised to sum 1."""
    size = 2 * radius + 1
    kernel = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(kernel)
    if shape == "circle":
        draw.ellipse([0, 0, size - 1, size - 1], fill=255)
    else:
        draw.regular_polygon((radius, radius, radius), 6 if shape == "hexagon" else 5, fill=255)
    values = np.asarray(kernel, dtype=np.float32)
    return values / values.sum()


def bokeh_blur(data: np.ndarray, radius: float, shape: str) -> np.ndarray:
    """Convolution with a flat shaped kernel in linear light (FFT), so highlights bloom into shapes."""
    size = max(1, round(radius))
    kernel = kernel_image(size, shape)
    padded = np.pad(data, ((size, size), (size, size), (0, 0)), mode="edge") ** 2.2
    shape_2d = padded.shape[:2]
    kernel_fft = np.fft.rfft2(kernel, s=shape_2d)
    result = np.fft.irfft2(np.fft.rfft2(padded, axes=(0, 1)) * kernel_fft[..., None], s=shape_2d, axes=(0, 1))
    height, width = data.shape[:2]
    # circular convolution shifts by the kernel radius: the valid part starts at 2·size
    cropped = result[2 * size : 2 * size + height, 2 * size : 2 * size + width]
    return np.clip(cropped, 0, None).astype(np.float32) ** (1 / 2.2)


def radial_blur(image: Image.Image, strength: float, spin: bool) -> Image.Image:
    """Average of copies zoomed (or rotated) about the centre; coverage-weighted so corners stay clean."""
    source = image.convert("RGBA").convert("RGBa")
    total = np.zeros((image.height, image.width, 4), dtype=np.float32)
    for index in range(RADIAL_SAMPLES):
        t = index / (RADIAL_SAMPLES - 1)
        if spin:
            sample = source.rotate((t - 0.5) * 60 * strength, resample=Image.Resampling.BILINEAR)
        else:
            scale = 1 + 0.5 * strength * t
            zoomed = source.resize(
                (round(image.width * scale), round(image.height * scale)), Image.Resampling.BILINEAR
            )
            left, top = (zoomed.width - image.width) // 2, (zoomed.height - image.height) // 2
            sample = zoomed.crop((left, top, left + image.width, top + image.height))
        total += np.asarray(sample, dtype=np.float32)
    coverage = np.maximum(total[..., 3:4], 1e-6)
    rgb = total[..., :3] / coverage * 255
    alpha = total[..., 3] / RADIAL_SAMPLES
    if image.mode != "RGBA":
        return Image.fromarray(np.clip(rgb + 0.5, 0, 255).astype(np.uint8), "RGB")
    data = np.concatenate([rgb, alpha[..., None]], axis=2)
    return Image.fromarray(np.clip(data + 0.5, 0, 255).astype(np.uint8), "RGBA")


def bilateral_blur(image: Image.Image, radius: float, threshold: float) -> Image.Image:
    """Edge-aware approximation: keep pixels that differ from their blurred surroundings by > threshold."""
    blurred = gaussian_blur(image, radius)
    original, smooth = np.asarray(image, np.float32), np.asarray(blurred, np.float32)
    difference = np.abs(original - smooth)[..., :3].mean(axis=2)
    weight = np.exp(-((difference / threshold) ** 2))
    return Image.fromarray(np.clip(mix(original, smooth, weight) + 0.5, 0, 255).astype(np.uint8), image.mode)


def tilt_shift_mask(size: tuple[int, int], center: float, width: float, horizontal: bool) -> np.ndarray:
    """0 inside the sharp band, ramping to 1 over a fifth of the frame outside it."""
    count = size[1] if horizontal else size[0]
    position = (np.arange(count, dtype=np.float32) + 0.5) / count
    ramp = np.clip((np.abs(position - center) - width / 2) / 0.2, 0, 1)
    return np.broadcast_to(ramp[:, None] if horizontal else ramp[None, :], (size[1], size[0]))


def blur(image: Image.Image, params: BlurImageBrowserParams) -> Image.Image:
    """The whole image blurred per `blur_type`."""
    kind, radius = params.blur_type, params.radius
    if kind == "box":
        return filter_premultiplied(image, lambda im: im.filter(ImageFilter.BoxBlur(radius)))
    if kind == "motion":
        return blur_float(image, lambda data: motion_blur(data, radius, params.angle))
    if kind == "radial":
        return radial_blur(image, params.radial_strength, params.radial_mode == "spin")
    if kind == "bilateral":
        return bilateral_blur(image, radius, params.edge_threshold)
    if kind == "bokeh":
        return blur_float(image, lambda data: bokeh_blur(data, radius, params.bokeh_shape))
    blurred = gaussian_blur(image, radius)
    if kind == "gaussian":
        return blurred
    if kind == "tiltshift":
        mask = tilt_shift_mask(
            image.size, params.tilt_center, params.tilt_width, params.tilt_orientation == "horizontal"
        )
    else:
        rgb, _ = to_float(image)
        mask = color_distance_mask(rgb, params.target_color, params.target_tolerance, softness=5)
        if params.target_invert:
            mask = 1 - mask
    return blend_by_mask(image, blurred, mask)


def blend_by_mask(original: Image.Image, blurred: Image.Image, mask: np.ndarray) -> Image.Image:
    data = mix(np.asarray(original, np.float32), np.asarray(blurred, np.float32), mask)
    return Image.fromarray(np.clip(data + 0.5, 0, 255).astype(np.uint8), original.mode)


def painted_mask(ctx: RunContext, size: tuple[int, int], params: BlurImageBrowserParams) -> np.ndarray:
    """The `draw`-mode mask: input mask marks widened to the brush, feathered by hardness, scaled by
    intensity, inverted by `erase`."""
    strokes = ctx.input_paths("mask")
    if strokes:
        feather = params.brush_size * (1 - params.brush_hardness) / 2
        mask = stroke_mask(strokes[0], size, widen=params.brush_size / 2, feather=feather)
    else:
        mask = np.zeros((size[1], size[0]), np.float32)
    if params.erase:
        mask = 1 - mask
    return mask * params.brush_intensity


@action(
    "blur-image-browser",
    name="Blur Image",
    description="Blurs an image (gaussian, box, motion, radial, bilateral, bokeh, tilt-shift, by colour), "
    "everywhere or where a mask is painted.",
    inputs=[Slot("image", "image"), Slot("mask", "image", optional=True)],
    outputs=IMAGE_OUT,
    params=BlurImageBrowserParams,
    language="javascript",
    twin_of="blur-image",
)
@action(
    "blur-image",
    name="Blur Image",
    description="Blurs an image (gaussian, box, motion, radial, bilateral, bokeh, tilt-shift, by colour).",
    inputs=[Slot("image", "image"), Slot("mask", "image", optional=True)],
    outputs=IMAGE_OUT,
    params=BlurImageParams,
)
def blur_image(ctx: RunContext, params: BlurImageBrowserParams) -> None:
    image = open_image(ctx.input_path("image"))
    ctx.progress(10)
    blurred = blur(image, params)
    ctx.progress(80)
    if params.mode == "draw":
        blurred = blend_by_mask(image, blurred, painted_mask(ctx, image.size, params))
    save_png(ctx, blurred)
