"""What every remote model backend needs: settings, retries, input/output transfer, error mapping, redaction.

Backends call providers through the providers' own clients; this module keeps the parts that must behave the
same everywhere: rate limits are retried with backoff (honouring `Retry-After`), URL inputs are fetched once
(so an unreachable input fails as `input_unreachable`), provider output URLs are streamed into the run's
scratch directory under a size limit (they expire), and no secret reaches a log line, error or run record.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import email.utils
import logging
import math
import mimetypes
import random
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from stamen.errors import RunFailure
from stamen.execution.context import MediaType, RunContext
from stamen.net import check_public_host

logger = logging.getLogger(__name__)

T = TypeVar("T")

SAFETY_MARKERS = (
    "content_policy",
    "content policy",
    "safety",
    "nsfw",
    "moderation",
    "moderated",
    "flagged as sensitive",
    "inappropriate",
)
TOKEN_PATTERNS = (
    re.compile(r"(?i)(bearer|key|token)\s+[A-Za-z0-9._~+/=:-]{8,}"),
    re.compile(r"\bsk-[A-Za-z0-9_-]{8,}"),
    re.compile(r"\br8_[A-Za-z0-9]{8,}"),
)
EXTENSION_BY_CONTENT_TYPE = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/webp": ".webp",
    "image/gif": ".gif",
    "video/mp4": ".mp4",
    "video/webm": ".webm",
    "video/quicktime": ".mov",
    "audio/mpeg": ".mp3",
    "audio/wav": ".wav",
    "audio/x-wav": ".wav",
    "audio/ogg": ".ogg",
    "audio/flac": ".flac",
    "audio/aac": ".aac",
    "audio/opus": ".opus",
}
DEFAULT_CONTENT_TYPE: dict[str, str] = {"image": "image/png", "video": "video/mp4", "audio": "audio/mpeg"}


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {raw!r}") from None


def _bool(env: Mapping[str, str], name: str, default: bool = False) -> bool:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class RemoteSettings:
    """Knobs shared by the remote backends (`STAMEN_REMOTE_*`); defaults suit real providers."""

    timeout_seconds: float = 900.0  # whole run, submit to downloaded output
    poll_seconds: float = 1.0  # status polling interval for queued jobs
    request_timeout_seconds: float = 120.0  # one HTTP request
    retry_attempts: int = 5  # tries of one call on 429/5xx/connection errors
    retry_base_seconds: float = 1.0  # first backoff delay, doubled per attempt
    retry_max_seconds: float = 60.0  # cap on any single wait, Retry-After included
    max_output_bytes: int = 1024**3
    max_input_bytes: int = 200 * 1024**2
    inline_input_bytes: int = 20 * 1024**2  # inputs up to this size go to providers as data: URIs
    allow_private_inputs: bool = False  # let URL inputs point at loopback/private hosts

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RemoteSettings:
        return cls(
            timeout_seconds=_float(env, "STAMEN_REMOTE_TIMEOUT_SECONDS", cls.timeout_seconds),
            poll_seconds=_float(env, "STAMEN_REMOTE_POLL_SECONDS", cls.poll_seconds),
            request_timeout_seconds=_float(
                env, "STAMEN_REMOTE_REQUEST_TIMEOUT_SECONDS", cls.request_timeout_seconds
            ),
            retry_attempts=int(_float(env, "STAMEN_REMOTE_RETRY_ATTEMPTS", cls.retry_attempts)),
            retry_base_seconds=_float(env, "STAMEN_REMOTE_RETRY_BASE_SECONDS", cls.retry_base_seconds),
            retry_max_seconds=_float(env, "STAMEN_REMOTE_RETRY_MAX_SECONDS", cls.retry_max_seconds),
            max_output_bytes=int(_float(env, "STAMEN_REMOTE_MAX_OUTPUT_BYTES", cls.max_output_bytes)),
            max_input_bytes=int(_float(env, "STAMEN_REMOTE_MAX_INPUT_BYTES", cls.max_input_bytes)),
            inline_input_bytes=int(_float(env, "STAMEN_REMOTE_INLINE_INPUT_BYTES", cls.inline_input_bytes)),
            allow_private_inputs=_bool(env, "STAMEN_FETCH_ALLOW_PRIVATE"),
        )


# --- secrets ---------------------------------------------------------------------------------------------


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Replace known secrets and anything shaped like a credential with `***`."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    for pattern in TOKEN_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) + " ***") if m.lastindex else "***", text)
    return text


def failure(code: str, message: str, secrets: Iterable[str | None] = ()) -> RunFailure:
    """A RunFailure whose message is redacted and kept short enough for a run record."""
    clean = redact(" ".join(message.split()), secrets)
    if len(clean) > 1000:
        clean = clean[:997] + "..."
    return RunFailure(code, clean)


def looks_like_safety_block(*texts: object) -> bool:
    joined = " ".join(str(t) for t in texts if t).lower()
    return any(marker in joined for marker in SAFETY_MARKERS)


def failure_for_status(
    provider: str, status: int | None, message: str, secrets: Iterable[str | None] = ()
) -> RunFailure:
    """Map a provider HTTP error to a run error code, keeping the provider's own words."""
    detail = message or "no details given"
    if status in (408, 504):
        return failure("model_timeout", f"{provider} timed out: {detail}", secrets)
    if status in (400, 403, 422) and looks_like_safety_block(detail):
        return failure("safety_blocked", f"{provider} refused the request: {detail}", secrets)
    if status in (401, 403):
        return failure(
            "provider_error", f"{provider} rejected Stamen's credentials ({status}): {detail}", secrets
        )
    if status == 429:
        return failure("provider_error", f"{provider} is rate limiting requests (429): {detail}", secrets)
    label = f"HTTP {status}" if status else "error"
    return failure("provider_error", f"{provider} {label}: {detail}", secrets)


