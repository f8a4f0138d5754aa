"""Drawn graphics: QR codes, shapes and text, on a plain canvas or over an input image.

Positions and shape sizes are fractions of the canvas (0,0 top-left, 1,1 bottom-right) so a setting
means the same on any resolution. Rotations are degrees clockwise. Outputs are PNG.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Literal

import segno
from PIL import Image, ImageColor, ImageDraw, ImageFilter, ImageFont
from pydantic import Field

from stamen.actions.registry import IMAGE_OUT, ActionParams, Color, Point2D, Slot, action
from stamen.errors import RunFailure
from stamen.execution.context import RunContext

FONT_FILES = {
    "sans": "DejaVuSans.ttf",
    "sans-bold": "DejaVuSans-Bold.ttf",
    "sans-italic": "DejaVuSans-Oblique.ttf",
    "serif": "DejaVuSerif.ttf",
    "serif-bold": "DejaVuSerif-Bold.ttf",
    "mono": "DejaVuSansMono.ttf",
    "mono-bold": "DejaVuSansMono-Bold.ttf",
}
FontFamily = Literal["sans", "sans-bold", "sans-italic", "serif", "serif-bold", "mono", "mono-bold"]
Position = Literal[
    "top-left", "top-center", "top-right", "middle-left", "center", "middle-right",
    "bottom-left", "bottom-center", "bottom-right",
]  # fmt: skip
CANVAS_SIDE = {"ge": 16, "le": 4096}


def rgba(color: str, opacity: float = 1.0) -> tuple[int, int, int, int]:
    """A colour string as RGBA, its own alpha scaled by `opacity`."""
    red, green, blue, *alpha = ImageColor.getrgb(color)
    return red, green, blue, round((alpha[0] if alpha else 255) * opacity)


def plain_canvas(width: int, height: int, background: str | None) -> Image.Image:
    return Image.new("RGBA", (width, height), rgba(background) if background else (0, 0, 0, 0))


def save_png(ctx: RunContext, canvas: Image.Image, *, keep_alpha: bool) -> None:
    image = canvas if keep_alpha or canvas.getextrema()[3][0] < 255 else canvas.convert("RGB")
    path = ctx.new_path(f"output_{len(ctx.outputs) + 1}.png")
    image.save(path, format="PNG")
    ctx.save_output(path, "image", content_type="image/png")


def base_canvas(ctx: RunContext, width: int, height: int, background: str | None) -> tuple[Image.Image, bool]:
    """The input image (RGBA) when connected, else a plain canvas; plus whether the source had alpha."""
    if ctx.inputs.get("image"):
        with Image.open(ctx.input_path("image")) as source:
            has_alpha = source.mode in ("RGBA", "LA", "PA") or "transparency" in source.info
            return source.convert("RGBA"), has_alpha
    return plain_canvas(width, height, background), background is None


# ---------------------------------------------------------------- qr-code-generator


class QrCodeGeneratorBrowserParams(ActionParams):
    size: int = Field(512, ge=64, le=4096, title="Size (px)", description="Side of the square image.")
    border: int = Field(4, ge=0, le=32, title="Quiet-Zone Border (modules)")
    error_correction: Literal["L", "M", "Q", "H"] = Field(
        "M",
        title="Error Correction",
        json_schema_extra={
            "value_labels": {"L": "Low (7%)", "M": "Medium (15%)", "Q": "Quartile (25%)", "H": "High (30%)"}
        },
    )
    fg_color: Color = Field("#000000", title="Foreground Color")
    bg_color: Color = Field("#ffffff", title="Background Color")


class QrCodeGeneratorParams(QrCodeGeneratorBrowserParams):
    """Legacy id: same keys as the browser twin."""


def qr_image(text: str, params: QrCodeGeneratorBrowserParams) -> Image.Image:
    """A square QR code of `params.size` px (larger when needed for one pixel per module)."""
    if not text:
        raise RunFailure("input_invalid", "the text input is empty; a QR code needs content to encode")
    try:
        code = segno.make(text, error=params.error_correction.lower(), micro=False, boost_error=False)
    except segno.DataOverflowError:
        raise RunFailure(
            "input_invalid", f"the text is too long for a QR code ({len(text)} characters)"
        ) from None
    rows = list(code.matrix_iter(scale=1, border=params.border))
    mask = Image.new("L", (len(rows[0]), len(rows)))
    mask.putdata([255 if dark else 0 for row in rows for dark in row])
    side = max(params.size, mask.width)
    mask = mask.resize((side, side), Image.Resampling.NEAREST)
    background = Image.new("RGBA", mask.size, rgba(params.bg_color))
    return Image.composite(Image.new("RGBA", mask.size, rgba(params.fg_color)), background, mask)


@action(
    "qr-code-generator-browser",
    name="QR Code Generator",
    description="Encodes the input text as a QR code image.",
    inputs=[Slot("text", "text")],
    outputs=IMAGE_OUT,
    params=QrCodeGeneratorBrowserParams,
    language="javascript",
    twin_of="qr-code-generator",
)
@action(
    "qr-code-generator",
    name="QR Code Generator",
    description="Encodes the input text as a QR code image.",
    inputs=[Slot("text", "text")],
    outputs=IMAGE_OUT,
    params=QrCodeGeneratorParams,
)
def qr_code_generator(ctx: RunContext, params: QrCodeGeneratorBrowserParams) -> None:
    save_png(ctx, qr_image(ctx.input_text("text"), params), keep_alpha=False)


# ---------------------------------------------------------------- shapes


class ShapeParams(ActionParams):
    shape: Literal["rectangle", "ellipse", "triangle", "star", "hexagon"] = Field("rectangle", title="Shape")
    center: Point2D = Field(
        default_factory=lambda: Point2D(x=0.5, y=0.5),
        title="Center",
        description="Fractions of the canvas: 0,0 is top-left, 1,1 bottom-right.",
    )
    size: Point2D = Field(
        default_factory=lambda: Point2D(x=0.5, y=0.5),
        title="Size",
        description="Width, height as fractions of the canvas.",
    )
    rotation: float = Field(0, ge=-360, le=360, title="Rotation (°, clockwise)")
    fill_color: Color = Field("#ff0000", title="Fill Color")
    fill_opacity: float = Field(1.0, ge=0, le=1, title="Fill Opacity", json_schema_extra={"step": 0.01})
    stroke_color: Color = Field("#000000", title="Stroke Color")
    stroke_width: int = Field(0, ge=0, le=512, title="Stroke Width (px)")


class GenerateShapeImageParams(ShapeParams):
    width: int = Field(1024, **CANVAS_SIDE, title="Width (px)")
    height: int = Field(1024, **CANVAS_SIDE, title="Height (px)")
    background: Color = Field("#ffffff", title="Background Color")


class AddShapeToImageBrowserParams(ShapeParams):
    width: int = Field(
        1024, **CANVAS_SIDE, title="Width (px)", description="Canvas width when no image is connected."
    )
    height: int = Field(
        1024, **CANVAS_SIDE, title="Height (px)", description="Canvas height when no image is connected."
    )
    background: Color = Field(
        "#ffffff", title="Background Color", description="Canvas colour when no image is connected."
    )
    show_background: bool = Field(True, title="Include Background", description="Off: a transparent canvas.")


class AddShapeToImageParams(AddShapeToImageBrowserParams):
    """Legacy id: the legacy keys plus the browser twin's extras."""


