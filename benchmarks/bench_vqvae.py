"""VQ-VAE panel speed: token-grid decode latency and codebook atlas build time.

    python benchmarks/bench_vqvae.py [--checkpoint assets/vqvae-shapes] [--threads 1]

Prints:
- token-grid decode latency at batch 1 (grid -> code lookup -> decoder -> uint8 image),
  p50/p99, under inference_mode, one cell edited per call as when a user paints codes;
  target: p50 <= 3 ms on one thread (also the thread's CPU time, which other processes
  on a busy machine do not inflate);
- atlas build time for the whole codebook (one decoded tile per code), fill and centre tiles;
- encoding a data set to tokens (what usage, perplexity and top items per code start from)
  and the NumPy queries on the token array that follow.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def timed(fn, repeats: int) -> tuple[list[float], list[float]]:
    """Wall-clock and this thread's CPU milliseconds per call."""
    times, cpu_times = [], []
    for _ in range(repeats):
        start, cpu_start = time.perf_counter(), time.thread_time()
        fn()
        times.append((time.perf_counter() - start) * 1000)
        cpu_times.append((time.thread_time() - cpu_start) * 1000)
    return times, cpu_times


def load_model(checkpoint: str | None):
    from playground.core.checkpoints import load_checkpoint
    from playground.core.models.vqvae import VQVAE, VQVAEConfig

    if checkpoint and Path(checkpoint).exists():
        loaded = load_checkpoint(checkpoint)
        return loaded.model, loaded.name
    torch.manual_seed(0)  # speed does not depend on the weights: an untrained default model will do
    return VQVAE(VQVAEConfig()).eval().requires_grad_(False), "untrained default VQVAEConfig"


def bench_decode(model, n: int) -> None:
    from playground.core.codebook.analysis import decode_tokens

    rng = np.random.default_rng(0)
    g, k = model.grid_size, model.codebook_size
    grid = rng.integers(0, k, (g, g))
    for _ in range(30):
        decode_tokens(model, grid)
    times, cpu_times = [], []
    for _ in range(n):
        grid[rng.integers(g), rng.integers(g)] = rng.integers(k)  # one edited cell per frame
        start, cpu_start = time.perf_counter(), time.thread_time()
        image = decode_tokens(model, grid)
        times.append((time.perf_counter() - start) * 1000)
        cpu_times.append((time.thread_time() - cpu_start) * 1000)
    assert image.dtype == np.uint8 and image.flags.c_contiguous
    print(f"token-grid decode, batch 1, {g}x{g} grid -> {image.shape[1]}x{image.shape[2]} uint8: "
          f"p50 {percentile(times, 50):.2f} ms, p99 {percentile(times, 99):.2f} ms, "
          f"min {min(times):.2f} ms over {n} calls  (target p50 <= 3 ms)")
    # On a shared machine wall time includes waiting for a core; the thread's CPU time does not.
    print(f"  same calls, CPU time of the decoding thread: p50 {percentile(cpu_times, 50):.2f} ms, "
          f"p99 {percentile(cpu_times, 99):.2f} ms")


def bench_atlas(model, repeats: int) -> None:
    from playground.core.codebook.analysis import codebook_atlas

    codebook_atlas(model)
    for label, background in (("fill", None), ("centre", 0)):
        times, cpu_times = timed(lambda: codebook_atlas(model, background=background), repeats)
        print(f"atlas ({label} tiles), all {model.codebook_size} codes: median {np.median(times):.1f} ms, "
              f"max {max(times):.1f} ms over {repeats} builds (CPU time median {np.median(cpu_times):.1f} ms)")


def bench_dataset(model, data_size: int) -> None:
    from playground.core.data import load_dataset
    from playground.core.codebook.analysis import codebook_usage, encode_tokens, perplexity, top_items_for_code

    data = load_dataset("shapes", n=data_size, seed=1)
    start, cpu_start = time.perf_counter(), time.thread_time()
    tokens = encode_tokens(model, data.images)
    encode_s, encode_cpu_s = time.perf_counter() - start, time.thread_time() - cpu_start
    counts = codebook_usage(tokens, model.codebook_size)
    query, _ = timed(lambda: top_items_for_code(tokens, int(counts.argmax()), k=16), 20)
    usage, _ = timed(lambda: (codebook_usage(tokens, model.codebook_size), perplexity(counts)), 20)
    print(f"encode {data_size} shapes to tokens: {encode_s:.2f} s ({data_size / encode_s:.0f} images/s; "
          f"CPU time {encode_cpu_s:.2f} s); then usage + perplexity {np.median(usage):.2f} ms, "
          f"top 16 items for a code {np.median(query):.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=str(Path(__file__).resolve().parents[1] / "assets" / "vqvae-shapes"))
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the GUI worker uses 1)")
    parser.add_argument("--n", type=int, default=1000, help="decode calls to time")
    parser.add_argument("--atlas-repeats", type=int, default=10)
    parser.add_argument("--data-size", type=int, default=2000)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model, name = load_model(args.checkpoint)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"torch {torch.__version__}, {os.cpu_count()} cores, {torch.get_num_threads()} torch thread(s), "
          f"python {sys.version.split()[0]}, load average {load:.1f}; model: {name} "
          f"(K={model.codebook_size}, D={model.config.code_dim}, channels {model.config.channels}, "
          f"decoder {sum(p.numel() for p in model.decoder.parameters()) / 1e3:.0f}k parameters)")
    bench_decode(model, args.n)
    bench_atlas(model, args.atlas_repeats)
    bench_dataset(model, args.data_size)


if __name__ == "__main__":
    main()
