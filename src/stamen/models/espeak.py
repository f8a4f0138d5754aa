"""Real text-to-speech with eSpeak NG from the `espeakng-loader` wheel (no system package, no download).

libespeak-ng is bound with ctypes in synchronous retrieval mode: `espeak_Synth` returns once the whole
text is spoken and the synth callback has collected every 16-bit sample. eSpeak keeps global state and is
not thread-safe, so every call goes through one process-wide lock.
"""

from __future__ import annotations

import asyncio
import ctypes
import io
import threading
import wave
from dataclasses import dataclass
from typing import Any

from stamen.errors import RunFailure
from stamen.execution.context import RunContext
from stamen.media.ffmpeg import run_ffmpeg
from stamen.models.base import GenerationRequest, ModelParam, ModelSpec, ParamOption

VOICES: dict[str, str] = {
    "en": "English (British)",
    "en-us": "English (American)",
    "fr": "French",
    "de": "German",
    "es": "Spanish",
    "it": "Italian",
    "pt": "Portuguese (Portugal)",
    "pt-br": "Portuguese (Brazil)",
    "nl": "Dutch",
}
DEFAULT_VOICE = "en"
SPEED_RANGE = (80, 450)  # words per minute, eSpeak's own bounds
DEFAULT_SPEED = 175
PITCH_RANGE = (0, 99)
DEFAULT_PITCH = 50
FORMATS = ("wav", "mp3")
MAX_TEXT_CHARS = 10_000

ESPEAK_TTS = ModelSpec(
    model_id="espeak-tts",
    name="eSpeak NG text-to-speech",
    type="audio",
    provider="espeak-ng",
    capabilities=("text-to-speech",),
    price=0.0,
    estimated_seconds=2,
    params=(
        ModelParam(
            name="voice",
            type="string",
            default=DEFAULT_VOICE,
            label="Voice",
            description="Language voice used to read the prompt.",
            options=tuple(ParamOption(value=code, label=label) for code, label in VOICES.items()),
        ),
        ModelParam(
            name="speed",
            type="int",
            default=DEFAULT_SPEED,
            label="Speed",
            description="Speaking rate in words per minute.",
            min=SPEED_RANGE[0],
            max=SPEED_RANGE[1],
        ),
        ModelParam(
            name="pitch",
            type="int",
            default=DEFAULT_PITCH,
            label="Pitch",
            description="Base pitch, 0 (low) to 99 (high).",
            min=PITCH_RANGE[0],
            max=PITCH_RANGE[1],
        ),
        ModelParam(
            name="format",
            type="string",
            default="wav",
            label="Format",
            description="Audio file format.",
            options=(ParamOption("wav", "WAV"), ParamOption("mp3", "MP3")),
        ),
    ),
)

# espeak_AUDIO_OUTPUT, espeak_PARAMETER, espeak_POSITION_TYPE and flag values from speak_lib.h
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_ESPEAK_RATE = 1
_ESPEAK_PITCH = 3
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_EE_OK = 0

_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


@dataclass(frozen=True)
class Speech:
    samples: bytes  # mono signed 16-bit little-endian PCM
    sample_rate: int

    def to_wav(self) -> bytes:
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as writer:
            writer.setnchannels(1)
            writer.setsampwidth(2)
            writer.setframerate(self.sample_rate)
            writer.writeframes(self.samples)
        return buffer.getvalue()