def shape_outline(shape: str, width: float, height: float) -> list[tuple[float, float]]:
    """Vertices of `shape` fitted to a width×height box centred on the origin."""
    if shape == "rectangle":
        unit = [(-0.5, -0.5), (0.5, -0.5), (0.5, 0.5), (-0.5, 0.5)]
    elif shape == "triangle":
        unit = [(0.0, -0.5), (0.5, 0.5), (-0.5, 0.5)]
    elif shape == "ellipse":
        unit = [(0.5 * math.cos(a), 0.5 * math.sin(a)) for a in (i * math.tau / 180 for i in range(180))]
    elif shape == "hexagon":
        unit = [(0.5 * math.cos(a), 0.5 * math.sin(a)) for a in (i * math.tau / 6 for i in range(6))]
    else:  # five-pointed star, point up
        unit = [
            ((0.5 if i % 2 == 0 else 0.19) * math.cos(a), (0.5 if i % 2 == 0 else 0.19) * math.sin(a))
            for i, a in ((i, -math.pi / 2 + i * math.pi / 5) for i in range(10))
        ]
    return [(x * width, y * height) for x, y in unit]


def draw_shape(canvas: Image.Image, params: ShapeParams) -> Image.Image:
    """`canvas` with the shape composited on it (supersampled for smooth edges)."""
    scale = max(1, min(4, 8192 // max(canvas.size)))
    width, height = canvas.width * scale, canvas.height * scale
    turn = math.radians(params.rotation)
    cos, sin = math.cos(turn), math.sin(turn)
    cx, cy = params.center.x * width, params.center.y * height
    points = [
        (cx + x * cos - y * sin, cy + x * sin + y * cos)
        for x, y in shape_outline(params.shape, params.size.x * width, params.size.y * height)
    ]
    layer = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    stroke = params.stroke_width * scale
    ImageDraw.Draw(layer).polygon(
        points,
        fill=rgba(params.fill_color, params.fill_opacity),
        outline=rgba(params.stroke_color) if stroke else None,
        width=stroke,
    )
    if scale > 1:
        layer = layer.resize(canvas.size, Image.Resampling.LANCZOS)
    return Image.alpha_composite(canvas, layer)


@action(
    "generate-shape-image",
    name="Generate Shape Image",
    description="Draws a shape on a plain canvas. A connected image only sets the canvas size.",
    inputs=[Slot("image", "image", optional=True)],
    outputs=IMAGE_OUT,
    params=GenerateShapeImageParams,
)
def generate_shape_image(ctx: RunContext, params: GenerateShapeImageParams) -> None:
    size = (params.width, params.height)
    if ctx.inputs.get("image"):
        with Image.open(ctx.input_path("image")) as reference:
            size = reference.size
    save_png(ctx, draw_shape(plain_canvas(*size, params.background), params), keep_alpha=False)


@action(
    "add-shape-to-image-browser",
    name="Add Shape to Image",
    description="Draws a shape over the input image, or on a width×height canvas when none is connected.",
    inputs=[Slot("image", "image", optional=True)],
    outputs=IMAGE_OUT,
    params=AddShapeToImageBrowserParams,
    language="javascript",
    twin_of="add-shape-to-image",
)
@action(
    "add-shape-to-image",
    name="Add Shape to Image",
    description="Draws a shape over the input image, or on a width×height canvas when none is connected.",
    inputs=[Slot("image", "image", optional=True)],
    outputs=IMAGE_OUT,
    params=AddShapeToImageParams,
)
def add_shape_to_image(ctx: RunContext, params: AddShapeToImageBrowserParams) -> None:
    background = params.background if params.show_background else None
    canvas, has_alpha = base_canvas(ctx, params.width, params.height, background)
    save_png(ctx, draw_shape(canvas, params), keep_alpha=has_alpha)


# ---------------------------------------------------------------- text


class FontParams(ActionParams):
    text: str = Field("Hello, world", title="Text", description="A connected text input replaces this.")
    font_family: FontFamily = Field("sans", title="Font")
    font_size: int = Field(64, ge=4, le=1024, title="Font Size (px)")
    color: Color = Field("#ffffff", title="Text Color")


class GenerateTextImageParams(FontParams):
    color: Color = Field("#000000", title="Text Color")
    background: Color = Field("#ffffff", title="Background Color")
    width: int = Field(1024, **CANVAS_SIDE, title="Width (px)")
    height: int = Field(1024, **CANVAS_SIDE, title="Height (px)")
    margin: int = Field(32, ge=0, le=2048, title="Margin (px)", description="Lines wrap inside the margins.")


class AddTextToImageBrowserParams(FontParams):
    opacity: float = Field(1.0, ge=0, le=1, title="Opacity", json_schema_extra={"step": 0.01})
    shadow: bool = Field(False, title="Shadow")
    center: Point2D = Field(
        default_factory=lambda: Point2D(x=0.5, y=0.5),
        title="Center",
        description="Centre of the text as fractions of the canvas: 0,0 is top-left, 1,1 bottom-right.",
    )
    dimensions: Point2D = Field(
        default_factory=lambda: Point2D(x=1024, y=1024),
        title="Dimensions (px)",
        description="Canvas width and height when no image is connected (16–4096).",
    )
    max_width: int = Field(
        0, ge=0, le=8192, title="Max Width (px)", description="Wrap width; 0 = 90% of the canvas."
    )
    rotation: float = Field(0, ge=-360, le=360, title="Rotation (°, clockwise)")
    background: Color = Field(
        "#000000", title="Background Color", description="Canvas colour when no image is connected."
    )
    show_background: bool = Field(True, title="Include Background", description="Off: a transparent canvas.")


class AddTextToImageParams(AddTextToImageBrowserParams):
    """Legacy id: `position`/`margin` place the text unless `center` is given."""

    position: Position = Field("center", title="Position")
    margin: int = Field(32, ge=0, le=2048, title="Margin (px)")


@lru_cache(maxsize=64)
def load_font(family: str, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype(FONT_FILES[family], size)
    except OSError:
        return ImageFont.load_default(size=size)


def wrap_lines(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, max_width: float) -> str:
    """Greedy word wrap to `max_width` px, keeping explicit newlines; an over-long word stays whole."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if line and font.getlength(candidate) > max_width:
                lines.append(line)
                line = word
            else:
                line = candidate
        lines.append(line)
    return "\n".join(lines)


def text_layer(text: str, params: FontParams, *, opacity: float = 1.0, shadow: bool = False) -> Image.Image:
    """The text alone on a transparent layer cropped to its ink box (plus shadow room)."""
    font = load_font(params.font_family, params.font_size)
    probe = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    left, top, right, bottom = (
        math.floor(edge) if i < 2 else math.ceil(edge)
        for i, edge in enumerate(probe.multiline_textbbox((0, 0), text, font=font, align="center"))
    )
    offset = max(2, params.font_size // 16) if shadow else 0
    pad = offset * 3
    layer = Image.new(
        "RGBA", (right - left + 2 * pad + offset, bottom - top + 2 * pad + offset), (0, 0, 0, 0)
    )
    origin = (pad - left, pad - top)
    if shadow:
        shade = Image.new("RGBA", layer.size, (0, 0, 0, 0))
        ImageDraw.Draw(shade).multiline_text(
            (origin[0] + offset, origin[1] + offset),
            text,
            font=font,
            fill=(0, 0, 0, round(160 * opacity)),
            align="center",
        )
        layer = Image.alpha_composite(layer, shade.filter(ImageFilter.GaussianBlur(offset / 2)))
    draw = ImageDraw.Draw(layer)
    draw.multiline_text(origin, text, font=font, fill=rgba(params.color, opacity), align="center")
    return layer


def text_content(ctx: RunContext, params: FontParams) -> str:
    text = ctx.input_text("text") if ctx.inputs.get("text") else params.text
    if not text.strip():
        raise RunFailure("input_invalid", "there is no text to draw: set params.text or connect a text input")
    return text


def anchored_origin(
    position: str, canvas: tuple[int, int], layer: tuple[int, int], margin: int
) -> tuple[int, int]:
    """Top-left corner of `layer` for a 9-way `position` with `margin` px from the edges."""
    vertical, _, horizontal = position.partition("-") if position != "center" else ("middle", "", "center")
    free_x, free_y = canvas[0] - layer[0], canvas[1] - layer[1]
    x = {"left": margin, "center": free_x // 2, "right": free_x - margin}[horizontal]
    y = {"top": margin, "middle": free_y // 2, "bottom": free_y - margin}[vertical]
    return x, y


@action(
    "generate-text-image",
    name="Generate Text Image",
    description="Renders text centred on a plain canvas, wrapped inside the margins.",
    inputs=[Slot("text", "text", optional=True)],
    outputs=IMAGE_OUT,
    params=GenerateTextImageParams,
)
def generate_text_image(ctx: RunContext, params: GenerateTextImageParams) -> None:
    canvas = plain_canvas(params.width, params.height, params.background)
    font = load_font(params.font_family, params.font_size)
    layer = text_layer(
        wrap_lines(text_content(ctx, params), font, max(1, params.width - 2 * params.margin)), params
    )
    canvas.alpha_composite(layer, anchored_origin("center", canvas.size, layer.size, params.margin))
    save_png(ctx, canvas, keep_alpha=False)


@action(
    "add-text-to-image-browser",
    name="Add Text to Image",
    description="Draws text over the input image, or on a canvas of `dimensions` when none is connected.",
    inputs=[Slot("image", "image", optional=True), Slot("text", "text", optional=True)],
    outputs=IMAGE_OUT,
    params=AddTextToImageBrowserParams,
    language="javascript",
    twin_of="add-text-to-image",
)
@action(
    "add-text-to-image",
    name="Add Text to Image",
    description="Draws text over the input image at a position (or centre point), optionally with a shadow.",
    inputs=[Slot("image", "image", optional=True), Slot("text", "text", optional=True)],
    outputs=IMAGE_OUT,
    params=AddTextToImageParams,
)
def add_text_to_image(ctx: RunContext, params: AddTextToImageBrowserParams) -> None:
    width, height = round(params.dimensions.x), round(params.dimensions.y)
    if not ctx.inputs.get("image") and not (16 <= width <= 4096 and 16 <= height <= 4096):
        raise RunFailure("input_invalid", "params.dimensions must be between 16 and 4096 px on each side")
    background = params.background if params.show_background else None
    canvas, has_alpha = base_canvas(ctx, width, height, background)
    font = load_font(params.font_family, params.font_size)
    wrap_width = params.max_width or canvas.width * 0.9
    layer = text_layer(
        wrap_lines(text_content(ctx, params), font, wrap_width),
        params,
        opacity=params.opacity,
        shadow=params.shadow,
    )
    if params.rotation:
        layer = layer.rotate(-params.rotation, resample=Image.Resampling.BICUBIC, expand=True)
    if isinstance(params, AddTextToImageParams) and "center" not in params.model_fields_set:
        origin = anchored_origin(params.position, canvas.size, layer.size, params.margin)
    else:
        origin = (
            round(params.center.x * canvas.width - layer.width / 2),
            round(params.center.y * canvas.height - layer.height / 2),
        )
    overlay = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    overlay.paste(layer, origin)
    save_png(ctx, Image.alpha_composite(canvas, overlay), keep_alpha=has_alpha)
