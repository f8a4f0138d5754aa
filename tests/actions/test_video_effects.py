"""color-grade-video, color-filter-video, video-effect, greenscreen-video, ken-burns-video on small clips."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import numpy as np
import pytest
from PIL import Image
from pydantic import ValidationError

from stamen.actions.video_effects import (
    ColorFilterVideoParams,
    ColorGradeVideoParams,
    GreenscreenVideoParams,
    KenBurnsVideoParams,
    VideoEffectParams,
    color_filter_video,
    color_grade_video,
    greenscreen_video,
    ken_burns_video,
    video_effect,
)
from stamen.errors import RunFailure
from stamen.media.ffmpeg import run_ffmpeg
from stamen.media.probe import probe
from tests.actions.conftest import FAST_H264_ARGS
from tests.actions.test_video_support import decode_frames, difference


@pytest.fixture
def clip(make_video) -> Path:
    return make_video("clip.mp4", duration=1.0, size="320x240", fps=25)


@pytest.fixture
def run_on_video(make_context):
    """Run a video → media action on `path`; return (context, first output path)."""

    def run(fn, params, path: Path):
        ctx = make_context(inputs={"video": [path]}, slot_types={"video": "video"})
        fn(ctx, params)
        assert len(ctx.outputs) == 1
        return ctx, ctx.outputs[0].path

    return run


# ---------------------------------------------------------------- ken-burns-video


def test_ken_burns_makes_duration_times_fps_frames_and_zoom_in_reframes(make_image, make_context):
    image = make_image("still.png", size=(320, 240))  # red square in the top-left fifth, blue elsewhere
    ctx = make_context(inputs={"image": [image]})
    ken_burns_video(
        ctx, KenBurnsVideoParams(duration=1, fps="24", zoom=2, zoom_direction="in", easing="linear")
    )

    output = ctx.outputs[0]
    assert output.media_type == "video" and output.content_type == "video/mp4"
    info = probe(output.path)
    assert (info.width, info.height, info.video_codec) == (320, 240, "h264")
    frames = decode_frames(output.path)
    assert len(frames) == 24

    def red_share(frame: np.ndarray) -> float:
        return float(((frame[..., 0] > 180) & (frame[..., 2] < 80)).mean())

    assert red_share(frames[0]) == pytest.approx(0.04, abs=0.01)
    assert red_share(frames[-1]) < 0.001  # a 2x centre crop leaves the corner square out of frame


@pytest.mark.parametrize("pan", ["left", "right", "up", "down"])
def test_ken_burns_pan_moves_the_framing(tmp_path, make_context, pan):
    ramp = np.linspace(0, 255, 320, dtype=np.uint8)
    pixels = np.zeros((240, 320, 3), dtype=np.uint8)
    pixels[..., 0] = ramp[None, :]  # red grows left to right
    pixels[..., 1] = np.linspace(0, 255, 240, dtype=np.uint8)[:, None]  # green grows top to bottom
    image = tmp_path / "ramp.png"
    Image.fromarray(pixels).save(image)
    ctx = make_context(inputs={"image": [image]})
    params = KenBurnsVideoParams(duration=1, fps="24", zoom=1.5, zoom_direction="none", pan_direction=pan)
    ken_burns_video(ctx, params)
    frames = decode_frames(ctx.outputs[0].path)
    assert len(frames) == 24
    channel = 0 if pan in ("left", "right") else 1
    first, last = frames[0][..., channel].mean(), frames[-1][..., channel].mean()
    assert (last - first > 40) if pan in ("right", "down") else (first - last > 40)


def test_ken_burns_rejects_a_non_image(tmp_path, make_context):
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    ctx = make_context(inputs={"image": [text]})
    with pytest.raises(RunFailure) as failure:
        ken_burns_video(ctx, KenBurnsVideoParams(duration=1))
    assert failure.value.code == "input_invalid"


# ---------------------------------------------------------------- color-grade-video


def test_color_grade_brightness_up_raises_mean_luma(clip, run_on_video):
    ctx, output = run_on_video(color_grade_video, ColorGradeVideoParams(brightness=0.3), clip)
    before = np.mean([frame[:240].mean() for frame in decode_frames(clip, "yuv420p")])
    after = np.mean([frame[:240].mean() for frame in decode_frames(output, "yuv420p")])
    assert after > before + 30
    info = probe(output)
    assert (info.video_codec, info.width, info.height, info.has_audio) == ("h264", 320, 240, True)
    assert ctx.progress_log and ctx.progress_log[-1] == 100


def test_color_grade_zero_saturation_removes_colour(clip, run_on_video):
    _, output = run_on_video(color_grade_video, ColorGradeVideoParams(saturation=0), clip)
    frame = decode_frames(output)[10]
    assert np.abs(frame[..., 0] - frame[..., 1]).mean() < 4


# ---------------------------------------------------------------- color-filter-video


def test_color_filter_grayscale_has_neutral_chroma(clip, run_on_video):
    _, output = run_on_video(color_filter_video, ColorFilterVideoParams(filter="grayscale"), clip)
    yuv = decode_frames(output, "yuv420p")[12]
    chroma = yuv[240:]
    assert np.abs(chroma - 128).max() <= 2
    rgb = decode_frames(output)[12]
    assert np.abs(rgb[..., 0] - rgb[..., 1]).max() <= 3
    assert np.abs(rgb[..., 1] - rgb[..., 2]).max() <= 3


def test_color_filter_bw_leaves_only_black_and_white(clip, run_on_video):
    _, output = run_on_video(color_filter_video, ColorFilterVideoParams(filter="bw"), clip)
    luma = decode_frames(output, "yuv420p")[5][:240]
    extreme = (luma < 40) | (luma > 215)
    assert extreme.mean() > 0.97
    assert 0.05 < (luma > 215).mean() < 0.95


@pytest.mark.parametrize("look", get_args(ColorFilterVideoParams.model_fields["filter"].annotation))
def test_every_color_filter_changes_frames(clip, run_on_video, look):
    _, output = run_on_video(color_filter_video, ColorFilterVideoParams(filter=look, grain=10), clip)
    before, after = decode_frames(clip), decode_frames(output)
    assert len(after) == len(before)
    assert difference(before[7], after[7]) > 3


# ---------------------------------------------------------------- video-effect


@pytest.mark.parametrize("effect", get_args(VideoEffectParams.model_fields["effect"].annotation))
def test_every_video_effect_changes_frames_and_keeps_size(clip, run_on_video, effect):
    _, output = run_on_video(video_effect, VideoEffectParams(effect=effect), clip)
    before, after = decode_frames(clip), decode_frames(output)
    assert len(after) == len(before)
    assert after[0].shape == before[0].shape
    changed = [difference(b, a) for b, a in zip(before, after, strict=False)]
    assert np.mean(changed) > 2


def test_shake_moves_the_picture_between_frames(clip, run_on_video):
    _, output = run_on_video(video_effect, VideoEffectParams(effect="shake", shake_amount=12), clip)
    before, after = decode_frames(clip), decode_frames(output)

    def first_bar_edge(frame: np.ndarray) -> int:
        """Column where testsrc2's red bar gives way to the green one, on a row below the overlays."""
        return int(np.argmax(frame[200, :, 0] < 128))

    assert len({first_bar_edge(before[i]) for i in (0, 6, 12, 18)}) == 1
    assert len({first_bar_edge(after[i]) for i in (0, 6, 12, 18)}) > 1


