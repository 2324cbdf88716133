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
(`+ablation=...`) into <out>/. Then the records (config, status, meta, episodes, metrics: no weights, checkpoints or
wandb) are packed into results/noclip_ablation/runs.tar.xz and the table and figure written beside it; rerunning the
same command resumes unfinished runs and skips finished ones.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from experiments.sweep import shown
from experiments.table1_quick import archive_runs, unpack_runs

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
    parser.add_argument("--regenerate", action="store_true",
                        help=f"rebuild the table and figure in {RESULTS} from its runs.tar.xz only (no training)")
    args = parser.parse_args(argv)
    if args.regenerate:
        return regenerate(RESULTS)
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
    RESULTS.mkdir(parents=True, exist_ok=True)
    archive_runs(args.out, RESULTS / "runs.tar.xz")
    write_results(args.out, RESULTS)
    return code


def variant_of(run_dir: str) -> str:
    """The ablation variant a run folder belongs to, from its name (+ablation=<variant>,...)."""
    found = re.search(r"\+ablation=([^,/]+)", str(run_dir))
    return found.group(1) if found else "unknown"


def ablation_table(runs: pd.DataFrame, episodes: pd.DataFrame) -> pd.DataFrame:
    """[variants] per variant, Table 1's rule applied to its two settings (random = 0, the better setting's mean = 1):
    the normalised no-clipping score with its 95% bootstrap interval over seeds, and both settings' raw scores."""
    from analysis.table1 import table1

    rows = []
    for variant in VARIANTS:
        mine = runs[runs["run_dir"].map(variant_of) == variant]
        if mine.empty:
            continue
        result = table1(mine, episodes[episodes["run_id"].isin(mine["run_id"])])
        score = result.table.set_index("objective")
        raw = result.scores.groupby("objective")["raw"]
        row = {"variant": variant, "runs": len(result.scores),
               "random": float(result.scores["baseline"].iloc[0])}
        for objective in ("none", "clip0.2"):
            if objective in score.index:
                row.update({f"{objective}_raw_mean": raw.mean()[objective],
                            f"{objective}_raw_std": raw.std()[objective],
                            f"{objective}_normalised": score.loc[objective, "score"],
                            f"{objective}_ci_low": score.loc[objective, "ci_low"],
                            f"{objective}_ci_high": score.loc[objective, "ci_high"]})
        none_raw = result.scores[result.scores["objective"] == "none"]["raw"]
        row["none_runs_below_random"] = f"{int((none_raw < row['random']).sum())}/{len(none_raw)}"
        rows.append(row)
    return pd.DataFrame(rows)


def to_markdown(table: pd.DataFrame) -> str:
    lines = ["| variant | no clipping: return | clip ε = 0.2: return | no clipping, normalised (95% CI) | "
             "no-clip runs below random |", "|---|---|---|---|---|"]
    for _, r in table.iterrows():
        lines.append(f"| {r['variant']} | {r['none_raw_mean']:.0f} ± {r['none_raw_std']:.0f} | "
                     f"{r['clip0.2_raw_mean']:.0f} ± {r['clip0.2_raw_std']:.0f} | {r['none_normalised']:.2f} "
                     f"[{r['none_ci_low']:.2f}, {r['none_ci_high']:.2f}] | {r['none_runs_below_random']} |")
    return "\n".join(lines) + "\n"


def write_results(runs_folder: Path, out: Path) -> None:
    """The ablation table (Markdown and CSV) and its learning-curve figure from the run folders under runs_folder."""
    from analysis.figures import learning_curves, save_figure
    from analysis.runs import load_runs, scored

    frames = scored(load_runs(runs_folder))
    table = ablation_table(frames.runs, frames.episodes)
    table.to_csv(out / "ablation.csv", index=False, float_format="%.4f")
    (out / "ablation.md").write_text(to_markdown(table))
    panels = frames.runs.assign(env=frames.runs["run_dir"].map(variant_of))
    save_figure(learning_curves(panels, frames.episodes), out / "ablation")


def regenerate(out: Path) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        write_results(unpack_runs(out / "runs.tar.xz", Path(tmp)), out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
