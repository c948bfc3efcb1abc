"""Re-make the built-in lessons (playground/core/lessons/builtin/*.json) from real recipes.

Every scene's recipe comes from a PNG the command line wrote (`playground sample`, `encode`,
`interpolate`, `codebook`, `clip`, `attention`, `flow-compare`; `core.provenance.read_png_recipe`),
with what names this machine (checkpoint paths, SHA-256s, the device) left out, so a lesson names
its models by their shipped names. Some scenes change a recipe by hand (a DDPM frame or strip of
a 1000-step run, a guidance grid): `render_recipe` draws them all (tests/core/test_lessons_render.py).

    .venv/bin/python scripts/make_lessons.py            # about a minute on one CPU thread

Run it after a shipped model is retrained, then look at the slides
(`playground lesson NAME --export DIR`): a caption says what its picture shows.
"""

from __future__ import annotations

import contextlib
import io
import json
import shlex
import sys
import tempfile
from pathlib import Path

import torch

from playground.cli import main
from playground.core.lessons import Lesson, Scene, save_lesson
from playground.core.provenance import HELPER_ROLES, read_png_recipe

OUT = Path(__file__).resolve().parents[1] / "playground" / "core" / "lessons" / "builtin"
DROP = {"checkpoint", "weights_sha256", "steps_trained", "device", "torch_threads", "backend", "recipe_version"}
PROMPT = "a large red circle at the top left"
COMMANDS = f"""
sample ae --n 16 --seed 0 --out ae_grid.png
encode ae --image 3 --out ae_rec.png
interpolate ae --a 3 --b 7 --frames 8 --out ae_interp.png
latent-map ae --out ae_map.png
sample vae --n 16 --seed 0 --out vae_grid.png
encode vae --image 3 --out vae_rec.png
interpolate vae --a 3 --b 7 --frames 8 --out vae_interp.png
latent-map vae --out vae_map.png
sample gan --n 16 --seed 0 --out gan_grid.png
sample gan --n 4 --seed 0 --out-dir gan_dec
encode vqvae --index 3 --out vq_tokens.json
codebook --out vq_atlas.png
sample vqvae --n 16 --seed 0 --out vq_grid.png
sample ddpm --sampler ddim --steps 50 --n 1 --seed 0 --out ddpm_full.png
sample ddpm --sampler ddim --steps 20 --n 4 --seed 0 --out ddim20.png
sample text2img --prompt '{PROMPT}' --guidance 3 --sampler ddim --steps 20 --n 1 --seed 0 --out-dir t2i_one
sample text2img --base ddpm --prompt red --classifier-guidance 5 --sampler ddim --steps 20 --n 1 --seed 0 --out-dir cg_one
sample text2img --base ddpm --prompt red --classifier-guidance 5 --sampler ddim --steps 20 --n 4 --seed 0 --out cg_t2i.png
sample ldm --prompt '{PROMPT}' --sampler ddim --steps 20 --n 1 --seed 0 --out-dir ldm_one
sample ldm --prompt '{PROMPT}' --sampler ddim --steps 20 --n 8 --seed 0 --out ldm8.png
sample dit --prompt '{PROMPT}' --sampler ddim --steps 20 --n 8 --seed 0 --out dit8.png
attention dit --prompt '{PROMPT}' --steps 20 --out att.png --scale 4
sample sit --prompt '{PROMPT}' --steps 10 --n 1 --seed 0 --out-dir sit_one
sample sit --prompt '{PROMPT}' --steps 10 --n 8 --seed 0 --out sit8.png
flow-compare --steps 1,2,5,10 --out flowcmp.png --scale 4
sample dalle --prompt '{PROMPT}' --n 4 --seed 0 --out-dir dalle_dec
sample dalle --prompt 'a small blue square at the bottom right' --n 1 --seed 3 --out-dir dalle_b
sample dalle --prompt '{PROMPT}' --guidance 0 --n 1 --seed 0 --out-dir dalle_w0
clip matrix --n 8 --out clipm.png
clip matrix --n 16 --seed 2 --out clipm16.png
clip retrieve --prompt 'a small blue square' --k 8 --pool 500 --out clipr.png
clip retrieve --prompt '{PROMPT}' --k 8 --pool 500 --out clipr2.png
"""


