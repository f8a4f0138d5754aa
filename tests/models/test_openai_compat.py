"""The OpenAI-compatible backend against a loopback server speaking the OpenAI REST protocol."""

from __future__ import annotations

import base64
import json
import time

import pytest
from PIL import Image

from stamen.errors import RunFailure
from stamen.models import openai_compat
from stamen.models.base import GenerationRequest

from .conftest import Reply, backend_loader

API_KEY = "sk-test-0123456789abcdefSECRET"


def chat_completion(content: str | None, finish_reason: str = "stop") -> dict:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "llama3.1",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish_reason}
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }


@pytest.fixture
def backend_for(fake_provider, remote_env):
    return backend_loader(
        openai_compat.load,
        {**remote_env, "STAMEN_OPENAI_BASE_URL": fake_provider.url + "/v1", "STAMEN_OPENAI_API_KEY": API_KEY},
        models_variable="STAMEN_OPENAI_MODELS",
        default_models="text:llama3.1,image:dall-e-3,audio:tts-1",
    )


def request_for(backend, model_id: str, prompt: str = "hello", **params) -> GenerationRequest:
    spec = next(s for s in backend.models() if s.model_id == model_id)
    return GenerationRequest(model=spec, prompt=prompt, params=params)


def test_load_returns_none_without_configuration():
    assert openai_compat.load({}) is None


def test_models_come_from_the_env_list_with_typed_params(backend_for):
    backend = backend_for("text:llama3.1,image:t2i-dalle=dall-e-3,audio:tts-1")
    by_id = {spec.model_id: spec for spec in backend.models()}
    assert set(by_id) == {"llama3.1", "t2i-dalle", "tts-1"}
    assert by_id["t2i-dalle"].type == "image" and by_id["t2i-dalle"].target == "dall-e-3"
    assert {p.name for p in by_id["tts-1"].params} >= {"voice", "response_format"}


async def test_chat_completion_sends_openai_request_shape_and_saves_text(backend_for, fake_provider, ctx):
    fake_provider.route("POST", "/v1/chat/completions", chat_completion("Hi there"))
    backend = backend_for()
    await backend.generate(
        request_for(backend, "llama3.1", "Say hi", system="Be brief", temperature=0.2), ctx
    )

    [sent] = fake_provider.requests_to("POST", "/v1/chat/completions")
    assert sent.headers["authorization"] == f"Bearer {API_KEY}"
    body = sent.json()
    assert body["model"] == "llama3.1"
    assert body["temperature"] == 0.2
    assert body["messages"] == [
        {"role": "system", "content": "Be brief"},
        {"role": "user", "content": "Say hi"},
    ]
    assert [(o.media_type, o.text) for o in ctx.outputs] == [("text", "Hi there")]


async def test_chat_with_image_url_sends_the_image_inline(backend_for, fake_provider, ctx, png_bytes):
    image_url = fake_provider.serve_file("/inputs/cat.png", png_bytes, "image/png")
    fake_provider.route("POST", "/v1/chat/completions", chat_completion("A red box"))
    backend = backend_for()
    await backend.generate(request_for(backend, "llama3.1", "Describe", image_url=image_url), ctx)

    content = fake_provider.requests_to("POST", "/v1/chat/completions")[0].json()["messages"][-1]["content"]
    assert content[0] == {"type": "text", "text": "Describe"}
    data_uri = content[1]["image_url"]["url"]
    assert data_uri.startswith("data:image/png;base64,")
    assert base64.b64decode(data_uri.split(",", 1)[1]) == png_bytes


async def test_image_generation_saves_b64_png(backend_for, fake_provider, ctx, png_bytes):
    encoded = base64.b64encode(png_bytes).decode()
    fake_provider.route("POST", "/v1/images/generations", {"created": 1, "data": [{"b64_json": encoded}]})
    backend = backend_for()
    await backend.generate(request_for(backend, "dall-e-3", "a red box", size="1024x1024", n=1), ctx)

    body = fake_provider.requests_to("POST", "/v1/images/generations")[0].json()
    assert body == {"model": "dall-e-3", "prompt": "a red box", "size": "1024x1024", "n": 1}
    [output] = ctx.outputs
    assert output.media_type == "image" and output.content_type == "image/png"
    with Image.open(output.path) as image:
        assert image.size == (64, 48)


async def test_image_url_outputs_are_downloaded_into_the_run(backend_for, fake_provider, ctx, png_bytes):
    output_url = fake_provider.serve_file("/signed/out.png", png_bytes, "image/png")
    fake_provider.route("POST", "/v1/images/generations", {"created": 1, "data": [{"url": output_url}]})
    backend = backend_for()
    await backend.generate(request_for(backend, "dall-e-3", "a red box"), ctx)

    [output] = ctx.outputs
    assert output.path.read_bytes() == png_bytes
    assert output.path.is_relative_to(ctx.workdir)


