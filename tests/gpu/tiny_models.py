"""Tiny random Stable Diffusion pipelines, built from configs and saved with save_pretrained,
the way diffusers tests its own pipelines: real loading code, real denoising, no download."""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Any

import torch
from diffusers import (
    AutoencoderKL,
    DDIMScheduler,
    FlowMatchEulerDiscreteScheduler,
    FluxFillPipeline,
    FluxPipeline,
    FluxTransformer2DModel,
    SD3Transformer2DModel,
    StableDiffusion3Pipeline,
    StableDiffusionInpaintPipeline,
    StableDiffusionPipeline,
    UNet2DConditionModel,
)
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from tokenizers.pre_tokenizers import Whitespace
from transformers import (
    CLIPTextConfig,
    CLIPTextModel,
    CLIPTextModelWithProjection,
    CLIPTokenizer,
    PreTrainedTokenizerFast,
    T5Config,
    T5EncoderModel,
)

NATIVE_SIDE = 64  # unet sample_size 32 x the VAE's factor of 2


def write_tokenizer(folder: Path) -> CLIPTokenizer:
    """A CLIP tokenizer over single letters: small, and every prompt still tokenizes."""
    folder.mkdir(parents=True, exist_ok=True)
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1, "!": 2}
    for char in string.ascii_lowercase + string.digits:
        vocab[char] = len(vocab)
        vocab[f"{char}</w>"] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    return CLIPTokenizer(
        str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=77
    )


def _components(folder: Path, unet_in_channels: int) -> dict[str, object]:
    torch.manual_seed(0)
    tokenizer = write_tokenizer(folder.with_name(f"{folder.name}-vocab"))
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=32,
        in_channels=unet_in_channels,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
    )
    vae = AutoencoderKL(
        block_out_channels=(32, 64),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        latent_channels=4,
    )
    text_encoder = _clip_text_encoder(len(tokenizer))
    scheduler = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )
    return {
        "vae": vae,
        "text_encoder": text_encoder,
        "tokenizer": tokenizer,
        "unet": unet,
        "scheduler": scheduler,
        "safety_checker": None,
        "feature_extractor": None,
        "requires_safety_checker": False,
    }


def build_text_to_image(folder: Path) -> Path:
    StableDiffusionPipeline(**_components(folder, 4)).save_pretrained(folder)  # type: ignore[arg-type]
    return folder


def build_inpainting(folder: Path) -> Path:
    """An inpainting UNet: 4 latent + 1 mask + 4 masked-image channels in."""
    StableDiffusionInpaintPipeline(**_components(folder, 9)).save_pretrained(folder)  # type: ignore[arg-type]
    return folder


def _clip_config(vocab_size: int) -> CLIPTextConfig:
    return CLIPTextConfig(
        bos_token_id=0,
        eos_token_id=1,
        pad_token_id=1,
        hidden_size=32,
        intermediate_size=37,
        num_attention_heads=4,
        num_hidden_layers=2,
        vocab_size=vocab_size,
        projection_dim=32,
    )


def _clip_text_encoder(vocab_size: int) -> CLIPTextModel:
    return CLIPTextModel(_clip_config(vocab_size))


def _clip_with_projection(vocab_size: int) -> CLIPTextModelWithProjection:
    return CLIPTextModelWithProjection(_clip_config(vocab_size))


def _t5(d_model: int) -> tuple[PreTrainedTokenizerFast, T5EncoderModel]:
    """A T5 encoder and, standing in for T5's tokenizer, a word-level one over single letters."""
    words = {"<pad>": 0, "</s>": 1, "<unk>": 2}
    for char in string.ascii_lowercase:
        words[char] = len(words)
    t5_words = Tokenizer(WordLevel(words, unk_token="<unk>"))
    t5_words.pre_tokenizer = Whitespace()
    t5_tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=t5_words,
        pad_token="<pad>",
        eos_token="</s>",
        unk_token="<unk>",
        model_max_length=64,
    )
    t5 = T5EncoderModel(
        T5Config(
            vocab_size=len(words),
            d_model=d_model,
            d_kv=8,
            d_ff=37,
            num_layers=2,
            num_heads=4,
            pad_token_id=0,
            eos_token_id=1,
            decoder_start_token_id=0,
        )
    )
    return t5_tokenizer, t5


