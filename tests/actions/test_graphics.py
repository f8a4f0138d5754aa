"""QR codes, shapes and text drawing: decoded content, colours at known points, where pixels change."""

from __future__ import annotations

from pathlib import Path

import pytest
import zxingcpp
from PIL import Image, ImageChops

from stamen.actions import get_action, validate_params
from stamen.errors import RunFailure
from stamen.execution.context import RunContext

RED, GREEN, BLUE, WHITE, BLACK = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255), (0, 0, 0)


def run_image_action(ctx: RunContext, action_id: str, **params) -> Image.Image:
    spec = get_action(action_id)
    spec.run(ctx, validate_params(spec, params))
    assert len(ctx.outputs) == 1
    output = ctx.outputs[0]
    assert output.media_type == "image" and output.content_type == "image/png" and output.path is not None
    with Image.open(output.path) as image:
        assert image.format == "PNG"
        return image.copy()


def at(image: Image.Image, fx: float, fy: float) -> tuple[int, ...]:
    """The RGB(A) pixel at fractions of the image."""
    return image.getpixel(
        (min(image.width - 1, int(fx * image.width)), min(image.height - 1, int(fy * image.height)))
    )


def close(pixel: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 3) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=False))


def changed_box(before: Path | Image.Image, after: Image.Image) -> tuple[int, int, int, int] | None:
    original = Image.open(before) if isinstance(before, Path) else before
    return ImageChops.difference(original.convert("RGB"), after.convert("RGB")).getbbox()


# ---------------------------------------------------------------- QR codes


@pytest.mark.parametrize("action_id", ["qr-code-generator", "qr-code-generator-browser"])
@pytest.mark.parametrize("level", ["L", "M", "Q", "H"])
def test_qr_code_decodes_to_the_input_text(make_context, action_id, level):
    content = "https://stamen.example/runs/run_123?q=ünïcode"
    image = run_image_action(make_context({"text": [content]}), action_id, error_correction=level, size=300)
    assert image.size == (300, 300)
    decoded = zxingcpp.read_barcodes(image)
    assert [barcode.text for barcode in decoded] == [content]
    assert decoded[0].format == zxingcpp.BarcodeFormat.QRCode


def test_qr_code_uses_the_requested_colours_and_quiet_zone(make_context):
    params = {"fg_color": "#000080", "bg_color": "#ffff00", "border": 6, "size": 400}
    image = run_image_action(make_context({"text": ["hello"]}), "qr-code-generator", **params).convert("RGB")
    assert set(image.get_flattened_data()) == {(0, 0, 128), (255, 255, 0)}
    assert at(image, 0.02, 0.02) == (255, 255, 0)  # quiet zone
    assert [barcode.text for barcode in zxingcpp.read_barcodes(image)] == ["hello"]


def test_qr_code_for_empty_or_oversized_text_fails_the_run(make_context):
    for text in ["", "x" * 8000]:
        with pytest.raises(RunFailure) as failure:
            run_image_action(make_context({"text": [text]}), "qr-code-generator")
        assert failure.value.code == "input_invalid"


# ---------------------------------------------------------------- shapes


@pytest.mark.parametrize("shape", ["rectangle", "ellipse", "triangle", "star", "hexagon"])
def test_generated_shape_has_fill_at_its_centre_and_background_elsewhere(make_context, shape):
    image = run_image_action(
        make_context(),
        "generate-shape-image",
        shape=shape,
        width=300,
        height=200,
        center={"x": 0.5, "y": 0.6},
        size={"x": 0.4, "y": 0.4},
        fill_color="#00ff00",
        background="#0000ff",
    )
    assert image.size == (300, 200) and image.mode == "RGB"
    assert at(image, 0.5, 0.6) == GREEN
    for corner in [(0.02, 0.02), (0.98, 0.02), (0.02, 0.98), (0.98, 0.98), (0.5, 0.3), (0.25, 0.6)]:
        assert at(image, *corner) == BLUE, corner


def test_shape_rotation_turns_a_horizontal_bar_vertical(make_context):
    params = {
        "width": 200,
        "height": 200,
        "size": {"x": 0.8, "y": 0.1},
        "fill_color": "red",
        "background": "white",
    }
    flat = run_image_action(make_context(), "generate-shape-image", **params)
    turned = run_image_action(make_context(), "generate-shape-image", rotation=90, **params)
    assert at(flat, 0.15, 0.5) == RED and at(flat, 0.5, 0.15) == WHITE
    assert at(turned, 0.5, 0.15) == RED and at(turned, 0.15, 0.5) == WHITE


def test_shape_opacity_blends_and_stroke_draws_the_outline(make_context):
    image = run_image_action(
        make_context(),
        "generate-shape-image",
        width=200,
        height=200,
        size={"x": 0.5, "y": 0.5},
        fill_color="#ff0000",
        fill_opacity=0.5,
        stroke_color="#000000",
        stroke_width=8,
        background="#ffffff",
    )
    assert close(at(image, 0.5, 0.5), (255, 128, 128))
    assert close(at(image, 0.5, 0.26), BLACK)  # top edge of the 100 px square spans y = 50..58
    assert at(image, 0.5, 0.1) == WHITE


def test_generate_shape_image_takes_a_connected_images_size(make_context, make_image):
    image = run_image_action(make_context({"image": [make_image(size=(120, 80))]}), "generate-shape-image")
    assert image.size == (120, 80)


