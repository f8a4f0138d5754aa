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
    pixel_format: str | None = None  # e.g. yuv420p; decides whether a stream can be copied to MP4
    audio_channels: int | None = None
    video_duration: float | None = None  # of the first video stream, when the container says
    audio_duration: float | None = None  # of the first audio stream, when the container says

    @property
    def is_still_image(self) -> bool:
        """A picture opened as a one-frame video (PNG, JPEG, WebP...), which is not a video input."""
        return self.format_name.endswith("_pipe") or self.format_name in {"image2", "webp"}


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
                video_codec=_codec_name(video),
                audio_codec=_codec_name(audio),
                sample_rate=audio.codec_context.sample_rate if audio else None,
                pixel_format=video.codec_context.pix_fmt if video else None,
                audio_channels=audio.codec_context.channels if audio else None,
                video_duration=_stream_seconds(video),
                audio_duration=_stream_seconds(audio),
            )
    except (av.FFmpegError, OSError, IndexError, ValueError) as error:
        raise RunFailure("input_invalid", f"not a readable media file: {error}") from error


def _stream_seconds(stream: av.stream.Stream | None) -> float | None:
    if stream is None or not stream.duration or not stream.time_base:
        return None
    return float(stream.duration * stream.time_base)


def check_complete(path: Path | str, info: MediaInfo) -> None:
    """Raise RunFailure('input_invalid') when the file's packets stop well before its stated duration.

    A truncated MP4 whose index sits at the front opens fine and ffmpeg then exits 0 with a short
    output; reading the packets after the last seek point (at most one GOP, no decoding) catches it.
    """
    if not info.duration:
        return
    tolerance = max(0.5, 0.05 * info.duration)
    last_end = 0.0
    try:
        with av.open(str(path)) as container:
            start = container.start_time / 1_000_000 if container.start_time else 0.0
            target = max(0.0, info.duration - tolerance) + start
            container.seek(int(target * 1_000_000), backward=True)
            for packet in container.demux():
                if packet.size and packet.pts is not None and packet.time_base:
                    packet_end = (packet.pts + (packet.duration or 0)) * packet.time_base
                    last_end = max(last_end, float(packet_end) - start)
    except av.FFmpegError:
        pass  # a read error near the end is judged by how far the packets got
    if last_end < info.duration - tolerance:
        raise RunFailure(
            "input_invalid",
            f"the file is truncated or damaged: its data stops at {last_end:.1f} s of {info.duration:.1f} s",
        )


def _codec_name(stream: av.stream.Stream | None) -> str | None:
    """The format's codec name (`mp3`), not the decoder's (`mp3float`)."""
    if stream is None:
        return None
    codec = stream.codec_context.codec
    return getattr(codec, "canonical_name", None) or codec.name
