"""Benchmark the video actions against the equivalent single ffmpeg command line (and MoviePy).

For every case, each contender runs in a fresh Python process while this script polls the RSS of that
process tree (psutil, every 10 ms). Reported per row:

- wall: seconds of the work itself (the action call, the ffmpeg command, the MoviePy render), timed
  inside the worker so interpreter start-up and imports are not counted;
- tree MB: peak RSS of the whole process tree (Python worker + every ffmpeg child), polled;
- ffmpeg MB: peak RSS of the largest single ffmpeg child (getrusage RUSAGE_CHILDREN, exact).

Usage: .venv/bin/python bench/actions.py [--only reverse-video,...] [--skip-moviepy] [--skip-long]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
ENCODE = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p"]
AUDIO = ["-c:a", "aac", "-b:a", "160k"]
MUX = ["-movflags", "+faststart"]
REPEAT = 1  # set by --repeat


@dataclass
class Case:
    label: str
    action_id: str
    inputs: dict[str, list[str]]  # slot -> media names (see `build_media`)
    params: dict
    baseline: list[str]  # ffmpeg arguments; {name} placeholders are media paths, {out} output stem
    moviepy: str | None = None  # "reverse" | "speed"
    extra: dict = field(default_factory=dict)


def cases() -> list[Case]:
    clip = ["-i", "{clip10}"]
    return [
        Case(
            "reverse-video",
            "reverse-video",
            {"video": ["clip10"]},
            {"audio_mode": "reverse"},
            [*clip, "-vf", "reverse", "-af", "areverse", *ENCODE, *AUDIO, *MUX, "{out}.mp4"],
            moviepy="reverse",
        ),
        Case(
            "boomerang-video",
            "boomerang-video",
            {"video": ["clip10"]},
            {},
            [
                *clip,
                "-filter_complex",
                "[0:v]split[a][b];[b]reverse[r];[a][r]concat=n=2:v=1:a=0[v]",
                "-map",
                "[v]",
                *ENCODE,
                "-an",
                *MUX,
                "{out}.mp4",
            ],
        ),
        Case(
            "speed-up-video 2x",
            "speed-up-video",
            {"video": ["clip10"]},
            {"factor": 2.0},
            [
                *clip,
                "-filter_complex",
                "[0:v]setpts=PTS/2,fps=30[v];[0:a]atempo=2[a]",
                "-map",
                "[v]",
                "-map",
                "[a]",
                *ENCODE,
                *AUDIO,
                *MUX,
                "{out}.mp4",
            ],
            moviepy="speed",
        ),
        Case(
            "slow-down-video 2x",
            "slow-down-video",
            {"video": ["clip10"]},
            {"factor": 2.0},
            [
                *clip,
                "-filter_complex",
                "[0:v]setpts=PTS*2,fps=30[v];[0:a]atempo=0.5[a]",
                "-map",
                "[v]",
                "-map",
                "[a]",
                *ENCODE,
                *AUDIO,
                *MUX,
                "{out}.mp4",
            ],
        ),
        Case(
            "duplicate-video x3",
            "duplicate-video",
            {"video": ["clip10"]},
            {"count": 3},
            [*clip, *[a for n in (1, 2, 3) for a in ("-map", "0", "-c", "copy", *MUX, f"{{out}}{n}.mp4")]],
        ),
        Case(
            "split-video equal 3 (re-encode)",
            "split-video",
            {"video": ["clip10"]},
            {"segments": 3},
            [
                *clip,
                *ENCODE,
                "-force_key_frames",
                "3.333333,6.666667",
                "-c:a",
                "copy",
                "-f",
                "segment",
                "-segment_times",
                "3.333333,6.666667",
                "-reset_timestamps",
                "1",
                "{out}%02d.mp4",
            ],
        ),
        Case(
            "split-video equal 5 (copy)",
            "split-video",
            {"video": ["clip10"]},
            {"segments": 5},
            [
                *clip,
                "-c",
                "copy",
                "-f",
                "segment",
                "-segment_times",
                "2,4,6,8",
                "-reset_timestamps",
                "1",
                "{out}%02d.mp4",
            ],
        ),
        Case(
            "stitch-videos 2 clips",
            "stitch-videos",
            {"videos": ["clip10", "clip10b"]},
            {},
            [
                "-i",
                "{clip10}",
                "-i",
                "{clip10b}",
                "-filter_complex",
                "[0:v][0:a][1:v][1:a]concat=n=2:v=1:a=1[v][a]",
                "-map",
                "[v]",
                "-map",
                "[a]",
                *ENCODE,
                *AUDIO,
                *MUX,
                "{out}.mp4",
            ],
        ),
        Case(
            "stitch-videos 2 clips, fade",
            "stitch-videos",
            {"videos": ["clip10", "clip10b"]},
            {"transition": "fade", "transition_duration": 0.5},
            [
                "-i",
                "{clip10}",
                "-i",
                "{clip10b}",
                "-filter_complex",
                "[0:v][1:v]xfade=transition=fade:duration=0.5:offset=9.5[v];[0:a][1:a]acrossfade=d=0.5[a]",
                "-map",
                "[v]",
                "-map",
                "[a]",
                *ENCODE,
                *AUDIO,
                *MUX,
                "{out}.mp4",
            ],
        ),
        Case(
            "merge-audio-into-video",
            "merge-audio-into-video",
            {"video": ["clip10"], "audio": ["tone10"]},
            {"duration": "video"},
            [
                "-i",
                "{clip10}",
                "-i",
                "{tone10}",
                "-map",
                "0:v",
                "-map",
                "1:a",
                "-c:v",
                "copy",
                *AUDIO,
                "-shortest",
                *MUX,
                "{out}.mp4",
            ],
        ),
        Case(
            "split-audio-from-video",
            "split-audio-from-video",
            {"video": ["clip10"]},
            {},
            [*clip, "-vn", "-c:a", "copy", "{out}.m4a"],
        ),
        Case(
            "resize-video 480",
            "resize-video",
            {"video": ["clip10"]},
            {"resolution": "480"},
            [*clip, "-vf", "scale=-2:480", *ENCODE, "-c:a", "copy", *MUX, "{out}.mp4"],
        ),
        Case(
            "change-video-ar 1:1 crop",
            "change-video-ar",
            {"video": ["clip10"]},
            {"aspect_ratio": "1:1"},
            [*clip, "-vf", "crop=720:720", *ENCODE, "-c:a", "copy", *MUX, "{out}.mp4"],
        ),
    ]


def build_media(folder: Path, ffmpeg: str, *, long: bool) -> dict[str, Path]:
    """10 s 720p30 clips (GOP 2 s, like a camera), a 10 s tone, and optionally a 60 s 720p30 clip."""

    def clip(name: str, seconds: int, source: str) -> Path:
        path = folder / f"{name}.mp4"
        subprocess.run(
            [
                ffmpeg,
                "-v",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                f"{source}=size=1280x720:rate=30:duration={seconds}",
                "-f",
                "lavfi",
                "-i",
                f"sine=frequency=440:sample_rate=48000:duration={seconds}",
                "-ac",
                "2",
                *ENCODE,
                "-g",
                "60",
                *AUDIO,
                "-shortest",
                path,
            ],
            check=True,
        )
        return path

    media = {"clip10": clip("clip10", 10, "testsrc2"), "clip10b": clip("clip10b", 10, "testsrc")}
    tone = folder / "tone10.wav"
    subprocess.run(
        [ffmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=660:duration=10", tone], check=True
    )
    media["tone10"] = tone
    if long:
        media["clip60"] = clip("clip60", 60, "testsrc2")
    return media


# ---------------------------------------------------------------- worker side (fresh process per run)


def worker(spec: dict) -> dict:
    if spec["kind"] == "action":
        from stamen.actions import get_action, validate_params
        from stamen.execution.context import InputValue, RunContext

        action = get_action(spec["action_id"])
        types = {slot.name: slot.type for slot in action.inputs}
        inputs = {
            slot: [InputValue(types[slot], path=Path(p)) for p in paths] for slot, paths in spec["inputs"].items()
        }
        ctx = RunContext(run_id="bench", workdir=Path(spec["workdir"]), inputs=inputs)
        params = validate_params(action, spec["params"])
        start = time.perf_counter()
        action.run(ctx, params)
    elif spec["kind"] == "command":
        start = time.perf_counter()
        subprocess.run([spec["ffmpeg"], "-v", "error", "-y", "-nostdin", *spec["args"]], check=True)
    else:
        from moviepy import VideoFileClip, vfx

        clip = VideoFileClip(spec["input"])
        start = time.perf_counter()
        effect = vfx.TimeMirror() if spec["effect"] == "reverse" else vfx.MultiplySpeed(2.0)
        clip.with_effects([effect]).write_videofile(
            spec["output"],
            codec="libx264",
            preset="veryfast",
            audio_codec="aac",
            logger=None,
            ffmpeg_params=["-crf", "20", "-pix_fmt", "yuv420p"],
        )
    wall = time.perf_counter() - start
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"wall": wall, "ffmpeg_mb": children}


# ---------------------------------------------------------------- parent side


def measure(spec: dict, timeout: float = 900) -> dict:
    """Run one worker; poll its process tree's RSS; return wall, tree and ffmpeg peaks (MB)."""
    process = subprocess.Popen(
        [sys.executable, __file__, "--worker", json.dumps(spec)], stdout=subprocess.PIPE, cwd=ROOT
    )
    peak = 0
    stop = threading.Event()

    def poll() -> None:
        nonlocal peak
        try:
            root = psutil.Process(process.pid)
        except psutil.NoSuchProcess:
            return
        while not stop.is_set():
            total = 0
            try:
                for member in [root, *root.children(recursive=True)]:
                    try:
                        total += member.memory_info().rss
                    except psutil.NoSuchProcess:
                        pass
            except psutil.NoSuchProcess:
                break
            peak = max(peak, total)
            time.sleep(0.01)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        stop.set()
        return {"error": f"timed out after {timeout:.0f} s"}
    stop.set()
    poller.join()
    if process.returncode != 0:
        return {"error": f"exit {process.returncode}"}
    result = json.loads(out.decode().strip().splitlines()[-1])
    result["tree_mb"] = peak / 1024**2
    return result


