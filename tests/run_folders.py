"""Synthetic run folders with known contents, in the format ppo_bench.record writes: for tests and examples.

Only the files analysis reads are written (config.yaml, status.json, episodes.csv, metrics.csv, eval.csv); a
missing piece can be requested to imitate a half-written folder.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Sequence

import yaml

from analysis.runs import EPISODE_COLUMNS, METRIC_COLUMNS


def objective_labels(clip_eps: float | None, kl_beta: float, kl_target: float | None) -> tuple[str, str]:
    """(name, title) exactly as ppo_bench.settings.ObjectiveSettings derives them."""
    from ppo_bench.settings import ObjectiveSettings

    objective = ObjectiveSettings(clip_eps=clip_eps, kl_beta=kl_beta, kl_target=kl_target)
    return objective.name, objective.title


def write_run_folder(run_dir: str | Path, env: str = "TaskA-v5", clip_eps: float | None = 0.2, kl_beta: float = 0.0,
                     kl_target: float | None = None, seed: int = 1, status: str | None = "finished",
                     episodes: Sequence[tuple[int, float, int]] = (), metrics: Sequence[dict] = (),
                     total_timesteps: int = 10_000, rollout_steps: int = 2048, reason: str | None = None,
                     write_config: bool = True, algo: str = "ppo") -> Path:
    """Writes one run folder. episodes: (global_step, return, length) rows; metrics: dicts of METRIC_COLUMNS values
    (missing ones left empty). status=None writes no status.json (a folder caught before its first status).
    algo other than ppo labels the run by its algorithm, as TrainSettings.name does."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    name, title = objective_labels(clip_eps, kl_beta, kl_target)
    if algo != "ppo":
        from ppo_bench.settings import AlgoSettings, TrainSettings

        name, title = algo, TrainSettings(algo=AlgoSettings(name=algo)).title
    config = {"objective": {"clip_eps": clip_eps, "kl_beta": kl_beta, "kl_target": kl_target, "name": name,
                            "title": title},
              "env": {"id": env, "num_envs": 1, "backend": "gymnasium"},
              "details": {"obs_norm": True}, "logger": {"mode": "disabled"}, "algo": {"name": algo},
              "seed": seed, "total_timesteps": total_timesteps, "rollout_steps": rollout_steps}
    if write_config:
        (run_dir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    last = max([e[0] for e in episodes] + [m.get("global_step", 0) for m in metrics] + [0])
    if status is not None:
        (run_dir / "status.json").write_text(json.dumps({"status": status, "reason": reason, "global_step": last,
                                                         "wall_time": 1.0}))
    with open(run_dir / "episodes.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(EPISODE_COLUMNS)
        writer.writerows(episodes)
    with open(run_dir / "metrics.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(METRIC_COLUMNS)
        writer.writerows([[m.get(c, "") for c in METRIC_COLUMNS] for m in metrics])
    (run_dir / "eval.csv").write_text("global_step,episode,return,length\n")
    return run_dir


def write_random_baseline(folder: str | Path, env: str, mean: float) -> Path:
    """A random-baseline reference file (experiments.random_baseline's format) with a chosen mean."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{env}.json"
    path.write_text(json.dumps({"env_id": env, "mean": mean, "std": 0.0, "n": 100, "mean_length": 1.0}))
    return path
