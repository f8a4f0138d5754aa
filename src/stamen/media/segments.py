"""Cut a video into short keyframe-aligned chunks, so whole-clip operations (reverse) run in bounded memory.

The frame index comes from demuxing packets only (no decoding). A chunk starts on a keyframe whenever
the GOP structure allows it, so seeking to it decodes nothing that is thrown away.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from stamen.errors import RunFailure

DEFAULT_CHUNK_BUFFER_BYTES = 32 * 1024**2  # decoded frames one chunk may hold while it is reversed
MAX_CHUNK_SECONDS = 2.0


@dataclass(frozen=True)
class FrameIndex:
    """Presentation times (seconds from the file's start) of every video frame, and which are keyframes."""

    times: list[float]
    keyframes: list[int]  # indices into `times`

    @property
    def longest_gop(self) -> int:
        """Most frames between two keyframes (or to the end): what a seek may have to decode."""
        bounds = [*self.keyframes, len(self.times)]
        return max((b - a for a, b in itertools.pairwise(bounds)), default=len(self.times))


@dataclass(frozen=True)
class Chunk:
    index: int
    start: float  # seek position: the exact time of the chunk's first frame
    frames: int
    on_keyframe: bool

    @property
    def seek_argument(self) -> str:
        return f"{self.start:.6f}"


def index_video_frames(path: Path | str) -> FrameIndex:
    """Read every video packet's timestamp and keyframe flag (no decoding)."""
    entries: list[tuple[float, bool]] = []
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise RunFailure("input_invalid", "the file has no video track")
            stream = container.streams.video[0]
            start = container.start_time / 1_000_000 if container.start_time else 0.0
            for packet in container.demux(stream):
                if packet.size and packet.pts is not None and packet.time_base is not None:
                    entries.append((float(packet.pts * packet.time_base) - start, packet.is_keyframe))
    except av.FFmpegError as error:
        raise RunFailure("input_invalid", f"the video could not be read: {error}") from error
    if not entries:
        raise RunFailure("input_invalid", "the video has no frames")
    entries.sort()
    times = [time for time, _ in entries]
    keyframes = [i for i, (_, key) in enumerate(entries) if key] or [0]
    return FrameIndex(times=times, keyframes=keyframes)


def chunk_frame_budget(width: int, height: int, fps: float, *, buffer_bytes: int = DEFAULT_CHUNK_BUFFER_BYTES) -> int:
    """Frames per chunk so that one chunk's decoded frames (yuv420p) fit `buffer_bytes`, at most 2 s."""
    frame_bytes = max(1, width * height * 3 // 2)
    by_memory = buffer_bytes // frame_bytes
    by_time = math.ceil(max(fps, 1.0) * MAX_CHUNK_SECONDS)
    return max(2, min(by_memory, by_time))


def plan_chunks(index: FrameIndex, max_frames: int) -> list[Chunk]:
    """Greedy: each chunk ends at the furthest keyframe within `max_frames`, or at `max_frames` if none."""
    keyframes = set(index.keyframes)
    total = len(index.times)
    chunks: list[Chunk] = []
    first = 0
    while first < total:
        limit = first + max_frames
        if limit >= total:
            end = total
        else:
            end = next((k for k in range(limit, first, -1) if k in keyframes), limit)
        chunks.append(Chunk(len(chunks), index.times[first], end - first, first in keyframes or first == 0))
        first = end
    return chunks


def write_concat_list(paths: list[Path], destination: Path) -> Path:
    """A file list for ffmpeg's concat demuxer (`-f concat -safe 0 -i list`)."""
    lines = []
    for path in paths:
        quoted = str(Path(path).resolve()).replace("'", "'\\''")
        lines.append(f"file '{quoted}'\n")
    destination.write_text("".join(lines))
    return destination


def reverse_pcm_file(source: Path, destination: Path, *, channels: int, block_frames: int = 1 << 18) -> None:
    """Write raw s16le audio sample-reversed, reading blocks from the end (memory stays one block)."""
    frame_bytes = 2 * channels
    total_frames = source.stat().st_size // frame_bytes
    with source.open("rb") as reader, destination.open("wb") as writer:
        end = total_frames
        while end > 0:
            begin = max(0, end - block_frames)
            reader.seek(begin * frame_bytes)
            block = np.frombuffer(reader.read((end - begin) * frame_bytes), dtype="<i2")
            writer.write(block.reshape(-1, channels)[::-1].tobytes())
            end = begin


def append_file(source: Path, writer_path: Path) -> None:
    """Append `source` to `writer_path` in blocks (raw PCM concatenation is sample-exact)."""
    with source.open("rb") as reader, writer_path.open("ab") as writer:
        while block := reader.read(1 << 20):
            writer.write(block)