# --- retries ---------------------------------------------------------------------------------------------


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP-date); None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


@dataclass(frozen=True)
class RetryAdvice:
    """A classifier's verdict that a failed call may be tried again, after `after` seconds if the server said."""

    after: float | None = None


async def with_retries(
    call: Callable[[], Awaitable[T]],
    classify: Callable[[BaseException], RetryAdvice | None],
    settings: RemoteSettings,
    *,
    what: str = "request",
) -> T:
    """Await `call()`; on a retryable error wait (Retry-After, else exponential backoff with jitter) and retry."""
    attempt = 1
    while True:
        try:
            return await call()
        except Exception as exc:
            advice = classify(exc)
            if advice is None or attempt >= settings.retry_attempts:
                raise
            if advice.after is not None:
                delay = advice.after
            else:
                delay = settings.retry_base_seconds * (2 ** (attempt - 1)) * random.uniform(0.8, 1.2)
            delay = min(delay, settings.retry_max_seconds)
            logger.info(
                "retrying %s in %.2fs (attempt %d failed: %s)", what, delay, attempt, type(exc).__name__
            )
            await asyncio.sleep(delay)
            attempt += 1


def retry_advice_for_status(status: int | None, headers: Mapping[str, str] | None) -> RetryAdvice | None:
    """429 and 5xx (but not 501) are worth another try; anything else is final."""
    if status is None:
        return None
    if status == 429 or (status >= 500 and status != 501):
        retry_after = None
        if headers is not None:
            retry_after = parse_retry_after(headers.get("retry-after") or headers.get("Retry-After"))
        return RetryAdvice(after=retry_after)
    return None


def classify_httpx_error(exc: BaseException) -> RetryAdvice | None:
    if isinstance(exc, httpx.HTTPStatusError):
        return retry_advice_for_status(exc.response.status_code, exc.response.headers)
    if isinstance(exc, httpx.TransportError):
        return RetryAdvice()
    return None


