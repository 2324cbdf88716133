"""GAE against a hand-worked case and a plain per-episode loop, truncation included."""

import numpy as np
import pytest

from ppo_bench.gae import gae


def test_gae_by_hand_with_truncation_and_termination():
    # t=0 continues, t=1 is truncated (final obs value 2), t=2 terminates; γ = 0.9, λ = 0.8
    rewards, values = np.array([1.0, 1.0, 1.0]), np.array([0.5, 0.5, 0.5])
    next_values = np.array([0.5, 2.0, 0.0])
    dones = np.array([False, True, True])
    adv, ret = gae(rewards, values, next_values, dones, 0.9, 0.8)
    # δ2 = 1 - 0.5; δ1 = 1 + 0.9·2 - 0.5 = 2.3; δ0 = 1 + 0.45 - 0.5 = 0.95, Â0 = 0.95 + 0.72·2.3
    assert adv.tolist() == pytest.approx([0.95 + 0.72 * 2.3, 2.3, 0.5])
    assert ret.tolist() == pytest.approx([0.95 + 0.72 * 2.3 + 0.5, 2.8, 1.0])


def reference_gae(rewards, values, next_values, dones, gamma, lam):
    """Â_t = Σ_l (γλ)^l δ_{t+l}, summed inside the episode only, one env at a time."""
    T = len(rewards)
    deltas = rewards + gamma * next_values - values
    out = np.zeros(T)
    for t in range(T):
        total, factor = 0.0, 1.0
        for u in range(t, T):
            total += factor * deltas[u]
            if dones[u]:
                break
            factor *= gamma * lam
        out[t] = total
    return out


def test_gae_matches_plain_loop_over_envs_and_members():
    rng = np.random.default_rng(3)
    T, K, n = 40, 2, 3
    rewards = rng.normal(size=(T, K, n))
    values = rng.normal(size=(T, K, n))
    dones = rng.random((T, K, n)) < 0.15
    truncated_values = rng.normal(size=(T, K, n)) * (rng.random((T, K, n)) < 0.5)  # 0 where terminated
    next_values = np.concatenate([values[1:], rng.normal(size=(1, K, n))])
    next_values = np.where(dones, truncated_values, next_values)
    adv, ret = gae(rewards, values, next_values, dones, 0.99, 0.95)
    for k in range(K):
        for i in range(n):
            expected = reference_gae(rewards[:, k, i], values[:, k, i], next_values[:, k, i], dones[:, k, i], 0.99,
                                     0.95)
            np.testing.assert_allclose(adv[:, k, i], expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ret, adv + values)
