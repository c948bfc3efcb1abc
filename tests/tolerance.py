"""The suite's one contract for comparing results that were computed differently.

Same computation on one machine (same batch, same threads, same kernel): exact, and tests
say so with `np.testing.assert_array_equal` / `torch.equal`.

Different batch composition, thread count or kernel (a batch of n against n single runs,
a text encoder fed two prompts against one, a training child with 15 threads against a
test with 1): the same mathematics, not the same arithmetic. oneDNN and MKL pick their
blocking and summation order by batch size, thread count and CPU (AVX2 or AVX-512, Intel
or AMD), so floats differ in the last bits and, once quantised to uint8, a value now and
then lands on the neighbouring level. Measured: on an AMD EPYC (Zen 4) 1 value in 6144 of
a two-prompt batched evaluation differed by 1 from the single runs; it was equal on the
machine the test was written on. What a user cares about holds either way: the picture is
the same picture. So such images are compared within `assert_same_picture`'s bound: every
value within MAX_LEVEL_STEP of the other, and at most MAX_CHANGED_SHARE of them off at all
(a batch that mixed up seeds, prompts or scales changes most values by far more).
"""

from __future__ import annotations

import numpy as np

MAX_LEVEL_STEP = 1          # uint8 levels, i.e. 1/255 of the range
MAX_CHANGED_SHARE = 0.01    # of all values: rounding near a level boundary, not a different image
WEIGHT_RTOL, WEIGHT_ATOL = 1e-4, 1e-6  # float weights after a few optimizer steps on other threads


def assert_same_picture(actual: np.ndarray, expected: np.ndarray, *, max_step: int = MAX_LEVEL_STEP,
                        max_share: float = MAX_CHANGED_SHARE) -> None:
    """uint8 images from different batch compositions / threads / kernels are the same picture."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"shapes differ: {actual.shape} vs {expected.shape}"
    diff = np.abs(actual.astype(np.int64) - expected.astype(np.int64))
    changed = float((diff > 0).mean()) if diff.size else 0.0
    assert diff.max(initial=0) <= max_step and changed <= max_share, (
        f"not the same picture: {int((diff > 0).sum())} of {diff.size} values differ ({changed:.2%}, "
        f"allowed {max_share:.0%}), by up to {int(diff.max(initial=0))} levels (allowed {max_step})")
