"""Run folders (or wandb runs) -> three tidy DataFrames. The first step of every analysis.

    runs      one row per run:       run_id, run_dir, env, objective, title, clip_eps, kl_beta, kl_target, seed,
                                     status, reason, scored, global_step, total_timesteps, batch_size, n_episodes,
                                     n_iterations, wall_time, plus every config key flattened as `config.<a.b>`
    episodes  one row per training episode: run_id, env, objective, seed, global_step, return, length
    metrics   one row per iteration: run_id, env, objective, seed, then ppo_bench.record.METRIC_COLUMNS

`objective` is the derived short label (e.g. `clip0.2`); `title` is its Table 1 label (e.g. `Clipping, ε = 0.2`).

The status rule (which runs are scored; column `scored`):
- finished  scored.
- diverged  scored on the training episodes it logged before it diverged. Divergence is a property of the objective
            (no clipping and small KL penalties blow up), so dropping such runs would flatter exactly the settings
            that diverge. A diverged run that logged no episode at all is scored at the task's baseline (normalised
            score 0; see analysis.table1).
- running   not scored (the run is not over; it may be live, or was killed without a chance to say so); listed.
- interrupted  not scored (stopped by Ctrl-C, SIGTERM or a scheduler; its checkpoint resumes it); listed.
- failed    not scored (a crash of the harness, not a property of the objective); listed.
- duplicate  the same run found a second time (the same config in another folder, e.g. under an alias preset);
            not scored; listed, naming the run that is scored (mark_duplicates).
- unreadable  the loader's own status for a folder whose config.yaml or status.json is missing or cannot be parsed
            (e.g. a folder caught half-written); not scored; listed with the reason.
The loader never raises on a half-written folder: CSVs that are missing, empty, header-only, or end in a torn line
(no final newline) load as far as they are whole.
"""

from __future__ import annotations

import glob
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, NamedTuple

import numpy as np
import pandas as pd
import yaml

EPISODE_COLUMNS = ("global_step", "return", "length")
METRIC_COLUMNS = ("iteration", "global_step", "wall_time", "sps", "learning_rate", "clip_eps", "policy_loss",
                  "value_loss", "entropy", "kl", "clip_fraction", "beta", "ratio_min", "ratio_mean", "ratio_max",
                  "explained_variance", "grad_norm")  # as ppo_bench.record.METRIC_COLUMNS; kept here so analysis
#                                                      never needs the training package to read a folder
SCORED_STATUSES = ("finished", "diverged")
RUN_COLUMNS = ("run_id", "run_dir", "env", "objective", "title", "clip_eps", "kl_beta", "kl_target", "seed", "status",
               "reason", "scored", "global_step", "total_timesteps", "batch_size", "n_episodes", "n_iterations",
               "wall_time")
KEY_COLUMNS = ("run_id", "env", "objective", "seed")  # repeated in episodes and metrics so they stand alone


class RunFrames(NamedTuple):
    """The three tidy frames of a set of runs."""

    runs: pd.DataFrame
    episodes: pd.DataFrame
    metrics: pd.DataFrame


@dataclass
class RawRun:
    """One run as read from its source, before tidying: the shared form of a folder and of a wandb run.

    config: the resolved settings dict (config.yaml / wandb config); status: status.json's dict; episodes:
    [n_episodes] rows of EPISODE_COLUMNS; metrics: [n_iterations] rows of METRIC_COLUMNS (missing columns are NaN).
    problem: why the run could not be read properly (its status becomes `unreadable`), else None.
    """

    run_id: str
    run_dir: str | None
    config: dict[str, Any] = field(default_factory=dict)
    status: dict[str, Any] = field(default_factory=dict)
    episodes: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(EPISODE_COLUMNS)))
    metrics: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(METRIC_COLUMNS)))
    problem: str | None = None


# -- finding run folders -----------------------------------------------------------------------------------------

def is_run_folder(path: Path) -> bool:
    """A run folder holds config.yaml or status.json (ppo_bench.record writes config.yaml first)."""
    return path.is_dir() and ((path / "status.json").exists() or (path / "config.yaml").exists())


def find_run_folders(sources: Iterable[str | Path]) -> list[Path]:
    """Run folders named by `sources`: run folders, folders holding run folders at any depth (a sweep, outputs/),
    or glob patterns of either (`outputs/sweeps/*`, `outputs/**/clip*`). Sorted, without duplicates.
    A source that matches nothing raises FileNotFoundError (a typo should not silently shrink a table)."""
    found: dict[Path, None] = {}
    for source in sources:
        text = str(source)
        matches = [Path(p) for p in sorted(glob.glob(text, recursive=True))] if glob.has_magic(text) else [Path(text)]
        matches = [m for m in matches if m.exists()]
        if not matches:
            raise FileNotFoundError(f"{text}: no such file, folder or glob match")
        for path in matches:
            if is_run_folder(path):
                found[path.resolve()] = None
            elif path.is_dir():
                for marker in sorted(path.rglob("*")):
                    if marker.name in ("config.yaml", "status.json") and is_run_folder(marker.parent):
                        found[marker.parent.resolve()] = None
    return sorted(found)


