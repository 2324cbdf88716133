"""envpool (C++ threads) behind the interface and semantics of ppo_bench.envs (as the Gymnasium backend).

envpool resets an ended environment on the step after its end (reward 0, action ignored), so each step here resets the
envs that ended right away through envpool's per-env reset: every step() is a real transition for every env, the
final observation comes with the ending step and obs holds the reset observation, as in Gymnasium's same-step mode.
envpool reports an episode that terminates at the time limit as truncated only; so the pool runs without a time limit
and the registered limit is applied here, giving Gymnasium's flags (both set in that case).

Seeding: envpool takes one seed per env; env i of member k gets env_seed(member_seeds[k], i), as with MemberEnvs, so a
member's environments never depend on the rest of the population. The random streams are envpool's own (C++), so the
two backends agree in distribution, not trajectory by trajectory. envpool's rewards are float32.
"""

from __future__ import annotations

import os

import numpy as np

from ppo_bench.envs.base import Ended, MemberEnvsBase, Step
from ppo_bench.settings import ConfigError
from ppo_bench.tasks import TASKS

SUPPORTED_IDS = tuple(f"{task.gym_name}-{version}" for version in ("v5", "v4") for task in TASKS)
_NO_TIME_LIMIT = 2**31 - 1


def check_envpool_id(env_id: str) -> None:
    """Raises ConfigError unless envpool is installed and has env_id."""
    if env_id not in SUPPORTED_IDS:
        raise ConfigError(f"env.id={env_id!r}: not available with env.backend=envpool; it has "
                          f"{', '.join(SUPPORTED_IDS)}")
    try:
        import envpool  # noqa: F401
    except ImportError:
        raise ConfigError("env.backend=envpool: envpool is not installed (pip install 'ppo-bench[envpool]')") from None


class EnvpoolMemberEnvs(MemberEnvsBase):
    """K members × n envpool environments in one pool of K·n envs stepped synchronously by num_threads threads."""

    def __init__(self, env_id: str, member_seeds: list[int], envs_per_member: int, num_threads: int | None = None,
                 clip_actions: bool | np.ndarray = True):
        check_envpool_id(env_id)
        super().__init__(member_seeds, envs_per_member, clip_actions)
        import envpool

        self.env_id, self._envpool = env_id, envpool
        self.num_envs = self.members * envs_per_member
        self.num_threads = min(num_threads or len(os.sched_getaffinity(0)), self.num_envs)
        self.time_limit = int(envpool.make_spec(env_id).config.max_episode_steps)
        self.pool = self._make_pool()
        self._pool_used = False
        space = self.pool.action_space
        self.obs_dim = int(np.prod(self.pool.observation_space.shape))
        self.act_dim = int(np.prod(space.shape))
        # float32 bounds like Gymnasium's MuJoCo action spaces, so both backends expose identical arrays
        self.action_low, self.action_high = space.low.astype(np.float32), space.high.astype(np.float32)

    def _make_pool(self):
        # envpool seeds are int32: shift the uint32 env seeds (a bijection)
        return self._envpool.make(self.env_id, env_type="gymnasium", num_envs=self.num_envs,
                                  seed=[s - 2**31 for s in self.seeds], num_threads=self.num_threads,
                                  max_episode_steps=_NO_TIME_LIMIT)

    def reset(self) -> np.ndarray:
        """Starts every env from its seed (a fresh pool when this one has been used, as Gymnasium re-seeds)."""
        if self._pool_used:
            self.pool.close()
            self.pool = self._make_pool()
        self._pool_used = True
        self.episode_return[:] = 0.0
        self.episode_length[:] = 0
        obs, info = self.pool.reset()
        return self._shape(obs[np.argsort(info["env_id"])].reshape(self.num_envs, -1).astype(np.float64, copy=False))

    def send(self, actions: np.ndarray) -> None:
        """Starts a step; the envpool threads simulate it while the caller does other work until recv()."""
        actions = self._clipped(actions).reshape(self.num_envs, *self.action_low.shape)
        self._sent = actions.astype(np.float64)  # kept alive until recv(): envpool reads it while simulating
        self.pool.send(self._sent)

    def recv(self) -> tuple[Step, Ended]:
        """Ends the step started by send(); returns what step() returns."""
        obs, rewards, terminated, _, info = self.pool.recv()
        order = np.argsort(info["env_id"])
        obs = obs[order].reshape(self.num_envs, -1).astype(np.float64, copy=False)
        rewards, terminated = rewards[order].astype(np.float64), terminated[order]
        truncated = self.episode_length.reshape(-1) + 1 >= self.time_limit  # this step counts toward the limit
        done = terminated | truncated
        final_obs = np.zeros_like(obs)
        if done.any():
            final_obs[done] = obs[done]
            reset_obs, reset_info = self.pool.reset(np.flatnonzero(done).astype(np.int32))
            obs[reset_info["env_id"]] = reset_obs.reshape(len(reset_obs), -1)
        ended = self._count(self._shape(rewards), self._shape(done))
        return Step(self._shape(obs), self._shape(rewards), self._shape(terminated), self._shape(truncated),
                    self._shape(final_obs)), ended

    def member_state(self, k: int) -> dict:
        """envpool cannot export its environments' states: a resumed run restarts them from a reset."""
        return {"envs": None}

    def set_member_state(self, k: int, state: dict) -> bool:
        return False

    def close(self) -> None:
        self.pool.close()
