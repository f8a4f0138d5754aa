"""OpenAI-compatible HTTP backend: chat completions (text), images (image), speech (audio).

One backend covers OpenAI, Ollama, vLLM, LM Studio and LocalAI: they share the wire format, spoken here by
the official `openai` client pointed at `STAMEN_OPENAI_BASE_URL`. Models come from `STAMEN_OPENAI_MODELS`
(`text:llama3.1,image:dall-e-3,audio:tts-1`), from catalog entries with `backend = "openai"`, or, when
neither names any, from the server's `GET /models` (read once, on first use).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from typing import Any

from stamen.errors import RunFailure
from stamen.execution.context import RunContext
from stamen.models import catalog_file
from stamen.models.base import GenerationRequest, ModelParam, ModelSpec, ParamOption
from stamen.models.catalog_file import CatalogEntry, CatalogError
from stamen.models.remote_common import (
    RemoteSettings,
    RetryAdvice,
    failure,
    failure_for_status,
    fetch_input,
    generate_within_deadline,
    looks_like_safety_block,
    redact,
    retry_advice_for_status,
    save_remote_output,
    unexpected,
    with_retries,
)

logger = logging.getLogger(__name__)

PROVIDER = "openai"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
PLACEHOLDER_KEY = "stamen-no-key"  # local servers (Ollama, vLLM) accept any key; the client insists on one
SPEECH_FORMATS = ("mp3", "wav", "opus", "flac", "aac", "pcm")
SPEECH_CONTENT_TYPES = {
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "opus": "audio/opus",
    "flac": "audio/flac",
    "aac": "audio/aac",
    "pcm": "audio/L16",
}
DEFAULT_PARAMS: dict[str, tuple[ModelParam, ...]] = {
    "text": (
        ModelParam("system", "string", description="System prompt"),
        ModelParam("temperature", "float", min=0, max=2),
        ModelParam("max_tokens", "int", min=1),
        ModelParam("image_url", "string", description="Image for vision models"),
    ),
    "image": (
        ModelParam("size", "string", description="e.g. 1024x1024"),
        ModelParam("quality", "string"),
        ModelParam("n", "int", default=1, min=1, max=4, description="Number of images"),
        ModelParam("image_url", "string", description="Source image: edits it (images/edits)"),
    ),
    "audio": (
        ModelParam("voice", "string", default="alloy"),
        ModelParam(
            "response_format",
            "string",
            default="mp3",
            options=tuple(ParamOption(value=f, label=f) for f in SPEECH_FORMATS),
        ),
        ModelParam("speed", "float", min=0.25, max=4),
    ),
}
ESTIMATED_SECONDS = {"text": 5, "image": 15, "audio": 5}
NOT_GENERATIVE = ("embed", "whisper", "transcribe", "moderation", "rerank")


class OpenAICompatBackend:
    """Text, image and audio models of one OpenAI-compatible server."""

    name = PROVIDER

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None,
        entries: list[CatalogEntry],
        settings: RemoteSettings,
        discover: bool = False,
    ) -> None:
        import openai  # the `remote` extra

        self.base_url = base_url
        self.settings = settings
        self._api_key = api_key
        self._entries = {entry.spec.model_id: entry for entry in entries}
        self._discover = discover and not entries
        self._discovered_at: float | None = None
        self._client = openai.AsyncOpenAI(
            api_key=api_key or PLACEHOLDER_KEY,
            base_url=base_url,
            max_retries=0,  # Stamen retries (with_retries) so every backend backs off the same way
            timeout=settings.request_timeout_seconds,
        )

    def models(self) -> list[ModelSpec]:
        if self._discover and (self._discovered_at is None or time.monotonic() - self._discovered_at > 60):
            self._discover_models()
        return [entry.spec for entry in self._entries.values()]

    def _discover_models(self) -> None:
        """Read the server's `GET /models` once; a failure is logged and retried a minute later."""
        import openai

        self._discovered_at = time.monotonic()
        try:
            client = openai.OpenAI(
                api_key=self._api_key or PLACEHOLDER_KEY, base_url=self.base_url, max_retries=0, timeout=5
            )
            names = [model.id for model in client.models.list()]
        except Exception as exc:
            logger.warning("could not list models of %s: %s", self.base_url, self._redact(str(exc)))
            return
        items = [f"{guess_type(n)}:{n}" for n in names if guess_type(n)]
        entries = catalog_file.parse_model_list(
            ",".join(items),
            backend=PROVIDER,
            variable="GET /models",
            default_params=DEFAULT_PARAMS,
            estimated_seconds=ESTIMATED_SECONDS,
        )
        self._entries = {entry.spec.model_id: entry for entry in entries}
        self._discover = False

    async def generate(self, request: GenerationRequest, ctx: RunContext) -> None:
        entry = self._entries.get(request.model.model_id) or CatalogEntry(request.model, PROVIDER)
        await generate_within_deadline(
            self._generate(entry, request, ctx),
            self.settings,
            provider=PROVIDER,
            secrets=[self._api_key],
            to_failure=self._failure,
        )

    async def _generate(self, entry: CatalogEntry, request: GenerationRequest, ctx: RunContext) -> None:
        ctx.progress(5)
        kind = request.model.type
        if kind == "text":
            await self._chat(entry, request, ctx)
        elif kind == "image":
            await self._image(entry, request, ctx)
        elif kind == "audio":
            await self._speech(entry, request, ctx)
        else:
            raise RunFailure("provider_error", f"the OpenAI-compatible backend cannot make {kind} outputs")

    async def _chat(self, entry: CatalogEntry, request: GenerationRequest, ctx: RunContext) -> None:
        params = dict(request.params)
        system = params.pop("system", None)
        image_url = params.pop("image_url", None)
        content: Any = request.prompt
        if image_url:
            image = await fetch_input(image_url, ctx, self.settings, name="image_url")
            content = [
                {"type": "text", "text": request.prompt},
                {"type": "image_url", "image_url": {"url": image.as_data_uri()}},
            ]
        messages = ([{"role": "system", "content": system}] if system else []) + [
            {"role": "user", "content": content}
        ]
        completion = await self._call(
            lambda: self._client.chat.completions.create(
                model=entry.target, messages=messages, **entry.provider_inputs(params)
            )
        )
        try:
            choice = completion.choices[0]
            finish_reason = choice.finish_reason
            text = choice.message.content
        except (AttributeError, IndexError, TypeError) as exc:
            raise unexpected(PROVIDER, exc) from None
        if finish_reason == "content_filter":
            raise RunFailure("safety_blocked", "the model's content filter stopped the answer")
        refusal = getattr(choice.message, "refusal", None)
        if refusal and not text:
            raise RunFailure("safety_blocked", f"the model refused: {refusal}")
        if not isinstance(text, str):
            raise RunFailure("provider_error", f"{PROVIDER} returned a completion without text")
        ctx.save_output(text, "text")

    async def _image(self, entry: CatalogEntry, request: GenerationRequest, ctx: RunContext) -> None:
        params = dict(request.params)
        image_url = params.pop("image_url", None)
        inputs = entry.provider_inputs(params)
        if image_url:
            source = await fetch_input(image_url, ctx, self.settings, name="image_url")
            upload = (source.path.name, source.path.read_bytes(), source.content_type or "image/png")
            response = await self._call(
                lambda: self._client.images.edit(
                    model=entry.target, prompt=request.prompt, image=upload, **inputs
                )
            )
        else:
            response = await self._call(
                lambda: self._client.images.generate(model=entry.target, prompt=request.prompt, **inputs)
            )
        ctx.progress(80)
        images = getattr(response, "data", None)
        if not images:
            raise RunFailure("provider_error", f"{PROVIDER} returned no images")
        content_type = f"image/{getattr(response, 'output_format', None) or 'png'}".replace("jpg", "jpeg")
        for image in images:
            b64 = getattr(image, "b64_json", None)
            url = getattr(image, "url", None)
            if b64:
                source_uri = f"data:{content_type};base64,{b64}"
            elif url:
                source_uri = url
            else:
                raise RunFailure(
                    "provider_error", f"{PROVIDER} returned an image with neither b64_json nor url"
                )
            await save_remote_output(source_uri, ctx, "image", self.settings, provider=PROVIDER)

    async def _speech(self, entry: CatalogEntry, request: GenerationRequest, ctx: RunContext) -> None:
        params = dict(request.params)
        params.setdefault("voice", "alloy")
        audio_format = params.get("response_format") or "mp3"
        response = await self._call(
            lambda: self._client.audio.speech.create(
                model=entry.target, input=request.prompt, **entry.provider_inputs(params)
            )
        )
        audio = response.content
        if not audio:
            raise RunFailure("provider_error", f"{PROVIDER} returned empty audio")
        if looks_like_json_error(audio):
            raise RunFailure("provider_error", f"{PROVIDER} returned JSON instead of audio: {audio[:200]!r}")
        content_type = SPEECH_CONTENT_TYPES.get(audio_format, "audio/mpeg")
        ctx.save_output(audio, "audio", content_type=content_type, suffix=f".{audio_format}")

    async def _call(self, make_call: Any) -> Any:
        return await with_retries(make_call, classify_openai_error, self.settings, what=f"{PROVIDER} request")

    def _redact(self, text: str) -> str:
        return redact(text, [self._api_key])

    def _failure(self, exc: BaseException) -> RunFailure:
        import openai

        secrets = [self._api_key]
        if isinstance(exc, openai.APITimeoutError):
            return failure("model_timeout", f"{PROVIDER} did not answer in time", secrets)
        if isinstance(exc, openai.APIStatusError):
            return failure_for_status(PROVIDER, exc.status_code, openai_error_message(exc), secrets)
        if isinstance(exc, openai.APIConnectionError):
            return failure("provider_error", f"cannot reach {self.base_url}: {exc.message}", secrets)
        if isinstance(exc, openai.ContentFilterFinishReasonError):
            return failure("safety_blocked", str(exc), secrets)
        return unexpected(PROVIDER, exc, secrets)


