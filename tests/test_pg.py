"""Vanilla policy gradient with an adaptive stepsize (algo=pg), a Figure 3 baseline: the stepsize rule at its
thresholds, a per-member stepsize that is exactly Adam with that stepsize, and a short run that learns."""


import pytest
import torch

from ppo_bench.objective import adapt_stepsize
from ppo_bench.population import Population
from ppo_bench.update import optimizer_step
from tests.conftest import with_
from tests.test_cli import composed
from tests.test_trpo import trained_on_inverted_pendulum


def test_the_stepsize_rule_at_its_thresholds():
    """d_targ = 0.01: KL above 0.015 halves the stepsize, below 0.01/1.5 doubles it, in between (ends included)
    keeps it; each member by its own KL."""
    kl = torch.tensor([0.015, 0.0150001, 0.01 / 1.5, 0.0066, 0.01])
    assert adapt_stepsize(torch.ones(5), kl, 0.01).tolist() == [1.0, 0.5, 1.0, 2.0, 1.0]


def test_a_members_stepsize_scale_is_adam_with_that_stepsize(tiny):
    population = Population([tiny, with_(tiny, seed=2)], obs_dim=4, act_dim=1)
    population.lr_scale = torch.tensor([1.0, 0.25])
    params = list(population.net.parameters())
    alone = [p.detach()[1:2].clone().requires_grad_() for p in params]  # member 1 on its own
    reference = torch.optim.Adam(alone, lr=tiny.learning_rate * 0.25, eps=tiny.details.adam_eps)
    generator = torch.Generator().manual_seed(0)
    for _ in range(3):  # a few steps, so the moments matter
        grads = [torch.randn(p.shape, generator=generator) for p in params]
        for p, g, q in zip(params, grads, alone):
            p.grad, q.grad = g.clone(), g[1:2].clone()
        optimizer_step(population, params)
        reference.step()
    for p, q in zip(params, alone):
        torch.testing.assert_close(p.detach()[1:2], q.detach(), rtol=1e-5, atol=1e-7)


def test_algo_pg_is_one_full_batch_step_per_update():
    s = composed("algo=pg")
    assert (s.name, s.epochs, s.num_minibatches, s.objective.clip_eps, s.objective.kl_beta) == ("pg", 1, 1, None, 0.0)


@pytest.mark.slow
def test_pg_learns_inverted_pendulum_and_adapts_its_stepsize(tmp_path):
    episodes, metrics = trained_on_inverted_pendulum(tmp_path / "run", "algo=pg", "total_timesteps=102400")
    start, end = episodes["return"].head(20).mean(), episodes["return"].tail(20).mean()
    assert end > 30 and end > 3 * start, (start, end)  # a sign error would not learn
    assert metrics["learning_rate"].nunique() > 2  # the stepsize moved with the KL
    assert 0.003 < metrics["kl"].iloc[10:].mean() < 0.03  # and kept the KL near its target
