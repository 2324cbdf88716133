"""A trained policy on its own: weights plus the frozen observation normaliser; saved, reloaded, evaluated."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

from ppo_bench.networks import ActorCritic, mlp
from ppo_bench.normalizers import normalize


@dataclass
class SavedPolicy:
    """One member's deterministic policy: action = mean of the Gaussian on the normalised observation."""

    env_id: str
    weights: list[torch.Tensor]  # [1, in, out] each
    biases: list[torch.Tensor]  # [1, 1, out] each
    obs_mean: np.ndarray | None  # [obs_dim]; None when observations are not normalised
    obs_var: np.ndarray | None
    obs_clip: float | None
    obs_var_floor: float | None = None  # see ppo_bench.normalizers.normalize
    clip_actions: bool = True  # clip to the action bounds before the environment sees the action

    @classmethod
    def from_member(cls, net: ActorCritic, member: int, env_id: str, obs_mean: np.ndarray | None,
                    obs_var: np.ndarray | None, obs_clip: float | None, obs_var_floor: float | None,
                    clip_actions: bool) -> SavedPolicy:
        take = lambda params: [p.detach()[member:member + 1].clone() for p in params]  # noqa: E731
        copy = lambda x: None if x is None else np.array(x[member])  # noqa: E731
        return cls(env_id, take(net.policy_weights), take(net.policy_biases), copy(obs_mean), copy(obs_var), obs_clip,
                   obs_var_floor, clip_actions)

    def act(self, obs: np.ndarray) -> np.ndarray:
        """obs [B, obs_dim] -> deterministic actions [B, act_dim] (before clipping to the action bounds)."""
        x = obs.reshape(len(obs), -1).astype(np.float64)[None]
        if self.obs_mean is not None:
            x = normalize(x, self.obs_mean[None], self.obs_var[None], self.obs_clip, self.obs_var_floor)
        with torch.no_grad():
            return mlp(torch.as_tensor(x, dtype=torch.float32), self.weights, self.biases)[0].numpy()

    def save(self, path: Path) -> None:
        torch.save(dataclasses.asdict(self), path)

    @classmethod
    def load(cls, path: Path) -> SavedPolicy:
        return cls(**torch.load(path, weights_only=False))


def evaluate(policy: SavedPolicy, episodes: int, seed: int, frames: list[np.ndarray] | None = None
             ) -> list[tuple[float, int]]:
    """Runs `episodes` deterministic episodes (episode i reset with seed + i), sending actions as training did;
    returns (return, length) of each. With `frames`, the first episode's rendered RGB frames are appended to it."""
    env = gym.make(policy.env_id, **({"render_mode": "rgb_array"} if frames is not None else {}))
    low, high = env.action_space.low, env.action_space.high
    results = []
    try:
        for episode in range(episodes):
            obs, _ = env.reset(seed=seed + episode)
            total, length, done = 0.0, 0, False
            while not done:
                if frames is not None and episode == 0:
                    frames.append(env.render())
                action = policy.act(np.asarray(obs)[None])[0]
                if policy.clip_actions:
                    action = np.clip(action, low, high)
                obs, reward, terminated, truncated, _ = env.step(action.reshape(env.action_space.shape))
                total, length, done = total + float(reward), length + 1, terminated or truncated
            results.append((total, length))
    finally:
        env.close()
    return results
