"""K members × n environments stepped together, with episode accounting and the data truncation bootstrapping needs."""

from __future__ import annotations

import copy
import functools
from typing import NamedTuple

import gymnasium as gym
import mujoco
import numpy as np

from ppo_bench.settings import ConfigError, EnvSettings
from ppo_bench.tasks import PAPER_ENV_IDS


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
                          f"{', '.join(PAPER_ENV_IDS)}") from None
    space = env.action_space
    env.close()
    if not isinstance(space, gym.spaces.Box):
        raise ConfigError(f"env.id={env_id!r}: has {type(space).__name__} actions; ppo-bench needs continuous "
                          "(Box) actions")


def make_member_envs(env: EnvSettings, member_seeds: list[int], clip_actions: bool | np.ndarray = True):
    """The environments of a population on the configured backend (both give the same interface and semantics).
    clip_actions (one for all, or [K]): clip actions to the bounds before the environment sees them (else MuJoCo
    clamps the control, and the reward's control cost sees the action as sent)."""
    if env.backend == "envpool":
        from ppo_bench.envpool_backend import EnvpoolMemberEnvs

        return EnvpoolMemberEnvs(env.id, member_seeds, env.num_envs, env.threads or None, clip_actions)
    return MemberEnvs(env.id, member_seeds, env.num_envs, clip_actions)


def check_env(env: EnvSettings) -> None:
    """Raises ConfigError unless the backend can run env.id."""
    if env.backend == "envpool":
        from ppo_bench.envpool_backend import check_envpool_id

        check_envpool_id(env.id)
    else:
        check_env_id(env.id)


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

    def __init__(self, env_id: str, member_seeds: list[int], envs_per_member: int,
                 clip_actions: bool | np.ndarray = True):
        check_env_id(env_id)
        self.clip_actions = np.broadcast_to(np.asarray(clip_actions, dtype=bool), (len(member_seeds),))
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
        """actions [K, n, A] (clipped to the action bounds here when clip_actions). Returns the step and the episodes
        that ended in it as (member, return, length), counting the true environment reward."""
        self.send(actions)
        return self.recv()

    def send(self, actions: np.ndarray) -> None:
        """Starts a step (here it only stores the actions: the gymnasium backend steps in recv())."""
        if self.clip_actions.any():  # per member: clipped, or the raw sample (clip_actions False)
            clipped = np.clip(actions, self.action_low, self.action_high)
            actions = clipped if self.clip_actions.all() else \
                np.where(self.clip_actions[:, None, None], clipped, actions)
        self._actions = actions.reshape(-1, *self.action_low.shape)

    def recv(self) -> tuple[Step, list[tuple[int, float, int]]]:
        """Ends the step started by send(); returns what step() returns."""
        obs, rewards, terminated, truncated, info = self.vector.step(self._actions)
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
