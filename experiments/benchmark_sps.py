"""Env steps per second of one ppo-bench run against Stable-Baselines3's PPO, same hyperparameters, in one process.

    python -m experiments.benchmark_sps [--env HalfCheetah-v5] [--steps 20480]

Both learners run Table 3 settings (T = 2048, 10 epochs, minibatch 64, Adam 3e-4, γ = 0.99, λ = 0.95, 2×64 tanh
policy and value networks, clipping ε = 0.2, no entropy bonus) for the same number of steps, one after the other,
each timed from its first env step to its last update (set-up excluded). SB3 runs twice: with torch's default
threads (one per core, as a user runs it out of the box) and pinned to one thread (its best setting for 64-unit
networks on a CPU); ppo-bench uses its default of one thread. Prints the three figures and the ratios, then the
Figure 3 baselines' rates (TRPO, vanilla PG, A2C with their conf/algo/ settings) as time per env step against PPO's.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch


def ppo_bench_sps(env_id: str, steps: int, steady: bool = False, algo: str = "ppo") -> float:
    """steady: from the end of the first iteration to the end of the last (first-call warm-up excluded).
    algo: conf/algo/<algo>.yaml's settings (ppo: Table 3's)."""
    import pandas as pd

    from ppo_bench.loop import train
    from ppo_bench.train import compose_settings

    settings = compose_settings(f"algo={algo}", f"env.id={env_id}", "logger.mode=disabled", f"total_timesteps={steps}",
                                "progress=off", "save_policy=false")
    with tempfile.TemporaryDirectory() as folder:
        train(settings, Path(folder) / "run")
        wall = pd.read_csv(Path(folder) / "run" / "metrics.csv")["wall_time"].to_numpy()
    if steady:
        return (len(wall) - 1) * settings.batch_size / (wall[-1] - wall[0])
    return len(wall) * settings.batch_size / wall[-1]


def sb3_sps(env_id: str, steps: int, threads: int, steady: bool = False) -> float:
    """steady: from the start of the second rollout to the end of the last update (first-call warm-up excluded)."""
    import gymnasium as gym
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback

    class RolloutStarts(BaseCallback):
        def __init__(self):
            super().__init__()
            self.times: list[float] = []

        def _on_rollout_start(self) -> None:
            self.times.append(time.perf_counter())

        def _on_step(self) -> bool:
            return True

    torch.set_num_threads(threads)
    model = PPO("MlpPolicy", gym.make(env_id), n_steps=2048, batch_size=64, n_epochs=10, learning_rate=3e-4,
                gamma=0.99, gae_lambda=0.95, clip_range=0.2, ent_coef=0.0, device="cpu", seed=1,
                policy_kwargs=dict(net_arch=dict(pi=[64, 64], vf=[64, 64]), activation_fn=torch.nn.Tanh))
    starts = RolloutStarts()
    start = time.perf_counter()
    model.learn(total_timesteps=steps, callback=starts)
    end = time.perf_counter()
    if steady:
        return (model.num_timesteps - 2048) / (end - starts.times[1])
    return model.num_timesteps / (end - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="HalfCheetah-v5")
    parser.add_argument("--steps", type=int, default=20480, help="env steps per learner (a multiple of 2048)")
    args = parser.parse_args()
    default_threads = torch.get_num_threads()
    sb3_default = sb3_sps(args.env, args.steps, default_threads)
    sb3_one = sb3_sps(args.env, args.steps, 1)
    ours = ppo_bench_sps(args.env, args.steps)
    print(f"{args.env}, {args.steps} env steps each")
    print(f"  (a)  Stable-Baselines3 PPO, {default_threads} torch threads (default): {sb3_default:8.0f} env steps/s")
    print(f"  (a1) Stable-Baselines3 PPO, 1 torch thread:            {sb3_one:8.0f} env steps/s")
    print(f"  (b)  ppo-bench, one run, 1 torch thread:               {ours:8.0f} env steps/s")
    print(f"  b / a  = {ours / sb3_default:.2f}")
    print(f"  b / a1 = {ours / sb3_one:.2f}")
    for algo in ("trpo", "pg", "a2c"):  # the Figure 3 baselines, their conf/algo/ settings, one run each
        theirs = ppo_bench_sps(args.env, args.steps, algo=algo)
        print(f"  ppo-bench algo={algo}, one run: {theirs:8.0f} env steps/s   time per env step / PPO's (b) = "
              f"{ours / theirs:.2f}")


if __name__ == "__main__":
    main()
