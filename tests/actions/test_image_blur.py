"""blur-image: every blur kind softens the marker's edge; edge-aware, masked and draw modes."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from stamen.actions.image_blur import BlurType
from tests.actions.test_image import run_one

KINDS = [kind for kind in BlurType.__args__ if kind != "bilateral"]


def edge_contrast(image: Image.Image, y: int = 8) -> int:
    """Red-channel step across the marker's right edge (x = 40) of the `make_image` picture."""
    row = np.asarray(image.convert("RGB"), np.int16)[y, :, 0]
    return int(row[38] - row[43])


@pytest.mark.parametrize("action_id", ["blur-image", "blur-image-browser"])
@pytest.mark.parametrize("kind", KINDS)
def test_blur_lowers_edge_contrast(make_context, make_image, action_id, kind):
    path = make_image(size=(200, 100))
    params = {"blur_type": kind, "radius": 6, "radial_strength": 1.0, "target_color": "#ff0000"}
    out = run_one(make_context({"image": [path]}), action_id, **params)
    assert out.size == (200, 100)
    assert edge_contrast(Image.open(path)) == 255
    assert edge_contrast(out) < 230
    assert all(
        abs(a - b) <= 3 for a, b in zip(out.convert("RGB").getpixel((150, 80)), (0, 0, 255), strict=True)
    )


@pytest.mark.parametrize("kind", [*KINDS, "bilateral"])
def test_blur_keeps_transparency_without_dark_fringes(make_context, tmp_path, kind):
    image = Image.new("RGBA", (80, 60), (255, 255, 255, 0))
    image.paste((255, 255, 255, 255), (20, 15, 60, 45))
    image.save(tmp_path / "alpha.png")
    out = run_one(
        make_context({"image": [tmp_path / "alpha.png"]}),
        "blur-image",
        blur_type=kind,
        radius=4,
        target_color="#ffffff",
    )
    data = np.asarray(out.convert("RGBA"), np.int16)
    visible = data[..., 3] > 30
    assert out.size == (80, 60) and out.mode == "RGBA"
    assert data[visible][:, :3].min() >= 200  # white stays white where it shows


def test_bilateral_smooths_noise_but_keeps_strong_edges(make_context, tmp_path):
    rng = np.random.default_rng(1)
    base = np.zeros((80, 80, 3), np.float32)
    base[:, 40:] = 255
    noisy = np.clip(base + rng.normal(0, 8, base.shape), 0, 255).astype(np.uint8)
    Image.fromarray(noisy).save(tmp_path / "noisy.png")
    out = np.asarray(
        run_one(
            make_context({"image": [tmp_path / "noisy.png"]}),
            "blur-image",
            blur_type="bilateral",
            radius=3,
            edge_threshold=40,
        ),
        np.float32,
    )
    assert out[:, 5:30].std() < noisy[:, 5:30].std() / 2
    assert out[:, 36, 0].mean() < 40 and out[:, 44, 0].mean() > 215


def test_draw_mode_blurs_only_where_the_mask_is_painted(make_context, make_image, tmp_path):
    path = make_image(size=(200, 100))
    mask = Image.new("L", (200, 100), 0)
    mask.paste(255, (0, 0, 60, 100))
    mask.save(tmp_path / "mask.png")
    ctx = make_context({"image": [path], "mask": [tmp_path / "mask.png"]})
    out = run_one(ctx, "blur-image-browser", mode="draw", radius=6, brush_size=2, brush_hardness=1)
    assert edge_contrast(out) < 230
    original = np.asarray(Image.open(path), np.int16)
    assert (np.asarray(out, np.int16)[:, 120:] == original[:, 120:]).all()


def test_draw_mode_without_strokes_changes_nothing_and_erase_blurs_everything(make_context, make_image):
    path = make_image(size=(200, 100))
    untouched = run_one(make_context({"image": [path]}), "blur-image-browser", mode="draw", radius=6)
    assert edge_contrast(untouched) == 255
    erased = run_one(make_context({"image": [path]}), "blur-image-browser", mode="draw", radius=6, erase=True)
    assert edge_contrast(erased) < 230


def test_tiltshift_keeps_the_band_sharp(make_context, tmp_path):
    stripes = np.zeros((100, 100, 3), np.uint8)
    stripes[:, ::2] = 255
    Image.fromarray(stripes).save(tmp_path / "stripes.png")
    out = np.asarray(
        run_one(
            make_context({"image": [tmp_path / "stripes.png"]}),
            "blur-image",
            blur_type="tiltshift",
            radius=4,
            tilt_center=0.5,
            tilt_width=0.2,
        ),
        np.int16,
    )
    assert out[50].std() > 100 and out[2].std() < 40