def run_commands(folder: Path) -> None:
    for line in COMMANDS.strip().splitlines():
        args = shlex.split(line)
        args = [str(folder / a) if a.endswith((".png", ".json")) or a in {"t2i_one", "cg_one", "ldm_one", "sit_one",
                "gan_dec", "dalle_dec", "dalle_b", "dalle_w0"} else a for a in args]
        with contextlib.redirect_stdout(io.StringIO()):
            if main(args + ["--device", "cpu"]) != 0:
                sys.exit(f"playground {line}: failed")


def clean(recipe):
    """A recipe without what names this machine: checkpoint paths, SHA-256s, the device, the threads."""
    result = {}
    for key, value in recipe.items():
        if key in DROP or key.endswith("_sha256") or (key in HELPER_ROLES and isinstance(value, str) and "/" in value):
            continue
        result[key] = rounded(clean(value) if isinstance(value, dict) else value)
    return result


def rounded(value):
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


def S(title, tab, caption, recipe, action=None):
    return Scene(title, tab, caption, recipe, action)


LAT, VQ, DIF, T2I, TOK, CLIP, FLOW, TRAIN = ("VAE / AE / GAN", "VQ-VAE codebook", "Diffusion", "Text to image",
                                             "Tokens", "CLIP", "Latent / flow", "Train")


