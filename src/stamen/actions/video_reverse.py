"""reverse-video and boomerang-video, in bounded memory.

ffmpeg's `reverse` filter holds every decoded frame until the clip ends (a 10 s 720p clip peaks near
550 MB). Here the clip is cut into keyframe-aligned chunks of at most ~32 MB of decoded frames; each is
reversed by its own ffmpeg process, and the encoded chunks are joined by stream copy in reverse order.
Audio is decoded once to raw PCM and reversed block by block on disk, so it is sample-exact across
chunk borders. Peak memory depends on the frame size, not on the clip's length.
"""

from __future__ import annotations

import os
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field

from stamen.actions.registry import VIDEO_IN, VIDEO_OUT, ActionParams, action
from stamen.actions.video_support import (
    AUDIO_ENCODE_ARGS,
    MP4_MUX_ARGS,
    atempo_chain,
    open_input_video,
    save_mp4,
    video_encode_args,
    video_seconds,
)
from stamen.execution.context import RunContext
from stamen.media.ffmpeg import run_ffmpeg
from stamen.media.limits import check_output_seconds
from stamen.media.probe import MediaInfo
from stamen.media.segments import (
    DEFAULT_CHUNK_BUFFER_BYTES,
    Chunk,
    append_file,
    chunk_frame_budget,
    index_video_frames,
    plan_chunks,
    reverse_pcm_file,
    write_concat_list,
)

REKEY_GOP_FACTOR = 6  # re-encode first when a seek could waste more than this many chunks of decoding


class ReverseVideoParams(ActionParams):
    audio_mode: Literal["strip", "reverse", "keep"] = Field(
        "reverse",
        title="Audio",
        description="strip: no sound; reverse: play the sound backwards too; keep: original sound, forwards",
    )


class BoomerangVideoParams(ActionParams):
    speed: float = Field(1.0, ge=0.25, le=4.0, title="Speed", description="Playback speed of the forward-and-back loop")
    include_audio: bool = Field(False, title="Include Audio", description="Play the sound forwards, then backwards")


@dataclass(frozen=True)
class ReversePlan:
    """What the chunked pipeline produces: optional forward copy, speed, and the turn-point frame."""

    forward_too: bool = False  # boomerang: forward pass, then the reversed pass
    speed: float = 1.0
    audio: Literal["strip", "reverse", "keep"] = "reverse"


@action(
    "reverse-video",
    name="Reverse Video",
    description="Play a video backwards, with its sound reversed, kept or removed.",
    inputs=VIDEO_IN,
    outputs=VIDEO_OUT,
    params=ReverseVideoParams,
)
def reverse_video(ctx: RunContext, params: ReverseVideoParams) -> None:
    source, info = open_input_video(ctx)
    output = ctx.new_path("reversed.mp4")
    render_reversed(ctx, source, info, output, ReversePlan(audio=params.audio_mode))
    save_mp4(ctx, output)


@action(
    "boomerang-video",
    name="Boomerang Video",
    description="Play a video forwards and then backwards, as one loop.",
    inputs=VIDEO_IN,
    outputs=VIDEO_OUT,
    params=BoomerangVideoParams,
)
def boomerang_video(ctx: RunContext, params: BoomerangVideoParams) -> None:
    source, info = open_input_video(ctx)
    check_output_seconds(2 * video_seconds(info) / params.speed)
    output = ctx.new_path("boomerang.mp4")
    plan = ReversePlan(forward_too=True, speed=params.speed, audio="reverse" if params.include_audio else "strip")
    render_reversed(ctx, source, info, output, plan)
    save_mp4(ctx, output)


def render_reversed(ctx: RunContext, source: Path, info: MediaInfo, output: Path, plan: ReversePlan) -> None:
    """Chunk, reverse each chunk in its own ffmpeg, and join by stream copy (see module docstring)."""
    duration = video_seconds(info)
    with tempfile.TemporaryDirectory(prefix="reverse_", dir=ctx.workdir if ctx.workdir.exists() else None) as tmp:
        scratch = Path(tmp)
        video_source, chunks = _plan_video_chunks(source, info, scratch)
        ctx.progress(5)
        audio_file = _prepare_audio(source, info, scratch, plan, duration) if info.has_audio else None
        chunk_files = _render_chunks(ctx, video_source, chunks, scratch, plan)
        ordered = [forward for forward, _ in chunk_files] if plan.forward_too else []
        ordered += [backward for _, backward in reversed(chunk_files)]
        concat_list = write_concat_list(ordered, scratch / "chunks.txt")

        args: list[str | Path] = ["-f", "concat", "-safe", "0", "-i", concat_list]
        maps = ["-map", "0:v:0"]
        audio_out: list[str] = ["-an"]
        if plan.audio == "keep" and info.has_audio:
            args += ["-i", source]
            maps += ["-map", "1:a:0"]
            audio_out = [*AUDIO_ENCODE_ARGS, "-t", f"{duration:.6f}"]
        elif audio_file is not None:
            channels = _audio_channels(info)
            args += ["-f", "s16le", "-ar", str(info.sample_rate), "-ac", str(channels), "-i", audio_file]
            maps += ["-map", "1:a:0"]
            audio_out = list(AUDIO_ENCODE_ARGS)
            if plan.speed != 1.0:
                audio_out = ["-af", atempo_chain(plan.speed), *audio_out]
        expected = duration * (2 if plan.forward_too else 1) / plan.speed
        run_ffmpeg(
            [*args, *maps, "-c:v", "copy", *audio_out, *MP4_MUX_ARGS, output],
            expected_duration=expected,
            on_progress=lambda pct: ctx.progress(90 + pct / 10),
        )
    ctx.progress(100)


