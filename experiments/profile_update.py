"""Where the fused update's time goes: one epoch of the K-member minibatch update (HalfCheetah-v5 shapes, Table 3
settings, K = 17 members: one process of a Table 1 chunk) under torch.profiler, grouped by kind of operation, and
two candidate levers measured in the same run: the cost of torch's tanh against a multiply of the same size,
and torch.compile of the members' policy forward and backward against eager.

    python -m experiments.profile_update [--members 17] [--no-compile]

Run it on a quiet machine (nothing else on the cores); its figures are shares and ratios within one run.
"""

from __future__ import annotations

import argparse
import time

import torch

MATMUL = ("aten::bmm", "aten::baddbmm", "aten::mm", "aten::addmm")
TANH = ("aten::tanh", "aten::tanh_backward")
DATA = ("aten::gather", "aten::cat", "aten::copy_", "aten::index", "aten::randperm")
OPTIMISER = ("aten::_fused_adam_", "Optimizer.step#Adam.step", "Optimizer.zero_grad#Adam.zero_grad",
             "aten::linalg_vector_norm")


def population_and_batch(members: int):
    from ppo_bench.population import MemberSettings, Population
    from ppo_bench.rollout import Batch
    from ppo_bench.train import compose_settings

    settings = [compose_settings("env=half_cheetah", f"seed={k + 1}", "logger.mode=disabled", "epochs=1")
                for k in range(members)]
    pop = Population(settings, 17, 6)
    g = torch.Generator().manual_seed(0)
    K, B = members, settings[0].batch_size
    obs, actions = torch.randn(K, B, 17, generator=g), torch.randn(K, B, 6, generator=g)
    with torch.no_grad():
        means, values = pop.net.policy_mean(obs), pop.net.value(obs)
    batch = Batch(obs=obs, actions=actions, means=means, values=values, log_probs=torch.randn(K, B, generator=g) - 8,
                  advantages=torch.randn(K, B, generator=g), returns=torch.randn(K, B, generator=g))
    return pop, MemberSettings.of(settings), batch, settings[0]


def profile_epoch(members: int) -> None:
    from torch.profiler import ProfilerActivity, profile

    from ppo_bench.update import update

    pop, per_member, batch, s = population_and_batch(members)
    eps = torch.full((members,), 0.2)
    update(pop, per_member, batch, s, eps)  # warm-up
    start = time.perf_counter()
    update(pop, per_member, batch, s, eps)
    wall = time.perf_counter() - start
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        update(pop, per_member, batch, s, eps)
    self_us = {e.key: e.self_cpu_time_total for e in prof.key_averages()}
    total = sum(self_us.values())
    groups = {"batched matmuls (bmm, baddbmm)": MATMUL, "tanh and its backward": TANH,
              "minibatch gather, copies": DATA, "Adam, zero_grad, gradient norms": OPTIMISER}
    print(f"one epoch of the K = {members} update ({s.num_minibatches} minibatches of {s.minibatch_size}): "
          f"{wall * 1000:.0f} ms wall, {wall / s.num_minibatches * 1000:.2f} ms per minibatch step")
    grouped = 0.0
    for label, names in groups.items():
        share = sum(self_us.get(n, 0.0) for n in names) / total
        grouped += share
        print(f"  {label:38s} {share:6.1%}")
    print(f"  {'everything else (elementwise, autograd)':38s} {1 - grouped:6.1%}")


def per_call_us(fn, calls: int = 2000) -> float:
    fn()
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls * 1e6


def tanh_cost(members: int) -> None:
    x = torch.randn(members, 64, 64)
    tanh, mul, sigmoid = (per_call_us(lambda: torch.tanh(x)), per_call_us(lambda: x * x),
                          per_call_us(lambda: torch.sigmoid(x)))
    print(f"one hidden layer's activation [{members}, 64, 64]: tanh {tanh:.0f} µs, sigmoid {sigmoid:.0f} µs, "
          f"multiply {mul:.0f} µs (tanh / multiply = {tanh / mul:.1f})")


def compile_gain(members: int) -> None:
    from ppo_bench.networks import ActorCritic, mlp

    net = ActorCritic(17, 6, (64, 64), "normc", [torch.Generator().manual_seed(k) for k in range(members)])
    params = [*net.policy_weights, *net.policy_biases]
    obs, target = torch.randn(members, 64, 17), torch.randn(members, 64, 6)

    def step(weights, biases):
        loss = (mlp(obs, weights, biases) - target).square().sum()
        loss.backward()
        return loss

    weights, biases = params[:3], params[3:]
    eager = per_call_us(lambda: step(weights, biases), 300)
    start = time.perf_counter()
    compiled_step = torch.compile(step)
    compiled_step(weights, biases)
    compile_s = time.perf_counter() - start
    compiled = per_call_us(lambda: compiled_step(weights, biases), 300)
    print(f"policy forward + backward of K = {members} on one minibatch: eager {eager:.0f} µs, torch.compile "
          f"{compiled:.0f} µs (eager / compiled = {eager / compiled:.2f}; compiling took {compile_s:.0f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=17)
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile comparison")
    args = parser.parse_args()
    torch.set_num_threads(1)
    profile_epoch(args.members)
    tanh_cost(args.members)
    if not args.no_compile:
        compile_gain(args.members)


if __name__ == "__main__":
    main()
