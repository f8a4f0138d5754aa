"""Colour image actions: color-grade, color-filter (16 looks), color-tint, filter-color and their twins.

All work on float RGB in 0..1 and keep the input's alpha untouched (filter-color's remove/keep modes
write alpha on purpose).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from PIL import Image, ImageFilter
from pydantic import Field

from stamen.actions.registry import IMAGE_IN, IMAGE_OUT, ActionParams, Color, action
from stamen.execution.context import RunContext
from stamen.media.images import (
    blend,
    color_array,
    color_distance_mask,
    from_float,
    luma,
    map_rgb,
    mix,
    open_image,
    save_png,
    to_float,
)


def gray3(rgb: np.ndarray) -> np.ndarray:
    """Luma broadcast to three equal channels."""
    return np.repeat(luma(rgb)[..., None], 3, axis=2)


def saturate(rgb: np.ndarray, factor: float) -> np.ndarray:
    gray = luma(rgb)[..., None]
    return gray + (rgb - gray) * factor


def contrast(rgb: np.ndarray, factor: float, pivot: float = 0.5) -> np.ndarray:
    return (rgb - pivot) * factor + pivot


# ---------------------------------------------------------------- color-grade-image


class ColorGradeImageBrowserParams(ActionParams):
    brightness: float = Field(0.0, ge=-1, le=1, title="Brightness")
    contrast: float = Field(0.0, ge=-1, le=1, title="Contrast")
    saturation: float = Field(0.0, ge=-1, le=1, title="Saturation", description="-1 is grayscale.")
    warmth: float = Field(0.0, ge=-1, le=1, title="Warmth", description="Negative cools, positive warms.")
    highlights: float = Field(0.0, ge=-1, le=1, title="Highlights")
    shadows: float = Field(0.0, ge=-1, le=1, title="Shadows")
    hue_shift: float = Field(0.0, ge=-180, le=180, title="Hue Shift (deg)")
    tint: float = Field(0.0, ge=-1, le=1, title="Tint (Green-Magenta)")
    advanced: bool = Field(
        False, title="Show additional controls", description="UI only; no effect on the result."
    )
    show_scope: bool = Field(False, title="Show Color Scope in preview", description="UI only; no effect.")


class ColorGradeImageParams(ColorGradeImageBrowserParams):
    """Legacy id: the browser keys (a superset of the legacy ones)."""


def rotate_hue(rgb: np.ndarray, degrees: float) -> np.ndarray:
    """Hue rotation about the gray axis (luma-preserving matrix, as CSS `hue-rotate`)."""
    angle = math.radians(degrees)
    cos_a, sin_a = math.cos(angle), math.sin(angle)
    matrix = np.array(
        [
            [
                0.213 + cos_a * 0.787 - sin_a * 0.213,
                0.715 - cos_a * 0.715 - sin_a * 0.715,
                0.072 - cos_a * 0.072 + sin_a * 0.928,
            ],
            [
                0.213 - cos_a * 0.213 + sin_a * 0.143,
                0.715 + cos_a * 0.285 + sin_a * 0.140,
                0.072 - cos_a * 0.072 - sin_a * 0.283,
            ],
            [
                0.213 - cos_a * 0.213 - sin_a * 0.787,
                0.715 - cos_a * 0.715 + sin_a * 0.715,
                0.072 + cos_a * 0.928 + sin_a * 0.072,
            ],
        ],
        dtype=np.float32,
    )
    return rgb @ matrix.T


def color_grade(rgb: np.ndarray, params: ColorGradeImageBrowserParams) -> np.ndarray:
    if params.hue_shift:
        rgb = rotate_hue(rgb, params.hue_shift)
    rgb = saturate(rgb, 1 + params.saturation)
    shift = np.array(
        [
            0.1 * params.warmth + 0.05 * params.tint,
            -0.1 * params.tint,
            -0.1 * params.warmth + 0.05 * params.tint,
        ],
        dtype=np.float32,
    )
    rgb = rgb + shift
    if params.shadows or params.highlights:
        light = np.clip(luma(rgb), 0, 1)[..., None]
        rgb = rgb + 0.5 * params.shadows * (1 - light) ** 2 + 0.5 * params.highlights * light**2
    rgb = contrast(rgb, 1 + params.contrast)
    return np.clip(rgb + 0.5 * params.brightness, 0, 1)


@action(
    "color-grade-image-browser",
    name="Color Grade Image",
    description="Adjusts brightness, contrast, saturation, warmth, tint, hue, shadows and highlights.",
    inputs=IMAGE_IN,
    outputs=IMAGE_OUT,
    params=ColorGradeImageBrowserParams,
    language="javascript",
    twin_of="color-grade-image",
)
@action(
    "color-grade-image",
    name="Color Grade Image",
    description="Adjusts brightness, contrast, saturation and warmth.",
    inputs=IMAGE_IN,
    outputs=IMAGE_OUT,
    params=ColorGradeImageParams,
)
def color_grade_image(ctx: RunContext, params: ColorGradeImageBrowserParams) -> None:
    save_png(ctx, map_rgb(open_image(ctx.input_path("image")), lambda rgb: color_grade(rgb, params)))


# ---------------------------------------------------------------- color-filter-image

ColorFilter = Literal[
    "grayscale",
    "sepia",
    "invert",
    "bw",
    "posterize",
    "solarize",
    "duotone",
    "clarendon",
    "moon",
    "nashville",
    "noir",
    "fade",
    "vignette",
    "colorpop",
    "crossprocess",
    "halftone",
]


class ColorFilterImageBrowserParams(ActionParams):
    filter: ColorFilter = Field("grayscale", title="Filter")
    intensity: float = Field(1.0, ge=0, le=1, title="Intensity", description="Mix of the filtered image.")
    grain: float = Field(0.0, ge=0, le=1, title="Grain", description="Monochrome film grain added on top.")
    bw_threshold: float = Field(128, ge=0, le=255, title="Threshold (bw)")
    posterize_bits: int = Field(3, ge=1, le=8, title="Bits per channel")
    solarize_threshold: float = Field(128, ge=0, le=255, title="Threshold (solarize)")
    sepia_warmth: float = Field(0.5, ge=0, le=1, title="Warmth (sepia)")
    shadow_color: Color = Field("#1e3a8a", title="Shadow Color (duotone)")
    highlight_color: Color = Field("#fcd34d", title="Highlight Color (duotone)")
    vignette_strength: float = Field(0.6, ge=0, le=1, title="Vignette Strength")
    vignette_softness: float = Field(0.5, ge=0, le=1, title="Vignette Softness")
    target_color: Color = Field("#ff0000", title="Keep Color (colorpop)")
    colorpop_tolerance: float = Field(
        25.0, ge=0, le=100, title="Color Tolerance", description="In % of RGB range."
    )
    dot_size: float = Field(
        8.0, ge=2, le=100, title="Dot Size (halftone)", description="Grid cell in pixels."
    )
    dot_angle: float = Field(45.0, ge=-90, le=90, title="Grid Angle (°)")
    dot_color: Color = Field("#000000", title="Dot Color")
    dot_bg: Color = Field("#ffffff", title="Background (halftone)")


class ColorFilterImageParams(ColorFilterImageBrowserParams):
    """Legacy id: same keys as the browser twin."""


def vignette(rgb: np.ndarray, strength: float, softness: float) -> np.ndarray:
    height, width = rgb.shape[:2]
    y, x = np.ogrid[-1 : 1 : height * 1j, -1 : 1 : width * 1j]
    distance = np.sqrt(x**2 + y**2) / math.sqrt(2)
    inner = 1 - 0.7 * max(softness, 0.05)
    falloff = np.clip((distance - inner) / (1 - inner), 0, 1) ** 2
    return rgb * (1 - strength * falloff)[..., None].astype(np.float32)


def halftone(rgb: np.ndarray, params: ColorFilterImageBrowserParams) -> np.ndarray:
    """Dots on a rotated grid, each sized by the darkness of its cell's (blurred) luma."""
    height, width = rgb.shape[:2]
    cell = params.dot_size
    smooth = (
        np.asarray(
            Image.fromarray(np.clip(luma(rgb) * 255, 0, 255).astype(np.uint8), "L").filter(
                ImageFilter.BoxBlur(cell / 2)
            ),
            np.float32,
        )
        / 255.0
    )
    angle = math.radians(params.dot_angle)
    cos_a, sin_a = math.cos(angle), math.sin(angle)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32) + 0.5
    u, v = x * cos_a + y * sin_a, -x * sin_a + y * cos_a
    cu, cv = (np.floor(u / cell) + 0.5) * cell, (np.floor(v / cell) + 0.5) * cell
    cx = np.clip(cu * cos_a - cv * sin_a, 0, width - 1).astype(np.intp)
    cy = np.clip(cu * sin_a + cv * cos_a, 0, height - 1).astype(np.intp)
    radius = cell * 0.5 * math.sqrt(2) * np.sqrt(1 - smooth[cy, cx])
    distance = np.hypot(u - cu, v - cv)
    coverage = np.clip(radius - distance + 0.5, 0, 1)
    return mix(
        np.broadcast_to(color_array(params.dot_bg), rgb.shape), color_array(params.dot_color), coverage
    )


