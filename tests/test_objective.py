"""The loss family, KL and the β rule against hand-computed numbers."""

import math

import pytest
import torch

from ppo_bench.objective import adapt_beta, gaussian_entropy, gaussian_kl, gaussian_log_prob, surrogate_loss, value_loss
from ppo_bench.settings import ObjectiveSettings

INF = math.inf
FAMILY = [  # (clip ε, β): no clipping, clipping, fixed / adaptive KL (same loss), clip + KL
    (INF, 0.0), (0.2, 0.0), (INF, 1.0), (INF, 3.0), (0.2, 1.0)]


@pytest.mark.parametrize("eps,beta", FAMILY)
def test_every_objective_is_minus_mean_advantage_at_ratio_one(eps, beta):
    advantages = torch.tensor([[1.5, -2.0, 0.25, 4.0]])
    log_prob = torch.tensor([[-1.0, -0.3, -2.0, -0.7]])
    mean, log_std = torch.tensor([[[0.3], [-0.2], [1.0], [0.0]]]), torch.tensor([[0.1]])
    kl = gaussian_kl(mean, log_std, mean, log_std)
    assert torch.all(kl.abs() < 1e-7)
    out = surrogate_loss(log_prob, log_prob.clone(), advantages, kl, torch.tensor([eps]), torch.tensor([beta]))
    assert out.loss.item() == pytest.approx(-(1.5 - 2.0 + 0.25 + 4.0) / 4)
    assert out.kl.item() == pytest.approx(0.0, abs=1e-7)
    assert out.clip_fraction.item() == 0.0
    assert (out.ratio_min.item(), out.ratio_mean.item(), out.ratio_max.item()) == (1.0, 1.0, 1.0)


def test_loss_values_by_hand():
    # r = (1.5, 0.5), Â = (1, -1), ε = 0.2: min(1.5, 1.2) = 1.2 and min(-0.5, -0.8) = -0.8 -> L^CLIP = 0.2
    log_old = torch.zeros(1, 2)
    log_new = torch.log(torch.tensor([[1.5, 0.5]]))
    adv = torch.tensor([[1.0, -1.0]])
    kl = torch.tensor([[0.1, 0.3]])
    clip = surrogate_loss(log_new, log_old, adv, kl, torch.tensor([0.2]), torch.tensor([0.0]))
    assert clip.loss.item() == pytest.approx(-0.2)
    assert clip.clip_fraction.item() == 1.0
    # no clipping: E[r Â] = (1.5 - 0.5) / 2 = 0.5
    plain = surrogate_loss(log_new, log_old, adv, kl, torch.tensor([INF]), torch.tensor([0.0]))
    assert plain.loss.item() == pytest.approx(-0.5)
    # KL penalty β = 0.5, E[KL] = 0.2: -(0.5 - 0.1)
    penalty = surrogate_loss(log_new, log_old, adv, kl, torch.tensor([INF]), torch.tensor([0.5]))
    assert penalty.loss.item() == pytest.approx(-0.4)
    # both: -(0.2 - 0.1)
    both = surrogate_loss(log_new, log_old, adv, kl, torch.tensor([0.2]), torch.tensor([0.5]))
    assert both.loss.item() == pytest.approx(-0.1)


def test_members_are_independent_rows():
    log_new = torch.log(torch.tensor([[1.5, 0.5], [1.5, 0.5]]))
    out = surrogate_loss(log_new, torch.zeros(2, 2), torch.tensor([[1.0, -1.0]] * 2), torch.zeros(2, 2),
                         torch.tensor([0.2, INF]), torch.tensor([0.0, 0.0]))
    assert out.loss.tolist() == pytest.approx([-0.2, -0.5])


@pytest.mark.parametrize("advantage", [2.0, -2.0])
def test_clipped_gradient_is_zero_exactly_where_figure1_is_flat(advantage):
    eps = 0.2
    ratios = torch.tensor([0.5, 0.79, 0.81, 1.0, 1.19, 1.21, 1.5], dtype=torch.float64)
    log_prob = torch.log(ratios).reshape(1, -1).requires_grad_()
    adv = torch.full_like(log_prob, advantage)
    out = surrogate_loss(log_prob, torch.zeros_like(log_prob), adv, torch.zeros_like(log_prob),
                         torch.tensor([eps], dtype=torch.float64), torch.tensor([0.0], dtype=torch.float64))
    out.loss.sum().backward()
    n = ratios.numel()
    for r, grad in zip(ratios.tolist(), log_prob.grad[0].tolist()):
        flat = r > 1 + eps if advantage > 0 else r < 1 - eps  # Figure 1: flat past 1+ε (Â > 0) / below 1-ε (Â < 0)
        # d/dlogπ of -(1/n) r Â is -(1/n) r Â, since dr/dlogπ = r
        expected = 0.0 if flat else -r * advantage / n
        assert grad == pytest.approx(expected, abs=1e-12), (r, advantage)


