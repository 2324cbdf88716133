"""How close a fused Table 1 population runs to the physics, on HalfCheetah-v5 with Table 3 settings.

    make benchmark-population   (or: python -m experiments.benchmark_population [--iterations 3] [--repeats 1])

Measures, each part in its own process (so peak memory is its own):
  (a)  Stable-Baselines3 PPO, one run (1 torch thread)
  (b)  ppo-bench, one run (1 torch thread, gymnasium backend)
  (c)  ppo-bench fused: K = 33 members (the 11 Table 1 settings × 3 seeds) in one process, 33 environments on
       envpool with 1 thread, the update on 2 torch threads (the envpool thread idles during the update)
  (c2) the same 33 members as the fused launcher runs a Table 1 chunk (hydra.launcher.n_jobs=2): two populations
       (17 + 16) in two processes at once, each with 1 envpool thread and 1 torch thread, so that one population's
       update overlaps the other's rollout and both cores stay busy
  (d)  the same 33 environments stepped with uniform random actions on the same backend with every core: the
       physics ceiling of this machine
and prints env steps per second of each, the ratios b/a, c/d, c2/d, the observation normaliser's cost per rollout
step before and after it was computed once per rollout, the rollout / update split of (c) and (c2)
(wall seconds per iteration), the peak memory of (c) and of each (c2) process, and the wall time the full Table 1
sweep (7 tasks × 11 settings × 3 seeds × 1M steps = 231M steps) would take here at the better of (c) and (c2)
(HalfCheetah is among the slower tasks to simulate). Rates are taken after the first iteration (steady state:
imports, pool start-up and the first iteration's warm-up excluded). --repeats runs everything that many times and
prints each run and the spread.
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
TABLE1_STEPS = 7 * 11 * 3 * 1_000_000


def part_sb3(iterations: int, **_) -> dict:
    from experiments.benchmark_sps import sb3_sps

    return {"sps": sb3_sps(ENV, iterations * 2048, 1, steady=True)}


def part_solo(iterations: int, **_) -> dict:
    from experiments.benchmark_sps import ppo_bench_sps

    return {"sps": ppo_bench_sps(ENV, iterations * 2048, steady=True)}


def part_fused(iterations: int, threads: int, torch_threads: int, members: str = "0:33", **_) -> dict:
    """Members [first:last) of the 33, as one population; the rollout and update are timed by wrapping them."""
    import yaml

    from analysis.paper_values import TABLE1
    from ppo_bench import loop
    from ppo_bench.settings import EnvSettings, LoggerSettings, ObjectiveSettings, TrainSettings
    from ppo_bench.train import CONF_DIR

    first, last = (int(i) for i in members.split(":"))
    objectives = [ObjectiveSettings(**yaml.safe_load((CONF_DIR / "objective" / f"{name}.yaml").read_text()))
                  for name in TABLE1]  # Table 1's presets, in the paper's row order
    settings = [TrainSettings(objective=objective, seed=seed, total_timesteps=iterations * 2048,
                              env=EnvSettings(id=ENV, backend="envpool", threads=threads),
                              logger=LoggerSettings(mode="disabled"), progress="off", save_policy=False,
                              torch_threads=torch_threads)
                for objective in objectives for seed in (1, 2, 3)][first:last]
    phases: dict[str, list[tuple[float, float]]] = {"rollout": [], "update": []}  # (start, end), epoch seconds

    def timed(method, name):
        def wrapper(*args, **kwargs):
            start = time.time()
            result = method(*args, **kwargs)
            phases[name].append((start, time.time()))
            return result
        return wrapper

    for name in phases:
        setattr(loop._Trainer, name, timed(getattr(loop._Trainer, name), name))
    with tempfile.TemporaryDirectory() as folder:
        loop.train_population(settings, [Path(folder) / str(k) for k in range(len(settings))])
    steady = {name: [end - start for start, end in spans[1:]] for name, spans in phases.items()}
    start, end = phases["update"][0][1], phases["update"][-1][1]  # the end of the first and of the last iteration
    return {"sps": len(settings) * (iterations - 1) * 2048 / (end - start), "start": start, "end": end,
            "rollout": float(np.mean(steady["rollout"])), "update": float(np.mean(steady["update"])),
            "members": len(settings)}


def part_physics(iterations: int, threads: int, **_) -> dict:
    from ppo_bench.envs import make_member_envs
    from ppo_bench.settings import EnvSettings

    envs = make_member_envs(EnvSettings(id=ENV, backend="envpool", threads=threads), list(range(33)))
    rng = np.random.default_rng(0)
    envs.reset()
    actions = rng.uniform(envs.action_low, envs.action_high, size=(256, 33, 1, envs.act_dim))
    steps = iterations * 2048
    start = time.perf_counter()
    for t in range(steps):
        envs.step(actions[t % 256])
    return {"sps": 33 * steps / (time.perf_counter() - start)}


PARTS = {"a": part_sb3, "b": part_solo, "c": part_fused, "d": part_physics}


def part_command(name: str, args: argparse.Namespace, threads: int, torch_threads: int,
                 members: str = "0:33") -> list[str]:
    return [sys.executable, "-m", "experiments.benchmark_population", "--part", name, "--threads", str(threads),
            "--iterations", str(args.iterations), "--torch-threads", str(torch_threads), "--members", members]


def finish(process: subprocess.Popen) -> dict:
    out, err = process.communicate()
    if process.returncode:
        raise SystemExit(f"benchmark part failed:\n{err}")
    return json.loads(out.strip().splitlines()[-1])


def run_part(name: str, args: argparse.Namespace, threads: int = 1, torch_threads: int = 1) -> dict:
    """Runs one part in a fresh process; returns its figures and peak resident memory."""
    return finish(subprocess.Popen(part_command(name, args, threads, torch_threads), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True))


def run_launcher_layout(args: argparse.Namespace) -> dict:
    """(c2): members 0-16 and 17-32 as two populations in two processes started together; the rate counts all 33
    members' steady-state steps over the time from the earlier process's first iteration end to the later one's
    last."""
    processes = [subprocess.Popen(part_command("c", args, 1, 1, members), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for members in ("0:17", "17:33")]
    parts = [finish(p) for p in processes]
    steps = sum(p["members"] for p in parts) * (args.iterations - 1) * 2048
    return {"sps": steps / (max(p["end"] for p in parts) - min(p["start"] for p in parts)),
            "rollout": [p["rollout"] for p in parts], "update": [p["update"] for p in parts],
            "peak_mib": [p["peak_mib"] for p in parts]}


def measure(args: argparse.Namespace) -> dict:
    return {"a": run_part("a", args), "b": run_part("b", args),
            "c": run_part("c", args, threads=1, torch_threads=2), "c2": run_launcher_layout(args),
            "d": run_part("d", args, threads=os.cpu_count()), "normaliser": normaliser_cost()}


def normaliser_cost(members: int = 17, calls: int = 20000) -> tuple[float, float]:
    """Thread CPU µs per rollout step of the observation normaliser for one population: normalize() (the std
    recomputed at every step, as before) against FrozenNormalizer (the std computed once per rollout)."""
    from ppo_bench.normalizers import FrozenNormalizer, normalize

    rng = np.random.default_rng(0)
    obs, mean = rng.normal(size=(members, 1, 17)), rng.normal(size=(members, 17))
    var, floor = rng.uniform(0.01, 2.0, size=(members, 17)), np.full(members, 1e-2)
    frozen = FrozenNormalizer(mean, var, 10.0, floor)

    def per_call(step) -> float:
        start = time.thread_time()
        for _ in range(calls):
            step()
        return (time.thread_time() - start) / calls * 1e6

    return per_call(lambda: normalize(obs, mean, var, 10.0, floor)), per_call(lambda: frozen(obs))


def report(r: dict, args: argparse.Namespace) -> None:
    a, b, c, c2, d = (r[name]["sps"] for name in ("a", "b", "c", "c2", "d"))
    print(f"  (a)  Stable-Baselines3 PPO, one run, 1 thread:        {a:9.0f} env steps/s")
    print(f"  (b)  ppo-bench, one run:                              {b:9.0f} env steps/s")
    print(f"  (c)  ppo-bench fused, K = 33, one process:            {c:9.0f} env steps/s  (peak memory "
          f"{r['c']['peak_mib']:.0f} MiB; per iteration: rollout {r['c']['rollout']:.2f} s, update "
          f"{r['c']['update']:.2f} s)")
    print(f"  (c2) ppo-bench fused, 33 as 2 populations at once:    {c2:9.0f} env steps/s  (peak memory "
          f"{' + '.join(f'{m:.0f}' for m in r['c2']['peak_mib'])} MiB; per iteration: rollout "
          f"{' / '.join(f'{x:.2f}' for x in r['c2']['rollout'])} s, update "
          f"{' / '.join(f'{x:.2f}' for x in r['c2']['update'])} s)")
    print(f"  (d)  33 envs, random actions, all cores:              {d:9.0f} env steps/s")
    print(f"  b/a = {b / a:.2f}   c/a = {c / a:.2f}   c/d = {c / d:.2f}   c2/d = {c2 / d:.2f}")
    print(f"  full Table 1 (231M env steps) at max(c, c2): {TABLE1_STEPS / max(c, c2) / 3600:.1f} h on this machine")
    before, after = r["normaliser"]
    print(f"  observation normaliser per rollout step (17 members): {before:.0f} µs recomputing the std, "
          f"{after:.0f} µs with it computed once per rollout ({(before - after) * 2048 / 1e3:.0f} ms less per "
          "2048-step rollout)")


def main() -> None:
    parser = argparse.ArgumentParser(description="fused population throughput against the physics ceiling")
    parser.add_argument("--iterations", type=int, default=3,
                        help="PPO iterations of 2048 steps per member (the first is not timed)")
    parser.add_argument("--repeats", type=int, default=1, help="measure everything this many times")
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--torch-threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--members", default="0:33", help=argparse.SUPPRESS)
    parser.add_argument("--part", choices=tuple(PARTS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.iterations < 2:
        parser.error("--iterations: at least 2 (the first iteration is not timed)")
    if args.part:
        result = PARTS[args.part](args.iterations, threads=args.threads, torch_threads=args.torch_threads,
                                  members=args.members)
        result["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return
    print(f"{ENV}, Table 3 settings, {args.iterations} iterations of 2048 env steps per run/member (rates from "
          f"iteration 2 on); envpool backend for (c), (c2), (d)")
    runs = []
    for repeat in range(args.repeats):
        runs.append(measure(args))
        print(f"run {repeat + 1} of {args.repeats}:")
        report(runs[-1], args)
    if args.repeats > 1:
        print("spread over the runs (min - max):")
        for name in ("a", "b", "c", "c2", "d"):
            values = [run[name]["sps"] for run in runs]
            print(f"  ({name}) {min(values):9.0f} - {max(values):9.0f} env steps/s")
        for label, (top, bottom) in {"b/a": ("b", "a"), "c/d": ("c", "d"), "c2/d": ("c2", "d")}.items():
            ratios = [run[top]["sps"] / run[bottom]["sps"] for run in runs]
            print(f"  {label} {min(ratios):.2f} - {max(ratios):.2f}")


if __name__ == "__main__":
    main()
