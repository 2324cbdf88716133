"""Generalised advantage estimation (Schulman et al. 2016; PPO paper eqs. 11-12) over a time-major rollout."""

from __future__ import annotations

import numpy as np


def gae(rewards: np.ndarray, values: np.ndarray, next_values: np.ndarray, dones: np.ndarray,
        gamma: float, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """Advantages and value targets. All inputs [T, ...] (time first); returns two [T, ...] arrays.

    next_values[t] is V(s_{t+1}) of the same episode: the next observation's value, or the value of the final
    observation when the episode was truncated at t, or 0 when it terminated at t. dones[t] marks the end of an
    episode at t (either way), which stops the advantage from flowing back across episodes.
        δ_t = r_t + γ V(s_{t+1}) - V(s_t);   Â_t = δ_t + γλ (1 - done_t) Â_{t+1}
    """
    deltas = rewards + gamma * next_values - values
    carry = (1.0 - dones.astype(np.float64)) * gamma * lam
    advantages = np.zeros_like(deltas)
    running = np.zeros_like(deltas[0])
    for t in range(len(deltas) - 1, -1, -1):
        running = deltas[t] + carry[t] * running
        advantages[t] = running
    return advantages, advantages + values
