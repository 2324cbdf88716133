"""The envpool backend: MemberEnvs' interface and same-step semantics, and statistical agreement with Gymnasium."""

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("envpool")

from ppo_bench.envs import MemberEnvs  # noqa: E402
from ppo_bench.envs.envpool_backend import SUPPORTED_IDS, EnvpoolMemberEnvs  # noqa: E402
from ppo_bench.settings import ConfigError  # noqa: E402

V5 = [i for i in SUPPORTED_IDS if i.endswith("-v5")]


def random_actions(envs, rng: np.random.Generator, scale: float = 1.0) -> np.ndarray:
    size = (envs.members, envs.envs_per_member, envs.act_dim)
    return scale * rng.uniform(envs.action_low, envs.action_high, size=size)


def test_same_step_semantics_and_episode_accounting_on_inverted_pendulum():
    envs = EnvpoolMemberEnvs("InvertedPendulum-v5", [3, 4], 3)
    K, n, D = 2, 3, envs.obs_dim
    assert (envs.obs_dim, envs.act_dim, envs.action_low.tolist(), envs.action_high.tolist()) == (4, 1, [-3], [3])
    rng = np.random.default_rng(0)
    obs = envs.reset()
    assert obs.shape == (K, n, D) and obs.dtype == np.float64
    total_reward, total_steps = np.zeros(K), 0
    terminations = zero_rewards = 0
    returns, lengths = np.zeros(K), np.zeros(K, dtype=int)
    for _ in range(300):
        step, ended = envs.step(random_actions(envs, rng))
        for x in step:
            assert x.shape[:2] == (K, n)
        assert step.obs.shape == step.final_obs.shape == (K, n, D)
        done = step.terminated | step.truncated
        assert not step.truncated.any()
        # v5 pays 1 per step and 0 on the terminal one: a leaked reset step would be an extra 0
        np.testing.assert_array_equal(step.rewards == 0.0, step.terminated)
        terminations += int(step.terminated.sum())
        zero_rewards += int((step.rewards == 0.0).sum())
        np.testing.assert_array_equal(np.abs(step.final_obs).sum(-1) > 0, done)
        # ended episodes are past the 0.2 rad angle limit; their envs restart within the 0.01 reset noise
        assert (np.abs(step.final_obs[done][:, 1]) > 0.2).all()
        assert (np.abs(step.obs[done]) <= 0.01).all()
        assert sorted(k for k, _, _ in ended) == sorted(np.nonzero(done)[0].tolist())
        total_reward += step.rewards.sum(1)
        total_steps += n
        for k, ret, length in ended:
            returns[k] += ret
            lengths[k] += length
            assert ret == length - 1
    assert terminations == zero_rewards > 20
    np.testing.assert_allclose(returns + envs.episode_return.sum(1), total_reward)
    np.testing.assert_array_equal(lengths + envs.episode_length.sum(1), total_steps)
    envs.close()


def test_time_limit_truncates_at_the_registered_length():
    envs = EnvpoolMemberEnvs("Reacher-v5", [1], 2)
    envs.reset()
    rng = np.random.default_rng(1)
    for t in range(1, 121):
        step, ended = envs.step(random_actions(envs, rng))
        assert not step.terminated.any()
        assert step.truncated.all() == (t % 50 == 0) == step.truncated.any()
        assert (np.abs(step.final_obs).sum(-1) > 0).all() == (t % 50 == 0)
        assert [length for _, _, length in ended] == ([50, 50] if t % 50 == 0 else [])
    envs.close()


def first_termination(envs, actions) -> int:
    envs.reset()
    for t, a in enumerate(actions, 1):
        step, _ = envs.step(a)
        if step.terminated.any() or step.truncated.any():
            return t
    raise AssertionError("no episode ended")


def test_termination_at_the_time_limit_sets_both_flags_as_gymnasium_does():
    rng = np.random.default_rng(2)
    envs = EnvpoolMemberEnvs("Hopper-v5", [5], 1)
    actions = [random_actions(envs, rng) for _ in range(500)]
    t = first_termination(envs, actions)
    envs.time_limit = t
    envs.reset()
    for a in actions[:t]:
        step, _ = envs.step(a)
    assert step.terminated.all() and step.truncated.all()
    envs.close()


def run_obs(envs, actions, member=0) -> np.ndarray:
    out = [envs.reset()[member]]
    for a in actions:
        step, _ = envs.step(a)
        out += [step.obs[member], step.final_obs[member]]
    envs.close()
    return np.array(out)


