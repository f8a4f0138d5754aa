"""FLORA SDK conformance (every action): runs all_actions.mjs — `@flora-ai/flora` 0.11.0 — against a real
`stamen serve`. For every action in the catalog it uploads fixture media with `client.assets.upload`, runs
the action with `client.actions.run` (inputs per the action's slots), polls `client.generations.retrieve`
until terminal, downloads each output without auth and checks it is real media of the slot's type.

The script saves what it downloaded; this module then decodes every file (Pillow / ffmpeg) and checks a few
properties (durations, sizes, pixels) per action. One test per action id: the ids come from Stamen's action
registry, the same list `GET /actions` serves, so a new action gets a test without editing this file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from stamen.actions import all_actions
from tests.conformance._media import (
    IMAGE_BACKGROUND,
    IMAGE_MARKER,
    IMAGE_MARKER_BOX,
    IMAGE_SIZE,
    VIDEO_SECONDS,
    VIDEO_SIZE,
    Probe,
    build_fixtures,
    first_frame_rgba,
    last_frame_rgba,
    mean_difference,
    probe,
)
from tests.conformance._support import ScriptRun, assert_check, ensure_sdk, run_script
from tests.stamen_server import StamenServer

EXPECTED_ACTIONS = 58
ACTION_IDS = [spec.action_id for spec in all_actions()]
FIXED_CHECKS = ["catalog", "assets.upload.fixtures", "actions.all_ran"]
CHECKS = FIXED_CHECKS + [f"actions.run.{action_id}" for action_id in ACTION_IDS]
SCRIPT_BUDGET_S = 90


@pytest.fixture(scope="module")
def all_actions_server(tmp_path_factory: pytest.TempPathFactory):
    server = StamenServer(Path(tmp_path_factory.mktemp("stamen-conformance-all-actions"))).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def media_fixtures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The input media (built before node starts): two 64×48 PNGs, two 1.5 s 160×120 H.264+AAC MP4s, a
    green-screen MP4 and a 1.5 s WAV."""
    return build_fixtures(Path(tmp_path_factory.mktemp("all-actions-fixtures")))


