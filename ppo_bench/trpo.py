"""TRPO's update for K members at once, the baseline of the PPO paper's Figure 3 (Schulman et al. 2015, "Trust Region
Policy Optimization", as the 2017 release's trpo_mpi ran it): maximise L^CPI(θ) = E[r_t(θ) Â_t] subject to
E[KL(π_old || π_θ)] ≤ δ by one natural-gradient step, x = F⁻¹g by conjugate gradient with Fisher-vector products of the
analytic KL, scaled to the trust region's edge, then halved until the KL and the surrogate's improvement are
acceptable; the value network is fitted by Adam. Members never share a step: every dot product has a member axis."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from ppo_bench.networks import ActorCritic
from ppo_bench.objective import gaussian_entropy, gaussian_kl, gaussian_log_prob, surrogate_loss, value_loss
from ppo_bench.population import MemberSettings, Population
from ppo_bench.rollout import Batch
from ppo_bench.settings import TrainSettings
from ppo_bench.update import Diagnostics, UpdateResult, normalized_advantages

Vector = list[Tensor]  # one tensor per policy parameter, each with the member axis first


def member_dot(a: Vector, b: Vector) -> Tensor:
    """Σ a·b over each member's parameters: [K]."""
    return sum((x * y).flatten(1).sum(1) for x, y in zip(a, b))


def _scaled(v: Tensor, like: Tensor) -> Tensor:
    return v.view(-1, *[1] * (like.dim() - 1))


def conjugate_gradient(matvec: Callable[[Vector], Vector], b: Vector, iters: int, tolerance: float = 1e-10) -> Vector:
    """x with A x = b for each member, A symmetric positive definite given by matvec (Hestenes-Stiefel CG, `iters`
    iterations; a member whose residual r·r falls below `tolerance` stops moving)."""
    x = [torch.zeros_like(t) for t in b]
    r = [t.clone() for t in b]
    p = [t.clone() for t in b]
    rr = member_dot(r, r)
    for _ in range(iters):
        done = rr < tolerance
        if done.all():
            break
        ap = matvec(p)
        alpha = torch.where(done, 0.0, rr / member_dot(p, ap))
        x = [xi + _scaled(alpha, xi) * pi for xi, pi in zip(x, p)]
        r = [ri - _scaled(alpha, ri) * api for ri, api in zip(r, ap)]
        rr_next = member_dot(r, r)
        beta = torch.where(done, 0.0, rr_next / rr)
        p = [ri + _scaled(beta, ri) * pi for ri, pi in zip(r, p)]
        rr = torch.where(done, rr, rr_next)
    return x


def policy_parameters(net: ActorCritic) -> list[torch.nn.Parameter]:
    return [*net.policy_weights, *net.policy_biases, net.log_std]


def fisher_vector_product(net: ActorCritic, obs: Tensor, means_old: Tensor, log_std_old: Tensor,
                          damping: float) -> Callable[[Vector], Vector]:
    """v -> (F + damping·I) v per member, F the Hessian of E[KL(π_old || π_θ)] at θ = θ_old (the Fisher information
    of the Gaussian policy there), by double backpropagation."""
    params = policy_parameters(net)
    kl = gaussian_kl(means_old, log_std_old, net.policy_mean(obs), net.log_std).mean(1).sum()  # members add up
    grads = torch.autograd.grad(kl, params, create_graph=True)

    def product(v: Vector) -> Vector:
        hv = torch.autograd.grad(sum((g * vi).sum() for g, vi in zip(grads, v)), params, retain_graph=True)
        return [h.detach() + damping * vi for h, vi in zip(hv, v)]

    return product


def line_search(evaluate: Callable[[Tensor], tuple[Tensor, Tensor]], members: int, steps: int, max_kl: float,
                kl_tolerance: float) -> Tensor:
    """The accepted fraction of the full step per member: the largest of 1, 1/2, 1/4, ... (`steps` tries) whose
    (improvement, kl) = evaluate(fractions) are finite with kl ≤ kl_tolerance · max_kl and improvement ≥ 0; 0 for a
    member with no such step (its policy stays). evaluate gets every member's trial fraction at once."""
    fraction = torch.ones(members)
    accepted = torch.zeros(members, dtype=torch.bool)
    for _ in range(steps):
        improvement, kl = evaluate(fraction)
        ok = torch.isfinite(improvement) & torch.isfinite(kl) & (kl <= kl_tolerance * max_kl) & (improvement >= 0)
        accepted |= ok
        if accepted.all():
            break
        fraction = torch.where(accepted, fraction, fraction / 2)
    return torch.where(accepted, fraction, 0.0)


