"""Each implementation detail does what its field says, checked on numbers worked out by hand or on the record."""

import csv
import math

import gymnasium as gym
import numpy as np
import pytest
import torch

from analysis.figure2 import load_first_update
from ppo_bench.envs import MemberEnvs
from ppo_bench.loop import train
from ppo_bench.networks import mlp
from ppo_bench.normalizers import normalize
from ppo_bench.objective import gaussian_log_prob
from ppo_bench.settings import DetailSettings, EnvSettings, ObjectiveSettings
from tests.conftest import with_


def rows(run):
    with open(run / "metrics.csv") as f:
        return list(csv.DictReader(f))


def test_variance_floor_of_the_2017_normaliser():
    """A feature with variance 1e-3, 0.05 above its mean: 2017 divides by sqrt(max(1e-3, 1e-2)) = 0.1 -> 0.5;
    ppo2 by sqrt(1e-3 + 1e-8) -> 1.58."""
    x, mean, var = np.array([[[0.05]]]), np.zeros((1, 1)), np.array([[1e-3]])
    assert normalize(x, mean, var, None, 1e-2).item() == pytest.approx(0.5)
    assert normalize(x, mean, var, None, None).item() == pytest.approx(0.05 / math.sqrt(1e-3 + 1e-8))
    assert normalize(x * 100, mean, var, 5.0, 1e-2).item() == 5.0  # then clipped to ±5


def test_clip_and_learning_rate_annealed_together(tiny, tmp_path):
    """August 2017: lrmult = 1 - t/T scales the stepsize and ε; an objective without ε keeps none."""
    details = DetailSettings(lr_anneal=True, clip_anneal=True)
    settings = with_(tiny, details=details, total_timesteps=1024)
    train(settings, tmp_path / "clip")
    logged = [(float(r["learning_rate"]), float(r["clip_eps"])) for r in rows(tmp_path / "clip")]
    expected = [(3e-4 * (1 - i / 4), 0.2 * (1 - i / 4)) for i in range(4)]
    assert np.allclose(logged, expected, rtol=1e-6)
    train(with_(settings, objective=ObjectiveSettings(None, 1.0, None)), tmp_path / "kl")
    assert [r["clip_eps"] for r in rows(tmp_path / "kl")] == ["inf"] * 4


def test_value_clipping_with_the_policy_eps_changes_only_clipped_objectives(tiny, tmp_path):
    """value_clip=policy clips the value loss with the member's own ε: the clipped objective's record changes, while
    an objective without ε (no clip at all) gives the same numbers as value_clip=none."""
    def metrics(name, objective, value_clip):
        train(with_(tiny, objective=objective, details=DetailSettings(value_clip=value_clip)), tmp_path / name)
        return [{c: r[c] for c in ("value_loss", "policy_loss", "kl")} for r in rows(tmp_path / name)]

    none = ObjectiveSettings(None, 0.0, None)
    assert metrics("none_policy", none, "policy") == metrics("none_none", none, "none")
    clip = ObjectiveSettings(0.2, 0.0, None)
    assert metrics("clip_policy", clip, "policy") != metrics("clip_none", clip, "none")


@pytest.mark.parametrize("order", ["before", "after"])
def test_normaliser_order_decides_what_the_first_update_sees(tiny, tmp_path, order):
    """before (2017): the statistics take in the batch first, so the batch the optimiser sees is standardised by
    statistics dominated by itself; after: it keeps the rollout's normalisation (the initial mean 0, var 1).
    Either way π_old's log-probabilities are those of the policy before the update on exactly those observations."""
    settings = with_(tiny, env=EnvSettings(id="Hopper-v5"), save_first_update=True, total_timesteps=256,
                     details=DetailSettings(obs_norm_order=order, obs_var_floor=None, obs_clip=None))
    train(settings, tmp_path / "run")
    saved = load_first_update(tmp_path / "run")
    obs = saved["obs"][0].double()
    if order == "before":
        assert obs.mean(0).abs().max().item() < 1e-4  # the batch's own mean removed
        assert obs.std(0, unbiased=False).sub(1).abs().max().item() < 1e-2  # (sqrt(var + 1e-8) of tiny variances)
    else:
        assert obs[0, 0].item() == pytest.approx(1.25, abs=0.01)  # Hopper's first reset height 1.25 ± 0.005, raw
    means = mlp(saved["obs"], saved["before"]["weights"], saved["before"]["biases"])
    log_probs = gaussian_log_prob(saved["actions"], means, saved["before"]["log_std"][0])
    assert torch.allclose(log_probs, saved["log_probs"], atol=1e-4)


@pytest.mark.parametrize("clip_actions", [True, False])
def test_actions_reach_the_environment_clipped_or_raw(clip_actions):
    """HalfCheetah's control cost is 0.1·Σa² of the action as passed: a raw action of 5 costs 6·0.1·25 = 15."""
    envs = MemberEnvs("HalfCheetah-v5", [1], 1, clip_actions)
    envs.reset()
    step, _ = envs.step(np.full((1, 1, 6), 5.0))
    reference = gym.make("HalfCheetah-v5")
    reference.reset(seed=envs.seeds[0])
    _, expected, *_ = reference.step(np.full(6, 1.0 if clip_actions else 5.0))
    assert step.rewards.item() == pytest.approx(expected)


def test_truncation_bootstrap_by_hand(tiny, tmp_path):
    """Pendulum-v1 never terminates and is truncated at step 200. With the same seed, the two settings see the same
    first batch; only the advantages of the first episode differ, by (γλ)^(199-t) · γ V(s_200) at step t (the GAE
    recursion from the bootstrapped step back), and not at all after it."""
    def advantages(bootstrap):
        settings = with_(tiny, env=EnvSettings(id="Pendulum-v1"), total_timesteps=256, save_first_update=True,
                         details=DetailSettings(bootstrap_truncation=bootstrap, adv_norm="none"))
        train(settings, tmp_path / str(bootstrap))
        return load_first_update(tmp_path / str(bootstrap))["advantages"][0].double().numpy()

    with_bootstrap, without = advantages(True), advantages(False)
    difference = with_bootstrap - without
    assert np.all(difference[200:] == 0)
    assert abs(difference[199]) > 1e-3  # γ V(final observation) of a barely trained value net
    decay = (0.99 * 0.95) ** np.arange(199, -1, -1)
    float32_rounding = 1e-6 * np.abs(without).max()  # advantages are stored as float32
    assert np.abs(difference[:200] - difference[199] * decay).max() < float32_rounding
