"""Pillow/numpy helpers shared by the image actions: open with limits, save as PNG, colours, blending.

Every image an action sees is RGB or RGBA (alpha only when the source has one); float arrays are
RGB(A) in 0..1, shape (height, width, channels).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, ImageColor, ImageFilter, ImageOps, UnidentifiedImageError

from stamen.errors import RunFailure
from stamen.execution.context import RunContext

MAX_IMAGE_PIXELS = 50_000_000
"""Largest image (input or output) an action handles; larger ones fail the run with media_too_large."""

MAX_SIDE = 16_384
"""Largest width or height a param may ask for."""

BlendMode = Literal["normal", "multiply", "screen", "overlay", "soft_light", "soft-light", "color"]
RGBA = tuple[int, int, int, int]
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


# ---------------------------------------------------------------- open / save


def open_image(path: Path, *, max_pixels: int | None = None) -> Image.Image:
    """The decoded first frame as RGB or RGBA, EXIF orientation applied.

    Not an image → RunFailure('input_invalid'); over the pixel limit → RunFailure('media_too_large').
    """
    limit = max_pixels or MAX_IMAGE_PIXELS
    try:
        with Image.open(path) as source:
            check_pixels(*source.size, limit=limit, what="the input image")
            source.load()
            image = ImageOps.exif_transpose(source) or source
            return normalize_mode(image)
    except Image.DecompressionBombError:
        raise RunFailure("media_too_large", f"the input image is larger than {limit} pixels") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise RunFailure("input_invalid", f"the input is not a readable image ({exc})") from None


def normalize_mode(image: Image.Image) -> Image.Image:
    """RGB, or RGBA when the image carries alpha or a transparent palette entry."""
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    target = "RGBA" if has_alpha else "RGB"
    if image.mode == target:
        return image.copy()
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        image = image.point(lambda value: value / 256).convert("L")
    return image.convert(target)


def check_pixels(
    width: int, height: int, *, limit: int | None = None, what: str = "the output image"
) -> None:
    """Fail with media_too_large when width × height passes the limit."""
    limit = limit or MAX_IMAGE_PIXELS
    if width * height > limit:
        raise RunFailure("media_too_large", f"{what} is {width}×{height}, more than {limit} pixels")


def png_bytes(image: Image.Image) -> bytes:
    """PNG bytes; RGBA stays RGBA only when some pixel is not fully opaque."""
    if image.mode == "RGBA" and image.getchannel("A").getextrema()[0] == 255:
        image = image.convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def save_png(ctx: RunContext, image: Image.Image) -> None:
    """Record `image` as the run's next image output."""
    ctx.save_output(png_bytes(image), "image", content_type="image/png", suffix=".png")


# ---------------------------------------------------------------- colours


def parse_color(value: str) -> RGBA:
    """`#rgb`, `#rrggbb`, `#rrggbbaa`, `rgb(...)` or a CSS name as RGBA; 'transparent' is (0, 0, 0, 0)."""
    if value.strip().lower() == "transparent":
        return (0, 0, 0, 0)
    try:
        red, green, blue, alpha = ImageColor.getcolor(value, "RGBA")  # type: ignore[misc]
    except ValueError:
        raise RunFailure("input_invalid", f"{value!r} is not a colour such as #ff0000") from None
    return (red, green, blue, alpha)


def color_array(value: str) -> np.ndarray:
    """A colour's RGB as a float32 array in 0..1."""
    return np.array(parse_color(value)[:3], dtype=np.float32) / 255.0


def canvas(size: tuple[int, int], color: str, *, force_alpha: bool = False) -> Image.Image:
    """A blank image filled with `color`; RGBA when the colour is translucent or `force_alpha`."""
    check_pixels(*size)
    rgba = parse_color(color)
    if rgba[3] < 255 or force_alpha:
        return Image.new("RGBA", size, rgba)
    return Image.new("RGB", size, rgba[:3])


# ---------------------------------------------------------------- float arrays


