"""Size limits on media a handler accepts or produces, read from STAMEN_* environment variables.

Checked from `probe` (no decoding), so an oversized upload fails fast with `media_too_large` instead of
tying up a worker. Values are read on every call, so a changed environment applies without a restart.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from stamen.errors import RunFailure
from stamen.media.probe import MediaInfo

DEFAULT_MAX_VIDEO_SECONDS = 600.0
DEFAULT_MAX_VIDEO_PIXELS = 3840 * 2160
DEFAULT_MAX_MEDIA_BYTES = 2 * 1024**3


@dataclass(frozen=True)
class MediaLimits:
    max_video_seconds: float = DEFAULT_MAX_VIDEO_SECONDS
    max_video_pixels: int = DEFAULT_MAX_VIDEO_PIXELS  # width * height of one frame
    max_media_bytes: int = DEFAULT_MAX_MEDIA_BYTES

    @classmethod
    def from_env(cls) -> MediaLimits:
        """STAMEN_MAX_VIDEO_SECONDS, STAMEN_MAX_VIDEO_PIXELS, STAMEN_MAX_MEDIA_BYTES (defaults above)."""
        return cls(
            max_video_seconds=_env_number("STAMEN_MAX_VIDEO_SECONDS", DEFAULT_MAX_VIDEO_SECONDS),
            max_video_pixels=int(_env_number("STAMEN_MAX_VIDEO_PIXELS", DEFAULT_MAX_VIDEO_PIXELS)),
            max_media_bytes=int(_env_number("STAMEN_MAX_MEDIA_BYTES", DEFAULT_MAX_MEDIA_BYTES)),
        )


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as error:
        raise ValueError(f"{name} must be a number, got {raw!r}") from error
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {raw!r}")
    return value


def check_input_limits(path: Path, info: MediaInfo, limits: MediaLimits | None = None) -> None:
    """Raise RunFailure('media_too_large') when an input exceeds the configured size, pixels or length."""
    limits = limits or MediaLimits.from_env()
    size = Path(path).stat().st_size
    if size > limits.max_media_bytes:
        raise RunFailure(
            "media_too_large",
            f"input is {size / 1024**2:.0f} MB; the limit is {limits.max_media_bytes / 1024**2:.0f} MB",
        )
    if info.width and info.height and info.width * info.height > limits.max_video_pixels:
        raise RunFailure(
            "media_too_large",
            f"video is {info.width}x{info.height}; the limit is {limits.max_video_pixels} pixels per frame",
        )
    if info.duration and info.duration > limits.max_video_seconds:
        raise RunFailure(
            "media_too_large",
            f"input lasts {info.duration:.1f} s; the limit is {limits.max_video_seconds:.0f} s",
        )


def check_output_seconds(seconds: float, limits: MediaLimits | None = None) -> None:
    """Refuse work whose output would run longer than the video limit (slow-down, boomerang, stitch)."""
    limits = limits or MediaLimits.from_env()
    if seconds > limits.max_video_seconds:
        raise RunFailure(
            "media_too_large",
            f"the output would last {seconds:.1f} s; the limit is {limits.max_video_seconds:.0f} s",
        )