def test_shake_larger_than_half_the_frame_fails(make_video, run_on_video):
    small = make_video("small.mp4", duration=0.5, size="160x120", audio=False)
    with pytest.raises(RunFailure) as failure:
        run_on_video(video_effect, VideoEffectParams(effect="shake", shake_amount=60), small)
    assert failure.value.code == "input_invalid"


# ---------------------------------------------------------------- greenscreen-video


@pytest.fixture
def green_clip(tmp_path) -> Path:
    """A green (#00FF00) screen with a 100x80 testsrc2 box at (110, 80)."""
    out = tmp_path / "green.mp4"
    graph = (
        "color=c=0x00FF00:size=320x240:rate=25:duration=1[bg];"
        "testsrc2=size=100x80:rate=25:duration=1[box];[bg][box]overlay=110:80:shortest=1"
    )
    run_ffmpeg(["-f", "lavfi", "-i", graph, *FAST_H264_ARGS, out])
    return out


def decode_rgba(path: Path, tmp_path: Path) -> np.ndarray:
    """First frame of a VP9 WebM with alpha (libvpx decodes the alpha side channel)."""
    png = tmp_path / "keyed.png"
    run_ffmpeg(["-c:v", "libvpx-vp9", "-i", path, "-frames:v", "1", "-pix_fmt", "rgba", png])
    return np.asarray(Image.open(png).convert("RGBA")).astype(np.int16)


@pytest.mark.parametrize("spill", [True, False])
def test_greenscreen_makes_the_screen_transparent_and_keeps_the_box(
    green_clip, run_on_video, tmp_path, spill
):
    ctx, output = run_on_video(greenscreen_video, GreenscreenVideoParams(spill=spill), green_clip)
    assert ctx.outputs[0].content_type == "video/webm"
    info = probe(output)
    assert (info.video_codec, info.width, info.height) == ("vp9", 320, 240)
    rgba = decode_rgba(output, tmp_path)
    alpha = rgba[..., 3]
    assert alpha[:70].mean() < 5 and alpha[170:].mean() < 5  # screen above and below the box
    box = alpha[85:155, 115:205]
    assert box.mean() > 255 * 0.6  # testsrc2's own green bar is keyed too; the rest stays opaque
    assert alpha[120:150, 118:125].min() > 240  # the red bar on the box's left edge


def test_greenscreen_custom_color_keys_that_colour(run_on_video, tmp_path):
    red = tmp_path / "red.mp4"
    run_ffmpeg(
        ["-f", "lavfi", "-i", "color=c=red:size=320x240:rate=25:duration=0.5", "-pix_fmt", "yuv420p", red]
    )
    params = GreenscreenVideoParams(color_preset="custom", custom_color="#ff0000")
    _, output = run_on_video(greenscreen_video, params, red)
    assert decode_rgba(output, tmp_path)[..., 3].mean() < 5


def test_greenscreen_rejects_a_bad_custom_color():
    with pytest.raises(ValidationError):
        GreenscreenVideoParams(color_preset="custom", custom_color="not-a-colour")


# ---------------------------------------------------------------- input checks


@pytest.mark.parametrize(
    "fn, params",
    [
        (color_grade_video, ColorGradeVideoParams()),
        (color_filter_video, ColorFilterVideoParams()),
        (video_effect, VideoEffectParams()),
        (greenscreen_video, GreenscreenVideoParams()),
    ],
)
def test_non_video_input_fails_with_input_invalid(non_video_files, run_on_video, fn, params):
    for bad in non_video_files:
        with pytest.raises(RunFailure) as failure:
            run_on_video(fn, params, bad)
        assert failure.value.code == "input_invalid"
