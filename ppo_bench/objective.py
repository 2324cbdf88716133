"""The surrogate objective family as pure functions (Schulman et al. 2017, sections 3-4, eqs. 6-8).
Tensors carry a leading member axis [K, ...]."""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def gaussian_log_prob(actions: Tensor, mean: Tensor, log_std: Tensor) -> Tensor:
    """log N(a; μ, diag σ²) summed over the action axis. actions, mean: [K, B, A]; log_std: [K, A] -> [K, B]."""
    log_std = log_std.unsqueeze(1)
    z = (actions - mean) * torch.exp(-log_std)
    return (-0.5 * z.square() - log_std - LOG_SQRT_2PI).sum(-1)


def gaussian_kl(mean_old: Tensor, log_std_old: Tensor, mean_new: Tensor, log_std_new: Tensor) -> Tensor:
    """Analytic KL(N_old || N_new) of diagonal Gaussians, summed over actions.
    means [K, B, A], log_stds [K, A] -> [K, B].

    KL = Σ_i log(σ_new/σ_old) + (σ_old² + (μ_old - μ_new)²) / (2 σ_new²) - 1/2.
    """
    log_std_old, log_std_new = log_std_old.unsqueeze(1), log_std_new.unsqueeze(1)
    var_ratio = torch.exp(2 * (log_std_old - log_std_new))
    mean_term = (mean_old - mean_new).square() * torch.exp(-2 * log_std_new)
    return (log_std_new - log_std_old + 0.5 * (var_ratio + mean_term) - 0.5).sum(-1)


def gaussian_entropy(log_std: Tensor) -> Tensor:
    """Entropy of the state-independent diagonal Gaussian: Σ (log σ + ½ log 2πe). [K, A] -> [K]."""
    return (log_std + LOG_SQRT_2PI + 0.5).sum(-1)


class PolicyLoss(NamedTuple):
    """Per-member outputs of `surrogate_loss`, each [K]."""

    loss: Tensor  # what the optimiser minimises: -(surrogate - β KL)
    surrogate: Tensor  # E[min(r Â, clip(r, 1-ε, 1+ε) Â)] (= L^CPI when unclipped)
    kl: Tensor  # E[KL(π_old || π)]
    clip_fraction: Tensor  # fraction of samples with |r - 1| > ε
    ratio_min: Tensor
    ratio_mean: Tensor
    ratio_max: Tensor


def surrogate_loss(log_prob: Tensor, log_prob_old: Tensor, advantages: Tensor, kl: Tensor,
                   clip_eps: Tensor, kl_beta: Tensor) -> PolicyLoss:
    """The one loss of every objective. Samples [K, B]; clip_eps, kl_beta [K] (ε = inf: no clip; β = 0: no penalty).

    L(θ) = E[min(r Â, clip(r, 1-ε, 1+ε) Â)] - β E[KL(π_old || π_θ)]   (paper eqs. 7 and 8), returned negated.
    """
    ratio = torch.exp(log_prob - log_prob_old)  # r_t(θ) = π_θ(a|s) / π_θold(a|s)
    eps = clip_eps.unsqueeze(1)
    clipped_ratio = torch.maximum(torch.minimum(ratio, 1 + eps), 1 - eps)  # clip(r, 1-ε, 1+ε); identity at ε = inf
    surrogate = torch.minimum(ratio * advantages, clipped_ratio * advantages).mean(1)  # L^CLIP, eq. 7
    mean_kl = kl.mean(1)
    loss = -(surrogate - kl_beta * mean_kl)  # eq. 8 when β > 0
    with torch.no_grad():
        clip_fraction = ((ratio - 1).abs() > eps).float().mean(1)
        stats = (ratio.min(1).values, ratio.mean(1), ratio.max(1).values)
    return PolicyLoss(loss, surrogate, mean_kl, clip_fraction, *stats)


def value_loss(values: Tensor, values_old: Tensor, returns: Tensor, clip_eps: Tensor | None, coef: float) -> Tensor:
    """coef · E[(V - R)²], or with clip_eps the pessimistic clipped form coef · E[max((V - R)², (V_old + clip(V - V_old,
    ±ε) - R)²)]. values, values_old, returns [K, B]; clip_eps [K] (inf: unclipped) or None -> [K]."""
    squared = (values - returns).square()
    if clip_eps is not None:
        eps = clip_eps.unsqueeze(1)
        clipped = values_old + torch.maximum(torch.minimum(values - values_old, eps), -eps)
        squared = torch.maximum(squared, (clipped - returns).square())
    return coef * squared.mean(1)


def adapt_stepsize(scale: Tensor, kl: Tensor, kl_target: float) -> Tensor:
    """Vanilla PG's adaptive Adam stepsize (the PPO paper's Figure 3 baseline: "the Adam stepsize is adjusted based on
    the KL divergence ... using a rule similar to the one shown in Section 4"): section 4's thresholds with the
    factor applied to the stepsize the other way round. [K] each.

    d > d_targ × 1.5 -> stepsize / 2;  d < d_targ / 1.5 -> stepsize × 2;  otherwise unchanged.
    """
    return torch.where(kl > kl_target * 1.5, scale / 2, torch.where(kl < kl_target / 1.5, scale * 2, scale))


def adapt_beta(beta: Tensor, kl: Tensor, kl_target: Tensor) -> Tensor:
    """The adaptive-β rule (paper section 4), once per policy update. [K] each; kl_target NaN keeps β fixed.

    d < d_targ / 1.5 -> β / 2;  d > d_targ × 1.5 -> β × 2;  otherwise unchanged.
    """
    halve = kl < kl_target / 1.5
    double = kl > kl_target * 1.5
    return torch.where(halve, beta / 2, torch.where(double, beta * 2, beta))
