"""The local diffusers backend with a tiny Stable Diffusion pipeline built from configs (random weights).

Real loading code (`from_pretrained(local_files_only=True)`), a real denoising loop, a real PNG out.
"""

from __future__ import annotations

import io
import json
import string

import pytest
from PIL import Image

from stamen.errors import RunFailure
from stamen.models import diffusers_local
from stamen.models.base import GenerationRequest

pytest.importorskip("diffusers")
pytest.importorskip("transformers")
torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A ~350 KB StableDiffusionPipeline saved like any downloaded model folder."""
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    root = tmp_path_factory.mktemp("diffusers")
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(8, 16),
        layers_per_block=1,
        sample_size=8,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=8,
        attention_head_dim=2,
        norm_num_groups=4,
    )
    vae = AutoencoderKL(
        block_out_channels=(8,),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",),
        up_block_types=("UpDecoderBlock2D",),
        latent_channels=4,
        norm_num_groups=4,
        sample_size=32,
    )
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=1,
            hidden_size=8,
            intermediate_size=16,
            num_attention_heads=2,
            num_hidden_layers=1,
            vocab_size=100,
            max_position_embeddings=16,
        )
    )
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for char in string.ascii_lowercase + string.digits:
        vocab[char] = len(vocab)
        vocab[char + "</w>"] = len(vocab)
    tokenizer_dir = root / "tokenizer-src"
    tokenizer_dir.mkdir()
    (tokenizer_dir / "vocab.json").write_text(json.dumps(vocab))
    (tokenizer_dir / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(
        str(tokenizer_dir / "vocab.json"), str(tokenizer_dir / "merges.txt"), model_max_length=16
    )
    scheduler = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )
    pipeline = StableDiffusionPipeline(
        unet=unet,
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    model_dir = root / "tiny-sd"
    pipeline.save_pretrained(model_dir)
    return model_dir


@pytest.fixture
def backend(tiny_model, tmp_path):
    loaded = diffusers_local.load(
        {
            "STAMEN_DIFFUSERS_MODELS": f"{tiny_model},t2i-missing=acme/not-in-cache",
            "STAMEN_DIFFUSERS_CACHE_DIR": str(tmp_path / "empty-hf-cache"),
            "STAMEN_FETCH_ALLOW_PRIVATE": "1",
        }
    )
    assert loaded is not None
    return loaded


def request_for(backend, model_id: str = "tiny-sd", prompt: str = "a red cat", **params) -> GenerationRequest:
    spec = next(s for s in backend.models() if s.model_id == model_id)
    defaults = {p.name: p.default for p in spec.params if p.default is not None}
    return GenerationRequest(model=spec, prompt=prompt, params={**defaults, **params})


def png_of(output) -> Image.Image:
    with Image.open(output.path) as image:
        image.load()
        return image


def test_load_returns_none_when_no_model_is_configured():
    assert diffusers_local.load({}) is None


def test_models_are_named_after_their_folder_or_given_id(backend):
    specs = {spec.model_id: spec for spec in backend.models()}
    assert set(specs) == {"tiny-sd", "t2i-missing"}
    assert all(spec.type == "image" and spec.provider == "diffusers" for spec in specs.values())
    assert {"num_inference_steps", "seed", "image_url"} <= {p.name for p in specs["tiny-sd"].params}


async def test_text_to_image_denoises_and_writes_a_png(backend, ctx, progress):
    await backend.generate(request_for(backend, num_inference_steps=3, width=32, height=40, seed=1), ctx)

    [output] = ctx.outputs
    assert output.media_type == "image" and output.content_type == "image/png"
    image = png_of(output)
    assert image.format == "PNG" and image.size == (32, 40)
    step_reports = [p for p in progress.values if p > 10]
    assert len(step_reports) >= 3 and progress.values == sorted(progress.values)


async def test_same_seed_gives_the_same_image(backend, ctx, tmp_path):
    await backend.generate(request_for(backend, num_inference_steps=2, width=32, height=32, seed=7), ctx)
    await backend.generate(request_for(backend, num_inference_steps=2, width=32, height=32, seed=7), ctx)
    await backend.generate(request_for(backend, num_inference_steps=2, width=32, height=32, seed=8), ctx)
    first, second, third = (png_of(o).tobytes() for o in ctx.outputs)
    assert first == second
    assert first != third


async def test_image_to_image_uses_the_source_image(backend, ctx, fake_provider):
    source = Image.new("RGB", (48, 32), "blue")
    buffer = io.BytesIO()
    source.save(buffer, format="PNG")
    url = fake_provider.serve_file("/inputs/blue.png", buffer.getvalue(), "image/png")

    await backend.generate(
        request_for(backend, num_inference_steps=4, strength=0.5, seed=3, image_url=url), ctx
    )
    assert png_of(ctx.outputs[0]).size == (48, 32)


async def test_model_missing_from_the_local_cache_is_not_downloaded(backend, ctx):
    with pytest.raises(RunFailure) as failed:
        await backend.generate(request_for(backend, "t2i-missing", num_inference_steps=1), ctx)
    assert failed.value.code == "provider_error"
    assert "acme/not-in-cache" in failed.value.message and "local Hugging Face cache" in failed.value.message


async def test_broken_model_folder_is_a_provider_error(tmp_path, ctx):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model_index.json").write_text("{not json")
    backend = diffusers_local.load({"STAMEN_DIFFUSERS_MODELS": f"broken={broken}"})
    with pytest.raises(RunFailure) as failed:
        await backend.generate(request_for(backend, "broken", num_inference_steps=1), ctx)
    assert failed.value.code == "provider_error"
    assert "cannot load diffusers model" in failed.value.message


async def test_run_past_its_deadline_is_a_model_timeout(tiny_model, ctx):
    backend = diffusers_local.load(
        {"STAMEN_DIFFUSERS_MODELS": str(tiny_model), "STAMEN_DIFFUSERS_TIMEOUT_SECONDS": "0.05"}
    )
    with pytest.raises(RunFailure) as failed:
        await backend.generate(request_for(backend, num_inference_steps=150, width=64, height=64), ctx)
    assert failed.value.code == "model_timeout"
    assert ctx.outputs == []


async def test_unreachable_source_image_is_input_unreachable(backend, ctx, fake_provider):
    url = fake_provider.url + "/inputs/gone.png"
    with pytest.raises(RunFailure) as failed:
        await backend.generate(request_for(backend, num_inference_steps=1, image_url=url), ctx)
    assert failed.value.code == "input_unreachable"