def trpo_update(pop: Population, per_member: MemberSettings, batch: Batch, s: TrainSettings,
                clip_eps: Tensor) -> UpdateResult:
    """One TRPO policy step per live member, then `epochs` passes of minibatch Adam on the value loss."""
    K, net, a = pop.K, pop.net, s.algo
    # the policy step sees the whole batch at once, so adv_norm=minibatch normalises over the batch as well
    advantages = batch.advantages if s.details.adv_norm == "none" else normalized_advantages(batch.advantages)
    params = policy_parameters(net)
    old_params = [p.detach().clone() for p in params]
    old_log_std = net.log_std.detach().clone()
    live = torch.as_tensor(pop.live)

    def surrogate() -> Tensor:  # L^CPI per member [K]
        ratio = torch.exp(gaussian_log_prob(batch.actions, net.policy_mean(batch.obs), net.log_std) - batch.log_probs)
        return (ratio * advantages).mean(1)

    before = surrogate()
    gradient = [g.detach() for g in torch.autograd.grad(torch.where(live, before, 0.0).sum(), params)]
    before = before.detach()
    non_finite_loss = (~torch.isfinite(before) | ~torch.isfinite(member_dot(gradient, gradient))).numpy() & pop.live
    moving = live & ~torch.as_tensor(non_finite_loss)
    gradient = [torch.where(_scaled(moving, g), g, 0.0) for g in gradient]
    fvp = fisher_vector_product(net, batch.obs, batch.means, old_log_std, a.cg_damping)
    direction = conjugate_gradient(fvp, gradient, a.cg_iters)
    curvature = member_dot(direction, fvp(direction))  # x·Fx
    scale = torch.where(moving & (curvature > 0), torch.sqrt(2 * a.max_kl / curvature.clamp_min(1e-12)), 0.0)
    full_step = [_scaled(scale, x) * x for x in direction]

    def evaluate(fraction: Tensor) -> tuple[Tensor, Tensor]:
        with torch.no_grad():
            for p, p_old, step in zip(params, old_params, full_step):
                p.copy_(p_old + _scaled(fraction, step) * step)
            kl = gaussian_kl(batch.means, old_log_std, net.policy_mean(batch.obs), net.log_std).mean(1)
            return surrogate() - before, kl

    fraction = line_search(evaluate, K, a.line_search_steps, a.max_kl, a.kl_tolerance)
    evaluate(fraction)  # the accepted step (0: the old policy)
    value_losses = _fit_value(pop, per_member, batch, s, live & ~torch.as_tensor(non_finite_loss), clip_eps)
    with torch.no_grad():
        mean, log_std = net.policy_mean(batch.obs), net.log_std
        after = surrogate_loss(gaussian_log_prob(batch.actions, mean, log_std), batch.log_probs, advantages,
                               gaussian_kl(batch.means, old_log_std, mean, log_std), clip_eps, pop.beta)
        entropy = gaussian_entropy(log_std)
        weights_finite = torch.stack([torch.isfinite(p).flatten(1).all(1) for p in net.parameters()]).all(0)
    diagnostics = Diagnostics(policy_loss=after.loss, value_loss=value_losses,
                              grad_norm=torch.sqrt(member_dot(gradient, gradient)), kl=after.kl,
                              clip_fraction=after.clip_fraction, ratio_min=after.ratio_min,
                              ratio_mean=after.ratio_mean, ratio_max=after.ratio_max, entropy=entropy,
                              beta=pop.beta.clone())
    still_live = pop.live & ~non_finite_loss
    non_finite_after = (~weights_finite.numpy() | ~torch.isfinite(after.kl).numpy()) & still_live
    return UpdateResult(diagnostics if still_live.any() else None, advantages, non_finite_loss, non_finite_after)


def _fit_value(pop: Population, per_member: MemberSettings, batch: Batch, s: TrainSettings, live: Tensor,
               clip_eps: Tensor) -> Tensor:
    """`epochs` passes of minibatch Adam on the value loss (the policy's gradients are zero: separate networks, so
    Adam leaves the policy where the step put it); returns the mean minibatch loss per member [K]."""
    K, B, M = pop.K, s.batch_size, s.minibatch_size
    value_clip_eps = per_member.value_clip_eps(clip_eps)
    total, steps = torch.zeros(K), 0
    for _ in range(s.epochs):
        order = torch.stack([torch.randperm(B, generator=g) for g in pop.generators])
        for start in range(0, s.num_minibatches * M, M):
            index = order[:, start:start + M]
            obs = torch.gather(batch.obs, 1, index[..., None].expand(K, M, batch.obs.shape[2]))
            loss = value_loss(pop.net.value(obs), torch.gather(batch.values, 1, index),
                              torch.gather(batch.returns, 1, index), value_clip_eps, per_member.value_loss_coef)
            pop.optimizer.zero_grad(set_to_none=False)
            torch.where(live, loss, 0.0).sum().backward()
            pop.optimizer.step()
            total += loss.detach()
            steps += 1
    return total / max(steps, 1)

