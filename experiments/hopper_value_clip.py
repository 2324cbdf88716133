"""Does the value-loss clip explain clipping's low Table 1 scores on Hopper? Under details=baselines_2017_07 only the
clipped objectives also clip the value loss (with the policy's ε, as the July 2017 release did), so Table 1 compares
"clip the policy and the value function" with "penalise the KL, value function unclipped". This experiment swaps
the value clip between the two on Hopper-v5 (1M steps, seeds 1-3, everything else Table 1's):

    clip ε = 0.2 with details.value_clip=none            (the policy clipped, the value function not)
    fixed KL β = 1 with details.value_clip=own, eps 0.2   (the KL penalty, the value function clipped at ±0.2)

and sets them beside the same two settings in the committed Table 1 Hopper chunks.

    python -m experiments.hopper_value_clip --run      # the 6 runs (two fused populations at once), then the table
    python -m experiments.hopper_value_clip            # the table again from the committed records
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from analysis.runs import load_runs, scored
from analysis.table1 import run_scores
from experiments import table1
from experiments.chunks import DETAILS, STEPS, run_then_report
from experiments.table1_quick import archive_runs, unpack_runs

RESULTS = Path("results/hopper_value_clip")
OUT = Path("outputs/hopper_value_clip")
VARIANTS = {"clip0.2_value_clip_none": ["objective=clip0.2", "details.value_clip=none"],
            "kl_fixed1_value_clip_own0.2": ["objective=kl_fixed1", "details.value_clip=own",
                                            "details.value_clip_eps=0.2"]}


def command(name: str) -> list[str]:
    return [sys.executable, "-m", "ppo_bench.train", "-m", *VARIANTS[name], "env=hopper", "seed=1,2,3",
            f"total_timesteps={STEPS}", f"details={DETAILS}", "hydra/launcher=fused", "hydra.launcher.n_jobs=1",
            "env.backend=envpool", "env.threads=1", "torch_threads=1", "progress=off", "logger.mode=disabled",
            f"hydra.sweep.dir={OUT / name}"]


def run() -> int:
    processes = [subprocess.Popen(command(name)) for name in VARIANTS]  # one population per core
    if any(p.wait() for p in processes):
        return 1
    RESULTS.mkdir(parents=True, exist_ok=True)
    archive_runs(OUT, RESULTS / "runs.tar.xz")
    return 0


def report() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        unpack_runs(RESULTS / "runs.tar.xz", Path(tmp) / "ablation")
        hopper = {name: folder for name, folder in table1.store().unpack(Path(tmp) / "table1").items()
                  if name.startswith("hopper")}
        frames = scored(load_runs(Path(tmp) / "ablation", *hopper.values()))
    runs = frames.runs[frames.runs["objective"].isin(["clip0.2", "kl_fixed1"])]
    scores = run_scores(runs, frames.episodes).merge(runs[["run_id", "config.details.value_clip"]], on="run_id")
    table = (scores.groupby(["objective", "config.details.value_clip"])["raw"]
             .agg(["mean", "std", "count"]).reset_index()
             .rename(columns={"config.details.value_clip": "value_clip", "count": "seeds"}))
    table.to_csv(RESULTS / "table.csv", index=False)
    lines = ["| objective | value loss clipped | Hopper-v5 return (mean ± std over seeds) | seeds |",
             "|---|---|---|---|"]
    clipped = {("clip0.2", "policy"): "yes, ±0.2 (the policy's ε; Table 1)", ("clip0.2", "none"): "no",
               ("kl_fixed1", "policy"): "no (no policy ε; Table 1)", ("kl_fixed1", "own"): "yes, ±0.2"}
    lines += [f"| {r.objective} | {clipped.get((r.objective, r.value_clip), r.value_clip)} | "
              f"{r.mean:.0f} ± {r.std:.0f} | {r.seeds} |" for r in table.itertuples(index=False)]
    (RESULTS / "table.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_then_report(argv, __doc__.splitlines()[0], run, report, "run the 6 runs first (about 15 min on 2 cores)")

if __name__ == "__main__":
    sys.exit(main())
