"""Colour image actions: grade, the 16 filters, tint and filter-color, checked on known pixels."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from stamen.actions.image_color import ColorFilter
from tests.actions.test_image import rgb_at, run_one

FILTERS = list(ColorFilter.__args__)


@pytest.fixture
def make_gradient(tmp_path):
    """A 256×64 image: red→green→blue hues on top, a gray ramp (0..255 left to right) below."""

    def build(name: str = "gradient.png") -> object:
        x = np.arange(256, dtype=np.float32) / 255
        top = np.stack([np.clip(1 - 2 * x, 0, 1), 1 - np.abs(2 * x - 1), np.clip(2 * x - 1, 0, 1)], axis=1)
        gray = np.repeat(x[:, None], 3, axis=1)
        rows = np.concatenate([np.repeat(top[None], 32, axis=0), np.repeat(gray[None], 32, axis=0)])
        path = tmp_path / name
        Image.fromarray((rows * 255).round().astype(np.uint8), "RGB").save(path)
        return path

    return build


@pytest.mark.parametrize("action_id", ["color-filter-image", "color-filter-image-browser"])
def test_grayscale_gives_equal_channels(make_context, make_gradient, action_id):
    out = np.asarray(run_one(make_context({"image": [make_gradient()]}), action_id, filter="grayscale"))
    assert (out[..., 0] == out[..., 1]).all() and (out[..., 1] == out[..., 2]).all()


def test_grayscale_with_grain_stays_gray(make_context, make_gradient):
    out = np.asarray(run_one(make_context({"image": [make_gradient()]}), "color-filter-image", grain=0.5))
    assert (out[..., 0] == out[..., 2]).all()


def test_invert_inverts_a_known_pixel(make_context, make_image):
    out = run_one(make_context({"image": [make_image()]}), "color-filter-image", filter="invert")
    assert rgb_at(out, 5, 5) == (0, 255, 255) and rgb_at(out, 150, 50) == (255, 255, 0)


def test_half_intensity_mixes_filter_and_original(make_context, make_image):
    out = run_one(
        make_context({"image": [make_image()]}), "color-filter-image", filter="invert", intensity=0.5
    )
    assert all(abs(value - 128) <= 1 for value in rgb_at(out, 5, 5))


def test_bw_threshold_gives_only_black_and_white(make_context, make_gradient):
    out = np.asarray(
        run_one(
            make_context({"image": [make_gradient()]}), "color-filter-image", filter="bw", bw_threshold=100
        )
    )
    assert set(np.unique(out)) <= {0, 255}
    assert tuple(out[50, 90]) == (0, 0, 0) and tuple(out[50, 110]) == (255, 255, 255)


def test_posterize_limits_levels_per_channel(make_context, make_gradient):
    out = np.asarray(
        run_one(
            make_context({"image": [make_gradient()]}),
            "color-filter-image",
            filter="posterize",
            posterize_bits=2,
        )
    )
    assert len(np.unique(out[..., 0])) <= 4


def test_duotone_maps_black_and_white_to_the_two_colours(make_context, make_gradient):
    out = run_one(
        make_context({"image": [make_gradient()]}),
        "color-filter-image",
        filter="duotone",
        shadow_color="#ff0000",
        highlight_color="#00ff00",
    )
    assert rgb_at(out, 0, 50) == (255, 0, 0) and rgb_at(out, 255, 50) == (0, 255, 0)


def test_colorpop_keeps_the_target_colour_and_grays_the_rest(make_context, make_image):
    out = run_one(
        make_context({"image": [make_image()]}),
        "color-filter-image",
        filter="colorpop",
        target_color="#ff0000",
    )
    assert rgb_at(out, 5, 5) == (255, 0, 0)
    red, green, blue = rgb_at(out, 150, 50)
    assert red == green == blue


def test_vignette_darkens_corners_not_centre(make_context, tmp_path):
    path = tmp_path / "white.png"
    Image.new("RGB", (200, 200), "white").save(path)
    out = run_one(
        make_context({"image": [path]}), "color-filter-image", filter="vignette", vignette_strength=1
    )
    assert rgb_at(out, 100, 100) == (255, 255, 255) and rgb_at(out, 0, 0)[0] < 100


def test_halftone_draws_dots_in_the_two_colours(make_context, make_gradient):
    out = np.asarray(
        run_one(
            make_context({"image": [make_gradient()]}),
            "color-filter-image",
            filter="halftone",
            dot_color="#000000",
            dot_bg="#ffffff",
        )
    )
    gray_half = out[32:, :, 0]
    assert gray_half[:, :40].mean() < gray_half[:, -40:].mean()  # dark end has bigger dots
    assert ((out == 0) | (out == 255)).mean() > 0.5


@pytest.mark.parametrize("name", FILTERS)
def test_every_filter_keeps_size_and_alpha(make_context, tmp_path, name):
    image = Image.new("RGBA", (64, 48), (40, 160, 90, 255))
    ImageDraw.Draw(image).rectangle([0, 0, 20, 20], fill=(0, 0, 0, 0))
    image.save(tmp_path / "alpha.png")
    out = run_one(make_context({"image": [tmp_path / "alpha.png"]}), "color-filter-image", filter=name)
    assert out.size == (64, 48) and out.mode == "RGBA"
    assert out.getpixel((5, 5))[3] == 0 and out.getpixel((50, 40))[3] == 255


@pytest.mark.parametrize("action_id", ["color-grade-image", "color-grade-image-browser"])
def test_color_grade_defaults_leave_the_image_unchanged(make_context, make_gradient, action_id):
    path = make_gradient()
    out = np.asarray(run_one(make_context({"image": [path]}), action_id), np.int16)
    assert np.abs(out - np.asarray(Image.open(path), np.int16)).max() <= 1


def test_color_grade_brightness_saturation_warmth(make_context, make_gradient):
    path = make_gradient()
    original = np.asarray(Image.open(path), np.float32)
    brighter = np.asarray(
        run_one(make_context({"image": [path]}), "color-grade-image", brightness=0.3), np.float32
    )
    assert brighter.mean() > original.mean() + 20
    desaturated = np.asarray(run_one(make_context({"image": [path]}), "color-grade-image", saturation=-1))
    assert np.abs(desaturated[..., 0].astype(int) - desaturated[..., 2]).max() <= 1
    warm = np.asarray(run_one(make_context({"image": [path]}), "color-grade-image", warmth=1), np.float32)
    assert warm[32:, 100:200, 0].mean() > warm[32:, 100:200, 2].mean() + 20


def test_color_grade_hue_shift_turns_red_towards_green(make_context, make_image):
    out = run_one(make_context({"image": [make_image()]}), "color-grade-image-browser", hue_shift=120)
    red, green, _ = rgb_at(out, 5, 5)
    assert green > red


@pytest.mark.parametrize("action_id", ["color-tint-image", "color-tint-image-browser"])
@pytest.mark.parametrize("mode", ["multiply", "screen", "overlay", "soft_light", "color"])
def test_tint_moves_gray_towards_the_tint_colour(make_context, make_gradient, action_id, mode):
    out = run_one(
        make_context({"image": [make_gradient()]}), action_id, color="#ff0000", intensity=1, blend_mode=mode
    )
    red, green, blue = rgb_at(out, 128, 50)
    assert red > green and red > blue


@pytest.mark.parametrize("action_id", ["filter-color-image", "filter-color-image-browser"])
def test_filter_color_remove_makes_the_target_transparent(make_context, make_image, action_id):
    out = run_one(make_context({"image": [make_image()]}), action_id, target_color="#ff0000", mode="remove")
    assert out.mode == "RGBA" and out.getpixel((5, 5))[3] == 0 and out.getpixel((150, 50))[3] == 255


def test_filter_color_keep_and_invert(make_context, make_image):
    keep = run_one(
        make_context({"image": [make_image()]}), "filter-color-image", target_color="#ff0000", mode="keep"
    )
    assert keep.getpixel((5, 5))[3] == 255 and keep.getpixel((150, 50))[3] == 0
    inverted = run_one(
        make_context({"image": [make_image()]}),
        "filter-color-image",
        target_color="#ff0000",
        mode="remove",
        invert=True,
    )
    assert inverted.getpixel((5, 5))[3] == 255 and inverted.getpixel((150, 50))[3] == 0


def test_filter_color_replace_paints_the_replacement(make_context, make_image):
    out = run_one(
        make_context({"image": [make_image()]}),
        "filter-color-image",
        target_color="#ff0000",
        mode="replace",
        replacement_color="#00ff00",
    )
    assert out.mode == "RGB" and rgb_at(out, 5, 5) == (0, 255, 0) and rgb_at(out, 150, 50) == (0, 0, 255)