async def test_image_with_source_image_calls_the_edits_endpoint(backend_for, fake_provider, ctx, png_bytes):
    source = fake_provider.serve_file("/inputs/source.png", png_bytes, "image/png")
    encoded = base64.b64encode(png_bytes).decode()
    fake_provider.route("POST", "/v1/images/edits", {"created": 1, "data": [{"b64_json": encoded}]})
    backend = backend_for()
    await backend.generate(request_for(backend, "dall-e-3", "make it blue", image_url=source), ctx)

    [sent] = fake_provider.requests_to("POST", "/v1/images/edits")
    assert sent.headers["content-type"].startswith("multipart/form-data")
    assert b'name="prompt"' in sent.body and b"make it blue" in sent.body
    assert png_bytes in sent.body
    assert len(ctx.outputs) == 1


async def test_speech_saves_audio_with_its_format(backend_for, fake_provider, ctx):
    audio = b"ID3" + bytes(range(256)) * 4
    fake_provider.route("POST", "/v1/audio/speech", Reply(200, audio, {"content-type": "audio/mpeg"}))
    backend = backend_for()
    await backend.generate(
        request_for(backend, "tts-1", "Hello world", voice="nova", response_format="mp3"), ctx
    )

    body = fake_provider.requests_to("POST", "/v1/audio/speech")[0].json()
    assert body == {"model": "tts-1", "input": "Hello world", "voice": "nova", "response_format": "mp3"}
    [output] = ctx.outputs
    assert output.media_type == "audio" and output.content_type == "audio/mpeg"
    assert output.path.read_bytes() == audio


async def test_models_are_listed_from_the_server_when_none_are_configured(fake_provider, remote_env):
    fake_provider.route(
        "GET",
        "/v1/models",
        {
            "object": "list",
            "data": [
                {"id": name, "object": "model", "created": 0, "owned_by": "me"}
                for name in ("llama3.1", "tts-1", "text-embedding-3-small", "dall-e-3")
            ],
        },
    )
    backend = openai_compat.load({**remote_env, "STAMEN_OPENAI_BASE_URL": fake_provider.url + "/v1"})
    types = {spec.model_id: spec.type for spec in backend.models()}
    assert types == {"llama3.1": "text", "tts-1": "audio", "dall-e-3": "image"}
    backend.models()
    assert len(fake_provider.requests_to("GET", "/v1/models")) == 1


async def test_rate_limit_is_retried_after_retry_after(backend_for, fake_provider, ctx):
    fake_provider.sequence(
        "POST",
        "/v1/chat/completions",
        [
            Reply(
                429, {"error": {"message": "Rate limit reached", "type": "requests"}}, {"retry-after": "1"}
            ),
            chat_completion("after the wait"),
        ],
    )
    backend = backend_for()
    started = time.monotonic()
    await backend.generate(request_for(backend, "llama3.1"), ctx)

    assert time.monotonic() - started >= 0.9
    assert len(fake_provider.requests_to("POST", "/v1/chat/completions")) == 2
    assert ctx.outputs[0].text == "after the wait"


async def test_persistent_server_errors_fail_with_the_provider_message(backend_for, fake_provider, ctx):
    fake_provider.route(
        "POST",
        "/v1/chat/completions",
        Reply(500, {"error": {"message": "model llama3.1 crashed", "type": "server"}}),
    )
    backend = backend_for()
    with pytest.raises(RunFailure) as failed:
        await backend.generate(request_for(backend, "llama3.1"), ctx)

    assert failed.value.code == "provider_error"
    assert "model llama3.1 crashed" in failed.value.message
    assert len(fake_provider.requests_to("POST", "/v1/chat/completions")) == 3  # STAMEN_REMOTE_RETRY_ATTEMPTS


async def test_content_policy_rejection_is_safety_blocked(backend_for, fake_provider, ctx):
    fake_provider.route(
        "POST",
        "/v1/images/generations",
        Reply(
            400,
            {
                "error": {
                    "message": "Your request was rejected as a result of our safety system.",
                    "code": "content_policy_violation",
                    "type": "invalid_request_error",
                }
            },
        ),
    )
    backend = backend_for()
    with pytest.raises(RunFailure) as failed:
        await backend.generate(request_for(backend, "dall-e-3"), ctx)
    assert failed.value.code == "safety_blocked"
    assert "safety system" in failed.value.message
    assert len(fake_provider.requests_to("POST", "/v1/images/generations")) == 1


async def test_content_filter_finish_reason_is_safety_blocked(backend_for, fake_provider, ctx):
    fake_provider.route("POST", "/v1/chat/completions", chat_completion(None, finish_reason="content_filter"))
    backend = backend_for()
    with pytest.raises(RunFailure) as failed:
        await backend.generate(request_for(backend, "llama3.1"), ctx)
    assert failed.value.code == "safety_blocked"