def test_gaussian_kl_by_hand_and_against_monte_carlo():
    # 1-D: N(0, 1) || N(1, 2²) = log 2 + (1 + 1) / 8 - 1/2
    kl = gaussian_kl(torch.zeros(1, 1, 1), torch.zeros(1, 1), torch.ones(1, 1, 1), torch.tensor([[math.log(2)]]))
    assert kl.item() == pytest.approx(math.log(2) + 0.25 - 0.5, rel=1e-6)
    g = torch.Generator().manual_seed(0)
    mean_old, log_std_old = torch.tensor([[[0.3, -1.0, 0.5]]]), torch.tensor([[0.2, -0.5, 0.0]])
    mean_new, log_std_new = torch.tensor([[[0.0, -0.6, 0.9]]]), torch.tensor([[-0.1, -0.2, 0.3]])
    samples = mean_old + torch.exp(log_std_old)[:, None] * torch.randn(1, 400_000, 3, generator=g)
    mc = (gaussian_log_prob(samples, mean_old.expand_as(samples), log_std_old)
          - gaussian_log_prob(samples, mean_new.expand_as(samples), log_std_new)).mean()
    exact = gaussian_kl(mean_old, log_std_old, mean_new, log_std_new).item()
    assert mc.item() == pytest.approx(exact, abs=4e-3)
    assert exact > 0.1


def test_log_prob_and_entropy_by_hand():
    # N(a=1; μ=0, σ=e^0.5): -½ (1/e) - 0.5 - ½ log 2π
    lp = gaussian_log_prob(torch.ones(1, 1, 1), torch.zeros(1, 1, 1), torch.tensor([[0.5]]))
    assert lp.item() == pytest.approx(-0.5 / math.e - 0.5 - 0.5 * math.log(2 * math.pi), rel=1e-6)
    ent = gaussian_entropy(torch.tensor([[0.0, 0.5]]))
    assert ent.item() == pytest.approx(2 * 0.5 * math.log(2 * math.pi * math.e) + 0.5, rel=1e-6)


def test_value_loss_plain_and_clipped_by_hand():
    values, old, returns = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.5, 0.0]]), torch.tensor([[2.0, -1.0]])
    # plain: ½ mean((1-2)², (0+1)²) = 0.5; with the August 2017 factor 1: 1.0
    assert value_loss(values, old, returns, None, 0.5).item() == pytest.approx(0.5)
    assert value_loss(values, old, returns, None, 1.0).item() == pytest.approx(1.0)
    # clipped ε = 0.2: sample 1 clipped value 0.7 -> (0.7-2)² = 1.69 > 1; sample 2 unchanged 1 -> ½ (1.69 + 1) / 2
    assert value_loss(values, old, returns, torch.tensor([0.2]), 0.5).item() == pytest.approx(0.5 * (1.69 + 1.0) / 2)
    # ε = inf (an objective without clipping under value_clip=policy) is the plain loss
    assert value_loss(values, old, returns, torch.tensor([math.inf]), 0.5).item() == pytest.approx(0.5)
    # members keep their own ε: [K=2, B=2]
    two = value_loss(values.repeat(2, 1), old.repeat(2, 1), returns.repeat(2, 1), torch.tensor([0.2, 0.6]), 0.5)
    # member 2: clip(0.5, ±0.6) = 0.5 -> value 1.0 -> (1-2)² = 1, the plain loss
    assert two.tolist() == pytest.approx([0.5 * (1.69 + 1.0) / 2, 0.5])


def test_beta_rule_at_and_around_its_thresholds():
    target = 0.01
    kls = torch.tensor([0.0, 0.0066, target / 1.5, 0.0067, 0.01, 0.0149, target * 1.5, 0.0151, 1.0],
                       dtype=torch.float64)
    beta = torch.full_like(kls, 3.0)
    new = adapt_beta(beta, kls, torch.full_like(kls, target))
    assert new.tolist() == [1.5, 1.5, 3.0, 3.0, 3.0, 3.0, 3.0, 6.0, 6.0]
    fixed = adapt_beta(beta, kls, torch.full_like(kls, math.nan))  # no d_targ: β stays fixed
    assert fixed.tolist() == beta.tolist()


@pytest.mark.parametrize("objective,name,title", [
    (ObjectiveSettings(None, 0.0, None), "none", "No clipping or penalty"),
    (ObjectiveSettings(0.2, 0.0, None), "clip0.2", "Clipping, ε = 0.2"),
    (ObjectiveSettings(None, 3.0, None), "kl_fixed3", "Fixed KL, β = 3"),
    (ObjectiveSettings(None, 1.0, 0.003), "kl_adaptive0.003", "Adaptive KL, d_targ = 0.003"),
    (ObjectiveSettings(None, 2.0, 0.01), "kl_adaptive0.01_beta2", "Adaptive KL, d_targ = 0.01, β0 = 2"),
    (ObjectiveSettings(0.1, 1.0, 0.03), "clip0.1+kl_adaptive0.03", "Clipping, ε = 0.1 + Adaptive KL, d_targ = 0.03"),
])
def test_labels_are_derived_from_the_numbers(objective, name, title):
    assert (objective.name, objective.title) == (name, title)
