"""Browser-only image actions: crop, resize, overlay, draw, shader effects and the 3D scene."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PIL import Image

from stamen.actions.image_browser import ShaderEffectBrowserParams
from stamen.actions.image_scene import Shape
from tests.actions.test_image import BLUE, RED, WHITE, close, rgb_at, run_one

EFFECTS = list(ShaderEffectBrowserParams.model_fields["effect"].annotation.__args__)


# ---------------------------------------------------------------- crop


def test_crop_gives_the_asked_size_and_region(make_context, make_image):
    out = run_one(
        make_context({"image": [make_image(size=(200, 100))]}),
        "crop-image-browser",
        center={"x": 0.25, "y": 0.25},
        size={"x": 0.5, "y": 0.5},
    )
    assert out.size == (100, 50)
    assert rgb_at(out, 5, 5) == RED and rgb_at(out, 90, 45) == BLUE
    assert out.mode == "RGB"


def test_crop_lock_aspect_keeps_the_source_ratio(make_context, make_image):
    out = run_one(
        make_context({"image": [make_image(size=(200, 100))]}),
        "crop-image-browser",
        size={"x": 0.5, "y": 0.9},
        lock_aspect=True,
    )
    assert out.size == (100, 50)


def test_crop_outside_the_image_is_transparent(make_context, make_image):
    out = run_one(
        make_context({"image": [make_image(size=(200, 100))]}),
        "crop-image-browser",
        center={"x": 0.0, "y": 0.0},
        size={"x": 0.5, "y": 0.5},
    )
    assert out.size == (100, 50) and out.mode == "RGBA"
    assert out.getpixel((10, 10))[3] == 0 and out.getpixel((60, 30)) == (*RED, 255)


def test_rotated_crop_keeps_the_asked_size(make_context, make_image):
    out = run_one(
        make_context({"image": [make_image(size=(200, 100))]}),
        "crop-image-browser",
        size={"x": 0.3, "y": 0.3},
        rotation=30,
    )
    assert out.size == (60, 30)
    assert close(rgb_at(out, 30, 15), BLUE)


# ---------------------------------------------------------------- resize


@pytest.mark.parametrize("fit", ["contain", "cover", "stretch"])
def test_resize_exact_gives_the_asked_size(make_context, make_image, fit):
    out = run_one(
        make_context({"image": [make_image(size=(200, 100))]}),
        "resize-image-browser",
        mode="exact",
        width=64,
        height=64,
        fit=fit,
        bg_color="#ffffff",
    )
    assert out.size == (64, 64)
    if fit == "contain":
        assert rgb_at(out, 32, 2) == WHITE and close(rgb_at(out, 32, 32), BLUE)
    else:
        assert close(rgb_at(out, 32, 2), BLUE)


def test_resize_percent_and_longest(make_context, make_image):
    path = make_image(size=(200, 100))
    assert run_one(
        make_context({"image": [path]}), "resize-image-browser", mode="percent", percent=25
    ).size == (50, 25)
    longest = run_one(make_context({"image": [path]}), "resize-image-browser", mode="longest", longest=500)
    assert longest.size == (500, 250)


# ---------------------------------------------------------------- overlay / draw


def test_overlay_places_the_overlay_at_center_and_size(make_context, make_image, tmp_path):
    Image.new("RGB", (10, 10), "white").save(tmp_path / "white.png")
    ctx = make_context({"image": [make_image(size=(200, 100))], "overlay": [tmp_path / "white.png"]})
    out = run_one(ctx, "overlay-image-browser", center={"x": 0.75, "y": 0.5}, size={"x": 0.2, "y": 0.4})
    assert out.size == (200, 100)
    assert rgb_at(out, 150, 50) == WHITE and rgb_at(out, 100, 50) == BLUE and rgb_at(out, 5, 5) == RED


def test_overlay_multiply_and_opacity(make_context, make_image, tmp_path):
    Image.new("RGB", (10, 10), (128, 128, 128)).save(tmp_path / "gray.png")
    ctx = make_context({"image": [make_image()], "overlay": [tmp_path / "gray.png"]})
    out = run_one(ctx, "overlay-image-browser", blend="multiply", size={"x": 1, "y": 1})
    assert close(rgb_at(out, 100, 50), (0, 0, 128), 2)
    ctx = make_context({"image": [make_image()], "overlay": [tmp_path / "gray.png"]})
    half = run_one(ctx, "overlay-image-browser", opacity=0.5, size={"x": 1, "y": 1})
    assert close(rgb_at(half, 100, 50), (64, 64, 191), 2)


def test_draw_paints_the_mask_strokes_in_the_brush_colour(make_context, make_image, tmp_path):
    mask = Image.new("L", (200, 100), 0)
    mask.paste(255, (100, 40, 101, 41))
    mask.save(tmp_path / "strokes.png")
    ctx = make_context({"image": [make_image()], "mask": [tmp_path / "strokes.png"]})
    out = run_one(ctx, "draw-image-browser", color="#ffffff", size=20)
    assert rgb_at(out, 100, 40) == WHITE and rgb_at(out, 106, 46) == WHITE and rgb_at(out, 150, 80) == BLUE
    erase_ctx = make_context({"image": [make_image()], "mask": [tmp_path / "strokes.png"]})
    erased = run_one(erase_ctx, "draw-image-browser", erase=True, size=20)
    assert erased.mode == "RGBA" and erased.getpixel((100, 40))[3] == 0


# ---------------------------------------------------------------- shader effects


@pytest.mark.parametrize("effect", EFFECTS)
def test_every_shader_effect_changes_the_image_and_keeps_its_size(make_context, make_image, effect):
    path = make_image(size=(200, 100))
    out = run_one(
        make_context({"image": [path]}), "shader-effect-browser", effect=effect, bloom_threshold=0.1
    )
    assert out.size == (200, 100)
    difference = np.abs(np.asarray(out.convert("RGB"), np.int16) - np.asarray(Image.open(path), np.int16))
    assert difference.max() > 20


def test_shader_zero_intensity_is_the_original(make_context, make_image):
    path = make_image()
    out = run_one(make_context({"image": [path]}), "shader-effect-browser", effect="ripple", intensity=0)
    assert (np.asarray(out) == np.asarray(Image.open(path))).all()


def test_pixelate_makes_uniform_blocks(make_context, tmp_path):
    noise = np.random.default_rng(0).integers(0, 255, (96, 96, 3), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "noise.png")
    out = np.asarray(
        run_one(
            make_context({"image": [tmp_path / "noise.png"]}),
            "shader-effect-browser",
            effect="pixelate",
            intensity=0.1,
        )
    )
    block = out[:8, :8].reshape(-1, 3)
    assert (block == block[0]).all()


# ---------------------------------------------------------------- 3D scene


@pytest.mark.parametrize("shape", list(Shape.__args__))
def test_scene_renders_the_shape_in_the_centre_over_the_background(make_context, make_image, shape):
    ctx = make_context({"image": [make_image()]})
    out = run_one(
        ctx, "scene-3d-image-browser", shape=shape, size=128, aspect_ratio="16:9", background="#00ff00"
    )
    assert out.size == (128, 72)
    assert rgb_at(out, 1, 1) == (0, 255, 0)
    assert not close(rgb_at(out, 64, 36 if shape != "torus" else 36 - 14), (0, 255, 0), 30)


def test_scene_without_background_is_transparent_and_textured(make_context, make_image):
    out = run_one(
        make_context({"image": [make_image()]}),
        "scene-3d-image-browser",
        shape="sphere",
        size=96,
        show_background=False,
        rotation={"x": 0, "y": 0, "z": 0},
    )
    assert out.mode == "RGBA" and out.getpixel((0, 0))[3] == 0 and out.getpixel((48, 48))[3] == 255
    red, green, blue, _ = out.getpixel((48, 48))
    assert blue > red and blue > green  # the blue texture, shaded


def test_scene_offset_moves_the_shape(make_context):
    ctx = make_context({})
    out = run_one(
        ctx,
        "scene-3d-image-browser",
        shape="sphere",
        size=100,
        show_background=False,
        offset={"x": 0.5, "y": 0},
    )
    alpha = np.asarray(out.getchannel("A"))
    columns = np.nonzero(alpha[50])[0]
    assert columns.mean() > 60


def test_scene_default_size_renders_quickly(make_context, make_image):
    started = time.perf_counter()
    out = run_one(make_context({"image": [make_image()]}), "scene-3d-image-browser", shape="torus")
    assert out.size == (1024, 1024)
    assert time.perf_counter() - started < 20
