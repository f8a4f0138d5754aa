"""Media helpers for the all-actions conformance module: build the input fixtures, and decode / probe what
the actions produced (Pillow for images, the bundled ffmpeg for video and audio)."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
from PIL import Image

# The image fixture: a blue 64×48 field with a red marker in the top-left corner, so geometric transforms
# (flip, rotate) are visible in the output.
IMAGE_SIZE = (64, 48)
IMAGE_BACKGROUND = (20, 40, 200)
IMAGE_MARKER = (230, 20, 20)
IMAGE_MARKER_BOX = (4, 4, 20, 16)  # left, top, right, bottom (exclusive)
# The second image (overlay / side-by-side / composite): yellow with a green marker bottom-right.
IMAGE2_BACKGROUND = (240, 220, 30)
IMAGE2_MARKER = (20, 180, 40)
IMAGE2_MARKER_BOX = (44, 32, 60, 44)

VIDEO_SIZE = (160, 120)
VIDEO_SECONDS = 1.5
VIDEO_FPS = 24


def ffmpeg_exe() -> str:
    return imageio_ffmpeg.get_ffmpeg_exe()


def _ffmpeg(*args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if result.returncode != 0:
        raise RuntimeError(f"ffmpeg {' '.join(args)} failed:\n{result.stderr[-2000:]}")
    return result


def _image(path: Path, background, marker, box) -> Path:
    image = Image.new("RGB", IMAGE_SIZE, background)
    image.paste(marker, box)
    image.save(path, format="PNG")
    return path


def _clip(path: Path, video_source: str, frequency: int) -> Path:
    width, height = VIDEO_SIZE
    _ffmpeg(
        "-f", "lavfi", "-i", f"{video_source}=size={width}x{height}:rate={VIDEO_FPS}:duration={VIDEO_SECONDS}",
        "-f", "lavfi", "-i", f"sine=frequency={frequency}:sample_rate=44100:duration={VIDEO_SECONDS}",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "12",
        "-c:a", "aac", "-b:a", "64k", "-shortest", "-movflags", "+faststart", str(path),
    )  # fmt: skip
    return path


def build_fixtures(directory: Path) -> dict[str, Path]:
    """Small input media for every slot type; returns {name: path}."""
    directory.mkdir(parents=True, exist_ok=True)
    width, height = VIDEO_SIZE
    fixtures = {
        "image": _image(directory / "marker.png", IMAGE_BACKGROUND, IMAGE_MARKER, IMAGE_MARKER_BOX),
        "image2": _image(directory / "marker2.png", IMAGE2_BACKGROUND, IMAGE2_MARKER, IMAGE2_MARKER_BOX),
        "video": _clip(directory / "clip.mp4", "testsrc2", 440),
        "video2": _clip(directory / "clip2.mp4", "smptebars", 660),
        "green_video": directory / "greenscreen.mp4",
        "audio": directory / "tone.wav",
    }
    # A pure-green screen with a red box in the middle (the subject greenscreen-video must keep).
    _ffmpeg(
        "-f", "lavfi", "-i", f"color=c=0x00ff00:size={width}x{height}:rate={VIDEO_FPS}:duration={VIDEO_SECONDS}",
        "-f", "lavfi", "-i", f"sine=frequency=550:sample_rate=44100:duration={VIDEO_SECONDS}",
        "-vf", "drawbox=x=50:y=40:w=40:h=40:color=red:t=fill",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "12",
        "-c:a", "aac", "-b:a", "64k", "-shortest", "-movflags", "+faststart", str(fixtures["green_video"]),
    )  # fmt: skip
    _ffmpeg(
        "-f", "lavfi", "-i", f"sine=frequency=330:sample_rate=22050:duration={VIDEO_SECONDS}",
        "-c:a", "pcm_s16le", "-ac", "1", str(fixtures["audio"]),
    )  # fmt: skip
    return fixtures


@dataclass
class Probe:
    """What ffmpeg sees when it decodes a whole file."""

    container: str
    duration: float | None
    video: tuple[int, int] | None  # width, height of the first video stream
    video_codec: str | None
    audio_codec: str | None
    frames: int  # video frames decoded (0 without video)
    alpha_mode: bool  # a WebM stream tagged alpha_mode=1
    log: str


_DURATION = re.compile(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)")
_INPUT = re.compile(r"^Input #0, ([^,]+)", re.M)
_VIDEO = re.compile(r"Stream #0:\d+[^:]*: Video: (\w+).*?, (\d{2,5})x(\d{2,5})")
_AUDIO = re.compile(r"Stream #0:\d+[^:]*: Audio: (\w+)")
_FRAMES = re.compile(r"frame=\s*(\d+)")


def probe(path: Path) -> Probe:
    """Decode every stream of `path` to null and parse ffmpeg's report; raises when decoding fails."""
    result = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "info", "-xerror", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    log = result.stderr
    if result.returncode != 0:
        raise AssertionError(f"ffmpeg could not decode {path.name} (rc={result.returncode}):\n{log[-2000:]}")
    header = log.split("Stream mapping:")[0]
    duration = None
    if match := _DURATION.search(header):
        hours, minutes, seconds = match.groups()
        duration = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    container = match.group(1) if (match := _INPUT.search(header)) else ""
    video = _VIDEO.search(header)
    audio = _AUDIO.search(header)
    frames = [int(value) for value in _FRAMES.findall(log)]
    return Probe(
        container=container,
        duration=duration,
        video=(int(video.group(2)), int(video.group(3))) if video else None,
        video_codec=video.group(1) if video else None,
        audio_codec=audio.group(1) if audio else None,
        frames=frames[-1] if frames and video else 0,
        alpha_mode=bool(re.search(r"alpha_mode\s*:\s*1", header, re.I)),
        log=log,
    )


def first_frame_rgba(path: Path, out: Path, *, vp9_alpha: bool = False) -> Image.Image:
    """The first video frame as RGBA (VP9 WebM alpha needs the libvpx decoder to survive)."""
    args = ["-c:v", "libvpx-vp9"] if vp9_alpha else []
    _ffmpeg(*args, "-i", str(path), "-frames:v", "1", "-pix_fmt", "rgba", str(out))
    with Image.open(out) as image:
        return image.convert("RGBA")


def last_frame_rgba(path: Path, out: Path) -> Image.Image:
    """The last video frame as RGBA (every frame is decoded; `-update 1` keeps overwriting one image)."""
    _ffmpeg("-i", str(path), "-an", "-update", "1", "-pix_fmt", "rgba", str(out))
    with Image.open(out) as image:
        return image.convert("RGBA")


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute RGB difference per channel (0..255) of two same-size images."""
    assert a.size == b.size, f"frame sizes differ: {a.size} vs {b.size}"
    pairs = zip(a.convert("RGB").tobytes(), b.convert("RGB").tobytes(), strict=True)
    return sum(abs(x - y) for x, y in pairs) / (a.size[0] * a.size[1] * 3)