def apply_filter(rgb: np.ndarray, params: ColorFilterImageBrowserParams) -> np.ndarray:
    """One of the 16 looks at full strength."""
    name = params.filter
    if name == "grayscale":
        return gray3(rgb)
    if name == "sepia":
        warm = params.sepia_warmth
        tone = np.array([1.0 + 0.25 * warm, 0.88 + 0.05 * warm, 0.70 - 0.25 * warm], np.float32)
        return luma(rgb)[..., None] * tone
    if name == "invert":
        return 1 - rgb
    if name == "bw":
        white = (luma(rgb) * 255 >= params.bw_threshold).astype(np.float32)
        return np.repeat(white[..., None], 3, axis=2)
    if name == "posterize":
        levels = 2**params.posterize_bits - 1
        return np.round(rgb * levels) / levels
    if name == "solarize":
        return np.where(rgb * 255 >= params.solarize_threshold, 1 - rgb, rgb)
    if name == "duotone":
        return mix(
            color_array(params.shadow_color), color_array(params.highlight_color), luma(rgb)[..., None]
        )
    if name == "clarendon":
        rgb = saturate(contrast(rgb, 1.2), 1.35)
        light = luma(rgb)[..., None]
        return (
            rgb
            + (1 - light) * np.array([-0.03, 0.0, 0.06], np.float32)
            + light * np.array([0.04, 0.02, -0.02])
        )
    if name == "moon":
        return np.clip(contrast(gray3(rgb), 1.1) * 1.1, 0, 1)
    if name == "nashville":
        rgb = contrast(saturate(rgb, 1.2), 1.2) * 1.05
        rgb = (
            blend(np.clip(rgb, 0, 1), np.array([247, 176, 153], np.float32) / 255, "multiply") * 0.4
            + rgb * 0.6
        )
        return rgb + np.array([0.02, 0.0, 0.08], np.float32) * (1 - luma(rgb)[..., None])
    if name == "noir":
        return contrast(gray3(rgb), 1.6)
    if name == "fade":
        return saturate(rgb, 0.75) * 0.82 + 0.12
    if name == "vignette":
        return vignette(rgb, params.vignette_strength, params.vignette_softness)
    if name == "colorpop":
        keep = color_distance_mask(rgb, params.target_color, params.colorpop_tolerance, softness=5)
        return mix(gray3(rgb), rgb, keep)
    if name == "crossprocess":
        curve = np.clip(contrast(rgb, 1.3), 0, 1)
        return np.stack([curve[..., 0], curve[..., 1] * 0.95 + 0.05, rgb[..., 2] * 0.7 + 0.15], axis=2)
    return halftone(rgb, params)


