"""What both environment backends share: the step they return, per-env seeds, action clipping and the episode
accounting (true environment reward, each episode's every step counted once)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


def env_seed(member_seed: int, index: int) -> int:
    """The seed of a member's index-th environment: depends only on the member's seed, never on the population."""
    return int(np.random.SeedSequence([member_seed, index]).generate_state(1)[0])


class Step(NamedTuple):
    """One step of all environments; arrays are [K, n, ...]."""

    obs: np.ndarray  # the next observation (after an automatic reset where an episode ended)
    rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    final_obs: np.ndarray  # the last observation of episodes that ended at this step (zeros elsewhere)


Ended = list[tuple[int, float, int]]  # episodes that ended in a step: (member, return, length)


class MemberEnvsBase:
    """K members × n environments: subclasses set action_low/high, obs_dim, act_dim and implement reset(), send(),
    recv(), member_state(), set_member_state() and close()."""

    def __init__(self, member_seeds: list[int], envs_per_member: int, clip_actions: bool | np.ndarray):
        self.members, self.envs_per_member = len(member_seeds), envs_per_member
        self.clip_actions = np.broadcast_to(np.asarray(clip_actions, dtype=bool), (self.members,))
        self.seeds = [env_seed(s, i) for s in member_seeds for i in range(envs_per_member)]
        self.episode_return = np.zeros((self.members, envs_per_member))
        self.episode_length = np.zeros((self.members, envs_per_member), dtype=np.int64)

    def _shape(self, x: np.ndarray) -> np.ndarray:
        """[K·n, ...] -> [K, n, ...]."""
        return x.reshape(self.members, self.envs_per_member, *x.shape[1:])

    def _clipped(self, actions: np.ndarray) -> np.ndarray:
        """actions [K, n, A] clipped to the bounds for the members with clip_actions (the others keep the raw sample;
        MuJoCo then clamps the control and the reward's control cost sees the action as sent)."""
        if not self.clip_actions.any():
            return actions
        clipped = np.clip(actions, self.action_low, self.action_high)
        return clipped if self.clip_actions.all() else np.where(self.clip_actions[:, None, None], clipped, actions)

    def _count(self, rewards: np.ndarray, done: np.ndarray) -> Ended:
        """Adds a step's rewards [K, n] to the running episodes; returns those that ended (done [K, n])."""
        self.episode_return += rewards
        self.episode_length += 1
        ended = [(int(k), float(self.episode_return[k, i]), int(self.episode_length[k, i]))
                 for k, i in zip(*np.nonzero(done))]
        self.episode_return[done] = 0.0
        self.episode_length[done] = 0
        return ended

    def step(self, actions: np.ndarray) -> tuple[Step, Ended]:
        """actions [K, n, A]. Returns the step and the episodes that ended in it as (member, return, length)."""
        self.send(actions)
        return self.recv()
