"""Collecting a batch: T steps of every member's environments with the current policies, then GAE (Schulman et al.
2017, eqs. 11-12) and, with the 2017 normaliser order, the batch as the 2017 code optimises on it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ppo_bench.envs.base import Ended
from ppo_bench.gae import gae
from ppo_bench.objective import LOG_SQRT_2PI, gaussian_log_prob
from ppo_bench.population import MemberSettings, Population
from ppo_bench.settings import TrainSettings


@dataclass
class Batch:
    """One iteration's samples of every member, [K, T·n, ...] each (time-major within a member)."""

    obs: torch.Tensor  # [K, B, D] the network's (normalised) input
    actions: torch.Tensor  # [K, B, A] as sampled (before any clipping for the environment)
    means: torch.Tensor  # [K, B, A] π_old's mean
    values: torch.Tensor  # [K, B] V_old
    log_probs: torch.Tensor  # [K, B] log π_old(a|s)
    advantages: torch.Tensor  # [K, B] GAE(γ, λ)
    returns: torch.Tensor  # [K, B] advantages + values: the value target

    def replace(self, **changes: torch.Tensor) -> Batch:
        return dataclasses.replace(self, **changes)


def collect(pop: Population, per_member: MemberSettings, envs, obs: np.ndarray, s: TrainSettings,
            on_episodes: Callable[[Ended], None]) -> tuple[Batch, np.ndarray]:
    """Collects T steps of every env with the current policies and the current (frozen) observation normaliser,
    then updates the normaliser from the batch's raw observations (once per batch, as the 2017 code does); with
    details.obs_norm_order=before the batch is then renormalised with the updated statistics, and π_old's means,
    log-probabilities and values recomputed on it, as the 2017 code's optimisation sees it.
    Returns the batch and the observation to continue from."""
    K, n, T, A, D = pop.K, s.env.num_envs, s.rollout_steps, envs.act_dim, envs.obs_dim
    net = pop.net
    noise = torch.stack([torch.randn(T, n, A, generator=g) for g in pop.generators], 1)  # [T, K, n, A]
    buf = {name: torch.zeros(T, K, n, *shape) for name, shape in
           (("obs", (D,)), ("actions", (A,)), ("means", (A,)), ("values", ()))}
    raw_obs = np.zeros((T, K, n, D))
    rewards, truncated_values = np.zeros((T, K, n)), np.zeros((T, K, n))
    dones = np.zeros((T, K, n), dtype=bool)
    log_std = net.log_std.detach()
    std = torch.exp(log_std)[:, None]
    dead = ~pop.live
    normalized = pop.obs_normalizer(per_member.obs_var_floor)  # the statistics stay fixed for the whole rollout
    with torch.no_grad():
        for t in range(T):
            raw_obs[t] = obs
            obs_n = normalized(obs)
            mean = net.policy_mean(obs_n)
            action = torch.addcmul(mean, std, noise[t])
            env_action = action.numpy()
            if dead.any():
                env_action = np.where(dead[:, None, None], 0.0, env_action)
            envs.send(env_action)  # envpool simulates while the values and buffers are computed
            buf["obs"][t], buf["actions"][t], buf["means"][t] = obs_n, action, mean
            buf["values"][t] = net.value(obs_n)
            step, ended = envs.recv()
            pop.global_step += n
            done = step.terminated | step.truncated
            truncated_only = step.truncated & ~step.terminated
            truncated_only &= per_member.bootstrap_truncation[:, None]
            if truncated_only.any():  # bootstrap from the final observation's value; termination does not
                final_values = net.value(normalized(step.final_obs)).numpy()
                truncated_values[t] = np.where(truncated_only, final_values, 0.0)
            r = step.rewards
            if pop.reward_scaler is not None:
                r = pop.reward_scaler(r, done)
            elif s.details.reward_clip is not None:
                r = np.clip(r, -s.details.reward_clip, s.details.reward_clip)
            rewards[t], dones[t] = r, done
            on_episodes(ended)
            obs = step.obs
        last_value = net.value(normalized(obs)).numpy()
        # log π(a|s) of the sampled action: a = μ + σ ξ, so log π = Σ(-ξ²/2 - log σ - log √(2π))
        log_probs = (-0.5 * noise.square() - log_std[:, None] - LOG_SQRT_2PI).sum(-1)
    values = buf["values"].double().numpy()
    next_values = np.concatenate([values[1:], last_value[None]])
    # 0 after termination; after truncation V(final obs), or 0 when truncation is treated as terminal
    next_values = np.where(dones, truncated_values, next_values)
    advantages, returns = gae(rewards, values, next_values, dones, s.gamma, s.gae_lambda)
    steps = {**buf, "log_probs": log_probs, "advantages": torch.as_tensor(advantages, dtype=torch.float32),
             "returns": torch.as_tensor(returns, dtype=torch.float32)}
    batch = Batch(**{name: x.transpose(0, 1).reshape(K, T * n, *x.shape[3:]).contiguous()
                     for name, x in steps.items()})
    if pop.obs_stats is not None:
        raw = np.swapaxes(raw_obs, 0, 1).reshape(K, T * n, D)
        pop.obs_stats.update(raw)
        if per_member.renormalized.any():
            batch = renormalized(pop, per_member, batch, raw)
    return batch, obs


def renormalized(pop: Population, per_member: MemberSettings, batch: Batch, raw_obs: np.ndarray) -> Batch:
    """The batch as the 2017 code optimises on it: observations normalised with the statistics that include them,
    and π_old (means, log-probabilities of the taken actions, values for value clipping) evaluated on those; only for
    the members with details.obs_norm_order=before."""
    obs = pop.obs_normalizer(per_member.obs_var_floor)(raw_obs)
    with torch.no_grad():
        means = pop.net.policy_mean(obs)
        fresh = {"obs": obs, "means": means, "values": pop.net.value(obs),
                 "log_probs": gaussian_log_prob(batch.actions, means, pop.net.log_std)}
    which = per_member.renormalized
    return batch.replace(**{name: torch.where(which.view(-1, *[1] * (x.dim() - 1)), x, getattr(batch, name))
                            for name, x in fresh.items()})


def explained_variance(values: torch.Tensor, returns: torch.Tensor) -> np.ndarray:
    """1 - Var[R - V] / Var[R] per member. [K, B] -> [K]."""
    var_returns = returns.var(1)
    return (1 - (returns - values).var(1) / var_returns).numpy()