def _one_level_vae(latent_channels: int) -> AutoencoderKL:
    """A VAE that keeps the pixel grid (vae_scale_factor 1), as diffusers' own FLUX/SD3 tests."""
    return AutoencoderKL(
        sample_size=32,
        in_channels=3,
        out_channels=3,
        block_out_channels=(4,),
        layers_per_block=1,
        latent_channels=latent_channels,
        norm_num_groups=1,
        use_quant_conv=False,
        use_post_quant_conv=False,
        shift_factor=0.0609,
        scaling_factor=1.5035,
    )


def _flux_components(folder: Path, **transformer: Any) -> dict[str, Any]:
    torch.manual_seed(0)
    clip_tokenizer = write_tokenizer(folder.with_name(f"{folder.name}-vocab"))
    t5_tokenizer, t5 = _t5(32)
    flux = FluxTransformer2DModel(
        patch_size=1,
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=32,
        pooled_projection_dim=32,
        axes_dims_rope=(4, 4, 8),
        **transformer,
    )
    vae = _one_level_vae(1)
    return {
        "scheduler": FlowMatchEulerDiscreteScheduler(),
        "vae": vae,
        "text_encoder": _clip_text_encoder(len(clip_tokenizer)),
        "tokenizer": clip_tokenizer,
        "text_encoder_2": t5,
        "tokenizer_2": t5_tokenizer,
        "transformer": flux,
    }


def build_flux(folder: Path) -> Path:
    """A tiny FLUX.1-shaped pipeline: CLIP and T5 text encoders (a word-level tokenizer the test
    writes stands in for T5's), a one-block flux transformer, a one-level VAE."""
    FluxPipeline(**_flux_components(folder, in_channels=4)).save_pretrained(folder)
    return folder


def build_flux_fill(folder: Path) -> Path:
    """A tiny FLUX.1 Fill pipeline. Its transformer takes, per packed (2x2) latent token, the
    noisy latents (1 latent channel x 4), the masked image's latents (1 x 4) and the mask at
    the VAE's factor (1 x 1 x 4, the factor being 1 here): 12 channels in, 4 out; guidance
    distilled, as FLUX.1 Fill [dev] is."""
    components = _flux_components(folder, in_channels=12, out_channels=4, guidance_embeds=True)
    FluxFillPipeline(**components).save_pretrained(folder)
    return folder


def build_sd3(folder: Path) -> Path:
    """A tiny Stable Diffusion 3 pipeline: two CLIP encoders with projection (their pooled
    outputs, 2 x 32, are the transformer's pooled projection; their hidden states, 2 x 32, are
    padded to T5's 64), a T5 encoder, a one-layer MMDiT over 2x2 patches, and a one-level VAE
    with 16 latent channels, as SD3's: its inpainting pipeline takes no other latent width."""
    torch.manual_seed(0)
    clip_tokenizer = write_tokenizer(folder.with_name(f"{folder.name}-vocab"))
    t5_tokenizer, t5 = _t5(64)
    transformer = SD3Transformer2DModel(
        sample_size=32,
        patch_size=2,
        in_channels=16,
        out_channels=16,
        num_layers=1,
        attention_head_dim=8,
        num_attention_heads=4,
        caption_projection_dim=32,
        joint_attention_dim=64,
        pooled_projection_dim=64,
    )
    StableDiffusion3Pipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0),
        vae=_one_level_vae(16),
        text_encoder=_clip_with_projection(len(clip_tokenizer)),
        tokenizer=clip_tokenizer,
        text_encoder_2=_clip_with_projection(len(clip_tokenizer)),
        tokenizer_2=clip_tokenizer,
        text_encoder_3=t5,
        tokenizer_3=t5_tokenizer,
        transformer=transformer,
    ).save_pretrained(folder)
    return folder
