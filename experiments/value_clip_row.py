"""Table 1's clip ε = 0.2 row once more, with the value loss unclipped, on all seven tasks: how much of clipping's low
rank in the full Table 1 is the value clip? Under details=baselines_2017_07 the clipped objectives also clip the
value loss with the policy's ε (as the July 2017 release did); the KL settings do not. The Hopper ablation
(experiments.hopper_value_clip) swapped that clip on one task; this runs clip ε = 0.2 with details.value_clip=none on
the other six (1M steps, seeds 1-3, all else Table 1's; the Hopper runs are the ablation's) and scores the row with
Table 1's own anchors (per task: the random policy 0, the best of Table 1's 11 settings 1), so it compares with
Table 1's scores unchanged.

    python -m experiments.value_clip_row --run   # the 18 runs (six fused populations, two at a time), then the table
    python -m experiments.value_clip_row         # the table again from the committed records
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.figure3 import value_unclipped
from analysis.runs import RunFrames, load_runs, scored
from analysis.table1 import bootstrap_setting_score, normalise, run_scores, setting_score
from experiments import hopper_value_clip
from experiments.chunks import DETAILS, SEEDS, STEPS, run_record, run_then_report
from experiments.sweep import shown
from experiments.table1_quick import archive_runs, unpack_runs

RESULTS = Path("results/value_clip_row")
OUT = Path("outputs/value_clip_row")
TABLE1 = Path("results/table1")
TASKS = ("walker2d", "half_cheetah", "inverted_double_pendulum", "swimmer", "inverted_pendulum", "reacher")
"""Hopper's runs come from experiments.hopper_value_clip; the slowest tasks first, so the two cores finish together."""


def command() -> list[str]:
    return [sys.executable, "-m", "ppo_bench.train", "-m", f"env={','.join(TASKS)}", "objective=clip0.2",
            "details.value_clip=none", f"seed={','.join(map(str, SEEDS))}", f"total_timesteps={STEPS}",
            f"details={DETAILS}", "hydra/launcher=fused", "hydra.launcher.n_jobs=2", "env.backend=envpool",
            "env.threads=1", "torch_threads=1", "progress=off", f"hydra.sweep.dir={OUT}"]


def run() -> int:
    argv = command()
    print(f"$ {shown(argv)}", flush=True)
    start, started = time.time(), time.strftime("%Y-%m-%d %H:%M:%S")
    if subprocess.run(argv).returncode != 0:
        return 1
    RESULTS.mkdir(parents=True, exist_ok=True)
    info = run_record(argv, archive_runs(OUT, RESULTS / "runs.tar.xz"), started, time.time() - start)
    (RESULTS / "run.json").write_text(json.dumps(info, indent=1) + "\n")
    return 0


def unclipped_runs(tmp: Path) -> RunFrames:
    """The 21 clip ε = 0.2 runs without the value clip, this experiment's and the Hopper ablation's, unpacked into tmp;
    labelled PPO_VALUE_UNCLIPPED (Figure 3 draws them as their own line)."""
    folders = [unpack_runs(RESULTS / "runs.tar.xz", tmp / "row"),
               unpack_runs(hopper_value_clip.RESULTS / "runs.tar.xz", tmp / "hopper")]
    return value_unclipped(scored(load_runs(*folders)))


def table(scores: pd.DataFrame, per_task: pd.DataFrame, table1: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Per task: clip ε = 0.2 with the value clip (Table 1) and without (mean ± std of raw returns over seeds), each
    normalised with Table 1's anchors; and the row's score with its 95% interval and the rank it would take in
    place of Table 1's clip ε = 0.2 row."""
    anchors = per_task.drop_duplicates("env").set_index("env")[["baseline", "best"]]
    missing = sorted(set(scores["env"]) - set(anchors.index))
    if missing:
        raise SystemExit(f"{TABLE1}/table1_per_task.csv has no {', '.join(missing)}: rebuild it with "
                         "python -m experiments.table1 --report")
    clipped = per_task[per_task["objective"] == "clip0.2"].set_index("env")
    scores = scores.assign(normalised=normalise(scores["raw"], scores["env"].map(anchors["baseline"]),
                                                scores["env"].map(anchors["best"])))
    rows = []
    for env, group in scores.groupby("env"):
        base, best = anchors.loc[env, "baseline"], anchors.loc[env, "best"]
        rows.append({"env": env, "with_mean": clipped.loc[env, "mean"], "with_std": clipped.loc[env, "std"],
                     "without_mean": group["raw"].mean(), "without_std": group["raw"].std(), "seeds": len(group),
                     "with_normalised": float(normalise(clipped.loc[env, "mean"], base, best)),
                     "without_normalised": group["normalised"].mean(), "baseline": base, "best": best})
    by_task = [group["normalised"].to_numpy(dtype=np.float64) for _, group in scores.groupby("env")]
    low, high = bootstrap_setting_score(by_task)
    score = setting_score(by_task)
    others = table1[table1["objective"] != "clip0.2"]
    best_other = others.loc[others["score"].idxmax()]
    clipped_score = float(table1.set_index("objective").loc["clip0.2", "score"])
    summary = {"score": score, "ci_low": low, "ci_high": high, "tasks": len(by_task), "table1_score": clipped_score,
               "table1_rank": 1 + int((table1["score"] > clipped_score).sum()),
               "rank": 1 + int((others["score"] > score).sum()), "settings": len(table1),
               "best_other": str(best_other["objective"]), "best_other_score": float(best_other["score"])}
    return pd.DataFrame(rows), summary


def markdown(rows: pd.DataFrame, summary: dict) -> str:
    lines = ["| task | clip ε = 0.2, value loss clipped (Table 1) | clip ε = 0.2, value loss unclipped | "
             "normalised: clipped → unclipped |", "|---|---|---|---|"]
    lines += [f"| {r.env} | {r.with_mean:.1f} ± {r.with_std:.1f} | {r.without_mean:.1f} ± {r.without_std:.1f} | "
              f"{r.with_normalised:.2f} → {r.without_normalised:.2f} |" for r in rows.itertuples(index=False)]
    s = summary
    lines += ["", f"Normalised with Table 1's anchors (per task: random policy 0, the best of Table 1's "
              f"{s['settings']} settings 1), mean over {s['tasks']} tasks: clip ε = 0.2 scores "
              f"{s['table1_score']:.2f} with the value clip (rank {s['table1_rank']} of {s['settings']}) and "
              f"{s['score']:.2f} [{s['ci_low']:.2f}, {s['ci_high']:.2f}] without it, which would rank {s['rank']} of "
              f"{s['settings']} in its place (the other {s['settings'] - 1} settings as in Table 1; the best of them: "
              f"{s['best_other']}, {s['best_other_score']:.2f})."]
    return "\n".join(lines) + "\n"


def report() -> int:
    if not (RESULTS / "runs.tar.xz").exists():
        print(f"# {RESULTS / 'runs.tar.xz'} is not there yet: python -m experiments.value_clip_row --run",
              file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        runs = unclipped_runs(Path(tmp))
        scores = run_scores(runs.runs, runs.episodes)
    rows, summary = table(scores, pd.read_csv(TABLE1 / "table1_per_task.csv"), pd.read_csv(TABLE1 / "table1.csv"))
    rows.to_csv(RESULTS / "table.csv", index=False)
    text = markdown(rows, summary)
    (RESULTS / "table.md").write_text(text)
    print(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_then_report(argv, __doc__.splitlines()[0], run, report,
                           "run the 18 runs first (about 45 min on 2 cores)")

if __name__ == "__main__":
    sys.exit(main())
