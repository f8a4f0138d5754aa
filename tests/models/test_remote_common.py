"""Shared remote-backend helpers: redaction, Retry-After, retries, transfers."""

from __future__ import annotations

import email.utils
import time

import pytest

from stamen.errors import RunFailure
from stamen.models.remote_common import (
    RemoteSettings,
    RetryAdvice,
    failure_for_status,
    parse_retry_after,
    redact,
    save_remote_output,
    with_retries,
)

from .conftest import Reply


def test_redact_removes_known_secrets_and_credential_shapes():
    text = "key=supersecret123 header Bearer abcdefghijkl sk-proj-ABCDEFGH1234 r8_AbCdEfGhIjKl"
    cleaned = redact(text, ["supersecret123"])
    for leaked in ("supersecret123", "abcdefghijkl", "sk-proj-ABCDEFGH1234", "r8_AbCdEfGhIjKl"):
        assert leaked not in cleaned
    assert "Bearer ***" in cleaned


def test_retry_after_accepts_seconds_and_http_dates():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    in_two_seconds = email.utils.formatdate(time.time() + 2, usegmt=True)
    assert 0.5 < parse_retry_after(in_two_seconds) <= 2.0


@pytest.mark.parametrize(
    ("status", "message", "code"),
    [
        (504, "gateway timeout", "model_timeout"),
        (400, "rejected by the safety system", "safety_blocked"),
        (400, "prompt too long", "provider_error"),
        (429, "slow down", "provider_error"),
        (503, "overloaded", "provider_error"),
    ],
)
def test_http_statuses_map_to_run_error_codes(status, message, code):
    failed = failure_for_status("acme", status, message, ["secret"])
    assert failed.code == code and message in failed.message


async def test_with_retries_gives_up_after_the_configured_attempts():
    calls = []

    async def always_busy():
        calls.append(1)
        raise RuntimeError("busy")

    settings = RemoteSettings(retry_attempts=3, retry_base_seconds=0.001)
    with pytest.raises(RuntimeError):
        await with_retries(always_busy, lambda exc: RetryAdvice(), settings)
    assert len(calls) == 3


async def test_with_retries_does_not_retry_final_errors():
    calls = []

    async def bad_request():
        calls.append(1)
        raise ValueError("bad")

    with pytest.raises(ValueError):
        await with_retries(bad_request, lambda exc: None, RemoteSettings(retry_base_seconds=0.001))
    assert len(calls) == 1


async def test_output_download_retries_server_errors(fake_provider, ctx, png_bytes):
    fake_provider.sequence(
        "GET", "/out.png", [Reply(503, "busy"), Reply(200, png_bytes, {"content-type": "image/png"})]
    )
    settings = RemoteSettings(retry_base_seconds=0.01)
    await save_remote_output(fake_provider.url + "/out.png", ctx, "image", settings, provider="acme")
    assert ctx.outputs[0].path.read_bytes() == png_bytes


async def test_output_data_uri_is_decoded(ctx):
    await save_remote_output(
        "data:audio/wav;base64,UklGRg==", ctx, "audio", RemoteSettings(), provider="acme"
    )
    [output] = ctx.outputs
    assert output.content_type == "audio/wav" and output.path.read_bytes() == b"RIFF"


async def test_output_that_is_not_a_url_is_a_provider_error(ctx):
    with pytest.raises(RunFailure, match="not a URL"):
        await save_remote_output("s3://bucket/key", ctx, "image", RemoteSettings(), provider="acme")