@pytest.fixture(scope="module")
def all_actions_run(
    all_actions_server: StamenServer, media_fixtures: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> ScriptRun:
    node = ensure_sdk()
    server = all_actions_server
    outputs = Path(tmp_path_factory.mktemp("all-actions-outputs"))
    return run_script(
        node,
        "all_actions.mjs",
        {
            "FLORA_BASE_URL": server.api_url,
            "FLORA_API_KEY": server.live_key,
            "STAMEN_WORKSPACE_ID": server.workspace_id,
            "STAMEN_OUTPUT_DIR": str(outputs),
            "STAMEN_EXPECTED_ACTIONS": str(EXPECTED_ACTIONS),
            "STAMEN_ACTION_CONCURRENCY": "6",
            **{f"STAMEN_FIXTURE_{name.upper()}": str(path) for name, path in media_fixtures.items()},
        },
        timeout=240,
    )


def test_registry_has_every_action() -> None:
    assert len(ACTION_IDS) == EXPECTED_ACTIONS, f"{len(ACTION_IDS)} actions registered: {ACTION_IDS}"


@pytest.mark.parametrize("name", FIXED_CHECKS)
def test_sdk_check(all_actions_run: ScriptRun, all_actions_server: StamenServer, name: str) -> None:
    assert_check(all_actions_run, name, all_actions_server)


@pytest.mark.parametrize("action_id", ACTION_IDS)
def test_action(
    all_actions_run: ScriptRun, all_actions_server: StamenServer, media_fixtures: dict[str, Path], action_id: str
) -> None:
    """The SDK run of `action_id` passed; every downloaded output decodes; the action's properties hold."""
    assert_check(all_actions_run, f"actions.run.{action_id}", all_actions_server)
    outputs = all_actions_run.checks[f"actions.run.{action_id}"]["detail"]["outputs"]
    decoded = [decode(output, media_fixtures) for output in outputs]
    if check := PROPERTIES.get(action_id):
        check(decoded)


def test_script_completed(all_actions_run: ScriptRun) -> None:
    """The script ran every action, reported nothing unexpected, and exited 0 only if every check passed."""
    unknown = sorted(set(all_actions_run.checks) - set(CHECKS))
    assert not unknown, f"script reported checks this module does not know: {unknown}\n{all_actions_run.tail()}"
    missing = sorted(set(CHECKS) - set(all_actions_run.checks))
    assert not missing, f"script did not report: {missing}\n{all_actions_run.tail()}"
    ran = [name for name in all_actions_run.checks if name.startswith("actions.run.")]
    assert len(ran) == EXPECTED_ACTIONS, f"{len(ran)} actions ran, expected {EXPECTED_ACTIONS}"
    failed = sorted(name for name, record in all_actions_run.checks.items() if not record.get("ok"))
    assert all_actions_run.returncode == (1 if failed else 0), (
        f"rc={all_actions_run.returncode}, failed={failed}\n{all_actions_run.tail()}"
    )
    assert all_actions_run.seconds < SCRIPT_BUDGET_S, (
        f"all_actions.mjs took {all_actions_run.seconds:.1f} s (budget {SCRIPT_BUDGET_S} s)"
    )


# ── decoding what the script downloaded ───────────────────────────────────────


class Output:
    """One downloaded output: the script's record plus what decoding it found."""

    def __init__(
        self, record: dict, fixtures: dict[str, Path], image: Image.Image | None = None, media: Probe | None = None
    ):
        self.record = record
        self.fixtures = fixtures  # the input media, by name (see _media.build_fixtures)
        self.image = image
        self.media = media

    @property
    def path(self) -> Path:
        return Path(self.record["file"])

    @property
    def text(self) -> str:
        return self.record["text"]


def decode(record: dict, fixtures: dict[str, Path]) -> Output:
    if record["type"] == "text":
        assert record["text"].strip(), f"empty text output: {record}"
        return Output(record, fixtures)
    path = Path(record["file"])
    assert path.stat().st_size == record["bytes"] > 0, f"saved output is empty or truncated: {record}"
    if record["type"] == "image":
        with Image.open(path) as image:
            image.load()
            assert image.size == (record["width"], record["height"]), (
                f"decoded size {image.size} differs from the header size in {record}"
            )
            return Output(record, fixtures, image=image.convert("RGBA"))
    media = probe(path)
    if record["type"] == "video":
        assert media.video is not None and media.frames > 0, f"no decodable video stream in {record}:\n{media.log}"
    else:
        assert media.audio_codec is not None and media.video is None, f"not an audio-only file: {record}\n{media.log}"
    assert media.duration and media.duration > 0, f"no duration in {record}:\n{media.log}"
    return Output(record, fixtures, media=media)


# ── per-action properties (on decoded outputs) ────────────────────────────────


def near(color, want, tolerance: int = 40) -> bool:
    return all(abs(int(c) - int(w)) <= tolerance for c, w in zip(color[:3], want, strict=True))


MARKER_CENTER = ((IMAGE_MARKER_BOX[0] + IMAGE_MARKER_BOX[2]) // 2, (IMAGE_MARKER_BOX[1] + IMAGE_MARKER_BOX[3]) // 2)
FAR_CORNER = (IMAGE_SIZE[0] - 6, IMAGE_SIZE[1] - 6)  # background in the fixture


def marker_at(where: tuple[int, int], background_at: tuple[int, int]) -> Callable[[list[Output]], None]:
    """The red marker moved to `where`; `background_at` shows the blue background (where the marker was)."""

    def check(outputs: list[Output]) -> None:
        image = outputs[0].image
        assert near(image.getpixel(where), IMAGE_MARKER), f"marker not at {where}: {image.getpixel(where)}"
        assert near(image.getpixel(background_at), IMAGE_BACKGROUND), (
            f"background not at {background_at}: {image.getpixel(background_at)}"
        )

    return check


def rotated_clockwise(outputs: list[Output]) -> None:
    width, height = IMAGE_SIZE
    x, y = MARKER_CENTER
    marker_at((height - 1 - y, x), MARKER_CENTER)(outputs)  # (x, y) → (H-1-y, x); output is H×W


def flipped_horizontally(outputs: list[Output]) -> None:
    x, y = MARKER_CENTER
    marker_at((IMAGE_SIZE[0] - 1 - x, y), MARKER_CENTER)(outputs)


def grayscale(outputs: list[Output]) -> None:
    for point in (MARKER_CENTER, FAR_CORNER):
        r, g, b, _ = outputs[0].image.getpixel(point)
        assert max(r, g, b) - min(r, g, b) <= 12, f"pixel {point} is not grey: {(r, g, b)}"


def inverted(outputs: list[Output]) -> None:
    pixel = outputs[0].image.getpixel(FAR_CORNER)
    want = tuple(255 - c for c in IMAGE_BACKGROUND)
    assert near(pixel, want, 12), f"background {pixel} is not the inverse {want} of {IMAGE_BACKGROUND}"


def shape_drawn(*, over_input: bool) -> Callable[[list[Output]], None]:
    """Default shape: a red (#ff0000) rectangle/ellipse/star centred on the canvas. `over_input`: drawn over the
    fixture (its blue background stays in the corner); otherwise a plain white (#ffffff) canvas the size of
    the connected image (generate-shape-image: "A connected image only sets the canvas size")."""

    def check(outputs: list[Output]) -> None:
        image = outputs[0].image
        assert image.size == IMAGE_SIZE, f"canvas {image.size} is not the connected image's {IMAGE_SIZE}"
        center = (IMAGE_SIZE[0] // 2, IMAGE_SIZE[1] // 2)
        assert near(image.getpixel(center), (255, 0, 0)), f"no red shape at the centre: {image.getpixel(center)}"
        corner, want = image.getpixel(FAR_CORNER), IMAGE_BACKGROUND if over_input else (255, 255, 255)
        assert near(corner, want), f"corner {FAR_CORNER} is {corner}, expected {want}"

    return check


def duration(seconds: float, tolerance: float = 0.25, count: int | None = None) -> Callable[[list[Output]], None]:
    def check(outputs: list[Output]) -> None:
        if count is not None:
            assert len(outputs) == count, f"expected {count} outputs, got {len(outputs)}"
        for output in outputs:
            got = output.media.duration
            assert abs(got - seconds) <= tolerance, f"{output.path.name}: duration {got:.2f} s, expected ≈{seconds} s"

    return check


def video_size(check_size: Callable[[int, int], bool], what: str) -> Callable[[list[Output]], None]:
    def check(outputs: list[Output]) -> None:
        for output in outputs:
            assert check_size(*output.media.video), f"{output.path.name}: {output.media.video} is not {what}"

    return check


def all_of(*checks: Callable[[list[Output]], None]) -> Callable[[list[Output]], None]:
    def check(outputs: list[Output]) -> None:
        for item in checks:
            item(outputs)

    return check


def has_audio(outputs: list[Output]) -> None:
    for output in outputs:
        assert output.media.audio_codec, f"{output.path.name} has no audio stream:\n{output.media.log[-1500:]}"


def frames_reversed(outputs: list[Output]) -> None:
    """The output starts where the input clip ends and ends where it starts (the clip moves throughout)."""
    output = outputs[0]
    source = output.fixtures["video"]
    scratch = output.path.parent
    source_first = first_frame_rgba(source, scratch / "source.first.png")
    source_last = last_frame_rgba(source, scratch / "source.last.png")
    first = first_frame_rgba(output.path, scratch / "output.first.png")
    last = last_frame_rgba(output.path, scratch / "output.last.png")
    span = mean_difference(source_first, source_last)
    assert span > 15, f"fixture clip barely changes ({span:.1f}); cannot tell the direction"
    assert mean_difference(first, source_last) < span / 3, (
        f"first output frame is not the input's last frame (difference {mean_difference(first, source_last):.1f}, "
        f"vs. {mean_difference(first, source_first):.1f} to the input's first frame)"
    )
    assert mean_difference(last, source_first) < span / 3, (
        f"last output frame is not the input's first frame (difference {mean_difference(last, source_first):.1f})"
    )


def split_segments(outputs: list[Output]) -> None:
    assert len(outputs) == 2, f"expected 2 segments, got {len(outputs)}"
    total = sum(output.media.duration for output in outputs)
    assert abs(total - VIDEO_SECONDS) <= 0.3, f"segments add up to {total:.2f} s, expected ≈{VIDEO_SECONDS} s"


def green_keyed(outputs: list[Output]) -> None:
    """The green screen is gone (transparent, or at least no longer pure green); the red subject stays."""
    output = outputs[0]
    alpha = output.record["kind"] == "webm" and output.media.alpha_mode
    frame = first_frame_rgba(output.path, output.path.with_suffix(".frame0.png"), vp9_alpha=alpha)
    corner = frame.getpixel((4, 4))
    subject = frame.getpixel((70, 60))  # inside the red box (x 50..90, y 40..80)
    if alpha:
        assert corner[3] <= 16, f"green corner should be transparent, got {corner}"
        assert subject[3] >= 240, f"red subject should stay opaque, got {subject}"
    else:
        assert not near(corner, (0, 255, 0), 60), f"green corner was not replaced: {corner}"
    assert near(subject, (255, 0, 0), 70), f"red subject changed colour: {subject}"


CLIP_SIZE = video_size(lambda w, h: (w, h) == VIDEO_SIZE, "160x120")
ONE_CLIP = all_of(duration(VIDEO_SECONDS), CLIP_SIZE)

PROPERTIES: dict[str, Callable[[list[Output]], None]] = {
    "rotate-image": rotated_clockwise,
    "rotate-image-browser": rotated_clockwise,
    "flip-image": flipped_horizontally,
    "color-filter-image": grayscale,
    "color-filter-image-browser": inverted,
    "add-shape-to-image": shape_drawn(over_input=True),
    "add-shape-to-image-browser": shape_drawn(over_input=True),
    "generate-shape-image": shape_drawn(over_input=False),
    "reverse-video": all_of(ONE_CLIP, has_audio, frames_reversed),
    "boomerang-video": duration(2 * VIDEO_SECONDS, 0.3),
    "speed-up-video": duration(VIDEO_SECONDS / 2, 0.2),
    "slow-down-video": duration(VIDEO_SECONDS * 2, 0.3),
    "stitch-videos": duration(2 * VIDEO_SECONDS, 0.3),
    "split-video": split_segments,
    "duplicate-video": all_of(duration(VIDEO_SECONDS, count=2), CLIP_SIZE),
    "ken-burns-video": duration(1.0, 0.2),
    "color-grade-video": ONE_CLIP,
    "color-filter-video": ONE_CLIP,
    "video-effect": ONE_CLIP,
    "resize-video": video_size(lambda w, h: 240 in (w, h), "240 px on a side"),
    "change-video-ar": video_size(lambda w, h: w == h, "square"),
    "merge-audio-into-video": all_of(duration(VIDEO_SECONDS), has_audio),
    "split-audio-from-video": duration(VIDEO_SECONDS, 0.2),
    "greenscreen-video": green_keyed,
}


def test_properties_name_real_actions() -> None:
    assert not set(PROPERTIES) - set(ACTION_IDS), sorted(set(PROPERTIES) - set(ACTION_IDS))
