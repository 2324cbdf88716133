"""Updating: epochs of minibatch Adam on the objective for every member at once (each member its own minibatch order,
loss and gradient-norm clip), and the diagnostics of the updated policy against the old one."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import torch

from ppo_bench.objective import gaussian_entropy, gaussian_kl, gaussian_log_prob, surrogate_loss, value_loss
from ppo_bench.population import MemberSettings, Population
from ppo_bench.rollout import Batch
from ppo_bench.settings import TrainSettings


@dataclass
class Diagnostics:
    """Per-member figures of one update, [K] each; the names are metrics.csv's columns."""

    policy_loss: torch.Tensor  # mean over minibatches of -(L^CLIP - β KL)
    value_loss: torch.Tensor  # mean over minibatches
    grad_norm: torch.Tensor  # mean over minibatches, before clipping
    kl: torch.Tensor  # E[KL(π_old || π_new)] over the whole batch, after the update
    clip_fraction: torch.Tensor  # fraction of the batch with |r - 1| > ε, after the update
    ratio_min: torch.Tensor
    ratio_mean: torch.Tensor
    ratio_max: torch.Tensor  # a huge but finite ratio is only logged: the run goes on, as the paper's runs did
    entropy: torch.Tensor
    beta: torch.Tensor  # the β this update used

    def columns(self) -> dict[str, torch.Tensor]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class UpdateResult:
    diagnostics: Diagnostics | None  # None when every member's loss became non-finite
    advantages: torch.Tensor  # [K, B] as the loss saw them (normalised per details.adv_norm)
    non_finite_loss: np.ndarray  # [K] bool: members whose loss became non-finite in this update
    non_finite_after: np.ndarray  # [K] bool: members (still live) whose weights or KL became non-finite


def clip_member_grads(params: list[torch.Tensor], max_norm: float | None) -> torch.Tensor:
    """Each member's gradient norm over all parameters [K]; with max_norm, each member clipped by its own norm."""
    grad_norm = torch.cat([p.grad.flatten(1) for p in params], 1).norm(dim=1)
    if max_norm is not None:
        scale = torch.clamp(max_norm / (grad_norm + 1e-6), max=1.0)
        for p in params:
            p.grad.mul_(scale.view(len(scale), *[1] * (p.dim() - 1)))
    return grad_norm


def optimizer_step(pop: Population, params: list[torch.Tensor]) -> None:
    """One optimiser step; with per-member stepsizes (pop.lr_scale ≠ 1) each member's step is scaled, which is exactly
    Adam (or RMSprop) with that member's stepsize (their moments do not depend on the stepsize)."""
    if bool((pop.lr_scale == 1).all()):
        pop.optimizer.step()
        return
    before = [p.detach().clone() for p in params]
    pop.optimizer.step()
    with torch.no_grad():
        for p, p0 in zip(params, before):
            p.copy_(p0 + pop.lr_scale.view(-1, *[1] * (p.dim() - 1)) * (p - p0))


def normalized_advantages(advantages: torch.Tensor) -> torch.Tensor:
    """Per member: (Â - mean) / (std + 1e-8) over the sample axis. [K, B] -> [K, B]."""
    return (advantages - advantages.mean(1, keepdim=True)) / (advantages.std(1, keepdim=True) + 1e-8)


