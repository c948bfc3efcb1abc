"""Tiny random-weight diffusers pipelines, built here and saved with save_pretrained: nothing downloaded.

The same layout as a real DDPM/DDIM or Stable Diffusion folder, at toy sizes (8x8 U-Net
samples, a 2-block VAE, a 2-layer CLIP text encoder, a tokenizer whose vocabulary is the
letters written by `write_tokenizer`).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

SPECIAL = ["<|startoftext|>", "<|endoftext|>"]
LETTERS = "abcdefghijklmnopqrstuvwxyz"
CONTEXT = 12  # the tokenizer's max length (Stable Diffusion's is 77)


def write_tokenizer(folder: Path) -> Path:
    """A CLIP BPE tokenizer over single letters (a word is its letters, the last marked </w>)."""
    folder.mkdir(parents=True, exist_ok=True)
    vocab = {token: i for i, token in enumerate(list(LETTERS) + [c + "</w>" for c in LETTERS] + SPECIAL)}
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    from transformers import CLIPTokenizer

    tokenizer = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=CONTEXT,
                              pad_token="<|endoftext|>")
    tokenizer.save_pretrained(folder)
    return folder


def scheduler_config(prediction_type: str = "epsilon", **overrides) -> dict:
    return {"num_train_timesteps": 1000, "beta_schedule": "linear", "beta_start": 0.0001, "beta_end": 0.02,
            "prediction_type": prediction_type, "clip_sample": True, **overrides}


def unconditional_pipeline(root: Path, prediction_type: str = "epsilon", seed: int = 0, **scheduler) -> Path:
    """A DDPMPipeline folder: UNet2DModel (3x8x8) + DDPMScheduler."""
    from diffusers import DDPMPipeline, DDPMScheduler, UNet2DModel

    torch.manual_seed(seed)
    unet = UNet2DModel(sample_size=8, in_channels=3, out_channels=3, layers_per_block=1, block_out_channels=(16, 32),
                       norm_num_groups=8, down_block_types=("DownBlock2D", "AttnDownBlock2D"),
                       up_block_types=("AttnUpBlock2D", "UpBlock2D"))
    pipe = DDPMPipeline(unet=unet, scheduler=DDPMScheduler(**scheduler_config(prediction_type, **scheduler)))
    pipe.save_pretrained(root)
    return root


def sd_pipeline(root: Path, prediction_type: str = "epsilon", seed: int = 0, *, latent_size: int = 8,
                channels: tuple[int, int] = (16, 32), **scheduler) -> Path:
    """A StableDiffusionPipeline folder: UNet2DConditionModel on a 4x8x8 latent (`latent_size`), a VAE
    painting 16x16, a CLIP text encoder, the letter tokenizer and a DDIMScheduler with SD's settings."""
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(sample_size=latent_size, in_channels=4, out_channels=4, layers_per_block=1,
                                block_out_channels=channels, norm_num_groups=8, cross_attention_dim=32,
                                attention_head_dim=8, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                                up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"))
    vae = AutoencoderKL(in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(16, 32),
                        norm_num_groups=8, sample_size=2 * latent_size, down_block_types=("DownEncoderBlock2D",) * 2,
                        up_block_types=("UpDecoderBlock2D",) * 2)
    tokenizer = CLIPTokenizer.from_pretrained(write_tokenizer(root / "_tokenizer_src"))
    text_encoder = CLIPTextModel(CLIPTextConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2,
        max_position_embeddings=CONTEXT, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id))
    config = scheduler_config(prediction_type, beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012,
                              clip_sample=False, set_alpha_to_one=False, steps_offset=1, **scheduler)
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
                                   scheduler=DDIMScheduler(**config), safety_checker=None, feature_extractor=None,
                                   requires_safety_checker=False)
    pipe.save_pretrained(root / "sd")
    return root / "sd"