def retry_advice_for_transport(exc: BaseException) -> RetryAdvice | None:
    """A connection error is worth another try; a timeout is not (a slow generation stays slow)."""
    if isinstance(exc, httpx.TransportError) and not isinstance(exc, httpx.TimeoutException):
        return RetryAdvice()
    return None


# --- progress and deadlines ------------------------------------------------------------------------------


def estimated_progress(
    elapsed: float, estimated_seconds: float, start: float = 10.0, end: float = 90.0
) -> float:
    """A progress figure that rises with elapsed time and approaches `end` without reaching it."""
    scale = max(estimated_seconds, 1.0)
    return start + (end - start) * (1.0 - math.exp(-elapsed / scale))


async def run_with_deadline(
    work: Awaitable[T],
    seconds: float,
    *,
    provider: str,
    on_give_up: Callable[[], Awaitable[None]] | None = None,
) -> T:
    """Await `work` for at most `seconds`; on timeout (or cancellation) call `on_give_up` (e.g. cancel the job)."""
    try:
        async with asyncio.timeout(seconds):
            return await work
    except TimeoutError:
        await _give_up(on_give_up)
        raise RunFailure("model_timeout", f"{provider} did not finish within {seconds:g} seconds") from None
    except asyncio.CancelledError:
        await _give_up(on_give_up)
        raise


