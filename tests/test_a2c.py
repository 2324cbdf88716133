"""A2C (algo=a2c), a Figure 3 baseline: its preset, one update against a hand-written RMSprop step on the
hand-written A2C loss, and a short run that learns."""

import math

import pytest
import torch

from ppo_bench.population import MemberSettings, Population
from ppo_bench.rollout import Batch
from ppo_bench.update import update
from tests.test_cli import composed
from tests.test_trpo import trained_on_inverted_pendulum


def test_algo_a2c_is_one_rmsprop_step_on_five_steps_of_sixteen_envs():
    s = composed("algo=a2c", "env=hopper")
    assert (s.name, s.title, s.algo.optimizer, s.algo.entropy_coef) == ("a2c", "A2C", "rmsprop", 0.01)
    assert (s.env.id, s.env.num_envs, s.rollout_steps, s.batch_size, s.num_minibatches, s.epochs) == \
        ("Hopper-v5", 16, 5, 80, 1, 1)
    assert (s.gae_lambda, s.learning_rate, s.objective.clip_eps, s.objective.kl_beta) == (1.0, 7e-4, None, 0.0)
    assert (s.details.adv_norm, s.details.value_clip, s.details.max_grad_norm) == ("none", "none", 0.5)


def test_one_a2c_update_is_a_clipped_rmsprop_step_on_the_a2c_loss():
    """Member 1 of a population of 2, against the same member's parameters updated by hand:
    loss = -mean(log π(a|s) Â) + 0.5 mean((V - R)²) - 0.01 H, gradient clipped to norm 0.5, then RMSprop's first
    step from zero state: v = (1 - 0.99) g², θ -= lr g / (sqrt(v) + 1e-5)."""
    s = composed("algo=a2c", "env.num_envs=2", "minibatch_size=10")
    members = [s, composed("algo=a2c", "env.num_envs=2", "minibatch_size=10", "seed=2")]
    pop = Population(members, obs_dim=4, act_dim=1)
    g = torch.Generator().manual_seed(3)
    K, B = 2, s.batch_size
    obs, actions = torch.randn(K, B, 4, generator=g), torch.randn(K, B, 1, generator=g)
    with torch.no_grad():
        means, values = pop.net.policy_mean(obs), pop.net.value(obs)
    log_probs = (-0.5 * (actions - means).square() - 0.5 * math.log(2 * math.pi)).sum(-1)  # σ = 1 at the start
    advantages, returns = torch.randn(K, B, generator=g), torch.randn(K, B, generator=g)
    batch = Batch(obs=obs, actions=actions, means=means, values=values, log_probs=log_probs, advantages=advantages,
                  returns=returns)
    params = [p.detach()[1].clone().requires_grad_() for p in pop.net.parameters()]
    names = [n for n, _ in pop.net.named_parameters()]
    w = dict(zip(names, params))

    def mlp(x, kind):
        n = len(s.hidden_sizes) + 1
        for i in range(n):
            x = x @ w[f"{kind}_weights.{i}"] + w[f"{kind}_biases.{i}"]
            x = torch.tanh(x) if i < n - 1 else x
        return x

    mean, log_std = mlp(obs[1], "policy"), w["log_std"]
    log_prob = (-0.5 * ((actions[1] - mean) / log_std.exp()).square() - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)
    entropy = (log_std + 0.5 * math.log(2 * math.pi * math.e)).sum()
    loss = -(log_prob * advantages[1]).mean() + 0.5 * (mlp(obs[1], "value").squeeze(-1) - returns[1]).square().mean() \
        - 0.01 * entropy
    grads = torch.autograd.grad(loss, params)
    norm = torch.sqrt(sum(gr.square().sum() for gr in grads))
    scale = min(1.0, 0.5 / (float(norm) + 1e-6))
    expected = [p.detach() - 7e-4 * (gr * scale) / (torch.sqrt(0.01 * (gr * scale).square()) + 1e-5)
                for p, gr in zip(params, grads)]

    update(pop, MemberSettings.of(members), batch, s, torch.full((K,), math.inf))
    for name, p, e in zip(names, pop.net.parameters(), expected):
        torch.testing.assert_close(p.detach()[1], e, rtol=1e-4, atol=1e-6, msg=name)
    assert float(norm) > 0.5  # the clip was exercised


@pytest.mark.slow
def test_a2c_learns_inverted_pendulum(tmp_path):
    episodes, metrics = trained_on_inverted_pendulum(tmp_path / "run", "algo=a2c", "total_timesteps=60000")
    start, end = episodes["return"].head(20).mean(), episodes["return"].tail(20).mean()
    assert end > 30 and end > 3 * start, (start, end)  # a sign error would not learn
    assert len(metrics) == 60000 // 80 and metrics["learning_rate"].eq(7e-4).all()
