"""extract-video-frames, video-to-frame-grid and video-to-long-exposure on small testsrc2 clips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pydantic import ValidationError

from stamen.actions.registry import Interval
from stamen.actions.video_frames import (
    ExtractVideoFramesParams,
    VideoToFrameGridParams,
    VideoToLongExposureParams,
    extract_video_frames,
    video_to_frame_grid,
    video_to_long_exposure,
)
from stamen.errors import RunFailure
from stamen.media.ffmpeg import run_ffmpeg
from tests.actions.conftest import FAST_H264_ARGS
from tests.actions.test_video_support import decode_frames, difference


def load(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB")).astype(np.int16)


def closest_frame(image: np.ndarray, frames: list[np.ndarray]) -> int:
    return int(np.argmin([difference(image, frame) for frame in frames]))


@pytest.fixture
def clip(make_video) -> Path:
    """2 s at 25 fps: 50 frames, frame k shown at k/25 s."""
    return make_video("clip.mp4", duration=2.0, size="320x240", fps=25)


@pytest.fixture
def run_on_video(make_context):
    def run(fn, params, path: Path):
        ctx = make_context(inputs={"video": [path]}, slot_types={"video": "video"})
        fn(ctx, params)
        return ctx

    return run


# ---------------------------------------------------------------- extract-video-frames


def test_extract_evenly_gives_n_pngs_spread_over_the_video(clip, run_on_video):
    ctx = run_on_video(extract_video_frames, ExtractVideoFramesParams(mode="evenly", frame_count=5), clip)
    assert len(ctx.outputs) == 5
    assert all(o.media_type == "image" and o.content_type == "image/png" for o in ctx.outputs)
    frames = decode_frames(clip)
    images = [load(o.path) for o in ctx.outputs]
    assert all(image.shape == (240, 320, 3) for image in images)
    # centres of five equal slices of 2 s: 0.2, 0.6, 1.0, 1.4, 1.8 s -> frames 5, 15, 25, 35, 45
    assert [closest_frame(image, frames) for image in images] == [5, 15, 25, 35, 45]


def test_extract_single_at_half_matches_the_decoded_middle_frame(clip, run_on_video):
    ctx = run_on_video(extract_video_frames, ExtractVideoFramesParams(mode="single", time_percent=50), clip)
    assert len(ctx.outputs) == 1
    image, frames = load(ctx.outputs[0].path), decode_frames(clip)
    assert closest_frame(image, frames) == 25
    assert difference(image, frames[25]) < 3


def test_extract_single_at_the_very_end_returns_the_last_frame(clip, run_on_video):
    ctx = run_on_video(extract_video_frames, ExtractVideoFramesParams(mode="single", time_percent=100), clip)
    assert closest_frame(load(ctx.outputs[0].path), decode_frames(clip)) == 49


def test_extract_interval_takes_one_frame_per_period(clip, run_on_video):
    ctx = run_on_video(
        extract_video_frames, ExtractVideoFramesParams(mode="interval", every_seconds=0.5), clip
    )
    frames = decode_frames(clip)
    # the first frame at or after 0, 0.5, 1.0, 1.5 s (frames are 0.04 s apart)
    assert [closest_frame(load(o.path), frames) for o in ctx.outputs] == [0, 13, 25, 38]


def test_extract_range_limits_frames_to_that_part(clip, run_on_video):
    params = ExtractVideoFramesParams(mode="evenly", frame_count=4, range=Interval(min=50, max=100))
    ctx = run_on_video(extract_video_frames, params, clip)
    frames = decode_frames(clip)
    picked = [closest_frame(load(o.path), frames) for o in ctx.outputs]
    assert len(picked) == 4 and all(index >= 25 for index in picked)
    assert picked == sorted(picked)


def test_extract_single_is_relative_to_the_range(clip, run_on_video):
    params = ExtractVideoFramesParams(mode="single", time_percent=0, range=Interval(min=25, max=75))
    ctx = run_on_video(extract_video_frames, params, clip)
    assert abs(closest_frame(load(ctx.outputs[0].path), decode_frames(clip)) - 12) <= 1


def test_extract_scene_finds_the_hard_cut(tmp_path, run_on_video):
    cut = tmp_path / "cut.mp4"
    graph = (
        "testsrc2=size=320x240:rate=25:duration=1[a];smptebars=size=320x240:rate=25:duration=1[b];"
        "[a][b]concat=n=2:v=1"
    )
    run_ffmpeg(["-f", "lavfi", "-i", graph, *FAST_H264_ARGS, cut])
    ctx = run_on_video(extract_video_frames, ExtractVideoFramesParams(mode="scene"), cut)
    frames = decode_frames(cut)
    assert [closest_frame(load(o.path), frames) for o in ctx.outputs] == [0, 25]


def test_extract_range_must_be_ordered_and_within_0_100():
    with pytest.raises(ValidationError):
        ExtractVideoFramesParams(range=Interval(min=60, max=40))
    with pytest.raises(ValidationError):
        ExtractVideoFramesParams(range=Interval(min=0, max=120))
    with pytest.raises(ValidationError):
        ExtractVideoFramesParams.model_validate({"range": {"min": 0, "max": 50, "step": 1}})


# ---------------------------------------------------------------- video-to-frame-grid


def test_frame_grid_has_rows_by_cols_distinct_tiles_and_gaps(clip, run_on_video):
    params = VideoToFrameGridParams(rows=2, cols=3, cell_width=100, gap=6, background="#ff0000")
    ctx = run_on_video(video_to_frame_grid, params, clip)
    assert len(ctx.outputs) == 1 and ctx.outputs[0].content_type == "image/png"
    grid = load(ctx.outputs[0].path)
    height, width, _ = grid.shape
    assert width == 3 * 100 + 2 * 6
    cell_height = (height - 6) // 2
    assert 2 * cell_height + 6 == height and abs(cell_height - 75) <= 1  # 320x240 aspect kept
    tiles = [
        grid[r * (cell_height + 6) : r * (cell_height + 6) + cell_height, c * 106 : c * 106 + 100]
        for r in range(2)
        for c in range(3)
    ]
    for i, tile in enumerate(tiles):
        for other in tiles[i + 1 :]:
            assert difference(tile, other) > 0.5  # testsrc2 moves, so every sampled moment looks different
    gap_column = grid[:, 100:106]
    assert np.all(np.abs(gap_column - np.array([255, 0, 0])) <= 2)


def test_frame_grid_with_more_cells_than_frames_still_renders(make_video, run_on_video):
    short = make_video("short.mp4", duration=0.2, fps=10, audio=False)  # 2 frames
    ctx = run_on_video(
        video_to_frame_grid, VideoToFrameGridParams(rows=2, cols=2, cell_width=64, gap=0), short
    )
    assert load(ctx.outputs[0].path).shape[1] == 128


# ---------------------------------------------------------------- video-to-long-exposure


def test_long_exposure_average_differs_from_every_frame_and_sits_between_darken_and_lighten(
    clip, run_on_video
):
    results = {}
    for mode in ("average", "lighten", "darken"):
        params = VideoToLongExposureParams(blend_mode=mode, max_frames=50)
        ctx = run_on_video(video_to_long_exposure, params, clip)
        assert ctx.outputs[0].content_type == "image/png"
        results[mode] = load(ctx.outputs[0].path)
    average, lighten, darken = results["average"], results["lighten"], results["darken"]
    assert average.shape == (240, 320, 3)
    assert all(difference(average, frame) > 1 for frame in decode_frames(clip))
    assert np.all(lighten >= average) and np.all(average >= darken)
    assert difference(lighten, darken) > 5


def test_long_exposure_max_frames_widens_the_stride_instead_of_stopping_early(clip, run_on_video):
    few = run_on_video(
        video_to_long_exposure, VideoToLongExposureParams(blend_mode="lighten", max_frames=5), clip
    )
    image = load(few.outputs[0].path)
    frames = decode_frames(clip)
    # lighten over frames 0, 10, 20, 30, 40: at least as bright as the late frame 40
    assert np.all(image >= frames[40] - 2)


# ---------------------------------------------------------------- input checks


@pytest.mark.parametrize(
    "fn, params",
    [
        (extract_video_frames, ExtractVideoFramesParams()),
        (video_to_frame_grid, VideoToFrameGridParams()),
        (video_to_long_exposure, VideoToLongExposureParams()),
    ],
)
def test_non_video_input_fails_with_input_invalid(non_video_files, run_on_video, fn, params):
    for bad in non_video_files:
        with pytest.raises(RunFailure) as failure:
            run_on_video(fn, params, bad)
        assert failure.value.code == "input_invalid"