class EspeakLibrary:
    """The process-wide libespeak-ng, initialised on first use; `synthesize` is safe from any thread."""

    _instance: EspeakLibrary | None = None
    _instance_lock = threading.Lock()

    def __init__(self) -> None:
        import espeakng_loader

        self._lock = threading.Lock()
        self._chunks: list[bytes] = []
        self._library = ctypes.CDLL(espeakng_loader.get_library_path())
        self._declare_signatures()
        sample_rate = self._library.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, espeakng_loader.get_data_path().encode(), 0
        )
        if sample_rate <= 0:
            raise RunFailure("internal_error", "eSpeak NG could not start: its voice data did not load")
        self.sample_rate: int = sample_rate
        self._callback = _SynthCallback(self._collect)  # kept referenced for the library's lifetime
        self._library.espeak_SetSynthCallback(self._callback)

    @classmethod
    def shared(cls) -> EspeakLibrary:
        with cls._instance_lock:
            if cls._instance is None:
                try:
                    cls._instance = cls()
                except (ImportError, OSError) as error:
                    raise RunFailure("internal_error", f"eSpeak NG is not available: {error}") from error
            return cls._instance

    def _declare_signatures(self) -> None:
        library = self._library
        library.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        library.espeak_Initialize.restype = ctypes.c_int
        library.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        library.espeak_SetSynthCallback.restype = None
        library.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        library.espeak_SetVoiceByName.restype = ctypes.c_int
        library.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        library.espeak_SetParameter.restype = ctypes.c_int
        library.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        library.espeak_Synth.restype = ctypes.c_int

    def _collect(self, wav: Any, sample_count: int, events: Any) -> int:
        if wav and sample_count > 0:
            self._chunks.append(ctypes.string_at(wav, sample_count * 2))
        return 0  # 0 = keep synthesising

    def synthesize(self, text: str, *, voice: str, speed: int, pitch: int) -> Speech:
        """Speak `text` to PCM samples; an unknown voice raises RunFailure('input_invalid')."""
        encoded = text.encode("utf-8")
        with self._lock:
            if self._library.espeak_SetVoiceByName(voice.encode()) != _EE_OK:
                raise RunFailure("input_invalid", f"params.voice: eSpeak NG has no voice named {voice!r}")
            self._library.espeak_SetParameter(_ESPEAK_RATE, speed, 0)
            self._library.espeak_SetParameter(_ESPEAK_PITCH, pitch, 0)
            self._chunks = []
            status = self._library.espeak_Synth(
                encoded, len(encoded) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
            )
            samples, self._chunks = b"".join(self._chunks), []
        if status != _EE_OK:
            raise RunFailure("internal_error", f"eSpeak NG failed to synthesise the text (status {status})")
        return Speech(samples=samples, sample_rate=self.sample_rate)


@dataclass(frozen=True)
class SpeechSettings:
    voice: str
    speed: int
    pitch: int
    format: str

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> SpeechSettings:
        """Apply defaults and check ranges even when the caller skipped catalog validation."""
        voice = str(params.get("voice") or DEFAULT_VOICE)
        if voice not in VOICES:
            choices = ", ".join(VOICES)
            raise RunFailure("input_invalid", f"params.voice must be one of {choices} (got {voice!r})")
        output_format = str(params.get("format") or "wav")
        if output_format not in FORMATS:
            raise RunFailure(
                "input_invalid", f"params.format must be one of wav, mp3 (got {output_format!r})"
            )
        return cls(
            voice=voice,
            speed=_bounded_int(params, "speed", DEFAULT_SPEED, SPEED_RANGE),
            pitch=_bounded_int(params, "pitch", DEFAULT_PITCH, PITCH_RANGE),
            format=output_format,
        )


def _bounded_int(params: dict[str, Any], name: str, default: int, bounds: tuple[int, int]) -> int:
    value = params.get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise RunFailure("input_invalid", f"params.{name} must be an integer") from None
    if not bounds[0] <= number <= bounds[1]:
        raise RunFailure("input_invalid", f"params.{name} must be between {bounds[0]} and {bounds[1]}")
    return number


class EspeakBackend:
    """Serves `espeak-tts`: speech from the prompt, as WAV or (through ffmpeg) MP3."""

    name = "espeak"

    def models(self) -> list[ModelSpec]:
        return [ESPEAK_TTS]

    async def generate(self, request: GenerationRequest, ctx: RunContext) -> None:
        settings = SpeechSettings.from_params(request.params)
        text = request.prompt.strip()
        if not text:
            raise RunFailure("input_invalid", "prompt must contain the text to speak")
        if len(text) > MAX_TEXT_CHARS:
            raise RunFailure("input_invalid", f"prompt is longer than {MAX_TEXT_CHARS} characters")
        ctx.progress(5)
        speech = await asyncio.to_thread(
            _synthesize, text, voice=settings.voice, speed=settings.speed, pitch=settings.pitch
        )
        if not speech.samples:
            raise RunFailure("input_invalid", "the prompt produced no speech; give it words to read")
        ctx.progress(70)
        wav_bytes = speech.to_wav()
        if settings.format == "wav":
            ctx.save_output(wav_bytes, "audio", content_type="audio/wav", suffix=".wav")
        else:
            wav_path = ctx.new_path("speech.wav")
            wav_path.write_bytes(wav_bytes)
            mp3_path = ctx.new_path("speech.mp3")
            await asyncio.to_thread(
                run_ffmpeg, ["-i", wav_path, "-codec:a", "libmp3lame", "-q:a", "4", mp3_path]
            )
            ctx.save_output(mp3_path, "audio", content_type="audio/mpeg", suffix=".mp3")
        ctx.progress(100)


def _synthesize(text: str, *, voice: str, speed: int, pitch: int) -> Speech:
    return EspeakLibrary.shared().synthesize(text, voice=voice, speed=speed, pitch=pitch)