def to_float(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """(rgb, alpha) as float32 0..1 arrays; alpha is None for RGB images."""
    data = np.asarray(image, dtype=np.float32) / 255.0
    if image.mode == "RGBA":
        return data[..., :3], data[..., 3]
    return data, None


def from_float(rgb: np.ndarray, alpha: np.ndarray | None = None) -> Image.Image:
    """The inverse of `to_float`: clipped, rounded to 8 bits."""
    data = rgb if alpha is None else np.concatenate([rgb, alpha[..., None]], axis=2)
    data = np.clip(data * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return Image.fromarray(data, "RGB" if alpha is None else "RGBA")


def map_rgb(image: Image.Image, transform: Callable[[np.ndarray], np.ndarray]) -> Image.Image:
    """Apply a float RGB → RGB transform, keeping alpha untouched."""
    rgb, alpha = to_float(image)
    return from_float(transform(rgb), alpha)


def luma(rgb: np.ndarray) -> np.ndarray:
    """Rec. 601 luma, shape (height, width)."""
    return rgb @ LUMA


def mix(base: np.ndarray, other: np.ndarray, amount: float | np.ndarray) -> np.ndarray:
    """Linear interpolation; `amount` may be a (height, width) mask."""
    if isinstance(amount, np.ndarray) and amount.ndim == base.ndim - 1:
        amount = amount[..., None]
    return base + (other - base) * amount


def color_distance_mask(rgb: np.ndarray, color: str, tolerance: float, softness: float) -> np.ndarray:
    """1 where a pixel is within `tolerance`% of `color` (RGB distance), fading to 0 over `softness`%."""
    distance = np.linalg.norm(rgb - color_array(color), axis=2) / np.sqrt(3.0) * 100.0
    if softness <= 0:
        return (distance <= tolerance).astype(np.float32)
    return np.clip((tolerance + softness - distance) / softness, 0.0, 1.0).astype(np.float32)


def blend(base: np.ndarray, top: np.ndarray, mode: BlendMode) -> np.ndarray:
    """Separable and `color` blend modes of the W3C compositing spec, on 0..1 RGB arrays."""
    if mode == "multiply":
        return base * top
    if mode == "screen":
        return base + top - base * top
    if mode == "overlay":
        return np.where(base <= 0.5, 2 * base * top, 1 - 2 * (1 - base) * (1 - top))
    if mode in ("soft_light", "soft-light"):
        darken = base - (1 - 2 * top) * base * (1 - base)
        d = np.where(base <= 0.25, ((16 * base - 12) * base + 4) * base, np.sqrt(base))
        return np.where(top <= 0.5, darken, base + (2 * top - 1) * (d - base))
    if mode == "color":
        return set_luminosity(np.broadcast_to(top, base.shape), luma(base))
    return np.broadcast_to(top, base.shape).copy()


def set_luminosity(rgb: np.ndarray, target: np.ndarray) -> np.ndarray:
    """W3C SetLum + ClipColor: `rgb`'s hue and saturation with luminosity `target`."""
    shifted = rgb + (target - luma(rgb))[..., None]
    lum = luma(shifted)[..., None]
    low = shifted.min(axis=2, keepdims=True)
    high = shifted.max(axis=2, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        shifted = np.where(low < 0, lum + (shifted - lum) * lum / np.maximum(lum - low, 1e-6), shifted)
        shifted = np.where(
            high > 1, lum + (shifted - lum) * (1 - lum) / np.maximum(high - lum, 1e-6), shifted
        )
    return np.clip(shifted, 0.0, 1.0)


# ---------------------------------------------------------------- geometry and filtering


def filter_premultiplied(image: Image.Image, apply: Callable[[Image.Image], Image.Image]) -> Image.Image:
    """Run a spatial filter on premultiplied alpha so transparent pixels do not bleed dark fringes."""
    if image.mode != "RGBA":
        return apply(image)
    return apply(image.convert("RGBa")).convert("RGBA")


def gaussian_blur(image: Image.Image, radius: float) -> Image.Image:
    if radius <= 0:
        return image.copy()
    return filter_premultiplied(image, lambda im: im.filter(ImageFilter.GaussianBlur(radius)))


def resize(image: Image.Image, size: tuple[float, float]) -> Image.Image:
    """High-quality resize (premultiplied for RGBA) to at least 1×1."""
    width, height = max(1, round(size[0])), max(1, round(size[1]))
    check_pixels(width, height)
    if (width, height) == image.size:
        return image.copy()
    return filter_premultiplied(image, lambda im: im.resize((width, height), Image.Resampling.LANCZOS))


def cover(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Scale to fill `size` and centre-crop the overflow."""
    width, height = size
    scale = max(width / image.width, height / image.height)
    scaled = resize(image, (max(width, round(image.width * scale)), max(height, round(image.height * scale))))
    left, top = (scaled.width - width) // 2, (scaled.height - height) // 2
    return scaled.crop((left, top, left + width, top + height))


def contain(image: Image.Image, size: tuple[int, int], background: Image.Image) -> Image.Image:
    """Scale to fit inside `size`, centred on `background` (already `size`)."""
    scale = min(size[0] / image.width, size[1] / image.height)
    scaled = resize(image, (image.width * scale, image.height * scale))
    return paste_centered(background, scaled)


def paste_centered(background: Image.Image, image: Image.Image) -> Image.Image:
    """`image` alpha-composited onto the centre of a copy of `background`."""
    result = background.copy()
    position = ((result.width - image.width) // 2, (result.height - image.height) // 2)
    paste(result, image, position)
    return result


def paste(target: Image.Image, image: Image.Image, position: tuple[int, int]) -> None:
    """Composite `image` onto `target` in place, honouring `image`'s alpha."""
    if image.mode != "RGBA":
        target.paste(image, position)
    elif target.mode == "RGBA":
        layer = Image.new("RGBA", target.size, (0, 0, 0, 0))
        layer.paste(image, position)
        target.alpha_composite(layer)
    else:
        target.paste(image, position, image)


def stroke_mask(path: Path, size: tuple[int, int], *, widen: float, feather: float = 0.7) -> np.ndarray:
    """A (height, width) 0..1 mask from a painted-strokes image (white and opaque = painted), resized to
    `size`, each mark grown by `widen` px and its edge softened by a `feather` px blur."""
    source = open_image(path)
    marks = np.asarray(source.convert("L"), np.float32)
    if source.mode == "RGBA":
        marks = marks * np.asarray(source.getchannel("A"), np.float32) / 255
    image = resize(Image.fromarray((marks >= 128).astype(np.uint8) * 255, "L"), size)
    image = image.point(lambda value: 255 if value >= 128 else 0)
    if widen >= 1:
        image = image.filter(ImageFilter.BoxBlur(widen)).point(lambda value: 255 if value > 0 else 0)
    if feather > 0:
        image = image.filter(ImageFilter.GaussianBlur(feather))
    return np.asarray(image, np.float32) / 255
