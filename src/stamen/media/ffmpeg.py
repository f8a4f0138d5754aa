"""Run ffmpeg from the `imageio-ffmpeg` wheel: argument lists (never a shell), progress, timeouts.

`run_ffmpeg` feeds `-progress` output into a callback as a 0–100 percentage of the expected output
duration, and turns a non-zero exit into `RunFailure("ffmpeg_failed", <last stderr lines>)`.
"""

from __future__ import annotations

import functools
import subprocess
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import imageio_ffmpeg

from stamen.errors import RunFailure

DEFAULT_TIMEOUT_SECONDS = 600.0


@functools.cache
def ffmpeg_exe() -> str:
    return imageio_ffmpeg.get_ffmpeg_exe()


def run_ffmpeg(
    args: Sequence[str | Path],
    *,
    expected_duration: float | None = None,
    on_progress: Callable[[float], None] | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> None:
    """Run `ffmpeg <args>` (global flags `-hide_banner -nostdin -y` are added).

    `expected_duration` (seconds of output) turns `out_time` into a percentage for `on_progress`.
    """
    command = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error"]
    if on_progress is not None:
        command += ["-progress", "pipe:1", "-nostats"]
    command += [str(a) for a in args]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE if on_progress else subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    stderr_chunks: list[bytes] = []
    drain = threading.Thread(target=lambda: stderr_chunks.append(process.stderr.read()), daemon=True)
    drain.start()
    timer = threading.Timer(timeout, process.kill)
    timer.start()
    try:
        if on_progress is not None and process.stdout is not None:
            for raw in process.stdout:
                line = raw.decode("utf-8", "replace").strip()
                if line.startswith("out_time_us=") and expected_duration:
                    try:
                        seconds = int(line.split("=", 1)[1]) / 1_000_000
                    except ValueError:
                        continue
                    on_progress(min(99.0, 100.0 * seconds / expected_duration))
        returncode = process.wait()
    finally:
        timer.cancel()
        drain.join(timeout=5)
    if returncode != 0:
        if not timer.is_alive() and returncode in (-9, 137):
            raise RunFailure("ffmpeg_timeout", f"ffmpeg ran longer than {timeout:.0f} s and was stopped")
        tail = b"".join(stderr_chunks).decode("utf-8", "replace").strip().splitlines()[-5:]
        raise RunFailure("ffmpeg_failed", "ffmpeg failed: " + (" | ".join(tail) or f"exit code {returncode}"))