def add_grain(rgb: np.ndarray, amount: float) -> np.ndarray:
    """Deterministic monochrome grain (same noise on every channel, so gray stays gray)."""
    noise = np.random.default_rng(0).normal(0, 0.15 * amount, rgb.shape[:2]).astype(np.float32)
    return rgb + noise[..., None]


def color_filter(rgb: np.ndarray, params: ColorFilterImageBrowserParams) -> np.ndarray:
    result = mix(rgb, np.clip(apply_filter(rgb, params), 0, 1), params.intensity)
    if params.grain:
        result = add_grain(result, params.grain)
    return np.clip(result, 0, 1)


@action(
    "color-filter-image-browser",
    name="Color Filter Image",
    description="Applies a photo filter: grayscale, sepia, invert, posterize, duotone, halftone and more.",
    inputs=IMAGE_IN,
    outputs=IMAGE_OUT,
    params=ColorFilterImageBrowserParams,
    language="javascript",
    twin_of="color-filter-image",
)
@action(
    "color-filter-image",
    name="Color Filter Image",
    description="Applies a photo filter: grayscale, sepia, invert, posterize, duotone, halftone and more.",
    inputs=IMAGE_IN,
    outputs=IMAGE_OUT,
    params=ColorFilterImageParams,
)
def color_filter_image(ctx: RunContext, params: ColorFilterImageBrowserParams) -> None:
    save_png(ctx, map_rgb(open_image(ctx.input_path("image")), lambda rgb: color_filter(rgb, params)))


