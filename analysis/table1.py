"""Table 1: the average normalised score of each objective setting, with the paper's value beside it.

Schulman et al. 2017, section 6.1: a run's score is the average total reward of its last 100 training episodes; per
task, scores are shifted and scaled so that the random policy is 0 and the best result is 1; the normalised scores are
then averaged over tasks and seeds. The paper leaves two choices open; both are switches here:

    baseline="random"     (default) uniform random actions, read from the reference files that
                          `python -m experiments.random_baseline` writes (results/baselines/random/<env id>.json)
    baseline="untrained"  the untrained initial policy: a run's untrained return is the mean return of the episodes
                          that ended in its first iteration (global_step <= its batch size, i.e. collected by the
                          initial policy before any update; the first logged episode if none ended that early); the
                          task's baseline is the mean of that over the task's scored runs.
    best="setting_mean"   (default) the best setting's mean raw score on the task (mean over its runs)
    best="single_run"     the best single run's raw score on the task

Which runs are scored follows analysis.runs (finished and diverged; a diverged run that logged no episode is given
the task's baseline, normalised 0). A setting's score is the mean over tasks of its mean normalised score over that
task's runs: with equal seeds per task (3 in the paper) that is the paper's average over the 21 runs, and a missing
run does not change a task's weight. "Best" is taken among the settings that were loaded.

95% interval: percentile bootstrap that resamples runs (seeds) with replacement within each task for the setting
(stratified by task), 10,000 replicates of the setting score by default, with baselines and bests held fixed at their
point values. With one seed per task the interval is the point.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.paper_values import paper_order, paper_score
from analysis.runs import not_scored
from ppo_bench.tasks import RANDOM_BASELINES, TASKS

RANDOM_BASELINE_DIR = RANDOM_BASELINES
BASELINES = ("random", "untrained")
BESTS = ("setting_mean", "single_run")


class MissingBaselineError(FileNotFoundError):
    """A task has no random-policy reference file."""


# -- per-run scores ------------------------------------------------------------------------------------------------

def run_scores(runs: pd.DataFrame, episodes: pd.DataFrame, last_n: int = 100) -> pd.DataFrame:
    """One row per scored run (runs["scored"]): run_id, env, objective, title, seed, status, raw (mean return of its
    last `last_n` training episodes, NaN if it has none), n_used (episodes averaged), untrained (mean return of the
    episodes that ended within its first iteration; see the module docstring)."""
    rows = []
    for run in runs[runs["scored"]].itertuples(index=False):
        mine = episodes[episodes["run_id"] == run.run_id].sort_values("global_step", kind="stable")
        last = mine["return"].to_numpy(dtype=np.float64)[-last_n:]
        first_iteration = mine[mine["global_step"] <= (run.batch_size or 0)]["return"].to_numpy(dtype=np.float64)
        if len(first_iteration) == 0:
            first_iteration = mine["return"].to_numpy(dtype=np.float64)[:1]
        rows.append({"run_id": run.run_id, "env": run.env, "objective": run.objective, "title": run.title,
                     "seed": run.seed, "status": run.status,
                     "raw": last.mean() if len(last) else np.nan,  # mean total reward of the last 100 episodes
                     "n_used": len(last),
                     "untrained": first_iteration.mean() if len(first_iteration) else np.nan})
    columns = ["run_id", "env", "objective", "title", "seed", "status", "raw", "n_used", "untrained"]
    return pd.DataFrame(rows, columns=columns)


# -- baselines and bests -------------------------------------------------------------------------------------------

def read_random_baseline(env_id: str, folder: str | Path | None = None) -> dict:
    """The reference file of one task (experiments.random_baseline); MissingBaselineError names the command."""
    folder = Path(folder) if folder is not None else RANDOM_BASELINE_DIR
    path = folder / f"{env_id}.json"
    if not path.exists():
        raise MissingBaselineError(
            f"no random-policy baseline for {env_id}: {path} does not exist; make it with "
            f"`python -m experiments.random_baseline --envs {env_id}" +
            ("" if folder == RANDOM_BASELINE_DIR else f" --out {folder}") + "` (or score with baseline='untrained')")
    return json.loads(path.read_text())


def task_baselines(scores: pd.DataFrame, baseline: str = "random", folder: str | Path | None = None) -> pd.Series:
    """[tasks] the return that normalises to 0, per env id."""
    envs = sorted(scores["env"].unique())
    if baseline == "random":
        return pd.Series({env: float(read_random_baseline(env, folder)["mean"]) for env in envs}, name="baseline")
    if baseline == "untrained":
        return scores.groupby("env")["untrained"].mean().rename("baseline")
    raise ValueError(f"baseline={baseline!r}: allowed {', '.join(BASELINES)}")


def task_bests(scores: pd.DataFrame, best: str = "setting_mean") -> pd.Series:
    """[tasks] the raw score that normalises to 1, per env id (from scores["raw"], baseline-filled)."""
    if best == "setting_mean":
        return scores.groupby(["env", "objective"])["raw"].mean().groupby("env").max().rename("best")
    if best == "single_run":
        return scores.groupby("env")["raw"].max().rename("best")
    raise ValueError(f"best={best!r}: allowed {', '.join(BESTS)}")


def normalise(raw: np.ndarray, baseline: np.ndarray, best: np.ndarray) -> np.ndarray:
    """[n] (raw - baseline) / (best - baseline): the random policy -> 0, the best result -> 1 (paper section 6.1).
    NaN where best == baseline."""
    span = np.asarray(best, dtype=np.float64) - np.asarray(baseline, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(span != 0, (np.asarray(raw, dtype=np.float64) - baseline) / span, np.nan)


def normalised_scores(runs: pd.DataFrame, episodes: pd.DataFrame, baseline: str = "random",
                      best: str = "setting_mean", baseline_dir: str | Path | None = None,
                      last_n: int = 100) -> pd.DataFrame:
    """run_scores plus columns baseline, best, normalised, and raw_source ("episodes", or "baseline" for a scored run
    without episodes, whose raw score is set to its task's baseline)."""
    scores = run_scores(runs, episodes, last_n)
    baselines = task_baselines(scores, baseline, baseline_dir)
    scores["baseline"] = scores["env"].map(baselines).astype("float64")
    scores["raw_source"] = np.where(scores["raw"].isna(), "baseline", "episodes")
    scores["raw"] = scores["raw"].fillna(scores["baseline"])
    scores["best"] = scores["env"].map(task_bests(scores, best)).astype("float64")
    scores["normalised"] = normalise(scores["raw"], scores["baseline"], scores["best"])
    return scores


# -- the table -----------------------------------------------------------------------------------------------------

def setting_score(by_task: list[np.ndarray]) -> float:
    """Mean over tasks of the mean over runs; by_task: one [n_runs_t] array of normalised scores per task."""
    return float(np.mean([x.mean() for x in by_task]))


def bootstrap_setting_score(by_task: list[np.ndarray], reps: int = 10_000, seed: int = 0,
                            level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of setting_score with runs resampled with replacement within each task."""
    rng = np.random.default_rng(seed)
    replicate_means = [x[rng.integers(0, len(x), size=(reps, len(x)))].mean(axis=1) for x in by_task]  # [tasks, reps]
    replicates = np.mean(replicate_means, axis=0)  # [reps]
    alpha = (1 - level) / 2
    low, high = np.quantile(replicates, [alpha, 1 - alpha])
    return float(low), float(high)


def by_task(scores: pd.DataFrame, objective: str, column: str = "normalised") -> dict[str, np.ndarray]:
    """{env: [n_runs] scores} of one setting, NaNs dropped."""
    mine = scores[scores["objective"] == objective].dropna(subset=[column])
    return {env: group[column].to_numpy(dtype=np.float64) for env, group in mine.groupby("env")}


def settings_order(objectives) -> list[str]:
    return sorted(set(objectives), key=paper_order)


@dataclass(frozen=True)
class Table1:
    """Everything Table 1 is made of.

    table:     [settings] objective, title, score, ci_low, ci_high, paper, n_runs, n_tasks, n_diverged
    per_task:  [settings × tasks] objective, env, mean, std, n of raw scores (+ the baseline and best per env)
    scores:    [scored runs] see normalised_scores
    excluded:  [unscored runs] see analysis.runs.not_scored
    """

    table: pd.DataFrame
    per_task: pd.DataFrame
    scores: pd.DataFrame
    excluded: pd.DataFrame
    baseline: str
    best: str
    last_n: int
    reps: int
    baseline_dir: str


def table1(runs: pd.DataFrame, episodes: pd.DataFrame, baseline: str = "random", best: str = "setting_mean",
           baseline_dir: str | Path | None = None, last_n: int = 100, reps: int = 10_000, seed: int = 0) -> Table1:
    """Table 1 from the tidy frames of analysis.runs (see the module docstring for every rule)."""
    scores = normalised_scores(runs, episodes, baseline, best, baseline_dir, last_n)
    rows = []
    for objective in settings_order(scores["objective"]):
        tasks = list(by_task(scores, objective).values())
        mine = scores[scores["objective"] == objective]
        seeds_per_task = min((len(t) for t in tasks), default=0)
        low, high = bootstrap_setting_score(tasks, reps, seed) if seeds_per_task >= 2 else (np.nan, np.nan)
        steps = runs.loc[runs["run_id"].isin(mine["run_id"]), "total_timesteps"]
        rows.append({"objective": objective, "title": mine["title"].iloc[0],
                     "score": setting_score(tasks) if tasks else np.nan, "ci_low": low, "ci_high": high,
                     "paper": paper_score(objective), "n_runs": len(mine), "n_tasks": mine["env"].nunique(),
                     "n_diverged": int((mine["status"] == "diverged").sum()), "min_seeds": seeds_per_task,
                     "paper_comparable": _paper_comparable(mine["env"].nunique(), steps)})
    table = pd.DataFrame(rows, columns=["objective", "title", "score", "ci_low", "ci_high", "paper", "n_runs",
                                        "n_tasks", "n_diverged", "min_seeds", "paper_comparable"])
    table["paper"] = table["paper"].astype("float64")
    per_task = (scores.groupby(["objective", "env"])["raw"].agg(mean="mean", std="std", n="count").reset_index())
    per_task["baseline"] = per_task["env"].map(scores.groupby("env")["baseline"].first())
    per_task["best"] = per_task["env"].map(scores.groupby("env")["best"].first())
    rank = {name: i for i, name in enumerate(settings_order(per_task["objective"]))}
    per_task = (per_task.assign(_rank=per_task["objective"].map(rank)).sort_values(["_rank", "env"])
                .drop(columns="_rank").reset_index(drop=True))
    excluded = not_scored(runs)
    return Table1(table, per_task, scores, excluded, baseline, best, last_n, reps,
                  str(baseline_dir if baseline_dir is not None else RANDOM_BASELINE_DIR))


PAPER_TASKS = len(TASKS)
PAPER_STEPS = 1_000_000  # env steps per run (Schulman et al. 2017, section 6.1)


def _paper_comparable(n_tasks: int, steps: pd.Series) -> str:
    """'' when a setting's runs match the paper's protocol (7 tasks, 1M steps each), else why not."""
    reasons = []
    if n_tasks != PAPER_TASKS:
        reasons.append(f"{n_tasks} of {PAPER_TASKS} tasks")
    budgets = sorted({int(s) for s in steps.dropna()})
    if budgets and budgets != [PAPER_STEPS]:
        reasons.append(f"{'/'.join(f'{b:,}' for b in budgets)} steps, not {PAPER_STEPS:,}")
    return "; ".join(reasons)