def _plan_video_chunks(source: Path, info: MediaInfo, scratch: Path) -> tuple[Path, list[Chunk]]:
    index = index_video_frames(source)
    fps = info.fps or len(index.times) / max(video_seconds(info), 1e-3)
    buffer_bytes = int(os.environ.get("STAMEN_REVERSE_BUFFER_BYTES", DEFAULT_CHUNK_BUFFER_BYTES))
    max_frames = chunk_frame_budget(info.width or 1920, info.height or 1080, fps, buffer_bytes=buffer_bytes)
    if index.longest_gop > REKEY_GOP_FACTOR * max_frames:
        # Sparse keyframes would make every chunk decode from far back; one fast pass adds keyframes.
        rekeyed = scratch / "rekeyed.mkv"
        run_ffmpeg(
            [
                "-i",
                source,
                "-map",
                "0:v:0",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-crf",
                "14",
                "-g",
                str(max_frames),
                "-fps_mode",
                "passthrough",
                "-an",
                rekeyed,
            ]
        )
        source, index = rekeyed, index_video_frames(rekeyed)
    return source, plan_chunks(index, max_frames)


def _audio_channels(info: MediaInfo) -> int:
    return max(1, min(2, info.audio_channels or 2))


def _prepare_audio(source: Path, info: MediaInfo, scratch: Path, plan: ReversePlan, duration: float) -> Path | None:
    """Decode the sound once to raw PCM fitted to the picture's length, then reverse it on disk."""
    if plan.audio != "reverse":
        return None
    forward = scratch / "forward.pcm"
    run_ffmpeg(
        [
            "-i",
            source,
            "-map",
            "0:a:0",
            "-vn",
            "-af",
            f"apad=whole_dur={duration:.6f}",
            "-t",
            f"{duration:.6f}",
            "-f",
            "s16le",
            "-ac",
            str(_audio_channels(info)),
            "-ar",
            str(info.sample_rate),
            forward,
        ]
    )
    backward = scratch / "backward.pcm"
    reverse_pcm_file(forward, backward, channels=_audio_channels(info))
    if not plan.forward_too:
        forward.unlink()
        return backward
    append_file(backward, forward)  # boomerang: forward sound, then the reversed sound
    backward.unlink()
    return forward


def _render_chunks(
    ctx: RunContext, source: Path, chunks: list[Chunk], scratch: Path, plan: ReversePlan
) -> list[tuple[Path, Path]]:
    """Encode every chunk (reversed, and forwards too for a boomerang), a few ffmpeg processes at a time."""
    jobs = reverse_jobs()
    finished: list[int] = []
    lock = threading.Lock()

    def render(chunk: Chunk) -> tuple[Path, Path]:
        result = _render_chunk(source, chunk, chunks, scratch, plan, threads=chunk_threads(jobs))
        with lock:
            finished.append(chunk.index)
            ctx.progress(5 + 85 * len(finished) / len(chunks))
        return result

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(render, chunks))


def reverse_jobs() -> int:
    """Chunks encoded at once (STAMEN_REVERSE_JOBS, default 2 or fewer on fewer cores).

    Peak memory grows with this number (about 150 MB per job at 720p with the default 32 MB chunk
    buffer, STAMEN_REVERSE_BUFFER_BYTES), not with the clip's length.
    """
    configured = os.environ.get("STAMEN_REVERSE_JOBS")
    return max(1, int(configured)) if configured else max(1, min(2, os.cpu_count() or 1))


def chunk_threads(jobs: int) -> int:
    """Threads per chunk process: the cores shared between the jobs (short chunks gain little from more)."""
    return max(1, (os.cpu_count() or 1) // jobs)


def _render_chunk(
    source: Path, chunk: Chunk, chunks: list[Chunk], scratch: Path, plan: ReversePlan, *, threads: int
) -> tuple[Path, Path]:
    is_last = chunk.index == len(chunks) - 1
    forward = scratch / f"forward_{chunk.index:05d}.mp4"
    backward = scratch / f"backward_{chunk.index:05d}.mp4"
    read_window: list[str] = []
    if not is_last:  # stop demuxing a little after the chunk instead of at the end of the file
        following = chunks[chunk.index + 1].start
        read_window = ["-t", f"{following - chunk.start + 1.0:.6f}"]
    timing = f"trim=end_frame={chunk.frames}"
    if plan.speed != 1.0:
        timing += f",setpts=PTS/{plan.speed:.6f}"
    # The boomerang's turn: the last forward frame would show twice, so the reversed pass drops it.
    turn = ",trim=start_frame=1,setpts=PTS-STARTPTS" if plan.forward_too and is_last and chunk.frames > 1 else ""
    if plan.forward_too:
        graph = f"[0:v:0]{timing},split=2[forward][pending];[pending]reverse{turn}[backward]"
    else:
        graph = f"[0:v:0]{timing},reverse{turn}[backward]"
    encode = [
        *video_encode_args(),
        "-threads",
        str(threads),
        "-fps_mode",
        "passthrough",
        "-an",
        *MP4_MUX_ARGS,
    ]
    args: list[str | Path] = [
        "-threads",
        str(threads),
        "-ss",
        chunk.seek_argument,
        *read_window,
        "-i",
        source,
    ]
    args += ["-filter_complex", graph, "-filter_complex_threads", "1"]
    args += ["-map", "[backward]", *encode, backward]
    if plan.forward_too:
        args += ["-map", "[forward]", *encode, forward]
    run_ffmpeg(args)
    return forward, backward
