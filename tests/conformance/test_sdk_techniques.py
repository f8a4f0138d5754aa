"""FLORA SDK conformance (techniques): runs techniques.mjs — `@flora-ai/flora` 0.11.0 — against a real
`stamen serve`: `techniques.list/retrieve`, `techniques.runs.create/retrieve/list` and
`runs.startTechnique` on the built-in techniques, with uploaded video/audio fixtures as inputs, outputs
downloaded and sniffed, validation errors, body idempotency keys and a signed webhook.

Needs Node.js >= 18 and npm; `npm ci` runs here on first use (node_modules is git-ignored)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg
import pytest

from tests.conformance._support import ScriptRun, assert_check, ensure_sdk, run_script, webhook_secret
from tests.stamen_server import StamenServer

CHECKS = [
    "techniques.list",
    "techniques.retrieve",
    "techniques.runs.create.narrated-title",
    "techniques.runs.create.prompt-to-loop",
    "techniques.runs.create.boomerang-clip",
    "techniques.runs.create.vertical-music-video",
    "runs.startTechnique",
    "runs.startTechnique.slug_rejected",
    "techniques.runs.retrieve.other_technique",
    "techniques.runs.missing_input",
    "techniques.runs.unknown_input",
    "techniques.runs.idempotency",
    "techniques.runs.webhook",
    "techniques.runs.failed",
    "techniques.runs.list",
]

SIZE = "160x120"


def _ffmpeg(*args: str) -> None:
    result = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, f"ffmpeg {' '.join(args)} failed:\n{result.stderr[-2000:]}"


def _clip(path: Path, source: str, seconds: float, frequency: int) -> Path:
    """A small H.264 + AAC MP4 (the kind of clip a user would upload)."""
    _ffmpeg(
        "-f", "lavfi", "-i", f"{source}=size={SIZE}:rate=24:duration={seconds}",
        "-f", "lavfi", "-i", f"sine=frequency={frequency}:sample_rate=44100:duration={seconds}",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "64k", "-shortest", "-movflags", "+faststart", str(path),
    )  # fmt: skip
    return path


def build_fixtures(directory: Path) -> dict[str, Path]:
    """Technique inputs: a 1.5 s and a 1.0 s 160×120 clip (boomerang order is checked by duration), a 1.5 s WAV."""
    directory.mkdir(parents=True, exist_ok=True)
    audio = directory / "music.wav"
    _ffmpeg(
        "-f", "lavfi", "-i", "sine=frequency=330:sample_rate=22050:duration=1.5",
        "-c:a", "pcm_s16le", "-ac", "1", str(audio),
    )  # fmt: skip
    return {
        "video": _clip(directory / "clip.mp4", "testsrc2", 1.5, 440),
        "video2": _clip(directory / "clip2.mp4", "smptebars", 1.0, 660),
        "audio": audio,
    }


@pytest.fixture(scope="module")
def techniques_server(tmp_path_factory: pytest.TempPathFactory):
    server = StamenServer(Path(tmp_path_factory.mktemp("stamen-conformance-techniques"))).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def techniques_run(techniques_server: StamenServer, tmp_path_factory: pytest.TempPathFactory) -> ScriptRun:
    node = ensure_sdk()
    server = techniques_server
    fixtures = build_fixtures(Path(tmp_path_factory.mktemp("technique-fixtures")))
    return run_script(
        node,
        "techniques.mjs",
        {
            "FLORA_BASE_URL": server.api_url,
            "FLORA_API_KEY": server.live_key,
            "STAMEN_TEST_KEY": server.test_key,
            "STAMEN_WORKSPACE_ID": server.workspace_id,
            "STAMEN_WEBHOOK_SECRET": webhook_secret(server),
            "STAMEN_FIXTURE_VIDEO": str(fixtures["video"]),
            "STAMEN_FIXTURE_VIDEO2": str(fixtures["video2"]),
            "STAMEN_FIXTURE_AUDIO": str(fixtures["audio"]),
        },
        timeout=120,
    )


@pytest.mark.parametrize("name", CHECKS)
def test_sdk_check(techniques_run: ScriptRun, techniques_server: StamenServer, name: str) -> None:
    assert_check(techniques_run, name, techniques_server)


def test_script_completed(techniques_run: ScriptRun) -> None:
    """The script ran to the end, reported nothing unexpected, and exited 0 only if every check passed."""
    unknown = sorted(set(techniques_run.checks) - set(CHECKS))
    assert not unknown, f"script reported checks this module does not know: {unknown}\n{techniques_run.tail()}"
    failed = sorted(name for name, record in techniques_run.checks.items() if not record.get("ok"))
    assert techniques_run.returncode == (1 if failed else 0), (
        f"rc={techniques_run.returncode}, failed={failed}\n{techniques_run.tail()}"
    )
    assert techniques_run.seconds < 60, f"techniques.mjs took {techniques_run.seconds:.1f} s (budget 60 s)"