def best_of(spec: dict) -> dict:
    """Run REPEAT times: the fastest wall time (least disturbed by other load) and the highest peaks."""
    runs = [measure(spec) for _ in range(REPEAT)]
    good = [run for run in runs if "error" not in run]
    if not good:
        return runs[0]
    return {
        "wall": min(run["wall"] for run in good),
        "tree_mb": max(run["tree_mb"] for run in good),
        "ffmpeg_mb": max(run["ffmpeg_mb"] for run in good),
    }


def fill(args: list[str], media: dict[str, Path], out: Path) -> list[str]:
    """Replace `{name}` placeholders by media paths and `{out}` by the output stem."""
    names = {name: str(path) for name, path in media.items()} | {"out": str(out)}
    filled = []
    for arg in args:
        for name, value in names.items():
            arg = arg.replace("{" + name + "}", value)
        filled.append(arg)
    return filled


def cell(result: dict, key: str, fmt: str) -> str:
    return result.get("error", "—") if key not in result else format(result[key], fmt)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker")
    parser.add_argument("--only", default="")
    parser.add_argument("--skip-moviepy", action="store_true")
    parser.add_argument("--skip-long", action="store_true")
    parser.add_argument("--repeat", type=int, default=1, help="runs per contender; best wall time is kept")
    options = parser.parse_args()
    global REPEAT
    REPEAT = max(1, options.repeat)
    if options.worker:
        print(json.dumps(worker(json.loads(options.worker))))
        return

    sys.path.insert(0, str(ROOT / "src"))
    from stamen.media.ffmpeg import ffmpeg_exe

    ffmpeg = ffmpeg_exe()
    only = {name.strip() for name in options.only.split(",") if name.strip()}
    with tempfile.TemporaryDirectory(prefix="stamen_bench_") as tmp:
        folder = Path(tmp)
        media = build_media(folder, ffmpeg, long=not options.skip_long)
        rows = []
        print(
            "| case | stamen wall s | ffmpeg wall s | wall ratio | stamen tree MB | stamen ffmpeg MB "
            "| ffmpeg MB | ffmpeg-peak ratio | MoviePy wall s | MoviePy tree MB |"
        )
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for number, case in enumerate(cases()):
            if only and case.action_id not in only:
                continue
            workdir = folder / f"work{number}"
            ours = best_of(
                {
                    "kind": "action",
                    "action_id": case.action_id,
                    "params": case.params,
                    "inputs": {s: [str(media[n]) for n in names] for s, names in case.inputs.items()},
                    "workdir": str(workdir),
                }
            )
            theirs = best_of(
                {
                    "kind": "command",
                    "ffmpeg": ffmpeg,
                    "args": fill(case.baseline, media, folder / f"baseline{number}_"),
                }
            )
            movie = {}
            if case.moviepy and not options.skip_moviepy:
                movie = measure(
                    {
                        "kind": "moviepy",
                        "effect": case.moviepy,
                        "input": str(media["clip10"]),
                        "output": str(folder / f"moviepy{number}.mp4"),
                    }
                )
            ratio = ours["wall"] / theirs["wall"] if "wall" in ours and "wall" in theirs else float("nan")
            mem_ratio = (
                ours["ffmpeg_mb"] / theirs["ffmpeg_mb"]
                if "ffmpeg_mb" in ours and "ffmpeg_mb" in theirs
                else float("nan")
            )
            row = (
                f"| {case.label} | {cell(ours, 'wall', '.2f')} | {cell(theirs, 'wall', '.2f')} | {ratio:.2f} "
                f"| {cell(ours, 'tree_mb', '.0f')} | {cell(ours, 'ffmpeg_mb', '.0f')} "
                f"| {cell(theirs, 'ffmpeg_mb', '.0f')} | {mem_ratio:.2f} "
                f"| {cell(movie, 'wall', '.2f') if movie else '—'} "
                f"| {cell(movie, 'tree_mb', '.0f') if movie else '—'} |"
            )
            print(row, flush=True)
            rows.append(row)
        if not options.skip_long and (not only or "reverse-video" in only):
            print("\nreverse-video on a 60 s 1280x720 30 fps clip (GOP 2 s):\n")
            print("| contender | wall s | tree MB | largest ffmpeg MB |")
            print("| --- | ---: | ---: | ---: |")
            for jobs in ("2", "1"):
                os.environ["STAMEN_REVERSE_JOBS"] = jobs
                ours = best_of(
                    {
                        "kind": "action",
                        "action_id": "reverse-video",
                        "params": {},
                        "inputs": {"video": [str(media["clip60"])]},
                        "workdir": str(folder / f"long{jobs}"),
                    }
                )
                print(
                    f"| stamen reverse-video (STAMEN_REVERSE_JOBS={jobs}) | {cell(ours, 'wall', '.2f')} "
                    f"| {cell(ours, 'tree_mb', '.0f')} | {cell(ours, 'ffmpeg_mb', '.0f')} |",
                    flush=True,
                )
            theirs = best_of(
                {
                    "kind": "command",
                    "ffmpeg": ffmpeg,
                    "args": [
                        "-i",
                        str(media["clip60"]),
                        "-vf",
                        "reverse",
                        "-af",
                        "areverse",
                        *ENCODE,
                        *AUDIO,
                        *MUX,
                        str(folder / "long_baseline.mp4"),
                    ],
                }
            )
            print(
                f"| ffmpeg -vf reverse -af areverse | {cell(theirs, 'wall', '.2f')} "
                f"| {cell(theirs, 'tree_mb', '.0f')} | {cell(theirs, 'ffmpeg_mb', '.0f')} |"
            )


if __name__ == "__main__":
    main()
