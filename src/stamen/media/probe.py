"""Read what a media file is (streams, size, duration) with PyAV, without decoding it whole."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from stamen.errors import RunFailure


@dataclass(frozen=True)
class MediaInfo:
    format_name: str
    duration: float | None  # seconds
    has_video: bool
    has_audio: bool
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    frame_count: int | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    sample_rate: int | None = None


def probe(path: Path | str) -> MediaInfo:
    """Probe a file; a file that is not media raises RunFailure('input_invalid')."""
    try:
        with av.open(str(path)) as container:
            video = container.streams.video[0] if container.streams.video else None
            audio = container.streams.audio[0] if container.streams.audio else None
            duration = container.duration / 1_000_000 if container.duration else None
            if duration is None and video is not None and video.duration and video.time_base:
                duration = float(video.duration * video.time_base)
            fps = None
            if video is not None and video.average_rate:
                fps = float(Fraction(video.average_rate))
            return MediaInfo(
                format_name=container.format.name,
                duration=duration,
                has_video=video is not None,
                has_audio=audio is not None,
                width=video.codec_context.width if video else None,
                height=video.codec_context.height if video else None,
                fps=fps,
                frame_count=video.frames or None if video else None,
                video_codec=video.codec_context.name if video else None,
                audio_codec=audio.codec_context.name if audio else None,
                sample_rate=audio.codec_context.sample_rate if audio else None,
            )
    except (av.FFmpegError, OSError, IndexError, ValueError) as error:
        raise RunFailure("input_invalid", f"not a readable media file: {error}") from error