# ---------------------------------------------------------------- color-tint-image


class ColorTintImageBrowserParams(ActionParams):
    color: Color = Field("#ff9900", title="Tint Color")
    intensity: float = Field(0.5, ge=0, le=1, title="Intensity")
    blend_mode: Literal["multiply", "screen", "overlay", "soft_light", "color"] = Field(
        "color",
        title="Blend Mode",
        description="color keeps each pixel's lightness and takes the tint's hue.",
    )


class ColorTintImageParams(ColorTintImageBrowserParams):
    """Legacy id: same keys as the browser twin."""


@action(
    "color-tint-image-browser",
    name="Color Tint Image",
    description="Tints an image with a colour using a blend mode.",
    inputs=IMAGE_IN,
    outputs=IMAGE_OUT,
    params=ColorTintImageBrowserParams,
    language="javascript",
    twin_of="color-tint-image",
)
@action(
    "color-tint-image",
    name="Color Tint Image",
    description="Tints an image with a colour using a blend mode.",
    inputs=IMAGE_IN,
    outputs=IMAGE_OUT,
    params=ColorTintImageParams,
)
def color_tint_image(ctx: RunContext, params: ColorTintImageBrowserParams) -> None:
    tint = color_array(params.color)
    save_png(
        ctx,
        map_rgb(
            open_image(ctx.input_path("image")),
            lambda rgb: mix(rgb, blend(rgb, tint, params.blend_mode), params.intensity),
        ),
    )


# ---------------------------------------------------------------- filter-color-image


class FilterColorImageBrowserParams(ActionParams):
    target_color: Color = Field("#00ff00", title="Target Color")
    mode: Literal["remove", "replace", "keep"] = Field(
        "remove",
        title="Mode",
        description="remove: make the colour transparent; replace: paint it with the replacement; "
        "keep: make everything else transparent.",
    )
    replacement_color: Color = Field("#ffffff", title="Replacement Color")
    tolerance: float = Field(30.0, ge=0, le=100, title="Tolerance", description="In % of RGB range.")
    softness: float = Field(10.0, ge=0, le=100, title="Edge Softness", description="In % of RGB range.")
    invert: bool = Field(False, title="Invert Selection")


class FilterColorImageParams(FilterColorImageBrowserParams):
    """Legacy id: same keys as the browser twin."""


def filter_color(image: Image.Image, params: FilterColorImageBrowserParams) -> Image.Image:
    rgb, alpha = to_float(image)
    selected = color_distance_mask(rgb, params.target_color, params.tolerance, params.softness)
    if params.invert:
        selected = 1 - selected
    if params.mode == "replace":
        return from_float(mix(rgb, color_array(params.replacement_color), selected[..., None]), alpha)
    opaque = np.ones(rgb.shape[:2], np.float32) if alpha is None else alpha
    return from_float(rgb, opaque * (1 - selected if params.mode == "remove" else selected))


@action(
    "filter-color-image-browser",
    name="Filter Color",
    description="Removes, replaces or keeps only the pixels close to a colour.",
    inputs=IMAGE_IN,
    outputs=IMAGE_OUT,
    params=FilterColorImageBrowserParams,
    language="javascript",
    twin_of="filter-color-image",
)
@action(
    "filter-color-image",
    name="Filter Color",
    description="Removes, replaces or keeps only the pixels close to a colour.",
    inputs=IMAGE_IN,
    outputs=IMAGE_OUT,
    params=FilterColorImageParams,
)
def filter_color_image(ctx: RunContext, params: FilterColorImageBrowserParams) -> None:
    save_png(ctx, filter_color(open_image(ctx.input_path("image")), params))
