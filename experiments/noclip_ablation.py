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

Each variant is one ordinary Hydra multirun (fused: its 6 runs are one population; envpool), `--jobs` at a time,
into <out>/<variant>/. Then the records (config, status, meta, episodes, metrics: no weights, checkpoints or wandb)
are packed into results/noclip_ablation/runs.tar.xz and the table and figure written beside it; rerunning the same
command resumes unfinished runs and skips finished ones.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from experiments.sweep import shown

RESULTS = Path("results/noclip_ablation")
# ppo-bench's preset before the release presets, as changes to baselines_2017_07
BEFORE = {"details": "baselines_2017_07", "details.clip_actions": "true", "details.value_clip": "none",
          "details.obs_var_floor": "null", "details.obs_norm_order": "after", "details.adam_eps": "1e-5",
          "details.bootstrap_truncation": "true"}
VARIANTS: dict[str, dict[str, str]] = {
    "baselines_2017_07": {"details": "baselines_2017_07"},
    "baselines_2017_08": {"details": "baselines_2017_08"},
    "before": BEFORE,
    "before+unclipped_actions": {**BEFORE, "details.clip_actions": "false"},
    "before+value_clip_policy_eps": {**BEFORE, "details.value_clip": "policy"},
    "before+anneal_lr_and_eps": {**BEFORE, "details.lr_anneal": "true", "details.clip_anneal": "true"},
    "before+var_floor": {**BEFORE, "details.obs_var_floor": "0.01"},
    "before+norm_before_update": {**BEFORE, "details.obs_norm_order": "before"},
    "before+truncation_terminal": {**BEFORE, "details.bootstrap_truncation": "false"},
}
COMMON = ["env=half_cheetah", "objective=none,clip0.2", "seed=1,2,3", "total_timesteps=1000000",
          "hydra/launcher=fused", "hydra.launcher.n_jobs=1", "env.backend=envpool", "env.threads=1", "torch_threads=1",
          "logger.mode=offline", "progress=off",
          "hydra.sweep.subdir=${hydra:runtime.choices.objective}_seed${seed}"]  # the variant names the sweep folder


def train_command(variant: str, out: Path) -> list[str]:
    overrides = [f"{key}={value}" for key, value in VARIANTS[variant].items()]
    return [sys.executable, "-m", "ppo_bench.train", "-m", *COMMON, *overrides, f"hydra.sweep.dir={out / variant}"]


def run_variant(variant: str, out: Path) -> dict:
    command = train_command(variant, out)
    print(f"$ {shown(command)}", flush=True)
    start, started = time.time(), time.strftime("%Y-%m-%d %H:%M:%S")
    code = subprocess.run(command, stdout=subprocess.DEVNULL).returncode
    record = {"variant": variant, "command": shown(command), "started": started, "wall_s": round(time.time() - start),
              "exit": code, "load_end": os.getloadavg()[0]}
    print(f"# {variant}: exit {code}, {record['wall_s'] / 60:.1f} min", flush=True)
    return record


def run_all(out: Path, jobs: int, variants: list[str]) -> int:
    out.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(jobs) as pool:
        records = list(pool.map(lambda v: run_variant(v, out), variants))
    with open(out / "invocations.jsonl", "a") as log:
        for record in records:
            log.write(json.dumps(record) + "\n")
    return max(r["exit"] for r in records)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="no clipping vs clipping on HalfCheetah-v5 under each detail")
    parser.add_argument("--out", type=Path, default=Path("outputs/noclip_ablation"), help="raw run folders")
    parser.add_argument("--jobs", type=int, default=2, help="variants trained at once (one process each)")
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--dry-run", action="store_true", help="print the commands only")
    args = parser.parse_args(argv)
    if args.dry_run:
        for variant in args.variants:
            print(f"$ {shown(train_command(variant, args.out))}")
        return 0
    return run_all(args.out, args.jobs, args.variants)


if __name__ == "__main__":
    sys.exit(main())