def test_a_member_depends_only_on_its_seed_and_actions_are_clipped():
    rng = np.random.default_rng(3)
    actions = [rng.uniform(-1, 1, size=(2, 2, 3)) for _ in range(60)]
    alone = run_obs(EnvpoolMemberEnvs("Hopper-v5", [7], 2), [a[:1] for a in actions])
    first = run_obs(EnvpoolMemberEnvs("Hopper-v5", [7, 8], 2, num_threads=1), actions)
    second = run_obs(EnvpoolMemberEnvs("Hopper-v5", [9, 7], 2), [a[::-1] for a in actions], member=1)
    clipped = run_obs(EnvpoolMemberEnvs("Hopper-v5", [7], 2), [np.sign(a[:1]) * 5.0 for a in actions])
    sign = run_obs(EnvpoolMemberEnvs("Hopper-v5", [7], 2), [np.sign(a[:1]) for a in actions])
    np.testing.assert_array_equal(alone, first)
    np.testing.assert_array_equal(alone, second)
    np.testing.assert_array_equal(clipped, sign)
    other = run_obs(EnvpoolMemberEnvs("Hopper-v5", [8], 2), [a[:1] for a in actions])
    assert not np.array_equal(alone[0], other[0])


def test_reset_restarts_from_the_seeds():
    envs = EnvpoolMemberEnvs("Walker2d-v5", [1, 2], 2)
    first = envs.reset()
    envs.step(np.zeros((2, 2, 6)))
    np.testing.assert_array_equal(envs.reset(), first)
    envs.close()


@pytest.mark.parametrize("env_id", SUPPORTED_IDS)
def test_spaces_match_gymnasium(env_id):
    envs, reference = EnvpoolMemberEnvs(env_id, [0], 1), gym.make(env_id)
    assert envs.obs_dim == reference.observation_space.shape[0]
    np.testing.assert_array_equal(envs.action_low, reference.action_space.low)
    np.testing.assert_array_equal(envs.action_high, reference.action_space.high)
    assert envs.action_low.dtype == reference.action_space.low.dtype
    assert envs.time_limit == reference.spec.max_episode_steps
    envs.close()
    reference.close()


def test_unknown_task_is_a_one_line_config_error():
    with pytest.raises(ConfigError, match=r"env\.id='Ant-v5'.*HalfCheetah-v5") as error:
        EnvpoolMemberEnvs("Ant-v5", [0], 1)
    assert "\n" not in str(error.value)


# -- statistical agreement with Gymnasium -----------------------------------------------------------------------

def random_episodes(backend, env_id: str, envs: int, per_env: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The first per_env episodes of each of `envs` environments (one member each, so each env's episodes are an
    unbiased i.i.d. sample) under uniform random actions: (returns, lengths)."""
    vec = backend(env_id, [seed * 1000 + k for k in range(envs)], 1)
    rng = np.random.default_rng(seed)
    episodes = [[] for _ in range(envs)]
    vec.reset()
    while min(map(len, episodes)) < per_env:
        _, ended = vec.step(random_actions(vec, rng))
        for k, ret, length in ended:
            episodes[k].append((ret, length))
    vec.close()
    sample = np.array([e for per in episodes for e in per[:per_env]])
    return sample[:, 0], sample[:, 1]


def welch_z(a: np.ndarray, b: np.ndarray) -> float:
    """|difference of means| in standard errors of the difference (Welch); 0 for equal constants."""
    diff = abs(a.mean() - b.mean())
    se = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    return diff / se if se > 0 else (0.0 if diff == 0 else np.inf)


# (envs, episodes per env): 32 episodes of the 1000-step tasks, 400 of Reacher's 50 steps, 700-2000 short ones
SAMPLES = {"HalfCheetah-v5": (16, 2), "Hopper-v5": (12, 60), "InvertedDoublePendulum-v5": (20, 100),
           "InvertedPendulum-v5": (20, 100), "Reacher-v5": (16, 25), "Swimmer-v5": (16, 2), "Walker2d-v5": (12, 60)}


@pytest.mark.parametrize("env_id", V5)
def test_random_policy_returns_and_lengths_agree_with_gymnasium(env_id):
    envs, per_env = SAMPLES[env_id]
    gym_returns, gym_lengths = random_episodes(MemberEnvs, env_id, envs, per_env, seed=1)
    pool_returns, pool_lengths = random_episodes(EnvpoolMemberEnvs, env_id, envs, per_env, seed=2)
    summary = (f"{env_id}: returns {gym_returns.mean():.2f} vs {pool_returns.mean():.2f}, "
               f"lengths {gym_lengths.mean():.2f} vs {pool_lengths.mean():.2f}")
    assert welch_z(gym_returns, pool_returns) < 4, summary
    assert welch_z(gym_lengths, pool_lengths) < 4, summary
