"""K members × n environments stepped together, with episode accounting and the data truncation bootstrapping needs."""

from __future__ import annotations

import functools
from typing import NamedTuple

import gymnasium as gym
import numpy as np

from ppo_bench.settings import ConfigError


def env_seed(member_seed: int, index: int) -> int:
    """The seed of a member's index-th environment: depends only on the member's seed, never on the population."""
    return int(np.random.SeedSequence([member_seed, index]).generate_state(1)[0])


@functools.lru_cache(maxsize=None)
def check_env_id(env_id: str) -> None:
    """Raises ConfigError unless env_id is a registered Gymnasium id with continuous (Box) actions."""
    try:
        env = gym.make(env_id)
    except gym.error.Error as error:
        raise ConfigError(f"env.id={env_id!r}: not a registered Gymnasium id ({error}); the paper's tasks are "
                          "HalfCheetah-v5, Hopper-v5, InvertedDoublePendulum-v5, InvertedPendulum-v5, Reacher-v5, "
                          "Swimmer-v5, Walker2d-v5") from None
    space = env.action_space
    env.close()
    if not isinstance(space, gym.spaces.Box):
        raise ConfigError(f"env.id={env_id!r}: has {type(space).__name__} actions; ppo-bench needs continuous "
                          "(Box) actions")


class Step(NamedTuple):
    """One step of all environments; arrays are [K, n, ...]."""

    obs: np.ndarray  # the next observation (after an automatic reset where an episode ended)
    rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    final_obs: np.ndarray  # the last observation of episodes that ended at this step (zeros elsewhere)


class MemberEnvs:
    """Gymnasium's synchronous vector env over K×n copies in same-step autoreset mode (the final observation of an
    ended episode comes in the same step, so no reset step enters the rollout)."""

    def __init__(self, env_id: str, member_seeds: list[int], envs_per_member: int):
        check_env_id(env_id)
        self.members, self.envs_per_member = len(member_seeds), envs_per_member
        self.vector = gym.make_vec(env_id, num_envs=self.members * envs_per_member, vectorization_mode="sync",
                                   vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP})
        space = self.vector.single_action_space
        self.obs_dim = int(np.prod(self.vector.single_observation_space.shape))
        self.act_dim = int(np.prod(space.shape))
        self.action_low, self.action_high = space.low, space.high
        self.seeds = [env_seed(s, i) for s in member_seeds for i in range(envs_per_member)]
        self.episode_return = np.zeros((self.members, envs_per_member))
        self.episode_length = np.zeros((self.members, envs_per_member), dtype=np.int64)

    def _shape(self, x: np.ndarray) -> np.ndarray:
        return x.reshape(self.members, self.envs_per_member, *x.shape[1:])

    def reset(self) -> np.ndarray:
        obs, _ = self.vector.reset(seed=self.seeds)
        return self._shape(obs.reshape(len(obs), -1).astype(np.float64))

    def step(self, actions: np.ndarray) -> tuple[Step, list[tuple[int, float, int]]]:
        """actions [K, n, A] (clipped to the action bounds here). Returns the step and the episodes that ended in it
        as (member, return, length), counting the true environment reward."""
        clipped = np.clip(actions, self.action_low, self.action_high).reshape(-1, *self.action_low.shape)
        obs, rewards, terminated, truncated, info = self.vector.step(clipped)
        obs = obs.reshape(len(obs), -1).astype(np.float64)
        done = terminated | truncated
        final_obs = np.zeros_like(obs)
        if done.any():
            final_obs[done] = np.stack([np.asarray(o, dtype=np.float64).reshape(-1) for o in info["final_obs"][done]])
        rewards = self._shape(rewards.astype(np.float64))
        done = self._shape(done)
        self.episode_return += rewards
        self.episode_length += 1
        ended = [(int(k), float(self.episode_return[k, i]), int(self.episode_length[k, i]))
                 for k, i in zip(*np.nonzero(done))]
        self.episode_return[done] = 0.0
        self.episode_length[done] = 0
        return Step(self._shape(obs), rewards, self._shape(terminated), self._shape(truncated),
                    self._shape(final_obs)), ended

    def close(self) -> None:
        self.vector.close()
