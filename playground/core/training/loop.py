"""The one training loop every model family plugs into.

A family supplies a `TrainingTask` (its model, its loss, its evaluation); the loop owns
batching, the optimizer, mixed precision, EMA weights, progress (loss, steps/s, ETA),
periodic checkpoints and resuming. Output folder layout:

    OUT/model.safetensors, OUT/model.json   the latest model (EMA weights when EMA is on)
    OUT/resume/state.safetensors, .json     optimizer and raw weights, to continue a run
"""

from __future__ import annotations

import copy
import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from ..checkpoints import WEIGHTS_NAME, CheckpointError, CheckpointMeta, config_from_dict, read_meta, save_checkpoint
from ..data import ImageSet
from ..images import atomic_path
from .distributed import DataParallel

RESUME_DIR = "resume"


@dataclass
class TrainConfig:
    steps: int
    batch_size: int = 128  # per process: under torchrun the global batch is batch_size x processes
    lr: float = 2e-3
    weight_decay: float = 0.0
    warmup_steps: int = 100
    lr_decay: bool = True  # cosine decay to 10% of lr over `steps`
    grad_clip: float | None = 1.0
    ema_decay: float | None = None
    precision: Literal["fp32", "bf16"] = "fp32"
    checkpoint_every: int = 500
    seed: int = 0
    validation_size: int = 1000


@dataclass
class Batch:
    """Images in [-1, 1] (B, 3, H, W) and their integer labels (B, K)."""

    x: torch.Tensor
    labels: torch.Tensor


@dataclass
class TrainLog:
    step: int
    total_steps: int
    metrics: dict[str, float]
    steps_per_second: float
    eta_seconds: float
    extra: dict[str, Any] = field(default_factory=dict)


class TrainingTask:
    """What a model family must provide to be trained by `Trainer`.

    Subclasses set `family`, `model`, `model_config` and implement `loss`; a family with an
    unusual update (a GAN's two optimizers) overrides `make_optimizers` and `train_step`.
    """

    family: str
    model: nn.Module
    model_config: Any

    def loss(self, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        raise NotImplementedError

    def make_optimizers(self, config: TrainConfig) -> dict[str, torch.optim.Optimizer]:
        return {"model": torch.optim.AdamW(self.model.parameters(), lr=config.lr, weight_decay=config.weight_decay)}

    def train_step(
        self, batch: Batch, optimizers: dict[str, torch.optim.Optimizer], config: TrainConfig,
        autocast: Callable[[], Any],
    ) -> dict[str, float]:
        optimizer = optimizers["model"]
        with autocast():
            loss, metrics = self.loss(batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.grad_clip:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), config.grad_clip)
        optimizer.step()
        return metrics

    @torch.no_grad()
    def evaluate(self, model: nn.Module, validation: Batch) -> dict[str, float]:
        """Final metrics on held-out data (model is the EMA copy when EMA is on)."""
        return {}

    def checkpoint_extra(self, model: nn.Module) -> dict[str, Any]:
        """Extra JSON the family wants in its checkpoint (e.g. per-dimension KL)."""
        return {}