async def generate_within_deadline(
    work: Awaitable[None],
    settings: RemoteSettings,
    *,
    provider: str,
    secrets: Iterable[str | None],
    to_failure: Callable[[Exception], RunFailure],
    on_give_up: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Await a backend's generation within `settings.timeout_seconds`; every error leaves as a redacted RunFailure."""
    try:
        await run_with_deadline(work, settings.timeout_seconds, provider=provider, on_give_up=on_give_up)
    except RunFailure as exc:
        raise failure(exc.code, exc.message, secrets) from None
    except Exception as exc:  # any other provider/client error becomes a RunFailure
        raise to_failure(exc) from None


async def _give_up(on_give_up: Callable[[], Awaitable[None]] | None) -> None:
    if on_give_up is None:
        return
    try:
        await asyncio.shield(asyncio.wait_for(on_give_up(), timeout=10))
    except Exception as exc:
        logger.warning("could not cancel the provider job: %s", type(exc).__name__)


class ProviderJob:
    """Holds the cancel action of a submitted provider job so a timeout or a cancelled run can stop it."""

    def __init__(self) -> None:
        self._cancel: Callable[[], Awaitable[Any]] | None = None

    def started(self, cancel: Callable[[], Awaitable[Any]]) -> None:
        self._cancel = cancel

    def finished(self) -> None:
        self._cancel = None

    async def cancel(self) -> None:
        if self._cancel is not None:
            cancel, self._cancel = self._cancel, None
            await cancel()


def unexpected(provider: str, exc: BaseException, secrets: Iterable[str | None] = ()) -> RunFailure:
    """A provider answer Stamen could not understand (malformed JSON, missing fields, wrong types)."""
    return failure(
        "provider_error", f"{provider} returned a malformed response ({type(exc).__name__}: {exc})", secrets
    )


def transport_failure(provider: str, exc: BaseException, secrets: Iterable[str | None] = ()) -> RunFailure:
    """An httpx timeout or connection error by its run error code; anything else is a malformed answer."""
    if isinstance(exc, httpx.TimeoutException):
        return failure("model_timeout", f"{provider} did not answer in time", secrets)
    if isinstance(exc, httpx.TransportError):
        return failure("provider_error", f"cannot reach {provider}: {type(exc).__name__}", secrets)
    return unexpected(provider, exc, secrets)


# --- inputs ----------------------------------------------------------------------------------------------


def url_params(params: Mapping[str, Any]) -> dict[str, str | list[str]]:
    """Params that carry media by URL (`image_url`, `video_url`, `image_urls`, ...), by the FLORA convention."""
    found: dict[str, str | list[str]] = {}
    for name, value in params.items():
        if name.endswith("_url") and isinstance(value, str) and value:
            found[name] = value
        elif name.endswith("_urls") and isinstance(value, list) and all(isinstance(v, str) for v in value):
            found[name] = list(value)
    return found


async def _refuse_private_hosts(request: httpx.Request) -> None:
    """httpx request hook: runs for the first request and for every redirect hop."""
    if problem := await asyncio.to_thread(check_public_host, request.url.host):
        raise RunFailure("input_unreachable", f"refusing to fetch {_safe_url(str(request.url))}: {problem}")


@dataclass
class FetchedInput:
    url: str
    path: Path
    content_type: str
    size: int

    def as_data_uri(self) -> str:
        encoded = base64.b64encode(self.path.read_bytes()).decode("ascii")
        return f"data:{self.content_type};base64,{encoded}"


async def fetch_input(url: str, ctx: RunContext, settings: RemoteSettings, *, name: str) -> FetchedInput:
    """Download a URL input into the run's scratch dir; any failure is `input_unreachable` naming the param."""
    if url.startswith("data:"):
        content_type, payload = _decode_data_uri(url, name)
        path = ctx.new_path(f"input_{name}{_extension(content_type, '')}")
        path.write_bytes(payload)
        return FetchedInput(url, path, content_type, len(payload))
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RunFailure("input_unreachable", f"params.{name} must be an http(s) URL")
    if not settings.allow_private_inputs and (
        problem := await asyncio.to_thread(check_public_host, parts.hostname)
    ):
        raise RunFailure("input_unreachable", f"params.{name} cannot be fetched: {problem}")
    path = ctx.new_path(f"input_{name}{Path(parts.path).suffix[:8]}")
    try:
        content_type = await _stream_to_file(
            url, path, settings.max_input_bytes, settings, refuse_private=not settings.allow_private_inputs
        )
    except _TooLarge:
        raise RunFailure(
            "input_unreachable", f"params.{name} is larger than {settings.max_input_bytes} bytes"
        ) from None
    except httpx.HTTPStatusError as exc:
        raise RunFailure(
            "input_unreachable", f"params.{name} could not be fetched: HTTP {exc.response.status_code}"
        ) from None
    except httpx.HTTPError as exc:
        raise RunFailure(
            "input_unreachable", f"params.{name} could not be fetched: {type(exc).__name__}"
        ) from None
    return FetchedInput(url, path, content_type or _guess_type(url), path.stat().st_size)


async def inputs_for_provider(
    params: Mapping[str, Any], ctx: RunContext, settings: RemoteSettings
) -> dict[str, Any]:
    """Params with URL inputs checked and, when small, replaced by data: URIs the provider can always read."""
    prepared = dict(params)
    for name, value in url_params(params).items():
        urls = value if isinstance(value, list) else [value]
        converted = []
        for index, url in enumerate(urls):
            fetched = await fetch_input(
                url, ctx, settings, name=name if len(urls) == 1 else f"{name}_{index}"
            )
            converted.append(fetched.as_data_uri() if fetched.size <= settings.inline_input_bytes else url)
        prepared[name] = converted if isinstance(value, list) else converted[0]
    return prepared


# --- outputs ---------------------------------------------------------------------------------------------


class _TooLarge(Exception):
    pass


async def _stream_to_file(
    url: str, path: Path, max_bytes: int, settings: RemoteSettings, *, refuse_private: bool = False
) -> str | None:
    """Stream `url` to `path`; `refuse_private` checks the host of every hop, redirects included."""
    timeout = httpx.Timeout(
        settings.request_timeout_seconds, connect=min(30.0, settings.request_timeout_seconds)
    )

    hooks = {"request": [_refuse_private_hosts]} if refuse_private else {}

    async def attempt() -> str | None:
        async with (
            httpx.AsyncClient(follow_redirects=True, timeout=timeout, event_hooks=hooks) as client,
            client.stream("GET", url) as response,
        ):
            response.raise_for_status()
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise _TooLarge()
            written = 0
            with path.open("wb") as sink:
                async for chunk in response.aiter_bytes(1 << 16):
                    written += len(chunk)
                    if written > max_bytes:
                        raise _TooLarge()
                    sink.write(chunk)
            content_type = response.headers.get("content-type")
            return content_type.split(";")[0].strip() if content_type else None

    try:
        return await with_retries(attempt, classify_httpx_error, settings, what=f"download {_safe_url(url)}")
    except BaseException:
        path.unlink(missing_ok=True)
        raise


async def save_remote_output(
    source: str,
    ctx: RunContext,
    media_type: MediaType,
    settings: RemoteSettings,
    *,
    provider: str,
    content_type: str | None = None,
) -> None:
    """Copy a provider output (URL or data: URI) into ctx; provider URLs expire, so nothing keeps pointing there."""
    index = len(ctx.outputs) + 1
    if source.startswith("data:"):
        declared, payload = _decode_data_uri(source, "output", code="provider_error")
        if len(payload) > settings.max_output_bytes:
            raise RunFailure(
                "provider_error", f"{provider} returned an output over {settings.max_output_bytes} bytes"
            )
        kind = content_type or declared
        ctx.save_output(payload, media_type, content_type=kind, suffix=_extension(kind, ".bin"))
        return
    parts = urlsplit(source)
    if parts.scheme not in ("http", "https"):
        raise RunFailure(
            "provider_error", f"{provider} returned an output that is not a URL: {source[:80]!r}"
        )
    suffix = Path(parts.path).suffix[:8]
    path = ctx.new_path(f"output_{index}{suffix}")
    try:
        served_type = await _stream_to_file(source, path, settings.max_output_bytes, settings)
    except _TooLarge:
        raise RunFailure(
            "provider_error", f"{provider} returned an output over {settings.max_output_bytes} bytes"
        ) from None
    except httpx.HTTPStatusError as exc:
        raise RunFailure(
            "provider_error",
            f"could not download {provider}'s output ({_safe_url(source)}): HTTP {exc.response.status_code}",
        ) from None
    except httpx.HTTPError as exc:
        raise RunFailure(
            "provider_error",
            f"could not download {provider}'s output ({_safe_url(source)}): {type(exc).__name__}",
        ) from None
    kind = (
        content_type
        or _useful_type(served_type)
        or _guess_type(source)
        or DEFAULT_CONTENT_TYPE.get(media_type)
    )
    if not suffix and kind:
        renamed = path.with_suffix(_extension(kind, ""))
        path = path.rename(renamed) if renamed != path else path
    ctx.save_output(path, media_type, content_type=kind)


def _useful_type(content_type: str | None) -> str | None:
    if not content_type or content_type in ("application/octet-stream", "binary/octet-stream"):
        return None
    return content_type


def _decode_data_uri(uri: str, name: str, *, code: str = "input_unreachable") -> tuple[str, bytes]:
    header, comma, data = uri.partition(",")
    if not header.startswith("data:") or not comma:
        raise RunFailure(code, f"{name} is not a valid data: URI")
    meta = header[5:].split(";")
    content_type = meta[0] or "application/octet-stream"
    try:
        payload = base64.b64decode(data, validate=False) if "base64" in meta[1:] else data.encode()
    except (binascii.Error, ValueError):
        raise RunFailure(code, f"{name} has invalid base64 data") from None
    return content_type, payload


def _guess_type(url: str) -> str:
    guessed, _ = mimetypes.guess_type(urlsplit(url).path)
    return guessed or ""


def _extension(content_type: str | None, default: str) -> str:
    if not content_type:
        return default
    return EXTENSION_BY_CONTENT_TYPE.get(content_type) or mimetypes.guess_extension(content_type) or default


def _safe_url(url: str) -> str:
    """A URL without its query string (signed URLs carry tokens there)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"