async def test_rejected_key_never_appears_in_the_failure(backend_for, fake_provider, ctx):
    def echo_key(request):
        return Reply(
            401, {"error": {"message": f"Incorrect API key provided: {request.headers['authorization']}"}}
        )

    fake_provider.route("POST", "/v1/chat/completions", echo_key)
    backend = backend_for()
    with pytest.raises(RunFailure) as failed:
        await backend.generate(request_for(backend, "llama3.1"), ctx)
    assert failed.value.code == "provider_error"
    assert "Incorrect API key" in failed.value.message
    assert API_KEY not in failed.value.message and API_KEY[:20] not in failed.value.message


@pytest.mark.parametrize(
    "reply",
    [
        Reply(200, {"id": "x", "object": "chat.completion", "choices": []}),
        Reply(200, "<html>gateway says hi</html>", {"content-type": "text/html"}),
        Reply(200, {"choices": [{"index": 0, "message": {"role": "assistant", "content": 42}}]}),
    ],
    ids=["no-choices", "not-json", "wrong-type"],
)
async def test_malformed_chat_responses_fail_as_provider_error(backend_for, fake_provider, ctx, reply):
    fake_provider.route("POST", "/v1/chat/completions", reply)
    backend = backend_for()
    with pytest.raises(RunFailure) as failed:
        await backend.generate(request_for(backend, "llama3.1"), ctx)
    assert failed.value.code == "provider_error"
    assert "openai" in failed.value.message


async def test_image_response_without_images_is_a_provider_error(backend_for, fake_provider, ctx):
    fake_provider.route("POST", "/v1/images/generations", {"created": 1, "data": []})
    backend = backend_for()
    with pytest.raises(RunFailure, match="no images") as failed:
        await backend.generate(request_for(backend, "dall-e-3"), ctx)
    assert failed.value.code == "provider_error"


async def test_slow_server_fails_as_model_timeout(backend_for, fake_provider, ctx):
    fake_provider.route("POST", "/v1/chat/completions", Reply(200, chat_completion("late"), delay=2))
    backend = backend_for(STAMEN_REMOTE_REQUEST_TIMEOUT_SECONDS="0.3")
    started = time.monotonic()
    with pytest.raises(RunFailure) as failed:
        await backend.generate(request_for(backend, "llama3.1"), ctx)
    assert failed.value.code == "model_timeout"
    assert time.monotonic() - started < 1.9


async def test_run_deadline_fails_as_model_timeout(backend_for, fake_provider, ctx):
    fake_provider.route("POST", "/v1/chat/completions", Reply(200, chat_completion("late"), delay=2))
    backend = backend_for(STAMEN_REMOTE_TIMEOUT_SECONDS="0.3")
    with pytest.raises(RunFailure, match="within 0.3 seconds") as failed:
        await backend.generate(request_for(backend, "llama3.1"), ctx)
    assert failed.value.code == "model_timeout"


async def test_unreachable_image_input_fails_as_input_unreachable(backend_for, fake_provider, ctx):
    fake_provider.route("POST", "/v1/chat/completions", chat_completion("unused"))
    backend = backend_for()
    missing = fake_provider.url + "/inputs/missing.png"
    with pytest.raises(RunFailure) as failed:
        await backend.generate(request_for(backend, "llama3.1", image_url=missing), ctx)
    assert failed.value.code == "input_unreachable"
    assert "params.image_url" in failed.value.message and "404" in failed.value.message
    assert fake_provider.requests_to("POST", "/v1/chat/completions") == []


async def test_private_input_urls_are_refused_unless_allowed(backend_for, fake_provider, ctx, png_bytes):
    image_url = fake_provider.serve_file("/inputs/cat.png", png_bytes, "image/png")
    backend = backend_for(STAMEN_FETCH_ALLOW_PRIVATE="0")
    with pytest.raises(RunFailure, match="private address") as failed:
        await backend.generate(request_for(backend, "llama3.1", image_url=image_url), ctx)
    assert failed.value.code == "input_unreachable"


async def test_catalog_entries_add_models_with_their_own_ids(backend_for, tmp_path, fake_provider, ctx):
    catalog = tmp_path / "models.toml"
    catalog.write_text(
        '[[models]]\nid = "t2t-house-llm"\nbackend = "openai"\ntarget = "qwen2.5"\nprice = 0.001\n'
        "fixed_params = { seed = 7 }\n"
    )
    fake_provider.route("POST", "/v1/chat/completions", chat_completion("ok"))
    backend = backend_for(STAMEN_MODELS_FILE=str(catalog))
    spec = next(s for s in backend.models() if s.model_id == "t2t-house-llm")
    assert spec.type == "text" and spec.price == 0.001 and spec.params  # default text params filled in
    await backend.generate(GenerationRequest(model=spec, prompt="hi"), ctx)
    body = fake_provider.requests_to("POST", "/v1/chat/completions")[0].json()
    assert body["model"] == "qwen2.5" and body["seed"] == 7
    assert json.dumps(body).count(API_KEY) == 0
