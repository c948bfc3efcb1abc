"""The sampling generator: full loops against diffusers, seeds, cancelling and branching."""

from __future__ import annotations

import itertools

import pytest
import torch

from playground.core.diffusion.sampling import StepRecord, initial_noise, sample, sample_steps
from playground.core.diffusion.schedulers import Scheduler, make_scheduler
from playground.core.diffusion.schedules import NoiseSchedule
from playground.core.models.diffusion_model import DDPMConfig, DiffusionModel

SHAPE = (3, 8, 8)


class DummyEps:
    """A deterministic stand-in for eps_theta: cheap, nonlinear in x, dependent on t. Counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        scale = torch.as_tensor(t, dtype=torch.float32).reshape(-1, 1, 1, 1) / 1000
        return 0.8 * x * scale + 0.1 * torch.sin(3 * x)


def scheduler(kind: str, steps: int, eta: float = 0.0, schedule: str = "cosine", variance: str = "posterior") -> Scheduler:
    return make_scheduler(kind, NoiseSchedule.from_name(schedule), steps, eta=eta, variance=variance)  # type: ignore[arg-type]


def run(sched: Scheduler, seed: int = 0, n: int = 2, **kwargs) -> list[StepRecord]:
    return list(sample_steps(DummyEps(), sched, n=n, seed=seed, shape=SHAPE, **kwargs))


@pytest.mark.parametrize("kind, steps, eta, schedule, variance", [
    ("ddpm", 1000, 0.0, "cosine", "posterior"),
    ("ddpm", 50, 0.0, "linear", "beta"),
    ("ddim", 50, 0.0, "cosine", "posterior"),
    ("ddim", 37, 0.5, "linear", "posterior"),
    ("ddim", 20, 1.0, "cosine", "posterior"),
])
def test_full_loop_equals_a_diffusers_loop(kind: str, steps: int, eta: float, schedule: str, variance: str) -> None:
    diffusers = pytest.importorskip("diffusers")
    beta_schedule = {"linear": "linear", "cosine": "squaredcos_cap_v2"}[schedule]
    if kind == "ddpm":
        ref = diffusers.DDPMScheduler(beta_schedule=beta_schedule, clip_sample=False,
                                      variance_type={"posterior": "fixed_small", "beta": "fixed_large"}[variance])
    else:
        ref = diffusers.DDIMScheduler(beta_schedule=beta_schedule, clip_sample=False)
    ref.set_timesteps(steps)
    seed, n = 11, 2
    # diffusers' loop with one CPU generator per image, seeded seed + i (our seeding convention)
    generators = [torch.Generator().manual_seed(seed + i) for i in range(n)]
    x = diffusers.utils.torch_utils.randn_tensor((n, *SHAPE), generator=generators)
    eps_model, ref_x0 = DummyEps(), []
    for t in ref.timesteps:
        eps = eps_model(x, t)
        kwargs = {"eta": eta} if kind == "ddim" else {}
        out = ref.step(eps, t, x, generator=generators, **kwargs)
        x = out.prev_sample
        ref_x0.append(out.pred_original_sample)

    records = run(scheduler(kind, steps, eta, schedule, variance), seed=seed, n=n)
    assert [r.t for r in records] == ref.timesteps.tolist()
    torch.testing.assert_close(records[-1].x_prev, x)
    for record, expected in zip(records[::7], ref_x0[::7]):
        torch.testing.assert_close(record.pred_x0, expected)


def test_records_describe_every_step() -> None:
    sched = scheduler("ddpm", 10)
    records = run(sched, n=3)
    assert [r.index for r in records] == list(range(10))
    assert [r.t for r in records] == sched.timesteps.tolist()
    assert [r.t_prev for r in records] == sched.timesteps.tolist()[1:] + [-1]
    assert records[-1].is_last and not records[0].is_last
    for r, following in zip(records, records[1:]):
        assert following.x_t is r.x_prev  # a cached trajectory stores each x_t once
    for r in records:
        for tensor in (r.x_t, r.pred_noise, r.pred_x0, r.x_prev):
            assert tensor.shape == (3, *SHAPE) and tensor.dtype == torch.float32 and tensor.device.type == "cpu"
        assert r.num_steps == 10
        # x_prev = mean + sigma z, where the mean is the deterministic part of the step
        if r.t > 0:
            assert r.noise is not None and r.noise_std > 0
            assert r.nbytes == 4 * 3 * 3 * 8 * 8 * 4
        else:
            assert r.noise is None and r.noise_std == 0.0
            assert r.nbytes == 3 * 3 * 3 * 8 * 8 * 4
    assert torch.equal(records[0].x_t, initial_noise(3, SHAPE, seed=0))


def test_noise_record_is_what_the_step_added() -> None:
    sched = scheduler("ddpm", 20)
    for r in run(sched, n=1)[:-1]:
        replay = sched.step(r.pred_noise, r.t, r.x_t, noise=r.noise)
        assert torch.equal(replay.prev_sample, r.x_prev)
        mean = sched.step(r.pred_noise, r.t, r.x_t, noise=torch.zeros_like(r.x_t)).prev_sample
        torch.testing.assert_close(r.x_prev - mean, r.noise_std * r.noise)


def test_sample_is_the_last_record() -> None:
    sched = scheduler("ddim", 15, eta=0.4)
    records = run(sched, seed=5)
    final = sample(DummyEps(), sched, n=2, seed=5, shape=SHAPE)
    assert torch.equal(final, records[-1].x_prev)


def test_ddim_eta_zero_is_deterministic_and_seeded() -> None:
    sched = scheduler("ddim", 25, eta=0.0)
    a, b, other = run(sched, seed=3), run(sched, seed=3), run(sched, seed=4)
    assert all(r.noise is None and r.noise_std == 0.0 for r in a)
    assert torch.equal(a[-1].x_prev, b[-1].x_prev)
    assert not torch.allclose(a[-1].x_prev, other[-1].x_prev)


@pytest.mark.parametrize("kind, eta", [("ddpm", 0.0), ("ddim", 0.7)])
def test_same_seed_same_images_and_image_i_is_seed_plus_i(kind: str, eta: float) -> None:
    sched = scheduler(kind, 30, eta=eta)
    batch = sample(DummyEps(), sched, n=3, seed=20, shape=SHAPE)
    assert torch.equal(batch, sample(DummyEps(), sched, n=3, seed=20, shape=SHAPE))
    for i in range(3):
        alone = sample(DummyEps(), sched, n=1, seed=20 + i, shape=SHAPE)
        torch.testing.assert_close(alone[0], batch[i])
    assert not torch.allclose(batch, sample(DummyEps(), sched, n=3, seed=21, shape=SHAPE))


def test_ddpm_and_ddim_runs_of_a_seed_start_from_the_same_noise() -> None:
    """So DDPM-1000 and DDIM-n can be compared image for image."""
    ddpm, ddim = scheduler("ddpm", 1000), scheduler("ddim", 10)
    first_ddpm = next(sample_steps(DummyEps(), ddpm, n=2, seed=9, shape=SHAPE))
    first_ddim = next(sample_steps(DummyEps(), ddim, n=2, seed=9, shape=SHAPE))
    assert torch.equal(first_ddpm.x_t, first_ddim.x_t)


def test_stopping_the_iteration_cancels() -> None:
    model = DummyEps()
    steps = sample_steps(model, scheduler("ddpm", 1000), n=1, seed=0, shape=SHAPE)
    first = list(itertools.islice(steps, 3))
    steps.close()
    assert [r.index for r in first] == [0, 1, 2]
    assert model.calls == 3  # nothing ran past the last record taken
    with pytest.raises(StopIteration):
        next(steps)


@pytest.mark.parametrize("kind, eta", [("ddpm", 0.0), ("ddim", 0.5)])
def test_branching_from_step_k(kind: str, eta: float) -> None:
    sched = scheduler(kind, 50, eta=eta)
    original = run(sched, seed=7)
    k = 20

    def branch(seed: int) -> list[StepRecord]:
        return run(sched, seed=seed, x_t=original[k].x_t, start_index=k)

    same = branch(7)
    assert [r.index for r in same] == list(range(k, 50))
    assert [r.t for r in same] == [r.t for r in original[k:]]
    # the run's own seed replays the run from step k exactly
    for a, b in zip(same, original[k:]):
        assert torch.equal(a.x_prev, b.x_prev)
    # another seed branches off, and repeats itself
    other, again = branch(8), branch(8)
    assert not torch.allclose(other[-1].x_prev, original[-1].x_prev)
    assert torch.equal(other[-1].x_prev, again[-1].x_prev)
    # ... with the noise seed 8 would have used at those steps in a full run
    full_8 = run(sched, seed=8)
    for a, b in zip(other, full_8[k:]):
        assert (a.noise is None and b.noise is None) or torch.equal(a.noise, b.noise)
    # from the very start, a given x_T and the run's seed reproduce the run
    assert torch.equal(run(sched, seed=7, x_t=original[0].x_t)[-1].x_prev, original[-1].x_prev)


def test_deterministic_ddim_branches_ignore_the_seed() -> None:
    sched = scheduler("ddim", 20, eta=0.0)
    original = run(sched, seed=1)
    branched = sample(DummyEps(), sched, seed=99, x_t=original[5].x_t, start_index=5)
    assert torch.equal(branched, original[-1].x_prev)


def test_branch_after_the_last_step_is_the_given_image() -> None:
    sched = scheduler("ddim", 5)
    x = torch.zeros(1, *SHAPE)
    assert torch.equal(sample(DummyEps(), sched, x_t=x, start_index=5), x)


def test_model_fn_hook_takes_a_guided_model() -> None:
    """Any eps(x_t, t) callable plugs in, e.g. classifier-free guidance u + w (c - u)."""
    base = DummyEps()
    seen: list[torch.Tensor] = []

    def guided(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        seen.append(t)
        both = base(torch.cat([x, x]), torch.cat([t, t]))
        u, c = both.chunk(2)
        return u + 3.0 * (c + 0.01 - u)

    sched = scheduler("ddim", 10)
    final = sample(guided, sched, n=2, seed=0, shape=SHAPE)
    assert final.shape == (2, *SHAPE) and torch.isfinite(final).all()
    assert len(seen) == 10 and all(t.shape == (2,) and t.dtype == torch.int64 for t in seen)
    assert [int(t[0]) for t in seen] == sched.timesteps.tolist()


def test_sampling_a_diffusion_model() -> None:
    torch.manual_seed(0)
    model = DiffusionModel(DDPMConfig(base_channels=8, channel_mults=(1, 2), schedule="linear")).eval()
    sched = make_scheduler("ddim", model.noise_schedule, 3)
    records = list(sample_steps(model, sched, n=2, seed=0))  # shape and device from the model
    assert records[-1].x_prev.shape == (2, 3, 32, 32)
    assert not records[-1].x_prev.requires_grad


def test_bad_calls_are_refused() -> None:
    sched = scheduler("ddim", 10)
    with pytest.raises(ValueError, match="needs the x_t"):
        next(sample_steps(DummyEps(), sched, shape=SHAPE, start_index=3))
    with pytest.raises(ValueError, match="shape="):
        next(sample_steps(DummyEps(), sched))
    with pytest.raises(ValueError, match="start_index"):
        next(sample_steps(DummyEps(), sched, x_t=torch.zeros(1, *SHAPE), start_index=11))
