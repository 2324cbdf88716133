"""Gymnasium's synchronous vector env behind ppo_bench.envs' interface, and the exact save/restore of MuJoCo envs."""

from __future__ import annotations

import copy
import functools

import gymnasium as gym
import mujoco
import numpy as np

from ppo_bench.envs.base import Ended, MemberEnvsBase, Step
from ppo_bench.settings import ConfigError
from ppo_bench.tasks import PAPER_ENV_IDS


@functools.lru_cache(maxsize=None)
def check_env_id(env_id: str) -> None:
    """Raises ConfigError unless env_id is a registered Gymnasium id with continuous (Box) actions."""
    try:
        env = gym.make(env_id)
    except gym.error.Error as error:
        raise ConfigError(f"env.id={env_id!r}: not a registered Gymnasium id ({error}); the paper's tasks are "
                          f"{', '.join(PAPER_ENV_IDS)}") from None
    space = env.action_space
    env.close()
    if not isinstance(space, gym.spaces.Box):
        raise ConfigError(f"env.id={env_id!r}: has {type(space).__name__} actions; ppo-bench needs continuous "
                          "(Box) actions")


class MemberEnvs(MemberEnvsBase):
    """Gymnasium's synchronous vector env over K×n copies in same-step autoreset mode (the final observation of an
    ended episode comes in the same step, so no reset step enters the rollout)."""

    def __init__(self, env_id: str, member_seeds: list[int], envs_per_member: int,
                 clip_actions: bool | np.ndarray = True):
        check_env_id(env_id)
        super().__init__(member_seeds, envs_per_member, clip_actions)
        self.vector = gym.make_vec(env_id, num_envs=self.members * envs_per_member, vectorization_mode="sync",
                                   vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP})
        space = self.vector.single_action_space
        self.obs_dim = int(np.prod(self.vector.single_observation_space.shape))
        self.act_dim = int(np.prod(space.shape))
        self.action_low, self.action_high = space.low, space.high

    def reset(self) -> np.ndarray:
        obs, _ = self.vector.reset(seed=self.seeds)
        return self._shape(obs.reshape(len(obs), -1).astype(np.float64))

    def send(self, actions: np.ndarray) -> None:
        """Starts a step (here it only stores the actions: the gymnasium backend steps in recv())."""
        self._actions = self._clipped(actions).reshape(-1, *self.action_low.shape)

    def recv(self) -> tuple[Step, Ended]:
        """Ends the step started by send(); returns what step() returns."""
        obs, rewards, terminated, truncated, info = self.vector.step(self._actions)
        obs = obs.reshape(len(obs), -1).astype(np.float64)
        done = terminated | truncated
        final_obs = np.zeros_like(obs)
        if done.any():
            final_obs[done] = np.stack([np.asarray(o, dtype=np.float64).reshape(-1) for o in info["final_obs"][done]])
        rewards = self._shape(rewards.astype(np.float64))
        ended = self._count(rewards, self._shape(done))
        return Step(self._shape(obs), rewards, self._shape(terminated), self._shape(truncated),
                    self._shape(final_obs)), ended

    def member_state(self, k: int) -> dict:
        """Everything needed to continue member k's environments exactly (see env_state)."""
        n = self.envs_per_member
        return {"envs": [env_state(e) for e in self.vector.envs[k * n:(k + 1) * n]],
                "episode_return": self.episode_return[k].copy(), "episode_length": self.episode_length[k].copy()}

    def set_member_state(self, k: int, state: dict) -> bool:
        """Restores member k's environments; False when they cannot be (they stay as reset, episodes restart)."""
        n = self.envs_per_member
        if state["envs"] is None or any(saved is None for saved in state["envs"]):
            return False
        for env, saved in zip(self.vector.envs[k * n:(k + 1) * n], state["envs"]):
            set_env_state(env, saved)
        self.episode_return[k], self.episode_length[k] = state["episode_return"], state["episode_length"]
        return True

    def close(self) -> None:
        self.vector.close()


def _time_limit(env: gym.Env) -> gym.wrappers.TimeLimit | None:
    while isinstance(env, gym.Wrapper):
        if isinstance(env, gym.wrappers.TimeLimit):
            return env
        env = env.env
    return None


def env_state(env: gym.Env) -> dict | None:
    """A MuJoCo env's full integration state, its RNG and its time-limit counter; None for other envs, which a
    resumed run restarts from a reset (their continuation is then not exact)."""
    inner = env.unwrapped
    if not (hasattr(inner, "model") and hasattr(inner, "data")):
        return None
    spec = mujoco.mjtState.mjSTATE_INTEGRATION
    physics = np.empty(mujoco.mj_stateSize(inner.model, spec))
    mujoco.mj_getState(inner.model, inner.data, physics, spec)
    limit = _time_limit(env)
    return {"physics": physics, "rng": copy.deepcopy(inner.np_random.bit_generator.state),
            "elapsed_steps": None if limit is None else limit._elapsed_steps}


def set_env_state(env: gym.Env, state: dict) -> None:
    inner = env.unwrapped
    mujoco.mj_setState(inner.model, inner.data, state["physics"], mujoco.mjtState.mjSTATE_INTEGRATION)
    inner.np_random.bit_generator.state = state["rng"]
    limit = _time_limit(env)
    if limit is not None:
        limit._elapsed_steps = state["elapsed_steps"]