# -- reading one folder ------------------------------------------------------------------------------------------

def read_csv_safely(path: Path, columns: tuple[str, ...], required: tuple[str, ...]) -> pd.DataFrame:
    """A CSV log as far as it is whole: [rows, columns] numeric; empty (with the columns) if missing or empty.
    A last line without its newline (torn mid-write) is dropped, and so is any row missing a `required` value."""
    empty = pd.DataFrame({c: pd.Series(dtype="float64") for c in columns})
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError):
        return empty
    if not text.endswith("\n"):
        text = text[:text.rfind("\n") + 1]
    if not text.strip():
        return empty
    try:
        frame = pd.read_csv(io.StringIO(text), on_bad_lines="skip")
    except (pd.errors.EmptyDataError, pd.errors.ParserError):
        return empty
    frame = frame.apply(pd.to_numeric, errors="coerce")
    for c in columns:
        if c not in frame.columns:
            frame[c] = np.nan
    frame = frame.dropna(subset=list(required))
    return counts_as_ints(frame[list(columns)].astype("float64").reset_index(drop=True))


def counts_as_ints(frame: pd.DataFrame) -> pd.DataFrame:
    """iteration, global_step and length as int64 where they have no missing value."""
    for c in ("iteration", "global_step", "length"):
        if c in frame.columns and not frame[c].isna().any():
            frame[c] = frame[c].astype("int64")
    return frame


def read_run_folder(run_dir: str | Path) -> RawRun:
    """One run folder as a RawRun; never raises on a missing or half-written file (sets `problem` instead)."""
    run_dir = Path(run_dir).resolve()
    raw = RawRun(run_id=str(run_dir), run_dir=str(run_dir))
    problems = []
    try:
        raw.config = yaml.safe_load((run_dir / "config.yaml").read_text()) or {}
        if not isinstance(raw.config, dict):
            raise ValueError("not a mapping")
    except FileNotFoundError:
        problems.append("config.yaml missing")
    except (OSError, ValueError, yaml.YAMLError) as error:
        raw.config = {}
        problems.append(f"config.yaml unreadable ({type(error).__name__})")
    try:
        raw.status = json.loads((run_dir / "status.json").read_text())
        if not isinstance(raw.status, dict):
            raise ValueError("not an object")
    except FileNotFoundError:
        problems.append("status.json missing")
    except (OSError, ValueError) as error:
        raw.status = {}
        problems.append(f"status.json unreadable ({type(error).__name__})")
    raw.episodes = read_csv_safely(run_dir / "episodes.csv", EPISODE_COLUMNS, EPISODE_COLUMNS)
    raw.metrics = read_csv_safely(run_dir / "metrics.csv", METRIC_COLUMNS, ("iteration", "global_step"))
    raw.problem = "; ".join(problems) or None
    return raw


# -- tidying (shared by the folder and the wandb loaders) ----------------------------------------------------------

