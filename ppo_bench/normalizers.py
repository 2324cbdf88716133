"""Running statistics with a member axis: each of the K members keeps its own (never a shared normaliser)."""

from __future__ import annotations

import numpy as np


class RunningMeanStd:
    """Mean and variance of a stream of [K, B, *shape] samples, per member, merged with Chan et al.'s parallel rule."""

    def __init__(self, members: int, shape: tuple[int, ...] = ()):
        self.mean = np.zeros((members, *shape))
        self.var = np.ones((members, *shape))
        self.count = np.full(members, 1e-4)

    def update(self, x: np.ndarray) -> None:
        batch_mean, batch_var, n = x.mean(1), x.var(1), x.shape[1]
        count = self.count.reshape(-1, *[1] * (x.ndim - 2))
        total = count + n
        delta = batch_mean - self.mean
        self.mean = self.mean + delta * n / total
        self.var = (self.var * count + batch_var * n + delta**2 * count * n / total) / total
        self.count = self.count + n

    def state(self) -> dict[str, np.ndarray]:
        return {"mean": self.mean.copy(), "var": self.var.copy(), "count": self.count.copy()}


def obs_std(var: np.ndarray, var_floor: float | np.ndarray | None = None) -> np.ndarray:
    """The std each member divides by. var [K, D]; var_floor None, a number or [K].

    std = sqrt(max(var, var_floor)) as the 2017 code, or sqrt(var + 1e-8) (ppo2, CleanRL) where var_floor is None
    or NaN.
    """
    floor = np.full(len(var), np.nan) if var_floor is None else np.broadcast_to(var_floor, (len(var),))
    floor = floor[:, None]
    return np.where(np.isnan(floor), np.sqrt(var + 1e-8), np.sqrt(np.maximum(var, np.nan_to_num(floor))))


def normalize(x: np.ndarray, mean: np.ndarray, var: np.ndarray, clip: float | None,
              var_floor: float | np.ndarray | None = None) -> np.ndarray:
    """(x - mean) / std, clipped to ±clip (std: obs_std). x [K, B, D]; mean, var [K, D]."""
    return FrozenNormalizer(mean, var, clip, var_floor)(x)


class FrozenNormalizer:
    """normalize() with the statistics fixed: the std is computed once, not at every call (a rollout's per-step
    cost); the same operations in the same order, so the same numbers to the last bit."""

    def __init__(self, mean: np.ndarray, var: np.ndarray, clip: float | None,
                 var_floor: float | np.ndarray | None = None):
        self.mean, self.std, self.clip = mean[:, None], obs_std(var, var_floor)[:, None], clip

    def __call__(self, x: np.ndarray) -> np.ndarray:
        z = (x - self.mean) / self.std
        return z if self.clip is None else np.clip(z, -self.clip, self.clip, out=z)


class RewardScaler:
    """Divides rewards by the running std of each env's discounted return (ppo2's VecNormalize for rewards)."""

    def __init__(self, members: int, envs: int, gamma: float, clip: float | None):
        self.returns = np.zeros((members, envs))
        self.stats = RunningMeanStd(members)
        self.gamma, self.clip = gamma, clip

    def __call__(self, rewards: np.ndarray, dones: np.ndarray) -> np.ndarray:
        self.returns = self.returns * self.gamma + rewards
        self.stats.update(self.returns)
        self.returns[dones] = 0.0
        scaled = rewards / np.sqrt(self.stats.var[:, None] + 1e-8)
        return scaled if self.clip is None else np.clip(scaled, -self.clip, self.clip)
