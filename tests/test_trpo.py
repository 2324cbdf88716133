"""TRPO (algo=trpo), the Figure 3 baseline: conjugate gradient, the Fisher-vector product against the Hessian of the
analytic KL, the line search's acceptance rule, the release's settings, and a short run that learns."""

import subprocess
import sys

import pandas as pd
import pytest
import torch

from ppo_bench.networks import ActorCritic
from ppo_bench.objective import gaussian_kl
from ppo_bench.trpo import conjugate_gradient, fisher_vector_product, line_search, member_dot, policy_parameters
from tests.test_cli import ROOT, composed


def test_conjugate_gradient_solves_each_members_spd_system():
    torch.manual_seed(0)
    shapes = [(3,), (2,)]  # two "parameters" per member: 5 unknowns
    matrices = []
    for _ in range(2):
        q = torch.randn(5, 5, dtype=torch.float64)
        matrices.append(q @ q.T + 0.5 * torch.eye(5, dtype=torch.float64))
    a = torch.stack(matrices)  # [K, 5, 5]

    def split(flat):  # [K, 5] -> vector of [K, 3], [K, 2]
        return list(flat.split([s[0] for s in shapes], 1))

    def matvec(v):
        return split(torch.einsum("kij,kj->ki", a, torch.cat(v, 1)))

    b = torch.randn(2, 5, dtype=torch.float64)
    x = torch.cat(conjugate_gradient(matvec, split(b), iters=5), 1)
    expected = torch.linalg.solve(a, b)
    torch.testing.assert_close(x, expected, rtol=1e-8, atol=1e-8)
    assert member_dot(split(b), split(b)).tolist() == pytest.approx((b * b).sum(1).tolist())


def test_the_fisher_vector_product_is_the_hessian_of_the_analytic_kl_at_the_old_policy():
    """A 2-3-1 policy (one member): F v by double backpropagation against the Hessian that torch.func builds of
    θ -> E[KL(π_old || π_θ)] over the flattened parameters, at θ_old."""
    net = ActorCritic(2, 1, (3,), "orthogonal", [torch.Generator().manual_seed(3)])
    with torch.no_grad():
        net.log_std.fill_(-0.3)
        for b in net.policy_biases:
            b.normal_(generator=torch.Generator().manual_seed(4))
    obs = torch.randn(1, 7, 2, generator=torch.Generator().manual_seed(5))
    params = policy_parameters(net)
    shapes = [p.shape for p in params]
    with torch.no_grad():
        means_old, log_std_old = net.policy_mean(obs), net.log_std.clone()
    flat_old = torch.cat([p.detach().flatten() for p in params])

    def kl_of(flat):
        pieces, at = [], 0
        for shape in shapes:
            n = int(torch.tensor(shape).prod())
            pieces.append(flat[at:at + n].view(shape))
            at += n
        *layers, log_std = pieces
        weights, biases = layers[:len(layers) // 2], layers[len(layers) // 2:]
        from ppo_bench.networks import mlp
        return gaussian_kl(means_old, log_std_old, mlp(obs, weights, biases), log_std).mean()

    hessian = torch.func.hessian(kl_of)(flat_old)
    v_flat = torch.randn(flat_old.numel(), generator=torch.Generator().manual_seed(6))
    v, at = [], 0
    for shape in shapes:
        n = int(torch.tensor(shape).prod())
        v.append(v_flat[at:at + n].view(shape))
        at += n
    for damping in (0.0, 0.1):
        product = fisher_vector_product(net, obs, means_old, log_std_old, damping)(v)
        torch.testing.assert_close(torch.cat([p.flatten() for p in product]), hessian @ v_flat + damping * v_flat,
                                   rtol=1e-4, atol=1e-6)


def test_the_line_search_accepts_the_largest_step_within_the_kl_bound_that_improves():
    """Three members, δ = 0.01, tolerance 1 (KL ≤ δ): kl(f) = 0.04 f² allows f ≤ 0.5; member 0 improves for any f
    (f(1 - f) >= 0) -> 0.5; member 1 improves only for f ≤ 0.2 -> 0.125; member 2 never improves -> 0 (it stays)."""
    calls = []

    def evaluate(fraction):
        calls.append(fraction.clone())
        improvement = torch.stack([fraction[0] * (1 - fraction[0]), fraction[1] * (0.2 - fraction[1]),
                                   -fraction[2]])
        return improvement, 0.04 * fraction.square()

    accepted = line_search(evaluate, members=3, steps=10, max_kl=0.01, kl_tolerance=1.0)
    assert accepted.tolist() == [0.5, 0.125, 0.0]
    assert calls[0].tolist() == [1.0, 1.0, 1.0] and calls[1].tolist() == [0.5, 0.5, 0.5]
    assert len(calls) == 10  # member 2 is tried all the way down
    loose = line_search(evaluate, members=3, steps=10, max_kl=0.01, kl_tolerance=4.0)  # KL ≤ 0.04: f = 1 fits
    assert loose.tolist()[0] == 1.0


def test_algo_trpo_selects_the_releases_settings_and_a_bad_name_is_one_line():
    s = composed("algo=trpo")
    assert (s.algo.name, s.algo.max_kl, s.algo.cg_iters, s.algo.cg_damping) == ("trpo", 0.01, 10, 0.1)
    assert (s.rollout_steps, s.hidden_sizes, s.gae_lambda, s.epochs, s.learning_rate) == (1024, (32, 32), 0.98, 5,
                                                                                           1e-3)
    assert (s.name, s.title) == ("trpo", "TRPO")
    out = subprocess.run([sys.executable, "-m", "ppo_bench.train", "algo.name=trpx", "total_timesteps=64"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "algo.name='trpx': allowed values are ppo, trpo" in out.stderr


def trained_on_inverted_pendulum(run_dir, *overrides) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Episodes and metrics of one run of the CLI on InvertedPendulum-v5 (wandb off)."""
    out = subprocess.run([sys.executable, "-m", "ppo_bench.train", "env=inverted_pendulum", *overrides, "progress=off",
                          "logger.mode=disabled", f"hydra.run.dir={run_dir}"], cwd=ROOT, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    return pd.read_csv(run_dir / "episodes.csv"), pd.read_csv(run_dir / "metrics.csv")


@pytest.mark.slow
def test_trpo_learns_inverted_pendulum_within_its_trust_region(tmp_path):
    episodes, metrics = trained_on_inverted_pendulum(tmp_path / "run", "algo=trpo", "total_timesteps=40960")
    assert episodes["return"].head(20).mean() < 100  # it starts near random
    assert episodes["return"].tail(20).mean() > 300  # and learns (a sign error would not)
    assert (metrics["kl"] <= 1.5 * 0.01 + 1e-6).all()  # every accepted step within the tolerance of the bound
    assert (metrics["kl"] > 0).mean() > 0.9  # and it does step