def update(pop: Population, per_member: MemberSettings, batch: Batch, s: TrainSettings,
           clip_eps: torch.Tensor) -> UpdateResult:
    """s.epochs epochs of minibatch Adam on L = L^CLIP - β KL (paper eqs. 7-8) plus the value loss; members whose
    loss becomes non-finite stop being updated at once. clip_eps [K]: this iteration's ε."""
    K, B, M = pop.K, s.batch_size, s.minibatch_size
    net = pop.net
    advantages = normalized_advantages(batch.advantages) if s.details.adv_norm == "batch" else batch.advantages
    old_log_std = net.log_std.detach().clone()
    live_now = pop.live.copy()
    live = torch.as_tensor(live_now)
    non_finite_loss = np.zeros(K, dtype=bool)
    sums = {"policy_loss": torch.zeros(K), "value_loss": torch.zeros(K), "grad_norm": torch.zeros(K)}
    steps = 0
    params = list(net.parameters())
    value_clip_eps = per_member.value_clip_eps(clip_eps)
    D, A = batch.obs.shape[2], batch.actions.shape[2]
    widths = {"obs": D, "actions": A, "means": A, "log_probs": 1, "values": 1, "returns": 1, "advantages": 1}
    packed = torch.cat([batch.obs, batch.actions, batch.means, batch.log_probs[..., None], batch.values[..., None],
                        batch.returns[..., None], advantages[..., None]], 2)
    width = packed.shape[2]
    for _ in range(s.epochs):
        order = torch.stack([torch.randperm(B, generator=g) for g in pop.generators])  # own order per member
        for start in range(0, s.num_minibatches * M, M):
            index = order[:, start:start + M, None].expand(K, M, width)
            mb = dict(zip(widths, torch.gather(packed, 1, index).split(list(widths.values()), 2)))
            obs, actions = mb["obs"], mb["actions"]
            adv = mb["advantages"].squeeze(2)
            if s.details.adv_norm == "minibatch":
                adv = normalized_advantages(adv)
            mean = net.policy_mean(obs)
            log_std = net.log_std
            policy = surrogate_loss(gaussian_log_prob(actions, mean, log_std), mb["log_probs"].squeeze(2), adv,
                                    gaussian_kl(mb["means"], old_log_std, mean, log_std), clip_eps, pop.beta)
            v_loss = value_loss(net.value(obs), mb["values"].squeeze(2), mb["returns"].squeeze(2), value_clip_eps,
                                per_member.value_loss_coef)
            member_loss = policy.loss + v_loss  # eq. 9's -(L^CLIP - c1 L^VF + c2 S) with c1 in v_loss
            if s.algo.entropy_coef:
                member_loss = member_loss - s.algo.entropy_coef * gaussian_entropy(log_std)
            finite = torch.isfinite(member_loss.detach())
            if not finite[live].all():
                non_finite_loss |= ~finite.numpy() & live_now
                live_now &= ~non_finite_loss
                live = torch.as_tensor(live_now)
                if not live_now.any():
                    return UpdateResult(None, advantages, non_finite_loss, np.zeros(K, dtype=bool))
            pop.optimizer.zero_grad(set_to_none=False)
            torch.where(live, member_loss, 0.0).sum().backward()
            grad_norm = clip_member_grads(params, s.details.max_grad_norm)
            optimizer_step(pop, params)
            sums["policy_loss"] += policy.loss.detach()
            sums["value_loss"] += v_loss.detach()
            sums["grad_norm"] += grad_norm
            steps += 1
    with torch.no_grad():  # the updated policy against the old one over the whole batch, by the same formulas
        mean, log_std = net.policy_mean(batch.obs), net.log_std
        after = surrogate_loss(gaussian_log_prob(batch.actions, mean, log_std), batch.log_probs, advantages,
                               gaussian_kl(batch.means, old_log_std, mean, log_std), clip_eps, pop.beta)
        entropy = gaussian_entropy(log_std)
        weights_finite = torch.stack([torch.isfinite(p).flatten(1).all(1) for p in params]).all(0)
    diagnostics = Diagnostics(**{name: total / max(steps, 1) for name, total in sums.items()}, kl=after.kl,
                              clip_fraction=after.clip_fraction, ratio_min=after.ratio_min,
                              ratio_mean=after.ratio_mean, ratio_max=after.ratio_max,
                              entropy=entropy, beta=pop.beta.clone())
    non_finite_after = (~weights_finite.numpy() | ~torch.isfinite(after.kl).numpy()) & live_now
    return UpdateResult(diagnostics, advantages, non_finite_loss, non_finite_after)