@pytest.mark.parametrize("action_id", ["add-shape-to-image", "add-shape-to-image-browser"])
def test_add_shape_draws_over_the_input_image_and_keeps_the_rest(make_context, make_image, action_id):
    source = make_image(size=(200, 100))
    image = run_image_action(
        make_context({"image": [source]}),
        action_id,
        shape="ellipse",
        size={"x": 0.3, "y": 0.3},
        fill_color="lime",
    )
    assert image.size == (200, 100)
    assert at(image, 0.5, 0.5) == GREEN
    assert at(image, 0.9, 0.9) == BLUE and at(image, 0.05, 0.05) == RED  # the input's own pixels
    box = changed_box(source, image)
    assert box is not None and box[0] >= 65 and box[2] <= 135 and box[1] >= 30 and box[3] <= 70


def test_add_shape_browser_without_image_or_background_is_a_transparent_layer(make_context):
    image = run_image_action(
        make_context(),
        "add-shape-to-image-browser",
        width=64,
        height=32,
        show_background=False,
        fill_color="red",
    )
    assert image.size == (64, 32) and image.mode == "RGBA"
    assert at(image, 0.5, 0.5) == (255, 0, 0, 255)
    assert at(image, 0.05, 0.05)[3] == 0


# ---------------------------------------------------------------- text


def test_generate_text_image_draws_dark_text_only_inside_the_margins(make_context):
    image = run_image_action(
        make_context(), "generate-text-image", text="Stamen", width=400, height=200, font_size=48, margin=40
    )
    assert image.size == (400, 200) and at(image, 0.01, 0.01) == WHITE
    box = changed_box(Image.new("RGB", image.size, WHITE), image)
    assert box is not None
    left, top, right, bottom = box
    assert left >= 40 and right <= 360 and top >= 40 and bottom <= 160
    assert abs((left + right) / 2 - 200) < 10 and abs((top + bottom) / 2 - 100) < 15  # centred
    assert min(min(image.crop(box).convert("L").get_flattened_data()), 255) < 50  # ink is dark


def test_generate_text_image_wraps_long_text_into_several_lines(make_context):
    one_line = run_image_action(make_context(), "generate-text-image", text="word", width=300, height=300)
    wrapped = run_image_action(
        make_context(), "generate-text-image", text="word word word word word word", width=300, height=300
    )
    blank = Image.new("RGB", (300, 300), WHITE)
    one_box, wrapped_box = changed_box(blank, one_line), changed_box(blank, wrapped)
    assert wrapped_box[3] - wrapped_box[1] > 2 * (one_box[3] - one_box[1])
    assert wrapped_box[0] >= 32 and wrapped_box[2] <= 268


def test_text_input_replaces_the_text_param(make_context):
    short = run_image_action(make_context({"text": ["I"]}), "generate-text-image", text="WWWWWW", width=400)
    box = changed_box(Image.new("RGB", short.size, WHITE), short)
    assert box is not None and box[2] - box[0] < 40


@pytest.mark.parametrize(
    ("position", "region"),
    [
        ("top-left", (0, 0, 0.5, 0.5)),
        ("bottom-right", (0.5, 0.5, 1, 1)),
        ("bottom-center", (0.25, 0.5, 0.75, 1)),
    ],
)
def test_add_text_to_image_legacy_position_changes_pixels_in_that_region(
    make_context, make_image, position, region
):
    source = make_image(size=(400, 200))
    image = run_image_action(
        make_context({"image": [source]}),
        "add-text-to-image",
        text="Hi",
        position=position,
        margin=10,
        font_size=40,
    )
    box = changed_box(source, image)
    assert box is not None
    assert box[0] >= region[0] * 400 and box[2] <= region[2] * 400
    assert box[1] >= region[1] * 200 and box[3] <= region[3] * 200


@pytest.mark.parametrize("action_id", ["add-text-to-image", "add-text-to-image-browser"])
def test_add_text_to_image_centre_point_places_the_text(make_context, make_image, action_id):
    source = make_image(size=(400, 200))
    image = run_image_action(
        make_context({"image": [source]}), action_id, text="Hi", center={"x": 0.75, "y": 0.25}, font_size=40
    )
    left, top, right, bottom = changed_box(source, image)
    assert abs((left + right) / 2 - 300) < 8 and abs((top + bottom) / 2 - 50) < 8


def test_add_text_rotation_makes_a_word_taller_than_wide(make_context, make_image):
    source = make_image(size=(300, 300))
    image = run_image_action(
        make_context({"image": [source]}),
        "add-text-to-image-browser",
        text="Sideways",
        font_size=32,
        rotation=90,
    )
    left, top, right, bottom = changed_box(source, image)
    assert bottom - top > 2 * (right - left)


def test_add_text_with_zero_opacity_changes_nothing(make_context, make_image):
    source = make_image(size=(200, 100))
    image = run_image_action(make_context({"image": [source]}), "add-text-to-image", text="ghost", opacity=0)
    assert changed_box(source, image) is None


def test_add_text_browser_without_image_uses_dimensions_and_background(make_context):
    image = run_image_action(
        make_context(),
        "add-text-to-image-browser",
        text="A",
        dimensions={"x": 160, "y": 90},
        background="#0000ff",
    )
    assert image.size == (160, 90) and at(image, 0.02, 0.02) == BLUE
    assert WHITE in image.get_flattened_data()


def test_add_text_with_blank_text_fails_the_run(make_context, make_image):
    with pytest.raises(RunFailure) as failure:
        run_image_action(make_context({"image": [make_image()]}), "add-text-to-image", text="   ")
    assert failure.value.code == "input_invalid"
