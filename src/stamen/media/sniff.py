"""What a stored file really is: content type and dimensions from its bytes, not its name."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image

IMAGE_TYPES = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "AVIF": "image/avif",
    "HEIF": "image/heif",
}
VIDEO_FORMATS = {"mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm", "matroska": "video/webm"}
AUDIO_FORMATS = {
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "ogg": "audio/ogg",
    "mp4": "audio/mp4",
    "matroska": "audio/webm",
    "flac": "audio/flac",
}
ALLOWED = set(IMAGE_TYPES.values()) | set(VIDEO_FORMATS.values()) | set(AUDIO_FORMATS.values()) | {"application/pdf"}


@dataclass(frozen=True)
class Sniffed:
    content_type: str
    kind: str  # image | video | audio | document
    width: int | None = None
    height: int | None = None


def sniff(path: Path) -> Sniffed | None:
    """Detect an allowed media type, or None when the file is not one."""
    with open(path, "rb") as handle:
        head = handle.read(16)
    if head.startswith(b"%PDF"):
        return Sniffed("application/pdf", "document")
    try:
        with Image.open(path) as image:
            if image.format in IMAGE_TYPES:
                return Sniffed(IMAGE_TYPES[image.format], "image", image.width, image.height)
    except (OSError, Image.DecompressionBombError, ValueError):
        pass
    import av

    try:
        with av.open(str(path)) as container:
            names = container.format.name.split(",")
            if container.streams.video:
                stream = container.streams.video[0]
                for name in names:
                    if name in VIDEO_FORMATS:
                        kind = VIDEO_FORMATS["mp4" if name in ("mp4", "mov") and "mp4" in names else name]
                        return Sniffed(kind, "video", stream.codec_context.width, stream.codec_context.height)
            if container.streams.audio:
                for name in names:
                    if name in AUDIO_FORMATS:
                        return Sniffed(AUDIO_FORMATS[name], "audio")
    except (av.FFmpegError, OSError, ValueError, IndexError):
        return None
    return None