def make_lessons(W: Path) -> list[Lesson]:
    def png(name, **changes):
        r = clean(read_png_recipe(W / name))
        r.update(changes)
        return r

    # ---- autoencoder ----
    ae_rec = png("ae_rec.png", scale=1)
    ae_rec.pop("reconstruction_mse", None)
    ae_point = {"model": "ae-shapes", "family": "ae", "picture": "decode", "latent": png("ae_rec.png")["latent"],
                "scale": 1}
    ae_grid = png("ae_grid.png", scale=1)
    ae_grid["grid_of"]["scale"] = 1
    autoencoder = Lesson("autoencoder", "The autoencoder, and why its random latents are noise", (
        S("Encode, then decode", LAT,
          "An autoencoder squeezes a 32×32 image into 16 numbers, z = E(x), and decodes them back: x̂ = D(z). "
          "Left x, right x̂.", ae_rec),
        S("A latent is a point", LAT,
          "The code of that image, decoded alone. Move one coordinate of z and decode again: nearby points give "
          "similar images.", ae_point, {"kind": "sweep", "key": "latent.3", "from": round(ae_point["latent"][3] - 2.0, 2),
                                        "to": round(ae_point["latent"][3] + 2.0, 2), "frames": 24, "back": True}),
        S("Between two images", LAT,
          "Encode two images and walk from z_a to z_b: half-way, the frames break apart. The path leaves the few "
          "places where codes live.",
          png("ae_interp.png", scale=1)),
        S("Random latents are noise", LAT,
          "Now draw z ~ N(0, I) and decode: mush. Nothing asked the codes to fill N(0, I), so a random point "
          "lands where no image was ever encoded.", ae_grid),
        S("Where the codes live", LAT,
          "The codes of 1500 images (PCA): a lumpy, stretched cloud, not a round Gaussian. The VAE fixes this.",
          png("ae_map.png")),
    ))

    # ---- vae ----
    vae_rec = png("vae_rec.png", scale=1)
    vae_rec.pop("reconstruction_mse", None)
    vae_grid = png("vae_grid.png", scale=1)
    vae_grid["grid_of"]["scale"] = 1
    vae_point = {"model": "vae-shapes", "family": "vae", "picture": "decode", "latent": vae_rec["latent"], "scale": 1}
    vae = Lesson("vae", "The variational autoencoder", (
        S("Encode to a distribution", LAT,
          "The VAE's encoder outputs a mean and a spread, q(z|x) = N(μ(x), σ²(x)); decoding μ gives the "
          "reconstruction (right).", vae_rec),
        S("The KL term", LAT,
          "Training adds KL(q(z|x) ‖ N(0, I)) to the reconstruction error, pulling the codes into one round "
          "cloud: here 1500 codes, coloured by colour.", png("vae_map.png")),
        S("Random latents now work", LAT,
          "So z ~ N(0, I) decodes to shapes: the prior is where the codes live. Loss = ‖x − x̂‖² + KL.", vae_grid),
        S("A slider per dimension", LAT,
          "Drag one coordinate of z: the picture changes smoothly, because nearby codes had to decode alike.",
          vae_point, {"kind": "sweep", "key": "latent.0", "from": -2.5, "to": 2.5, "frames": 24, "back": True}),
        S("Interpolation", LAT,
          "The path between two encoded images, decoded: size and colour change step by step; only where the colour "
          "switches does a frame break.",
          png("vae_interp.png", scale=1)),
        S("Temperature", LAT,
          "z ~ N(0, τ²I): small τ gives typical, blurry shapes; large τ, faint and broken ones.", vae_grid,
          {"kind": "sweep", "key": "grid_of.temperature", "from": 0.2, "to": 2.0, "frames": 19, "back": True}),
        S("Watch it learn", TRAIN,
          "A small VAE trained live (the demo preset, about two minutes): its fixed-noise samples turn from grey "
          "fog into coloured shapes.", {"family": "vae", "model": "vae-shapes"},
          {"kind": "train", "steps": 1200, "preset": "demo"}),
    ))

    # ---- vqvae ----
    tokens = json.loads((W / "vq_tokens.json").read_text())["indices"]
    vq_tokens = {"model": "vqvae-shapes", "family": "vqvae", "picture": "tokens", "grid_size": [8, 8],
                 "codebook_size": 128, "tokens": tokens, "scale": 1}
    atlas = png("vq_atlas.png", scale=1)
    vq_grid = png("vq_grid.png", scale=1)
    vq_grid["grid_of"]["scale"] = 1
    vqvae = Lesson("vqvae", "VQ-VAE and the codebook", (
        S("The codebook", VQ,
          "A VQ-VAE learns K = 128 vectors e_k, its codebook. Each tile is one code, decoded over a whole 8×8 grid.",
          atlas),
        S("An image is a grid of tokens", VQ,
          "Each of the encoder's 8×8 outputs snaps to its nearest code, k = argmin_k ‖z − e_k‖; "
          "the decoder draws the 64 tokens.", vq_tokens),
        S("Fill the grid", VQ,
          "The same 64 tokens placed one by one in raster order, starting from a grid of the background code.",
          vq_tokens, {"kind": "fill", "key": "tokens", "order": "raster"}),
        S("Paint tokens", VQ,
          "Paint the square's inside code into four cells at the top left: the edit stays local, one token is "
          "4×4 pixels of the image.",
          vq_tokens, {"kind": "paint", "key": "tokens", "cells": [[1, 1, 66], [1, 2, 66], [2, 1, 66], [2, 2, 66]]}),
        S("How often each code is used", VQ,
          "Usage of the 128 codes on 1000 images. Perplexity = exp(entropy): the number of codes in real use.",
          png("vq_atlas_usage.png", n=1000)),
        S("Random tokens", VQ,
          "Tokens drawn one by one from their usage: the right parts in no order. A prior over whole grids is "
          "needed: DALL-E's transformer.", vq_grid),
    ))

    # ---- gan ----
    gan_grid = png("gan_grid.png", scale=1)
    gan_grid["grid_of"]["scale"] = 1
    gan_point = png("gan_dec/sample_0000.png")
    for k in ("n", "index", "seed", "temperature"):
        gan_point.pop(k, None)
    gan = Lesson("gan", "The GAN", (
        S("Images straight from noise", LAT,
          "A GAN's generator G maps z ~ N(0, I) straight to an image. There is no encoder and no reconstruction.",
          gan_grid),
        S("The adversarial game", LAT,
          "A discriminator D learns to score real images above G(z); G learns to raise D's score on its samples. "
          "Neither sees a likelihood.", dict(gan_grid, grid_of=dict(gan_grid["grid_of"], seed=16))),
        S("Sharp samples", LAT,
          "No pixel loss averages the possible images, so a GAN's samples are sharp where a VAE's are blurry.",
          gan_point),
        S("Walking the latent space", LAT,
          "Drag one coordinate of z: G has learned a smooth map, although it never saw a code for a real image.",
          gan_point, {"kind": "sweep", "key": "latent.5", "from": -2.5, "to": 2.5, "frames": 24, "back": True}),
        S("Truncation", LAT,
          "z ~ N(0, τ²I) with τ < 1 keeps to where G is best trained: less variety, fewer failures.", gan_grid,
          {"kind": "sweep", "key": "grid_of.temperature", "from": 0.1, "to": 1.5, "frames": 15, "back": True}),
    ))

    # ---- ddpm ----
    base = png("ddpm_full.png")["grid_of"]
    ddpm_one = dict(base, sampler="ddpm", steps=1000, n=1, index=0, image_seed=0)
    strip_steps = [0, 500, 800, 900, 950, 980, 999]
    ddpm_strip = {k: v for k, v in ddpm_one.items() if k not in ("n", "index", "image_seed")}
    ddpm_strip.update(picture="strip", strip_step_indices=strip_steps, views=["x_t", "pred_x0"], scale=3, seed=0)
    forward_strip = {"model": "ddpm-shapes", "family": "ddpm", "picture": "forward", "image": "3",
                     "forward_t": [0, 50, 150, 300, 500, 700, 999], "seed": 0, "scale": 4}
    ddpm_frame = {k: v for k, v in ddpm_strip.items() if k not in ("strip_step_indices",)}
    ddpm_frame.update(picture="frame", step_index=600, views=["x_t", "pred_noise", "pred_x0"], scale=4)
    ddpm_grid = png("ddim20.png", scale=1)
    ddpm_grid["grid_of"].update(sampler="ddpm", steps=1000, n=4, scale=1)
    ddpm_grid["n"] = 4
    ddpm = Lesson("ddpm", "DDPM: the forward and the reverse process", (
        S("Noise, step by step", DIF,
          "Forward: x_t = √ᾱ_t x₀ + √(1−ᾱ_t) ε with ε ~ N(0, I). Left to right t grows to 999; the signal √ᾱ_t "
          "falls to 0 and only noise is left.", forward_strip),
        S("Learning to denoise", DIF,
          "The network ε_θ(x_t, t) predicts the noise, trained on ‖ε − ε_θ(x_t, t)‖². Then "
          "x̂₀ = (x_t − √(1−ᾱ_t) ε_θ) / √ᾱ_t.", ddpm_frame),
        S("The reverse process", DIF,
          "Start from x_T ~ N(0, I); each of 1000 steps x_t → x_{t−1} removes a little predicted noise and adds a "
          "little fresh noise.", dict(ddpm_frame, step_index=999),
          {"kind": "sweep", "key": "step_index", "from": 0, "to": 999, "frames": 16}),
        S("The whole run on one slide", DIF,
          "Top: x_t. Bottom: the predicted x̂₀. The layout is decided early, among the noisiest steps; the "
          "details come last.", ddpm_strip),
    ))

    # ---- ddim ----
    ddim_grid = png("ddim20.png", scale=1)
    ddim_grid["grid_of"].update(n=8, scale=1)
    ddim_grid["n"] = 8
    ddim_frame = dict(ddpm_frame, sampler="ddim", steps=20, eta=0.0, step_index=10)
    ddim_strip = dict(ddpm_strip, sampler="ddim", steps=10, eta=0.0, strip_step_indices=list(range(10)))
    ddim = Lesson("ddim", "DDIM: the same network, far fewer steps", (
        S("A deterministic path", DIF,
          "DDIM reuses the DDPM's network. With η = 0 each step is x_{t−Δ} = √ᾱ_{t−Δ} x̂₀ + √(1−ᾱ_{t−Δ}) ε_θ: "
          "no fresh noise. 20 steps here.", ddim_grid),
        S("Fewer steps", DIF,
          "The same 8 noises with 50 steps down to 2: the samples hardly change down to 10 steps, get noisy at 6 "
          "and break at 2.",
          dict(ddim_grid, grid_of=dict(ddim_grid["grid_of"], steps=50)),
          {"kind": "sweep", "key": "grid_of.steps", "from": 50, "to": 2, "frames": 13}),
        S("Twenty steps, scrubbed", DIF,
          "x_t, the predicted noise ε_θ and x̂₀ at each of the 20 steps: x̂₀ is nearly final half-way.",
          ddim_frame, {"kind": "sweep", "key": "step_index", "from": 0, "to": 19, "frames": 20, "back": True}),
        S("Ten steps on one slide", DIF,
          "All 10 steps of a run: x_t on top, x̂₀ below. The noise x_T alone decides the sample.", ddim_strip),
        S("η: from DDIM to DDPM", DIF,
          "η = 0 adds no noise (DDIM), η = 1 as much as DDPM. The same seeds drift apart as η grows.",
          dict(ddim_grid, grid_of=dict(ddim_grid["grid_of"], eta=0.0)),
          {"kind": "sweep", "key": "grid_of.eta", "from": 0.0, "to": 1.0, "frames": 11}),
    ))

    # ---- guidance ----
    t2i = png("t2i_one/sample_0000.png")
    t2i_w1 = dict(t2i, guidance_scale=1.0)
    t2i_grid = {k: v for k, v in t2i.items() if k not in ("n", "index", "image_seed")}
    t2i_grid.update(picture="grid", grid={"axis": "w", "scales": [0.0, 1.0, 3.0, 7.0], "seeds": [0, 1]})
    t2i_grid.pop("scale", None)
    cg = png("cg_one/sample_0000.png")
    cg_grid = png("cg_t2i.png", scale=1)
    cg_grid["grid_of"].update(scale=1)
    guidance = Lesson("guidance", "Guidance: classifier and classifier-free", (
        S("A prompt as a condition", T2I,
          "The model predicts ε_θ(x_t, t, c) for a prompt c, here “a large red circle at the top left”; in training, "
          "c is sometimes dropped (c = ∅).", t2i_w1),
        S("Classifier-free guidance", T2I,
          "ε̃ = ε_θ(x_t, ∅) + w (ε_θ(x_t, c) − ε_θ(x_t, ∅)). Columns: w = 0 ignores the prompt, w = 1 is plain, "
          "w > 1 pushes past it. Rows: seeds.", t2i_grid),
        S("Sweep w", T2I,
          "The same seed as w goes from 0 to 7: at w = 0 a yellow circle ignores the prompt; from w ≈ 1 the red "
          "circle takes over.", t2i,
          {"kind": "sweep", "key": "guidance_scale", "from": 0.0, "to": 7.0, "frames": 15}),
        S("Classifier guidance", T2I,
          "An unconditional DDPM steered by a classifier trained on noisy images: "
          "ε̃ = ε_θ − s √(1−ᾱ_t) ∇ log p_φ(“red” | x_t).", cg_grid),
        S("Sweep the classifier scale", T2I,
          "s from 0 (the bare DDPM) to 10: the classifier's gradient pulls the sample toward red.", cg,
          {"kind": "sweep", "key": "classifier_scale", "from": 0.0, "to": 10.0, "frames": 11}),
    ))

    # ---- latent diffusion ----
    ldm_one = png("ldm_one/sample_0000.png")
    ldm_frame = {k: v for k, v in ldm_one.items() if k not in ("n", "index", "image_seed")}
    ldm_frame.update(picture="frame", step_index=10, views=["x_t", "pred_x0", "decoded_x0"], scale=4)
    dit8 = png("dit8.png", scale=1)
    dit8["grid_of"].update(scale=1)
    ldm8 = png("ldm8.png", scale=1)
    ldm8["grid_of"].update(scale=1)
    att = png("att.png")
    latent_diffusion = Lesson("latent-diffusion", "Latent diffusion and DiT", (
        S("Diffuse a latent, not pixels", T2I,
          "Latent diffusion runs the denoising on z = E(x), a 4×8×8 latent of an autoencoder, and decodes once at "
          "the end: x = D(z₀).", ldm_one),
        S("The run in latent space", T2I,
          "Left: the latent x_t and its predicted ẑ₀ (one tile per channel). Right: D(ẑ₀), the image it decodes to.",
          ldm_frame, {"kind": "sweep", "key": "step_index", "from": 0, "to": 19, "frames": 20}),
        S("A U-Net's samples", T2I,
          "Eight seeds of the LDM (a U-Net with cross-attention to the prompt), 20 DDIM steps each.", ldm8),
        S("DiT: a transformer denoiser", T2I,
          "DiT cuts the latent into 2×2 patches, 16 tokens, and a transformer denoises them; t enters by adaptive "
          "layer norm, the prompt by cross-attention.", dit8),
        S("Where the words look", T2I,
          "DiT's cross-attention half-way through the run: the latent cells each prompt word is attended from.",
          att),
    ))

    # ---- flow matching ----
    sit = png("sit_one/sample_0000.png")
    sit_frame = {k: v for k, v in sit.items() if k not in ("n", "index", "image_seed")}
    sit_frame.update(picture="frame", step_index=0, views=["x_t", "pred_x0", "decoded_x0"], scale=4)
    sit8 = png("sit8.png", scale=1)
    sit8["grid_of"].update(scale=1)
    flow_matching = Lesson("flow-matching", "Flow matching", (
        S("A straight path from noise", T2I,
          "Flow matching trains v_θ on x_s = (1 − s) x₀ + s ε to predict the velocity v = ε − x₀: a straight line "
          "between data and noise.", sit),
        S("Solving an ODE", T2I,
          "Sampling integrates dx/ds = v_θ(x_s, s) from s = 1 (noise) to 0 with Heun's method: 10 steps.",
          sit_frame, {"kind": "sweep", "key": "step_index", "from": 0, "to": 9, "frames": 10, "back": True}),
        S("Fewer steps still", T2I,
          "Straight paths survive big steps: the same seeds with 10 Heun steps down to 3.", sit8,
          {"kind": "sweep", "key": "grid_of.steps", "from": 10, "to": 3, "frames": 8}),
        S("DDPM, DDIM and the flow", FLOW,
          "The same noise through each sampler at 1, 2, 5 and 10 steps: by 5 steps the flow's samples are clean, "
          "DDPM's and DDIM's not yet.", png("flowcmp.png")),
    ))

    # ---- dalle ----
    d_a = png("dalle_dec/sample_0000.png")
    d_b = png("dalle_b/sample_0000.png")
    d_w0 = png("dalle_w0/sample_0000.png")
    cells = [[r, c, d_b["tokens"][r][c]] for r in (5, 6) for c in (5, 6, 7)]
    dalle = Lesson("dalle", "DALL-E: an image as tokens", (
        S("Text, then image tokens", TOK,
          "DALL-E reads the prompt's 8 tokens, then writes the image's 64 VQ-VAE tokens one at a time: "
          "p(z) = ∏ᵢ p(zᵢ | z₍<ᵢ₎, text).", d_a),
        S("Token by token", TOK,
          "Each step samples the next code (temperature 0.8, the 32 likeliest); the VQ-VAE's decoder turns the grid "
          "into pixels.", d_a, {"kind": "fill", "key": "tokens", "order": "raster"}),
        S("Another prompt", TOK, "“a small blue square at the bottom right”: other tokens, the same decoder.", d_b),
        S("Paint tokens", TOK,
          "Copy the small blue square's six tokens into the red circle's grid: a blue patch appears, not the whole "
          "square. A token's look depends on its neighbours too.",
          d_a, {"kind": "paint", "key": "tokens", "cells": cells}),
        S("Guidance on the logits", TOK,
          "With w = 0 the prompt is ignored. Guidance mixes the logits: ℓ = ℓ_∅ + w (ℓ_text − ℓ_∅); the samples "
          "before used w = 2.", d_w0),
    ))

    # ---- clip ----
    clip = Lesson("clip", "CLIP: images and text in one space", (
        S("Two encoders, one space", CLIP,
          "CLIP embeds images f(x) and captions g(c) as unit vectors; training makes each image's own caption the "
          "most similar: cos(f(x), g(c)).", png("clipm.png")),
        S("The contrastive loss", CLIP,
          "Each row is a softmax over the captions, each column one over the images; the loss is cross-entropy "
          "toward the diagonal, both ways.", png("clipm16.png")),
        S("Search by text", CLIP,
          "Embed “a small blue square” and rank 500 images no model trained on by cosine similarity: the best 8.",
          png("clipr.png", scale=1)),
        S("Another query", CLIP,
          "“a large red circle at the top left”: the same images, ranked again. No classifier was trained for this.",
          png("clipr2.png", scale=1)),
    ))


    return [autoencoder, vae, vqvae, gan, ddpm, ddim, guidance, latent_diffusion, flow_matching, dalle, clip]


if __name__ == "__main__":
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        run_commands(Path(tmp))
        for lesson in make_lessons(Path(tmp)):
            save_lesson(lesson, OUT / f"{lesson.name}.json")
            print(f"{lesson.name}: {len(lesson.scenes)} scenes")