def openai_error_message(exc: Any) -> str:
    """The provider's own words: `error.message` (+ `error.code`) of the body, else the response text."""
    body = getattr(exc, "body", None)
    error = body.get("error", body) if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("message"):
        code = error.get("code") or error.get("type")
        message = str(error["message"])
        return f"{message} ({code})" if code and code not in message else message
    if isinstance(error, str):
        return error
    try:
        return exc.response.text[:500] or str(exc.message)
    except Exception:
        return str(getattr(exc, "message", exc))


def classify_openai_error(exc: BaseException) -> RetryAdvice | None:
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return None  # a slow generation is not helped by asking again
    if isinstance(exc, openai.APIStatusError):
        if looks_like_safety_block(openai_error_message(exc)):
            return None
        return retry_advice_for_status(exc.status_code, exc.response.headers)
    if isinstance(exc, openai.APIConnectionError):
        return RetryAdvice()
    return None


def looks_like_json_error(payload: bytes) -> bool:
    return payload[:1] == b"{" and b'"error"' in payload[:200]


def guess_type(model_name: str) -> str | None:
    """Modality of a model listed by `GET /models`, by name; None for non-generative models."""
    lowered = model_name.lower()
    if any(marker in lowered for marker in NOT_GENERATIVE):
        return None
    if any(marker in lowered for marker in ("dall-e", "gpt-image", "flux", "stable-diffusion", "sdxl")):
        return "image"
    if "tts" in lowered or "speech" in lowered:
        return "audio"
    return "text"


def load(settings_env: Mapping[str, str] = os.environ) -> OpenAICompatBackend | None:
    """The backend when `STAMEN_OPENAI_BASE_URL` or `STAMEN_OPENAI_API_KEY` is set; None otherwise."""
    base_url = settings_env.get("STAMEN_OPENAI_BASE_URL") or None
    api_key = settings_env.get("STAMEN_OPENAI_API_KEY") or None
    if not base_url and not api_key:
        return None
    entries = catalog_file.configured_entries(
        PROVIDER,
        settings_env,
        variable="STAMEN_OPENAI_MODELS",
        default_params=DEFAULT_PARAMS,
        estimated_seconds=ESTIMATED_SECONDS,
    )
    for entry in entries:
        if entry.spec.type not in DEFAULT_PARAMS:
            raise CatalogError(
                f"model {entry.spec.model_id}: the openai backend serves text, image and audio only"
            )
    return OpenAICompatBackend(
        base_url=(base_url or DEFAULT_BASE_URL).rstrip("/"),
        api_key=api_key,
        entries=entries,
        settings=RemoteSettings.from_env(settings_env),
        discover=True,
    )
