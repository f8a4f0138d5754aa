"""Geometry and layout image actions: rotate, flip, change aspect ratio, duplicate, side-by-side.

Colour actions live in `image_color`, blur in `image_blur`, browser-only actions in `image_browser`
and `image_scene`.
Legacy ids accept the browser twin's keys too (actions.md §1); `-browser` ids accept exactly theirs.
"""

from __future__ import annotations

import math
from typing import Literal

from PIL import Image, ImageOps
from pydantic import Field

from stamen.actions.registry import IMAGE_IN, IMAGE_OUT, ActionParams, Color, Slot, action
from stamen.errors import RunFailure
from stamen.execution.context import RunContext
from stamen.media.images import (
    canvas,
    check_pixels,
    contain,
    cover,
    gaussian_blur,
    open_image,
    parse_color,
    paste,
    png_bytes,
    resize,
    save_png,
)

FlipDirection = Literal["none", "horizontal", "vertical", "both"]
CanvasMode = Literal["shrink", "keep", "expand"]
AspectRatio = Literal["1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "21:9"]


def flip(image: Image.Image, direction: FlipDirection) -> Image.Image:
    if direction in ("horizontal", "both"):
        image = ImageOps.mirror(image)
    if direction in ("vertical", "both"):
        image = ImageOps.flip(image)
    return image


# ---------------------------------------------------------------- rotate-image


class RotateImageBrowserParams(ActionParams):
    angle: float = Field(90.0, ge=-360, le=360, title="Angle (°, clockwise)")
    background: Color = Field("#000000", title="Background Color", description="Fills the uncovered corners.")
    transparent: bool = Field(
        False, title="Transparent Background", description="Leave the corners transparent."
    )
    canvas_mode: CanvasMode = Field(
        "expand",
        title="Canvas",
        description="expand: grow to fit the rotated image; keep: same size, corners cut; "
        "shrink: crop to the largest rectangle without empty corners.",
    )
    direction: FlipDirection = Field("none", title="Flip", description="Mirror the image before rotating.")

    def canvas(self) -> CanvasMode:
        return self.canvas_mode


class RotateImageParams(RotateImageBrowserParams):
    """Legacy id: `expand` plus the browser keys; `canvas_mode`, when given, wins over `expand`."""

    expand: bool = Field(True, title="Expand Canvas to Fit")

    def canvas(self) -> CanvasMode:
        if "canvas_mode" in self.model_fields_set:
            return self.canvas_mode
        return "expand" if self.expand else "keep"


def rotate(
    image: Image.Image, angle: float, canvas_mode: CanvasMode, fill: tuple[int, int, int, int]
) -> Image.Image:
    """Rotate clockwise; right angles are exact (no resampling) unless the canvas is kept."""
    angle %= 360
    right_angle = math.isclose(angle % 90, 0, abs_tol=1e-9) or math.isclose(angle % 90, 90, abs_tol=1e-9)
    if right_angle and (canvas_mode != "keep" or round(angle) % 180 == 0):
        steps = {
            90: Image.Transpose.ROTATE_270,
            180: Image.Transpose.ROTATE_180,
            270: Image.Transpose.ROTATE_90,
        }
        step = steps.get(round(angle) % 360)
        return image.transpose(step) if step is not None else image.copy()
    if fill[3] < 255 and image.mode != "RGBA":
        image = image.convert("RGBA")
    color = fill if image.mode == "RGBA" else fill[:3]
    rotated = image.rotate(
        -angle, resample=Image.Resampling.BICUBIC, expand=canvas_mode == "expand", fillcolor=color
    )
    check_pixels(*rotated.size)
    if canvas_mode != "shrink":
        return rotated
    width, height = largest_inner_rectangle(image.width, image.height, math.radians(angle))
    left, top = (rotated.width - width) / 2, (rotated.height - height) / 2
    return rotated.crop((round(left), round(top), round(left) + width, round(top) + height))


def largest_inner_rectangle(width: int, height: int, angle: float) -> tuple[int, int]:
    """Largest axis-aligned rectangle inside a width×height rectangle rotated by `angle` radians."""
    sin_a, cos_a = abs(math.sin(angle)), abs(math.cos(angle))
    long_side, short_side = max(width, height), min(width, height)
    if short_side <= 2 * sin_a * cos_a * long_side or abs(sin_a - cos_a) < 1e-10:
        half = short_side / 2
        inner = (half / sin_a, half / cos_a) if width >= height else (half / cos_a, half / sin_a)
    else:
        cos_2a = cos_a * cos_a - sin_a * sin_a
        inner = ((width * cos_a - height * sin_a) / cos_2a, (height * cos_a - width * sin_a) / cos_2a)
    return max(1, math.floor(inner[0])), max(1, math.floor(inner[1]))


@action(
    "rotate-image-browser",
    name="Rotate Image",
    description="Rotates an image clockwise by any angle, optionally flipping it first.",
    inputs=IMAGE_IN,
    outputs=IMAGE_OUT,
    params=RotateImageBrowserParams,
    language="javascript",
    twin_of="rotate-image",
)
@action(
    "rotate-image",
    name="Rotate Image",
    description="Rotates an image clockwise by any angle.",
    inputs=IMAGE_IN,
    outputs=IMAGE_OUT,
    params=RotateImageParams,
)
def rotate_image(ctx: RunContext, params: RotateImageBrowserParams) -> None:
    image = flip(open_image(ctx.input_path("image")), params.direction)
    fill = (0, 0, 0, 0) if params.transparent else parse_color(params.background)
    save_png(ctx, rotate(image, params.angle, params.canvas(), fill))


# ---------------------------------------------------------------- flip-image


class FlipImageParams(ActionParams):
    direction: Literal["horizontal", "vertical", "both"] = Field("horizontal", title="Direction")


@action(
    "flip-image",
    name="Flip Image",
    description="Mirrors an image horizontally, vertically or both.",
    inputs=IMAGE_IN,
    outputs=IMAGE_OUT,
    params=FlipImageParams,
)
def flip_image(ctx: RunContext, params: FlipImageParams) -> None:
    save_png(ctx, flip(open_image(ctx.input_path("image")), params.direction))


# ---------------------------------------------------------------- change-image-ar


class ChangeImageArBrowserParams(ActionParams):
    aspect_ratio: AspectRatio = Field("1:1", title="Aspect Ratio")
    fit: Literal["crop", "pad"] = Field(
        "crop", title="Fit", description="crop: cut the centre to the ratio; pad: extend the canvas."
    )
    background_mode: Literal["solid", "blur"] = Field(
        "solid", title="Background", description="What fills the padding: a colour or a blurred copy."
    )
    pad_color: Color = Field("#000000", title="Pad Color", description="#rrggbbaa for translucent padding.")
    blur_amount: float = Field(
        40.0, ge=0, le=200, title="Blur Amount", description="Blur radius of the padding."
    )


class ChangeImageArParams(ChangeImageArBrowserParams):
    """Legacy id: same keys as the browser twin."""


def ratio_value(ratio: str) -> float:
    width, height = ratio.split(":")
    return int(width) / int(height)


def change_aspect_ratio(image: Image.Image, params: ChangeImageArBrowserParams) -> Image.Image:
    ratio = ratio_value(params.aspect_ratio)
    width, height = image.size
    if params.fit == "crop":
        if width / height > ratio:
            new_width = max(1, round(height * ratio))
            left = (width - new_width) // 2
            return image.crop((left, 0, left + new_width, height))
        new_height = max(1, round(width / ratio))
        top = (height - new_height) // 2
        return image.crop((0, top, width, top + new_height))
    size = (
        (width, max(1, round(width / ratio)))
        if width / height > ratio
        else (max(1, round(height * ratio)), height)
    )
    if params.background_mode == "blur":
        background = gaussian_blur(cover(image, size), params.blur_amount)
    else:
        background = canvas(size, params.pad_color, force_alpha=image.mode == "RGBA")
    return contain(image, size, background)


@action(
    "change-image-ar-browser",
    name="Change Image Aspect Ratio",
    description="Crops or pads an image to a target aspect ratio.",
    inputs=IMAGE_IN,
    outputs=IMAGE_OUT,
    params=ChangeImageArBrowserParams,
    language="javascript",
    twin_of="change-image-ar",
)
@action(
    "change-image-ar",
    name="Change Image Aspect Ratio",
    description="Crops or pads an image to a target aspect ratio.",
    inputs=IMAGE_IN,
    outputs=IMAGE_OUT,
    params=ChangeImageArParams,
)
def change_image_ar(ctx: RunContext, params: ChangeImageArBrowserParams) -> None:
    save_png(ctx, change_aspect_ratio(open_image(ctx.input_path("image")), params))


# ---------------------------------------------------------------- duplicate-image


class DuplicateImageBrowserParams(ActionParams):
    count: int = Field(2, ge=1, le=20, title="Copies")


class DuplicateImageParams(DuplicateImageBrowserParams):
    """Legacy id: same keys as the browser twin."""


@action(
    "duplicate-image-browser",
    name="Duplicate Image",
    description="Outputs the input image several times.",
    inputs=IMAGE_IN,
    outputs=[Slot("images", "image", multiple=True)],
    params=DuplicateImageBrowserParams,
    language="javascript",
    twin_of="duplicate-image",
)
@action(
    "duplicate-image",
    name="Duplicate Image",
    description="Outputs the input image several times.",
    inputs=IMAGE_IN,
    outputs=[Slot("images", "image", multiple=True)],
    params=DuplicateImageParams,
)
def duplicate_image(ctx: RunContext, params: DuplicateImageBrowserParams) -> None:
    data = png_bytes(open_image(ctx.input_path("image")))
    for _ in range(params.count):
        ctx.save_output(data, "image", content_type="image/png", suffix=".png")


# ---------------------------------------------------------------- side-by-side-composite


class SideBySideCompositeBrowserParams(ActionParams):
    layout: Literal["auto", "horizontal-2", "horizontal-3", "vertical-2", "vertical-3", "grid-2x2"] = Field(
        "auto",
        title="Layout",
        description="auto: one row for up to 3 images, otherwise a near-square grid. "
        "Fixed layouts use the first 2, 3 or 4 inputs.",
    )
    normalize: Literal["match-shortest", "match-largest", "pad-to-largest"] = Field(
        "match-shortest",
        title="Size Match",
        description="Scale images to the smallest or largest height (width for vertical layouts), "
        "or keep their size and pad the cells.",
    )
    gap: int = Field(0, ge=0, le=1000, title="Gap (px)")
    background: Color = Field("#ffffff", title="Background")


class SideBySideCompositeParams(SideBySideCompositeBrowserParams):
    """Legacy id: same keys as the browser twin."""


def grid_shape(layout: str, count: int) -> tuple[int, int, bool]:
    """(columns, max images, vertical) for a layout and the number of inputs."""
    if layout == "auto":
        columns = count if count <= 3 else math.ceil(math.sqrt(count))
        return columns, count, False
    if layout == "grid-2x2":
        return 2, 4, False
    kind, number = layout.split("-")
    return (1 if kind == "vertical" else int(number)), int(number), kind == "vertical"


def composite(images: list[Image.Image], params: SideBySideCompositeBrowserParams) -> Image.Image:
    """Cells in row-major order; each row as tall as its tallest cell, each column as wide as its widest."""
    columns, limit, vertical = grid_shape(params.layout, len(images))
    images = images[:limit]
    if params.normalize != "pad-to-largest":
        sides = [image.width if vertical else image.height for image in images]
        side = min(sides) if params.normalize == "match-shortest" else max(sides)
        images = [
            resize(image, (side, image.height * side / image.width))
            if vertical
            else resize(image, (image.width * side / image.height, side))
            for image in images
        ]
    rows = math.ceil(len(images) / columns)
    widths = [max(im.width for im in images[c::columns]) for c in range(columns)]
    heights = [max(im.height for im in images[r * columns : (r + 1) * columns]) for r in range(rows)]
    size = (sum(widths) + params.gap * (columns - 1), sum(heights) + params.gap * (rows - 1))
    result = canvas(size, params.background, force_alpha=any(im.mode == "RGBA" for im in images))
    for index, image in enumerate(images):
        row, column = divmod(index, columns)
        left = sum(widths[:column]) + params.gap * column + (widths[column] - image.width) // 2
        top = sum(heights[:row]) + params.gap * row + (heights[row] - image.height) // 2
        paste(result, image, (left, top))
    return result


@action(
    "side-by-side-composite-browser",
    name="Side-by-Side Composite",
    description="Places several images in a row, a column or a grid.",
    inputs=[Slot("images", "image", multiple=True)],
    outputs=IMAGE_OUT,
    params=SideBySideCompositeBrowserParams,
    language="javascript",
    twin_of="side-by-side-composite",
)
@action(
    "side-by-side-composite",
    name="Side-by-Side Composite",
    description="Places several images in a row, a column or a grid.",
    inputs=[Slot("images", "image", multiple=True)],
    outputs=IMAGE_OUT,
    params=SideBySideCompositeParams,
)
def side_by_side_composite(ctx: RunContext, params: SideBySideCompositeBrowserParams) -> None:
    paths = ctx.input_paths("images")
    images = []
    for index, path in enumerate(paths):
        images.append(open_image(path))
        ctx.progress(80 * (index + 1) / len(paths))
    if not images:
        raise RunFailure("input_invalid", "side-by-side-composite needs at least one image")
    save_png(ctx, composite(images, params))