def flatten(mapping: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{'a': {'b': 1}} -> {'a.b': 1}; lists become strings so that every value is hashable."""
    flat: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = str(list(value)) if isinstance(value, (list, tuple)) else value
    return flat


def run_row(raw: RawRun) -> dict[str, Any]:
    """The runs-frame row of one RawRun (see the module docstring for the columns and the status rule)."""
    config, objective, env = raw.config, raw.config.get("objective") or {}, raw.config.get("env") or {}
    status, problem = (raw.status.get("status"), None) if raw.problem is None else ("unreadable", raw.problem)
    if problem is None and status not in ("running", "finished", "diverged", "interrupted", "failed", "duplicate"):
        status, problem = "unreadable", f"unknown status {status!r}"
    if problem is None and not (env.get("id") and objective.get("name")):
        status, problem = "unreadable", "config.yaml lacks env.id or objective.name"
    steps = [raw.status.get("global_step") or 0]
    steps += [raw.metrics["global_step"].max(), raw.episodes["global_step"].max()]
    steps = [s for s in steps if s is not None and not pd.isna(s)]
    rollout, num_envs = config.get("rollout_steps"), env.get("num_envs", 1)
    row = {
        "run_id": raw.run_id, "run_dir": raw.run_dir, "env": env.get("id"),
        "objective": objective.get("name"), "title": objective.get("title"),
        "clip_eps": objective.get("clip_eps"), "kl_beta": objective.get("kl_beta"),
        "kl_target": objective.get("kl_target"), "seed": config.get("seed"),
        "status": status, "reason": problem if status == "unreadable" else raw.status.get("reason"),
        "scored": status in SCORED_STATUSES,
        "global_step": int(max(steps)) if steps else 0, "total_timesteps": config.get("total_timesteps"),
        "batch_size": rollout * num_envs if rollout and num_envs else None,
        "n_episodes": len(raw.episodes), "n_iterations": len(raw.metrics), "wall_time": raw.status.get("wall_time"),
    }
    row.update({f"config.{k}": v for k, v in flatten(config).items()})
    return row


def frames_from_raw(raws: Iterable[RawRun]) -> RunFrames:
    """RawRuns -> RunFrames. The one conversion both loaders share."""
    rows, episodes, metrics = [], [], []
    for raw in raws:
        row = run_row(raw)
        rows.append(row)
        keys = {k: row[k] for k in KEY_COLUMNS}
        episodes.append(raw.episodes.assign(**keys)[[*KEY_COLUMNS, *EPISODE_COLUMNS]])
        metrics.append(raw.metrics.assign(**keys)[[*KEY_COLUMNS, *METRIC_COLUMNS]])
    runs = pd.DataFrame(rows)
    if runs.empty:
        runs = pd.DataFrame(columns=list(RUN_COLUMNS))
    runs = runs[list(RUN_COLUMNS) + sorted(c for c in runs.columns if c not in RUN_COLUMNS)]
    runs = runs.sort_values(["env", "objective", "seed", "run_id"], na_position="last", kind="stable")
    return RunFrames(runs.reset_index(drop=True), _concat(episodes, (*KEY_COLUMNS, *EPISODE_COLUMNS)),
                     _concat(metrics, (*KEY_COLUMNS, *METRIC_COLUMNS)))


def _concat(frames: list[pd.DataFrame], columns: tuple[str, ...]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in columns})
    return pd.concat(frames, ignore_index=True)


def load_runs(*sources: str | Path) -> RunFrames:
    """Loads run folders, sweep folders and glob patterns (see find_run_folders) into RunFrames; the same run found
    twice (e.g. under the aliases `clip` and `clip0.2`, in two copied folders) is scored once (mark_duplicates)."""
    return mark_duplicates(frames_from_raw(read_run_folder(d) for d in find_run_folders(sources)))


NOT_IDENTITY_CONFIG = ("config.logger.", "config.progress", "config.torch_threads")
"""Config columns that do not make a different run (as ppo_bench.identity.NOT_IDENTITY; analysis does not import
the training code)."""


def mark_duplicates(frames: RunFrames) -> RunFrames:
    """Runs whose whole config is equal but for NOT_IDENTITY_CONFIG are one run: the one that got furthest (finished
    before diverged before the rest, then most env steps, then the first folder) is kept; the others get status
    `duplicate`, are not scored, and name the run kept."""
    runs = frames.runs.copy()
    identity = [c for c in runs.columns if c.startswith("config.") and not c.startswith(NOT_IDENTITY_CONFIG)]
    if runs.empty or not identity:
        return frames
    rank = runs["status"].map({"finished": 0, "diverged": 1}).fillna(2)
    order = runs.assign(_rank=rank).sort_values(["_rank", "global_step", "run_id"], ascending=[True, False, True])
    key = order[identity].map(repr).agg("|".join, axis=1)
    kept = key.groupby(key).transform(lambda group: order.loc[group.index[0], "run_id"])
    duplicate = order.index[kept.to_numpy() != order["run_id"].to_numpy()]
    for i in duplicate:
        runs.loc[i, ["status", "scored", "reason"]] = ["duplicate", False, f"the same run as {kept[i]}"]
    return RunFrames(runs, frames.episodes, frames.metrics)


def scored(frames: RunFrames) -> RunFrames:
    """Only the runs the status rule scores (finished, diverged), with their episodes and metrics."""
    keep = frames.runs.loc[frames.runs["scored"], "run_id"]
    return RunFrames(frames.runs[frames.runs["run_id"].isin(keep)].reset_index(drop=True),
                     frames.episodes[frames.episodes["run_id"].isin(keep)].reset_index(drop=True),
                     frames.metrics[frames.metrics["run_id"].isin(keep)].reset_index(drop=True))


def not_scored(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs the status rule leaves out (running, interrupted, failed, unreadable), with their reason."""
    return runs.loc[~runs["scored"], ["run_id", "env", "objective", "seed", "status", "reason", "global_step",
                                      "total_timesteps"]].reset_index(drop=True)
