"""Training throughput with 1 vs several processes (data-parallel, gloo on 127.0.0.1), same global batch.

    python benchmarks/bench_distributed.py [--family vqvae] [--global-batch 64] [--steps 20] [--warmup 3]
                                          [--layouts 1x1,2x1,1x2] [--extra "--channels 32,64"]

Each layout PxT is P processes of T torch threads each, on the same global batch (P x the
per-process batch); P > 1 runs exactly as `torchrun --nproc_per_node P -m playground train`
would (the process group from the same environment variables). Timed: the steps after
`--warmup`, from process 0's step reports (startup, data and the final checkpoint excluded).
Prints steps/s and images/s (global batch x steps/s) per layout, and the load average: on a
machine busy with other jobs the numbers inflate and wander.

Measured on this project's machine (2 cores, shared with 7 other jobs: load average 6 to 14,
so each process got well under a core; the comparison is between runs, not a speed-up):
    vqvae defaults, global batch 64:  1x1 2.24 steps/s (144 images/s)  2x1 2.02 steps/s (129 images/s)  load 6
                                      1x1 1.08 steps/s (69 images/s)   2x1 0.94 steps/s (60 images/s)   load 11
                          earlier:    1x1 1.61 steps/s (103 images/s)  2x1 1.01 steps/s (64 images/s)   load 6-11
                                      1x2 0.13 steps/s (OpenMP threads spinning on a busy machine)
    gan --channels 8,16,32,64 fp32, global batch 64:  1x1 1.55 steps/s (100 images/s)  2x1 1.19 (76)  load 10
Two processes do not pay here, and not because of the messages: the vqvae's gradients (279k
floats) all-reduce over loopback gloo in 2.8 ms, under 0.3% of a step. The machine has no
idle core to give the second process (other jobs hold them), and each process runs its
kernels on half the batch with its own fixed costs. On an idle multi-core machine, or with
one GPU per process, throughput should grow with the processes (not measured: no such machine
here); several processes are meant for several GPUs or machines.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playground.core.distributed import free_port  # noqa: E402


def _process(rank: int, world: int, port: int, threads: int, argv: list[str], warmup: int, result: str) -> None:
    os.environ.update({"RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(world),
                       "LOCAL_WORLD_SIZE": str(world), "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
    import torch

    torch.set_num_threads(threads)
    from playground.core import distributed
    from playground.core.training.registry import build_trainer, parse_train_args

    trainer = build_trainer(parse_train_args(argv))
    times: dict[int, float] = {}
    trainer.run(progress=False, on_log=lambda log: times.setdefault(log.step, time.perf_counter()), log_every=1)
    if trainer.parallel.is_main:
        last = max(times)
        Path(result).write_text(json.dumps({"steps": last - warmup, "seconds": times[last] - times[warmup]}))
    distributed.shutdown()


def measure(processes: int, threads: int, args: argparse.Namespace, out: Path) -> dict:
    per_process = args.global_batch // processes
    argv = [args.family, *shlex.split(args.extra), "--steps", str(args.warmup + args.steps), "--batch-size",
            str(per_process), "--data-size", str(args.data_size), "--out", str(out / f"{processes}x{threads}"),
            "--fresh", "--checkpoint-every", "1000000", "--device", "cpu"]
    result = out / f"{processes}x{threads}.json"
    ctx = multiprocessing.get_context("spawn")
    port = free_port()
    workers = [ctx.Process(target=_process, args=(r, processes, port, threads, argv, args.warmup, str(result)))
               for r in range(processes)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if any(w.exitcode for w in workers):
        raise SystemExit(f"{processes}x{threads}: exit codes {[w.exitcode for w in workers]}")
    timing = json.loads(result.read_text())
    rate = timing["steps"] / timing["seconds"]
    return {"layout": f"{processes}x{threads}", "per_process_batch": per_process, "steps_per_s": rate,
            "images_per_s": rate * args.global_batch}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--family", default="vqvae")
    parser.add_argument("--global-batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--data-size", type=int, default=2000)
    parser.add_argument("--layouts", default="1x1,2x1", help="PxT: P processes of T threads each")
    parser.add_argument("--extra", default="", help="the family's own options, e.g. \"--channels 32,64\"")
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = "1"  # each process sets its own threads; none spins up a default pool
    print(f"{args.family} {args.extra}, global batch {args.global_batch}, {args.steps} timed steps after "
          f"{args.warmup}; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} before")
    with tempfile.TemporaryDirectory() as tmp:
        for layout in args.layouts.split(","):
            processes, threads = (int(v) for v in layout.split("x"))
            row = measure(processes, threads, args, Path(tmp))
            print(f"  {row['layout']:>5} (processes x threads, batch {row['per_process_batch']} each): "
                  f"{row['steps_per_s']:6.2f} steps/s  {row['images_per_s']:8.1f} images/s")
    print(f"load average {os.getloadavg()[0]:.1f} after")


if __name__ == "__main__":
    main()
