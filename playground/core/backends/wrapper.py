"""A denoiser that runs its forward through an exported session: the same call, the same attributes.

`BackendModel(model, runner)` stands wherever the model stood (samplers, guidance, renderers):
calling it runs the session, and every attribute it does not have itself (config,
noise_schedule, embed, decode, first_stage...) is the wrapped model's. A call the graph
cannot take runs the wrapped model in torch instead, decided by the call alone (so the
same run always takes the same path): inputs that need gradients, another device, dtype
or image size, a float t, keyword arguments the graph lacks, or no condition where
"none" does not mean the null one.
"""

from __future__ import annotations

import torch
from torch import nn

from .onnx_runtime import OnnxRunner


class BackendModel(nn.Module):
    backend = "onnx"
    # with two or more torch threads, a batch of 2+ runs as two concurrent single-session halves
    # (`OnnxRunner.run`); False: one session takes the whole batch (the benchmark's comparison)
    split = True

    def __init__(self, model: nn.Module, runner: OnnxRunner):
        super().__init__()
        self.inner = model
        self.runner = runner
        self.graph_calls = 0  # forwards the session ran (0 after a run: the model was never called this way)

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name == "inner":
                raise
            return getattr(self._modules["inner"], name)

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor | None = None, **kwargs) -> torch.Tensor:
        inputs = self.graph_inputs(x, t, cond, kwargs)
        if inputs is None:
            return self.inner(x, t, cond=cond, **kwargs)
        self.graph_calls += 1
        return self.runner.run(*inputs, split=self.split).to(x.dtype)

    def graph_inputs(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor | None,
                     kwargs: dict) -> tuple[torch.Tensor, ...] | None:
        """(x, t[, cond]) as the graph takes them, or None when this call must run in torch."""
        signature = self.runner.signature
        if any(value is not None for value in kwargs.values()):
            return None
        tensors = [x, t] + ([cond] if cond is not None else [])
        if torch.is_grad_enabled() and any(tensor.requires_grad for tensor in tensors):
            return None
        if any(tensor.device.type != "cpu" for tensor in tensors):
            return None
        if x.dtype != torch.float32 or tuple(x.shape[1:]) != tuple(signature.shape) or x.ndim != 4:
            return None
        if t.ndim == 0:
            t = t.expand(x.shape[0])
        if t.is_floating_point() or tuple(t.shape) != (x.shape[0],):
            return None
        t = t.to(torch.int64)
        if not signature.cond_dim:
            return (x, t) if cond is None else None
        if cond is None:
            if not signature.null_cond:
                return None
            cond = self.inner.embed(None, x.shape[0])
        if tuple(cond.shape) != (x.shape[0], signature.cond_dim) or not cond.is_floating_point():
            return None
        return x, t, cond.to(torch.float32)
