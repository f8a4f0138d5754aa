"""Geometry and layout image actions, and the shared image loading rules (invalid input, size limit)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from stamen.actions import get_action, validate_params
from stamen.errors import InputValidation, RunFailure
from stamen.execution.context import RunContext
from stamen.media import images

RED, BLUE, WHITE, BLACK = (255, 0, 0), (0, 0, 255), (255, 255, 255), (0, 0, 0)


def run_action(ctx: RunContext, action_id: str, **params) -> list[Image.Image]:
    """Run an action with params validated as an API request would be; the PNG outputs, decoded."""
    spec = get_action(action_id)
    spec.run(ctx, validate_params(spec, params))
    decoded = []
    for output in ctx.outputs:
        assert output.media_type == "image" and output.content_type == "image/png" and output.path is not None
        with Image.open(output.path) as image:
            assert image.format == "PNG"
            decoded.append(image.copy())
    return decoded


def run_one(ctx: RunContext, action_id: str, **params) -> Image.Image:
    outputs = run_action(ctx, action_id, **params)
    assert len(outputs) == 1
    return outputs[0]


def rgb_at(image: Image.Image, x: int, y: int) -> tuple[int, int, int]:
    return image.convert("RGB").getpixel((x, y))  # type: ignore[return-value]


def close(pixel: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 3) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=True))


# ---------------------------------------------------------------- loading rules


def test_non_image_input_fails_the_run_with_input_invalid(make_context, tmp_path: Path):
    text_file = tmp_path / "notes.png"
    text_file.write_text("this is not an image")
    with pytest.raises(RunFailure) as failure:
        run_one(make_context({"image": [text_file]}), "rotate-image")
    assert failure.value.code == "input_invalid"


def test_image_over_the_pixel_limit_fails_with_media_too_large(make_context, make_image, monkeypatch):
    monkeypatch.setattr(images, "MAX_IMAGE_PIXELS", 10_000)
    with pytest.raises(RunFailure) as failure:
        run_one(make_context({"image": [make_image(size=(200, 100))]}), "flip-image")
    assert failure.value.code == "media_too_large"


def test_pillow_decompression_bomb_becomes_media_too_large(make_context, make_image, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 5_000)  # Pillow refuses above twice this
    with pytest.raises(RunFailure) as failure:
        run_one(make_context({"image": [make_image(size=(200, 100))]}), "flip-image")
    assert failure.value.code == "media_too_large"


def test_transparent_input_keeps_alpha_and_opaque_input_has_none(make_context, make_image):
    transparent = Image.new("RGBA", (40, 20), (0, 0, 255, 0))
    transparent.paste((255, 0, 0, 255), (0, 0, 10, 10))
    path = make_image("opaque.png")
    transparent.save(path.with_name("alpha.png"))
    out = run_one(make_context({"image": [path.with_name("alpha.png")]}), "flip-image")
    assert out.mode == "RGBA" and out.getpixel((35, 5))[3] == 255 and out.getpixel((5, 5))[3] == 0
    assert run_one(make_context({"image": [path]}), "flip-image").mode == "RGB"


def test_invalid_colour_param_is_rejected_before_running():
    with pytest.raises(InputValidation) as error:
        validate_params(get_action("rotate-image"), {"background": "not-a-colour"})
    assert error.value.fields[0].field == "params.background"


# ---------------------------------------------------------------- rotate / flip


@pytest.mark.parametrize("action_id", ["rotate-image", "rotate-image-browser"])
def test_rotate_90_swaps_size_and_moves_marker_to_top_right(make_context, make_image, action_id):
    out = run_one(make_context({"image": [make_image(size=(200, 100))]}), action_id, angle=90)
    assert out.size == (100, 200)
    assert rgb_at(out, 95, 5) == RED
    assert rgb_at(out, 5, 5) == BLUE


def test_rotate_45_expands_canvas_and_fills_corners(make_context, make_image):
    out = run_one(
        make_context({"image": [make_image(size=(200, 100))]}), "rotate-image", angle=45, background="#fff"
    )
    assert out.width > 200 and out.height > 100
    assert rgb_at(out, 0, 0) == WHITE


def test_rotate_transparent_background_gives_transparent_corners(make_context, make_image):
    out = run_one(make_context({"image": [make_image()]}), "rotate-image-browser", angle=30, transparent=True)
    assert out.mode == "RGBA" and out.getpixel((0, 0))[3] == 0


def test_rotate_legacy_expand_false_keeps_size(make_context, make_image):
    out = run_one(
        make_context({"image": [make_image(size=(200, 100))]}), "rotate-image", angle=90, expand=False
    )
    assert out.size == (200, 100)


def test_rotate_shrink_crops_away_empty_corners(make_context, make_image):
    out = run_one(
        make_context({"image": [make_image(size=(200, 100))]}),
        "rotate-image-browser",
        angle=20,
        canvas_mode="shrink",
        background="#00ff00",
    )
    assert out.width < 200 and out.height < 100
    green = np.abs(np.asarray(out.convert("RGB"), np.int16) - (0, 255, 0)).max(axis=2) <= 60
    assert not green.any()


def test_rotate_browser_rejects_legacy_expand_key():
    with pytest.raises(InputValidation):
        validate_params(get_action("rotate-image-browser"), {"expand": True})


def test_rotate_browser_direction_flips_before_rotating(make_context, make_image):
    out = run_one(
        make_context({"image": [make_image()]}), "rotate-image-browser", angle=0, direction="horizontal"
    )
    assert rgb_at(out, 195, 5) == RED and rgb_at(out, 5, 5) == BLUE


@pytest.mark.parametrize(
    ("direction", "corner"),
    [("horizontal", (195, 5)), ("vertical", (5, 95)), ("both", (195, 95))],
)
def test_flip_moves_the_marker_to_the_mirrored_corner(make_context, make_image, direction, corner):
    out = run_one(make_context({"image": [make_image(size=(200, 100))]}), "flip-image", direction=direction)
    assert out.size == (200, 100)
    assert rgb_at(out, *corner) == RED
    assert rgb_at(out, 5, 5) == BLUE


# ---------------------------------------------------------------- change-image-ar


@pytest.mark.parametrize("action_id", ["change-image-ar", "change-image-ar-browser"])
@pytest.mark.parametrize("fit", ["crop", "pad"])
@pytest.mark.parametrize(
    ("ratio", "value"), [("1:1", 1.0), ("16:9", 16 / 9), ("9:16", 9 / 16), ("21:9", 21 / 9)]
)
def test_change_ar_gives_the_target_ratio(make_context, make_image, action_id, fit, ratio, value):
    out = run_one(
        make_context({"image": [make_image(size=(200, 100))]}), action_id, aspect_ratio=ratio, fit=fit
    )
    assert abs(out.width / out.height - value) < 0.02
    if fit == "crop":
        assert out.width <= 200 and out.height <= 100
    else:
        assert out.width >= 200 and out.height >= 100


def test_change_ar_pad_uses_pad_color_and_keeps_the_image(make_context, make_image):
    out = run_one(
        make_context({"image": [make_image(size=(200, 100))]}),
        "change-image-ar",
        aspect_ratio="1:1",
        fit="pad",
        pad_color="#ffffff",
    )
    assert out.size == (200, 200)
    assert rgb_at(out, 100, 10) == WHITE and rgb_at(out, 100, 190) == WHITE
    assert rgb_at(out, 5, 55) == RED and rgb_at(out, 150, 120) == BLUE


def test_change_ar_blur_background_fills_padding_with_image_colours(make_context, make_image):
    out = run_one(
        make_context({"image": [make_image(size=(200, 100))]}),
        "change-image-ar",
        aspect_ratio="1:1",
        fit="pad",
        background_mode="blur",
        blur_amount=5,
    )
    assert out.size == (200, 200)
    assert rgb_at(out, 150, 190)[2] > 200  # the blurred blue, not a flat pad colour


# ---------------------------------------------------------------- duplicate / side-by-side


@pytest.mark.parametrize("action_id", ["duplicate-image", "duplicate-image-browser"])
def test_duplicate_gives_count_identical_outputs(make_context, make_image, action_id):
    outputs = run_action(make_context({"image": [make_image()]}), action_id, count=4)
    assert len(outputs) == 4
    assert all(out.size == (200, 100) and rgb_at(out, 5, 5) == RED for out in outputs)


@pytest.mark.parametrize("action_id", ["side-by-side-composite", "side-by-side-composite-browser"])
def test_side_by_side_width_is_the_sum_of_widths(make_context, make_image, action_id):
    first, second = make_image("a.png", size=(200, 100)), make_image("b.png", size=(120, 100))
    out = run_one(make_context({"images": [first, second]}), action_id, layout="horizontal-2")
    assert out.size == (320, 100)
    assert rgb_at(out, 5, 5) == RED and rgb_at(out, 205, 5) == RED


def test_side_by_side_gap_and_match_shortest_scale_to_common_height(make_context, make_image):
    first, second = make_image("a.png", size=(200, 100)), make_image("b.png", size=(100, 50))
    out = run_one(
        make_context({"images": [first, second]}),
        "side-by-side-composite",
        gap=10,
        normalize="match-shortest",
        background="#ffffff",
    )
    assert out.size == (100 + 10 + 100, 50)
    assert rgb_at(out, 105, 25) == WHITE


def test_side_by_side_pad_to_largest_keeps_sizes(make_context, make_image):
    first, second = make_image("a.png", size=(200, 100)), make_image("b.png", size=(100, 50))
    out = run_one(
        make_context({"images": [first, second]}),
        "side-by-side-composite",
        normalize="pad-to-largest",
        background="#000000",
    )
    assert out.size == (300, 100)
    assert rgb_at(out, 250, 5) == BLACK and rgb_at(out, 250, 50) == BLUE


def test_side_by_side_vertical_height_is_the_sum_and_grid_is_two_by_two(make_context, make_image):
    paths = [make_image(f"{i}.png", size=(100, 50)) for i in range(4)]
    vertical = run_one(make_context({"images": paths[:3]}), "side-by-side-composite", layout="vertical-3")
    assert vertical.size == (100, 150)
    grid = run_one(make_context({"images": paths}), "side-by-side-composite", layout="grid-2x2", gap=4)
    assert grid.size == (204, 104)
    auto = run_one(make_context({"images": paths}), "side-by-side-composite")
    assert auto.size == (200, 100)
