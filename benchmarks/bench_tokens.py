"""The token families on this CPU: writing tokens with and without the KV cache, CLIP encodes, the
Tokens tab's GUI stalls, a VQGAN-CLIP step.

    python benchmarks/bench_tokens.py [--repeats 3] [--no-gui]

Prints, with one torch thread (the GUI worker's setting on a 2-core machine):
- dalle, one image of 64 tokens written greedily for one prompt (guidance 1, one row): tokens per
  second with the key-value cache (`model.start` once, then `model.step` per token) and without it
  (the baseline, in the same run: `model.start` over the whole prefix for every token, so token i
  costs a forward of 8 + i positions); both write the same tokens, which is checked;
- one image as `playground sample dalle` writes it at the checkpoint's default settings (guidance
  needs both rows), decoded;
- CLIP: encode one image, one prompt (batch 1), and per image in a batch of 256;
- one VQGAN-CLIP optimisation step (quantise, decode, CLIP on 1 + 4 shifted views, backward, Adam);
- in the real window (offscreen, 1280x720), the Tokens tab writing an image as fast as it can: the
  longest GUI event-loop stall (a 1 ms heartbeat; target <= 30 ms), and at its default playback speed.

On a shared machine the CPU times (`time.process_time`: other processes do not count) are the numbers
to read; the wall times and the GUI stalls grow with the load average, printed first.

Uses the shipped checkpoints when present (mid-training ones cost the same), else fresh models of
the default training config (marked "fresh").

Measured 2026-12-05 00:45 on the 2-core AMD EPYC dev machine, shared (load average 6.1: a dalle
training run and other helpers' tests), dalle-shapes at 1500 training steps, clip-shapes 2000 (final),
vqgan-shapes 2500 (final):
    dalle, 64 tokens greedy, one row: KV cache 340 tokens/s of CPU (188 ms CPU, 941 ms wall); without the
        cache (baseline) 160 tokens/s (399 ms CPU); the cache is 2.1x faster (batch 1 is overhead-bound:
        the uncached forward over <= 72 positions costs little more than one position)
    one image as `sample dalle` writes it (w 3: both rows), decoded: 314 ms CPU, 1525 ms wall
    clip encode: one image 2.41 ms CPU, one prompt 1.47 ms CPU; per image in a batch of 256 0.51 ms CPU
    VQGAN-CLIP, one optimisation step (1 + 4 views): 16.4 ms CPU, 55 ms wall
    Tokens tab: idle reference longest gap 14 ms (p99 8); writing one image at 32 tokens/s: longest GUI
        stall 173 ms (p99 gap 137 ms, 105 gaps over 30 ms), as fast as it can: 144 ms (p99 122) -- the
        target of 30 ms is missed by the frames' handling on the GUI thread, not by the load alone
        (the idle window in the same run stays at 14 ms)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import torch

from playground.core.assets import shipped_for
from playground.core.checkpoints import WEIGHTS_NAME, LoadedModel, load_checkpoint, save_checkpoint
from harness import timed  # noqa: E402 (benchmarks/, on sys.path when a script runs)

PROMPT = "a large red circle at the top left"


def checkpoint(family: str, scratch: Path) -> LoadedModel:
    """The shipped checkpoint of `family`, else a fresh model of the default config saved under `scratch`."""
    shipped = shipped_for(family)
    if shipped is not None:
        return load_checkpoint(shipped.path)
    from playground.core.models.registry import get_family

    entry = get_family(family)
    torch.manual_seed(0)
    model = entry.build(entry.config_class()).eval()
    return load_checkpoint(save_checkpoint(scratch / f"{family}-fresh" / WEIGHTS_NAME, model, model.config, family))


@torch.inference_mode()
def write_cached(model, text: torch.Tensor) -> torch.Tensor:
    logits, cache = model.start(text)
    tokens = []
    for i in range(model.config.image_tokens):
        tokens.append(logits.argmax(-1))
        if i + 1 < model.config.image_tokens:
            logits = model.step(tokens[-1], cache)
    return torch.stack(tokens, 1)


@torch.inference_mode()
def write_uncached(model, text: torch.Tensor) -> torch.Tensor:
    tokens = torch.zeros(len(text), 0, dtype=torch.int64)
    for _ in range(model.config.image_tokens):
        logits, _ = model.start(text, tokens if tokens.shape[1] else None)
        tokens = torch.cat([tokens, logits.argmax(-1)[:, None]], 1)
    return tokens


def bench_dalle(loaded: LoadedModel, repeats: int) -> None:
    from playground.core.tokens import default_settings
    from playground.core.tokens.rerank import decode_tokens
    from playground.core.data.tokenizer import tokenize_batch
    from playground.core.tokens.sampling import sample_tokens

    model, cells = loaded.model, loaded.model.config.image_tokens
    text = tokenize_batch([PROMPT])
    if not torch.equal(write_cached(model, text), write_uncached(model, text)):
        print("  WARNING: the cached and uncached greedy runs wrote different tokens")
    cpu_c, wall_c = timed(lambda: write_cached(model, text), repeats)
    cpu_u, wall_u = timed(lambda: write_uncached(model, text), repeats)
    print(f"dalle {loaded.name} ({loaded.meta.steps} steps): {cells} tokens, greedy, one row: with KV cache "
          f"{cells / cpu_c:.0f} tokens/s of CPU ({cpu_c * 1000:.0f} ms CPU, {wall_c * 1000:.0f} ms wall); without "
          f"(baseline) {cells / cpu_u:.0f} tokens/s ({cpu_u * 1000:.0f} ms CPU, {wall_u * 1000:.0f} ms wall); "
          f"the cache is {cpu_u / cpu_c:.1f}x faster (CPU; {wall_u / wall_c:.1f}x wall)")
    settings = default_settings(loaded.meta.extra)
    cpu, wall = timed(lambda: decode_tokens(model, sample_tokens(model, PROMPT, settings, 1, 0)), repeats)
    print(f"  one image as `sample dalle` writes it (T {settings.temperature:g}, top-k {settings.top_k}, top-p "
          f"{settings.top_p:g}, w {settings.guidance:g}): {cpu * 1000:.0f} ms CPU, {wall * 1000:.0f} ms wall "
          f"({cells / cpu:.0f} tokens/s of CPU, decode included)")


def bench_clip(loaded: LoadedModel, repeats: int) -> None:
    from playground.core.clip.scores import image_embeddings, prompt_embeddings
    from playground.core.data import to_tensor
    from playground.core.data.shapes import generate

    images = to_tensor(generate(256, 5).images)
    model = loaded.model
    one_image = timed(lambda: image_embeddings(model, images[:1]), repeats * 5)
    one_prompt = timed(lambda: prompt_embeddings(model, [PROMPT]), repeats * 5)
    batch = timed(lambda: image_embeddings(model, images), repeats)
    print(f"clip {loaded.name} (CPU / wall ms): encode one image {one_image[0] * 1000:.2f} / "
          f"{one_image[1] * 1000:.2f}, "
          f"one prompt {one_prompt[0] * 1000:.2f} / {one_prompt[1] * 1000:.2f}; per image in a batch of 256 "
          f"{batch[0] * 1000 / 256:.3f} / {batch[1] * 1000 / 256:.3f}")


def bench_vqgan_clip(vq: LoadedModel, clip: LoadedModel) -> None:
    from playground.core.vqgan_clip.optimize import VQGANCLIPSettings, optimize

    steps = 20
    run = optimize(vq.model, clip.model, VQGANCLIPSettings(PROMPT, steps=steps))
    next(run)  # the start (no step taken)
    next(run)  # warm-up step
    started, cpu = time.perf_counter(), time.process_time()
    for _ in run:
        pass
    n = steps - 1
    print(f"VQGAN-CLIP ({vq.name} + {clip.name}, 1 + 4 views): one optimisation step "
          f"{(time.process_time() - cpu) * 1000 / n:.1f} ms CPU, "
          f"{(time.perf_counter() - started) * 1000 / n:.1f} ms wall")


def bench_gui(dalle: LoadedModel) -> None:
    from harness import heartbeat, open_window, pump_until as harness_pump_until

    from playground.gui.panels.tokens.token_tab import SPEEDS

    app, window = open_window()

    def pump_until(condition, timeout: float) -> bool:
        return harness_pump_until(app, condition, timeout)

    panel = window.panel_for_family("dalle")
    if panel is None or panel.title != "Tokens":
        print("Tokens tab: not in the window (yet)")
        window.close()
        return
    window.show_panel(panel)
    path = Path(dalle.path).resolve()
    window.load_into(panel, path)
    if not pump_until(lambda: panel.loaded is not None and Path(panel.loaded.path).resolve() == path, 60):
        print("Tokens tab: the model did not load within 60 s")
        window.close()
        return
    tab = panel.token_tab
    finished = lambda: tab.frame is not None and tab.frame.done and not tab.playing  # noqa: E731
    pump_until(finished, 120)  # the first image written on activation
    beat, ticks = heartbeat()
    pump_until(lambda: False, 2.0)
    beat.stop()
    idle = np.diff(np.asarray(ticks, dtype=np.float64))
    if len(idle):
        print(f"Tokens tab, idle for 2 s (the reference): longest gap {idle.max():.0f} ms, "
              f"p99 {np.percentile(idle, 99):.0f} ms")
    for index, (rate, label) in enumerate(SPEEDS):
        if rate not in (0, 32):
            continue
        tab.speed_box.setCurrentIndex(index)
        beat, ticks = heartbeat()
        started = time.perf_counter()
        tab.generate()
        pump_until(lambda: tab.frame is not None and not tab.frame.done, 10)
        done = pump_until(finished, 120)
        elapsed = time.perf_counter() - started
        beat.stop()
        gaps = np.diff(np.asarray(ticks, dtype=np.float64))
        if not done or len(gaps) == 0:
            print(f"Tokens tab ({label}): the image was not written within 120 s")
            continue
        print(f"Tokens tab, writing one image ({label}): {elapsed:.2f} s wall; longest GUI stall {gaps.max():.0f} ms "
              f"(p99 gap {np.percentile(gaps, 99):.0f} ms, {int((gaps > 30).sum())} over 30 ms; target <= 30 ms)")
    window.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per measurement (medians)")
    parser.add_argument("--no-gui", action="store_true", help="only the core numbers")
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="bench-tokens-") as scratch:
        loaded = {f: checkpoint(f, Path(scratch)) for f in ("dalle", "clip", "vqgan")}
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        fresh = [f for f, m in loaded.items() if "fresh" in m.name]
        print(f"torch {torch.__version__}, 1 torch thread, {os.cpu_count()} cores, load average {load:.1f}"
              + (f"; fresh (untrained) models of the default config: {', '.join(fresh)}" if fresh else ""),
              file=sys.stderr)
        bench_dalle(loaded["dalle"], args.repeats)
        bench_clip(loaded["clip"], args.repeats)
        bench_vqgan_clip(loaded["vqgan"], loaded["clip"])
        if not args.no_gui:
            bench_gui(loaded["dalle"])
        print(f"load average after: {os.getloadavg()[0]:.1f}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
