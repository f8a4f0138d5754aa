"""merge-audio-into-video and split-audio-from-video: move sound in and out of a video, copying streams
whenever the codecs allow it (the picture is only re-encoded to freeze its last frame under longer sound).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from stamen.actions.registry import VIDEO_IN, VIDEO_OUT, ActionParams, Slot, action
from stamen.actions.video_support import (
    AUDIO_ENCODE_ARGS,
    MP4_MUX_ARGS,
    can_copy_video,
    open_input_video,
    save_mp4,
    video_encode_args,
    video_seconds,
)
from stamen.errors import RunFailure
from stamen.execution.context import RunContext
from stamen.media.ffmpeg import run_ffmpeg
from stamen.media.limits import check_input_limits, check_output_seconds
from stamen.media.probe import probe

AUDIO_CONTAINERS = {  # audio_format -> (suffix, content type, muxer)
    "m4a": (".m4a", "audio/mp4", "ipod"),
    "mp3": (".mp3", "audio/mpeg", "mp3"),
    "wav": (".wav", "audio/wav", "wav"),
}
AUDIO_CODECS = {
    "m4a": ["-c:a", "aac", "-b:a", "192k"],
    "mp3": ["-c:a", "libmp3lame", "-q:a", "2"],
    "wav": ["-c:a", "pcm_s16le"],
}
COPYABLE_CODECS = {"m4a": {"aac", "alac"}, "mp3": {"mp3"}, "wav": {"pcm_s16le"}}


class MergeAudioIntoVideoParams(ActionParams):
    duration: Literal["shortest", "video", "audio"] = Field(
        "video",
        title="Duration",
        description="shortest: end with whichever ends first; video: pad or cut the sound to the picture; "
        "audio: cut the picture or hold its last frame to the sound",
    )


class SplitAudioFromVideoParams(ActionParams):
    audio_format: Literal["auto", "m4a", "mp3", "wav"] = Field(
        "auto", title="Audio Format", description="auto: keep the track as it is when possible (no re-encode)"
    )


@action(
    "merge-audio-into-video",
    name="Merge Audio into Video",
    description="Replace a video's sound with an audio file.",
    inputs=[Slot("video", "video"), Slot("audio", "audio")],
    outputs=VIDEO_OUT,
    params=MergeAudioIntoVideoParams,
)
def merge_audio_into_video(ctx: RunContext, params: MergeAudioIntoVideoParams) -> None:
    video_path, video_info = open_input_video(ctx, "video")
    audio_path = ctx.input_path("audio")
    audio_info = probe(audio_path)
    if not audio_info.has_audio:
        raise RunFailure("input_invalid", f"{audio_path.name} has no audio track")
    check_input_limits(audio_path, audio_info)
    picture = video_seconds(video_info)
    sound = audio_info.audio_duration or audio_info.duration or 0.0
    target = {"shortest": min(picture, sound), "video": picture, "audio": sound}[params.duration]
    check_output_seconds(target)

    args: list = ["-i", video_path, "-i", audio_path]
    if target > picture + 0.5 / (video_info.fps or 30.0):
        # Sound outlasts the picture: hold the last frame, which needs one re-encode of the picture.
        hold = target - picture
        args += ["-filter_complex", f"[0:v:0]tpad=stop_mode=clone:stop_duration={hold:.6f}[v]", "-map", "[v]"]
        video_codec = video_encode_args()
    else:
        args += ["-map", "0:v:0"]
        video_codec = ["-c:v", "copy"] if can_copy_video(video_info) else video_encode_args()
    audio_codec = ["-c:a", "copy"] if audio_info.audio_codec == "aac" and sound >= target else AUDIO_ENCODE_ARGS
    audio_filter = [] if sound >= target else ["-af", f"apad=whole_dur={target:.6f}"]
    output = ctx.new_path("merged.mp4")
    run_ffmpeg(
        [
            *args,
            "-map",
            "1:a:0",
            *video_codec,
            *audio_filter,
            *audio_codec,
            "-t",
            f"{target:.6f}",
            *MP4_MUX_ARGS,
            output,
        ],
        expected_duration=target,
        on_progress=ctx.progress,
    )
    save_mp4(ctx, output)
    ctx.progress(100)


@action(
    "split-audio-from-video",
    name="Split Audio from Video",
    description="Extract a video's sound as an audio file.",
    inputs=VIDEO_IN,
    outputs=[Slot("audio", "audio")],
    params=SplitAudioFromVideoParams,
)
def split_audio_from_video(ctx: RunContext, params: SplitAudioFromVideoParams) -> None:
    source, info = open_input_video(ctx)
    if not info.has_audio:
        raise RunFailure("input_invalid", f"{source.name} has no audio track to extract")
    audio_format = params.audio_format
    if audio_format == "auto":
        audio_format = "mp3" if info.audio_codec == "mp3" else "m4a"
    suffix, content_type, muxer = AUDIO_CONTAINERS[audio_format]
    codec = ["-c:a", "copy"] if info.audio_codec in COPYABLE_CODECS[audio_format] else AUDIO_CODECS[audio_format]
    output = ctx.new_path(f"audio{suffix}")
    extra = MP4_MUX_ARGS if audio_format == "m4a" else []
    run_ffmpeg(
        ["-i", source, "-map", "0:a:0", "-vn", *codec, *extra, "-f", muxer, output],
        expected_duration=info.audio_duration or info.duration,
        on_progress=ctx.progress,
    )
    ctx.save_output(output, "audio", content_type=content_type)
    ctx.progress(100)
