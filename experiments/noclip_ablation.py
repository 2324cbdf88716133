"""Why does no clipping collapse in the paper? HalfCheetah-v5, 1M steps, seeds 1-3, no clipping against clipping
ε = 0.2, under each release preset and with each candidate implementation detail switched alone.

    make noclip-ablation    (or: python -m experiments.noclip_ablation [--out DIR] [--jobs 2] [--dry-run])
    python -m experiments.noclip_ablation --regenerate     # the table and figure again from the committed records

The paper's "No clipping or penalty" row (-0.39) comes from HalfCheetah ending far below the random policy.
ppo-bench's earlier preset (July 2017's schedule with a plain value loss, clipped actions, sqrt(var + 1e-8)
normalisation updated after each batch, truncation bootstrapped) kept it above random. Variants:

- baselines_2017_07, baselines_2017_08: the two release presets as they are (conf/details/);
- before: the earlier preset, written as overrides of baselines_2017_07 (BEFORE below);
- before + one detail of the releases, each alone: unclipped actions, value clipping with the policy's ε, ε and
  learning rate annealed, the normaliser's variance floor, the normaliser's update order, truncation as terminal.

The variants are a Hydra config group (conf/ablation/), so the ablation is one ordinary fused multirun
(`+ablation=...`) into <out>/. Then the records (config, status, meta, episodes, metrics: no weights, checkpoints or wandb)
are packed into results/noclip_ablation/runs.tar.xz and the table and figure written beside it; rerunning the same
command resumes unfinished runs and skips finished ones.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from experiments.sweep import shown

RESULTS = Path("results/noclip_ablation")
VARIANTS = ("baselines_2017_07", "baselines_2017_08", "before", "before_unclipped_actions",
            "before_value_clip_policy_eps", "before_anneal_lr_and_eps", "before_var_floor", "before_norm_before_update",
            "before_truncation_terminal")  # conf/ablation/<variant>.yaml


def train_command(out: Path, jobs: int) -> list[str]:
    """The whole ablation as one fused multirun: the variants that share an optimiser and schedule are one population
    (the details they change are per member), so 54 runs make 3 populations (42 + 6 + 6)."""
    return [sys.executable, "-m", "ppo_bench.train", "-m", f"+ablation={','.join(VARIANTS)}", "env=half_cheetah",
            "objective=none,clip0.2", "seed=1,2,3", "total_timesteps=1000000", "hydra/launcher=fused",
            f"hydra.launcher.n_jobs={jobs}", "env.backend=envpool", "env.threads=1", "torch_threads=1",
            "logger.mode=disabled", "progress=off", f"hydra.sweep.dir={out}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="no clipping vs clipping on HalfCheetah-v5 under each detail")
    parser.add_argument("--out", type=Path, default=Path("outputs/noclip_ablation"), help="raw run folders")
    parser.add_argument("--jobs", type=int, default=2, help="populations trained at once (one process each)")
    parser.add_argument("--dry-run", action="store_true", help="print the command only")
    args = parser.parse_args(argv)
    command = train_command(args.out, args.jobs)
    print(f"$ {shown(command)}", flush=True)
    if args.dry_run:
        return 0
    start, started = time.time(), time.strftime("%Y-%m-%d %H:%M:%S")
    code = subprocess.run(command).returncode
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "invocations.jsonl", "a") as log:
        log.write(json.dumps({"command": shown(command), "started": started, "wall_s": round(time.time() - start),
                              "exit": code, "load_end": os.getloadavg()[0]}) + "\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