class Trainer:
    def __init__(
        self,
        task: TrainingTask,
        data: ImageSet,
        config: TrainConfig,
        out_dir: str | Path,
        device: torch.device | str = "cpu",
        command: str = "",
    ):
        self.task = task
        self.config = config
        self.out_dir = Path(out_dir)
        self.device = torch.device(device)
        self.command = command
        self.data_name = data.name
        n_val = min(config.validation_size, max(1, len(data) // 10))
        order = np.random.default_rng(config.seed).permutation(len(data))
        val_idx, train_idx = order[:n_val], order[n_val:]
        images = torch.from_numpy(np.ascontiguousarray(data.images)).permute(0, 3, 1, 2).contiguous()
        labels = torch.from_numpy(data.labels)
        self.train_images, self.train_labels = images[train_idx].to(self.device), labels[train_idx].to(self.device)
        self.validation = Batch(
            x=(images[val_idx].float() / 127.5 - 1.0).to(self.device), labels=labels[val_idx].to(self.device),
        )
        task.model.to(self.device)
        self.parallel = DataParallel(task.model)  # one process of several under torchrun; else a no-op
        self.optimizers = task.make_optimizers(config)
        self.ema: nn.Module | None = None
        if config.ema_decay:
            self.ema = copy.deepcopy(task.model).eval().requires_grad_(False)
        self.step = 0
        self._warm_start_step = 0
        self.resumed_from: str | None = None  # "state" or "weights" after try_resume
        # compute spent on this run so far (over every resume): wall seconds and CPU seconds of all threads
        self._spent = {"train_seconds": 0.0, "train_cpu_seconds": 0.0}
        self._clock = (time.perf_counter(), time.process_time())

    # --- batches and schedule ---------------------------------------------------------

    def _batch(self, step: int) -> Batch:
        rng = np.random.default_rng([self.config.seed, step])
        rows = rng.integers(0, len(self.train_images), self.config.batch_size * self.parallel.world_size)
        idx = torch.from_numpy(self.parallel.shard(rows)).to(self.device)
        x = self.train_images[idx].float() / 127.5 - 1.0
        return Batch(x=x, labels=self.train_labels[idx])

    def _lr_factor(self, step: int) -> float:
        """Linear warm-up (again after a resume from weights), then cosine decay to 10%."""
        c = self.config
        since = step - self._warm_start_step
        warmup = (since + 1) / c.warmup_steps if c.warmup_steps and since < c.warmup_steps else 1.0
        if not c.lr_decay:
            return warmup
        progress = min(1.0, step / max(1, c.steps))
        return warmup * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))

    def _autocast(self):
        if self.config.precision == "bf16":
            return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16)
        return torch.autocast(device_type=self.device.type, enabled=False)

    @torch.no_grad()
    def _update_ema(self) -> None:
        decay = self.config.ema_decay
        # Warm-up (as in diffusers' EMAModel): early weights are forgotten quickly.
        decay = min(decay, (1 + self.step) / (10 + self.step))
        ema_params = list(self.ema.parameters())
        params = [p.detach() for p in self.task.model.parameters()]
        torch._foreach_lerp_(ema_params, params, 1.0 - decay)
        for b_ema, b in zip(self.ema.buffers(), self.task.model.buffers()):
            b_ema.copy_(b)

    # --- checkpoints ----------------------------------------------------------------------

    @property
    def inference_model(self) -> nn.Module:
        return self.ema if self.ema is not None else self.task.model

    def save(self, metrics: dict[str, float] | None = None) -> Path:
        """Write the checkpoint and the resume state (process 0 only; the others' weights are the same)."""
        if not self.parallel.is_main:
            return self.out_dir / WEIGHTS_NAME
        model = self.inference_model
        path = save_checkpoint(
            self.out_dir / WEIGHTS_NAME, model, self.task.model_config, self.task.family,
            data=self.data_name, steps=self.step, metrics=metrics or {}, command=self.command,
            extra={"train_config": asdict(self.config), **self.parallel.checkpoint_fields(self.config.batch_size),
                   **self._compute_spent(), **self.task.checkpoint_extra(model)},
        )
        self._save_resume_state()
        return path

    def _compute_spent(self) -> dict[str, float]:
        """Wall and CPU seconds this run has trained, resumes included (the checkpoint's JSON records them)."""
        now = (time.perf_counter(), time.process_time())
        self._spent["train_seconds"] += now[0] - self._clock[0]
        self._spent["train_cpu_seconds"] += now[1] - self._clock[1]
        self._clock = now
        return {k: round(v, 1) for k, v in self._spent.items()}

    def _save_resume_state(self) -> None:
        folder = self.out_dir / RESUME_DIR
        folder.mkdir(parents=True, exist_ok=True)
        tensors = {f"model.{k}": v for k, v in self.task.model.state_dict().items()}
        if self.ema is not None:
            tensors.update({f"ema.{k}": v for k, v in self.ema.state_dict().items()})
        groups = {}
        for name, opt in self.optimizers.items():
            state = opt.state_dict()
            for idx, entry in state["state"].items():
                for key, value in entry.items():
                    tensors[f"optim.{name}.{idx}.{key}"] = torch.as_tensor(value)
            groups[name] = state["param_groups"]
        tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
        with atomic_path(folder / "state.safetensors") as tmp_tensors, atomic_path(folder / "state.json") as tmp_json:
            save_file(tensors, str(tmp_tensors))
            tmp_json.write_text(json.dumps({"step": self.step, "param_groups": groups, **self._spent}))

    def try_resume(self) -> bool:
        """Continue an earlier run in OUT. Returns whether it did.

        From OUT/resume (the exact optimizer state) when it is there; else, when OUT holds
        only a checkpoint of the same family and config (a fresh clone of the repository,
        where resume/ is not committed), from its weights with a fresh optimizer and a
        new warm-up, so a shipped model can be trained further with its own command.
        """
        folder = self.out_dir / RESUME_DIR
        if not (folder / "state.json").exists():
            return self._resume_from_weights()
        weights = self.out_dir / WEIGHTS_NAME
        if weights.exists():  # the run's own checkpoint says which model the resume state is for
            self._check_same_model(weights)
        try:
            meta = json.loads((folder / "state.json").read_text())
            tensors = load_file(str(folder / "state.safetensors"), device=str(self.device))
        except (json.JSONDecodeError, SafetensorError, OSError) as exc:
            raise ValueError(f"{folder}: the resume state is damaged ({exc}); pass --fresh to start over "
                             "or delete that folder to resume from the weights") from None

        def prefixed(prefix: str) -> dict[str, torch.Tensor]:
            return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}

        try:
            self.task.model.load_state_dict(prefixed("model."))
            if self.ema is not None:
                ema_state = prefixed("ema.")
                self.ema.load_state_dict(ema_state if ema_state else self.task.model.state_dict())
            for name, opt in self.optimizers.items():
                state: dict[int, dict[str, torch.Tensor]] = {}
                for key, value in prefixed(f"optim.{name}.").items():
                    idx, field_name = key.split(".", 1)
                    state.setdefault(int(idx), {})[field_name] = value
                for entry in state.values():  # AdamW keeps its step count on the CPU
                    if "step" in entry:
                        entry["step"] = entry["step"].cpu()
                opt.load_state_dict({"state": state, "param_groups": meta["param_groups"][name]})
        except (RuntimeError, KeyError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0][:200]
            raise ValueError(f"{self.out_dir} holds a run of another model or config ({first}); "
                             "choose another --out or pass --fresh to overwrite it") from None
        self.resumed_from = "state"
        self.step = int(meta["step"])
        for key in self._spent:
            value = meta.get(key)
            self._spent[key] = float(value) if isinstance(value, (int, float)) else 0.0
        return True

    def _same_config(self, stored: dict[str, Any]) -> bool:
        """Does a checkpoint's config build this run's model? Fields it predates take their defaults."""
        try:
            return config_from_dict(type(self.task.model_config), stored) == self.task.model_config
        except (CheckpointError, TypeError):
            return False

    def _check_same_model(self, weights: Path) -> CheckpointMeta:
        meta = read_meta(weights)
        if meta.family != self.task.family or not self._same_config(meta.config):
            raise ValueError(
                f"{weights} holds a different model ({meta.family}, {meta.config}); "
                "choose another --out or pass --fresh to overwrite it"
            )
        return meta

    def _resume_from_weights(self) -> bool:
        weights = self.out_dir / WEIGHTS_NAME
        if not weights.exists():
            return False
        meta = self._check_same_model(weights)
        try:
            state = load_file(str(weights), device=str(self.device))
        except (SafetensorError, OSError) as exc:
            raise ValueError(f"{weights} is damaged ({exc}); pass --fresh to start over, or choose another --out") from None
        self.task.model.load_state_dict(state)
        if self.ema is not None:
            self.ema.load_state_dict(state)
        self.step = self._warm_start_step = meta.steps
        self.resumed_from = "weights"
        return True

    # --- the loop -------------------------------------------------------------------------

    def run(
        self,
        progress: bool = True,
        on_log: Callable[[TrainLog], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        log_every: int = 20,
    ) -> Path:
        """Train until `config.steps` (or until should_stop() says so), checkpointing as it goes.

        Returns the path of the final checkpoint, which always exists when run returns.
        """
        c = self.config
        bar = None
        parallel = self.parallel
        parallel.sync_from_main(self.step, self.task.model, self.ema)
        if progress and parallel.is_main:
            from tqdm import tqdm

            bar = tqdm(total=c.steps, initial=self.step, unit="step", dynamic_ncols=True)
        self.task.model.train()
        started, started_step = time.perf_counter(), self.step
        metrics: dict[str, float] = {}
        try:
            while self.step < c.steps:
                if parallel.should_stop(should_stop):
                    break
                for opt in self.optimizers.values():
                    for group in opt.param_groups:
                        group["lr"] = group.setdefault("initial_lr", group["lr"]) * self._lr_factor(self.step)
                torch.manual_seed(c.seed * 1_000_003 + self.step)
                with parallel.step():
                    metrics = self.task.train_step(self._batch(self.step), self.optimizers, c, self._autocast)
                metrics = parallel.mean_metrics(metrics)
                if self.ema is not None:
                    self._update_ema()
                self.step += 1
                if not all(math.isfinite(v) for v in metrics.values()):
                    raise FloatingPointError(f"training diverged at step {self.step}: {metrics}")
                if bar is not None:
                    bar.update(1)
                    if self.step % 10 == 0:
                        bar.set_postfix({k: f"{v:.4g}" for k, v in metrics.items()}, refresh=False)
                if on_log is not None and parallel.is_main and (self.step % log_every == 0 or self.step == c.steps):
                    elapsed = time.perf_counter() - started
                    rate = (self.step - started_step) / max(elapsed, 1e-9)
                    on_log(TrainLog(self.step, c.steps, dict(metrics), rate, (c.steps - self.step) / max(rate, 1e-9)))
                if self.step % c.checkpoint_every == 0 and self.step < c.steps:
                    self.save()
        finally:
            if bar is not None:
                bar.close()
        self.task.model.eval()
        final_metrics = {}
        if parallel.is_main:
            final_metrics = {k: float(v) for k, v in self.task.evaluate(self.inference_model, self.validation).items()}
        path = self.save(final_metrics)
        parallel.finished()
        self.task.model.train()
        return path
