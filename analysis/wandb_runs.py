"""Runs read from a wandb project through wandb's public API into the same frames as run folders (analysis.runs).
An extra: the run folder is the source of truth; this serves reports made from a shared wandb project."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analysis.runs import EPISODE_COLUMNS, METRIC_COLUMNS, RawRun, RunFrames, counts_as_ints, frames_from_raw


def raw_from_wandb(run: Any) -> RawRun:
    """One wandb run (a wandb.apis.public.Run mirrored by ppo_bench.wandb_mirror) -> RawRun.

    The mirror logs the settings dict as config, one history row per episode (`episode/return`, `episode/length`)
    and one per iteration (the METRIC_COLUMNS), all against `global_step`, and sets summary["status"] at the end.
    A wandb run that is still running, or crashed without a summary status, maps to `running` / `failed`.
    """
    config = {k: v for k, v in dict(run.config).items() if not str(k).startswith("_")}
    summary = dict(run.summary_metrics or {})
    status = summary.get("status") or {"running": "running", "finished": "finished"}.get(run.state, "failed")
    history = pd.DataFrame(list(run.scan_history()))
    return raw_from_history(f"{run.entity}/{run.project}/{run.id}", config, status, history,
                            summary.get("_runtime"), run.url)


WANDB_SECTIONS = ("train", "losses", "diagnostics")
"""The chart sections the mirror logs metrics.csv's columns under (train/sps, losses/policy_loss, diagnostics/kl)."""


def _column_of(key: str) -> str:
    """The metrics.csv column of a wandb history key (runs logged before the sections had bare column names)."""
    section, _, column = key.partition("/")
    return column if section in WANDB_SECTIONS and column else key


def raw_from_history(run_id: str, config: dict[str, Any], status: str, history: pd.DataFrame,
                     wall_time: float | None = None, run_dir: str | None = None) -> RawRun:
    """A run's config, status and mixed history rows (episode rows have `episode/return`, iteration rows have
    `iteration`) -> RawRun. Pure, so it is tested without wandb."""
    episodes = pd.DataFrame({c: pd.Series(dtype="float64") for c in EPISODE_COLUMNS})
    metrics = pd.DataFrame({c: pd.Series(dtype="float64") for c in METRIC_COLUMNS})
    history = history.rename(columns=_column_of)
    if "episode/return" in history.columns:
        rows = history.dropna(subset=["episode/return"])
        episodes = pd.DataFrame({"global_step": rows["global_step"], "return": rows["episode/return"],
                                 "length": rows.get("episode/length", np.nan)}).reset_index(drop=True)
    if "iteration" in history.columns:
        rows = history.dropna(subset=["iteration"])
        metrics = pd.DataFrame({c: rows[c] if c in rows.columns else np.nan for c in METRIC_COLUMNS})
        metrics = metrics.reset_index(drop=True)
    episodes, metrics = counts_as_ints(episodes.astype("float64")), counts_as_ints(metrics.astype("float64"))
    steps = [s for s in (episodes["global_step"].max(), metrics["global_step"].max()) if not pd.isna(s)]
    return RawRun(run_id=run_id, run_dir=run_dir, config=config,
                  status={"status": status, "reason": None, "global_step": int(max(steps)) if steps else 0,
                          "wall_time": wall_time},
                  episodes=episodes, metrics=metrics)


def load_wandb(path: str, filters: dict[str, Any] | None = None, api: Any = None) -> RunFrames:
    """All runs of a wandb project (`entity/project`, optionally MongoDB-style `filters`, e.g.
    {"group": "2026-01-01_12-00-00"}) -> RunFrames, through wandb's public API. Needs network and credentials;
    the conversion (raw_from_history, frames_from_raw) is shared with the folder loader and tested offline."""
    if api is None:
        import wandb

        api = wandb.Api()
    return frames_from_raw(raw_from_wandb(run) for run in api.runs(path, filters=filters or {}))
