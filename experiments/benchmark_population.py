"""How close a fused Table 1 population runs to the physics, on HalfCheetah-v5 with Table 3 settings.

    make benchmark-population   (or: python -m experiments.benchmark_population [--iterations 2] [--backend envpool])

Measures, each part in its own process (so peak memory is its own):
  (a) Stable-Baselines3 PPO, one run (1 torch thread)
  (b) ppo-bench, one run (1 torch thread, gymnasium backend)
  (c) ppo-bench fused: K = 33 members (the 11 Table 1 settings × 3 seeds) in one process, 33 environments
  (d) the same 33 environments stepped with uniform random actions on the same backend with every core: the
      physics ceiling of this machine
(c) runs envpool on 1 thread and its update on 2 torch threads (the cores are idle during the update, and envpool's
threads would otherwise compete with torch's); both are options.
and prints env steps per second of each, the ratios b/a, c/a, c/d, the peak memory of (c), and the wall time the
full Table 1 sweep (7 tasks × 11 settings × 3 seeds × 1M steps = 231M steps) would take here as 7 populations of 33
run one after another at (c)'s rate (HalfCheetah is among the slower tasks to simulate).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ENV = "HalfCheetah-v5"
TABLE1_OBJECTIVES = [(None, 0.0, None), (0.1, 0.0, None), (0.2, 0.0, None), (0.3, 0.0, None),
                     (None, 1.0, 0.003), (None, 1.0, 0.01), (None, 1.0, 0.03),
                     (None, 0.3, None), (None, 1.0, None), (None, 3.0, None), (None, 10.0, None)]  # (ε, β, d_targ)
TABLE1_STEPS = 7 * 11 * 3 * 1_000_000


def part_sb3(steps: int, **_) -> float:
    from experiments.benchmark_sps import sb3_sps

    return sb3_sps(ENV, steps, 1)


def part_solo(steps: int, **_) -> float:
    from experiments.benchmark_sps import ppo_bench_sps

    return ppo_bench_sps(ENV, steps)


def part_fused(steps: int, backend: str, threads: int, torch_threads: int) -> float:
    from ppo_bench.loop import train_population
    from ppo_bench.settings import EnvSettings, LoggerSettings, ObjectiveSettings, TrainSettings

    members = [TrainSettings(objective=ObjectiveSettings(*objective), seed=seed, total_timesteps=steps,
                             env=EnvSettings(id=ENV, backend=backend, threads=threads),
                             logger=LoggerSettings(mode="disabled"), progress="off", save_policy=False,
                             torch_threads=torch_threads)
               for objective in TABLE1_OBJECTIVES for seed in (1, 2, 3)]
    with tempfile.TemporaryDirectory() as folder:
        dirs = [Path(folder) / str(k) for k in range(len(members))]
        train_population(members, dirs)
        wall = float((dirs[0] / "metrics.csv").read_text().strip().splitlines()[-1].split(",")[2])
    return len(members) * members[0].num_iterations * members[0].batch_size / wall


def part_physics(steps: int, backend: str, threads: int, **_) -> float:
    from ppo_bench.envs import make_member_envs
    from ppo_bench.settings import EnvSettings

    envs = make_member_envs(EnvSettings(id=ENV, backend=backend, threads=threads), list(range(33)))
    rng = np.random.default_rng(0)
    envs.reset()
    actions = rng.uniform(envs.action_low, envs.action_high, size=(256, 33, 1, envs.act_dim))
    start = time.perf_counter()
    for t in range(steps):
        envs.step(actions[t % 256])
    return 33 * steps / (time.perf_counter() - start)


PARTS = {"a": part_sb3, "b": part_solo, "c": part_fused, "d": part_physics}


def run_part(name: str, args: argparse.Namespace) -> dict:
    """Runs one part in a fresh process; returns its env steps/s and peak resident memory."""
    command = [sys.executable, "-m", "experiments.benchmark_population", "--part", name, "--backend", args.backend,
               "--threads", str(args.threads), "--iterations", str(args.iterations),
               "--torch-threads", str(args.torch_threads)]
    out = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description="fused population throughput against the physics ceiling")
    parser.add_argument("--iterations", type=int, default=2, help="PPO iterations of 2048 steps per member")
    parser.add_argument("--backend", default="envpool", choices=("gymnasium", "envpool"))
    parser.add_argument("--threads", type=int, default=1, help="envpool threads of (c) (0 with gymnasium)")
    parser.add_argument("--torch-threads", type=int, default=2, help="torch threads of (c)'s update")
    parser.add_argument("--part", choices=tuple(PARTS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.backend == "gymnasium":
        args.threads = 0
    steps = args.iterations * 2048
    if args.part:
        threads = max(args.threads, os.cpu_count()) if args.part == "d" and args.backend == "envpool" else args.threads
        sps = PARTS[args.part](steps, backend=args.backend, threads=threads, torch_threads=args.torch_threads)
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"sps": sps, "peak_mib": peak_mib}))
        return
    r = {name: run_part(name, args) for name in PARTS}
    a, b, c, d = (r[name]["sps"] for name in "abcd")
    print(f"{ENV}, Table 3 settings, {steps} env steps per run/member; backend {args.backend}; (c): "
          f"{args.threads or 'no'} env threads, {args.torch_threads} torch threads in the update; (d): every core")
    print(f"  (a) Stable-Baselines3 PPO, one run, 1 thread: {a:9.0f} env steps/s")
    print(f"  (b) ppo-bench, one run:                       {b:9.0f} env steps/s")
    print(f"  (c) ppo-bench fused, K = 33:                  {c:9.0f} env steps/s  (peak memory "
          f"{r['c']['peak_mib']:.0f} MiB)")
    print(f"  (d) 33 envs, random actions, all cores:       {d:9.0f} env steps/s")
    print(f"  b/a = {b / a:.2f}   c/a = {c / a:.2f}   c/d = {c / d:.2f}")
    print(f"  full Table 1 (231M env steps) at (c): {TABLE1_STEPS / c / 3600:.1f} h on this machine")


if __name__ == "__main__":
    main()
