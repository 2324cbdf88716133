"""rliable-style aggregate statistics of normalised scores (Agarwal et al. 2021, "Deep RL at the Edge of the
Statistical Precipice"), written here with numpy only: rliable 1.2.0 does not import with pandas 3, and these
few estimators are short. No code is taken from rliable.

A setting's scores are a ragged score matrix: {task: [n_runs_t] normalised scores}. Every bootstrap here is
stratified: each replicate resamples runs with replacement within each task, keeping the number of runs per task.
Intervals are percentile intervals of the replicates.
"""

from __future__ import annotations

import warnings
from typing import Callable

import numpy as np

ScoresByTask = dict[str, np.ndarray]


def iqm(x: np.ndarray) -> float:
    """Interquartile mean of a flat [n] array: the mean of what is left after removing floor(n/4) scores from each
    end of the sorted array (so n < 4 gives the plain mean)."""
    x = np.sort(np.asarray(x, dtype=np.float64).ravel())
    cut = len(x) // 4
    return float(x[cut:len(x) - cut].mean())


def pooled(scores: ScoresByTask) -> np.ndarray:
    """[sum_t n_t] every run's score, tasks in sorted order."""
    return np.concatenate([np.asarray(scores[t], dtype=np.float64) for t in sorted(scores)])


def stratified_resample(scores: ScoresByTask, rng: np.random.Generator) -> ScoresByTask:
    """One bootstrap replicate: within each task, n_t runs drawn with replacement from its n_t runs."""
    return {t: x[rng.integers(0, len(x), size=len(x))] for t, x in scores.items()}


def bootstrap(statistic: Callable[..., np.ndarray | float], *scores: ScoresByTask, reps: int = 2000, seed: int = 0,
              level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """statistic(*scores) and its stratified-bootstrap percentile interval: (point, low, high), each shaped like the
    statistic's value. Each argument is resampled independently (two settings' runs are independent)."""
    rng = np.random.default_rng(seed)
    point = np.asarray(statistic(*scores), dtype=np.float64)
    replicates = np.stack([np.asarray(statistic(*[stratified_resample(s, rng) for s in scores]), dtype=np.float64)
                           for _ in range(reps)])  # [reps, *point.shape]
    alpha = (1 - level) / 2
    low, high = np.quantile(replicates, [alpha, 1 - alpha], axis=0)
    return point, low, high


def iqm_of(scores: ScoresByTask) -> float:
    """IQM over all runs of all tasks of one setting."""
    return iqm(pooled(scores))


def probability_of_improvement(x: ScoresByTask, y: ScoresByTask) -> float:
    """P(X > Y): for each task both settings ran, the probability that a random run of X beats a random run of Y,
    P_t = mean over all pairs (i, j) of [x_i > y_j] + 1/2 [x_i == y_j] (the Mann-Whitney U statistic / (n m));
    then the mean over those tasks. NaN when they share no task."""
    tasks = sorted(set(x) & set(y))
    if not tasks:
        return float("nan")
    per_task = []
    for t in tasks:
        xi, yj = np.asarray(x[t])[:, None], np.asarray(y[t])[None, :]  # [n, 1], [1, m]
        per_task.append(((xi > yj) + 0.5 * (xi == yj)).mean())
    return float(np.mean(per_task))


def performance_profile(scores: ScoresByTask, taus: np.ndarray) -> np.ndarray:
    """[len(taus)] the fraction of runs whose normalised score is above each τ: the mean over tasks of each task's
    fraction (so every task weighs the same, as in the setting score; with equal runs per task, the pooled fraction)."""
    taus = np.asarray(taus, dtype=np.float64)[:, None]  # [n_taus, 1]
    return np.mean([(np.asarray(scores[t])[None, :] > taus).mean(axis=1) for t in sorted(scores)], axis=0)


def mean_band(values: np.ndarray, reps: int = 1000, seed: int = 0, level: float = 0.95) -> tuple[np.ndarray, ...]:
    """values [points, runs] (NaN where a run has no value) -> (mean, low, high), each [points]: the mean over runs
    and a percentile bootstrap interval of it, resampling whole runs (columns) with replacement. Used for learning
    curves, where the runs are the seeds of one setting on one task."""
    values = np.asarray(values, dtype=np.float64)
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, values.shape[1], size=(reps, values.shape[1]))  # [reps, runs]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices: a point no resampled run reached
        mean = np.nanmean(values, axis=1)
        replicates = np.nanmean(values[:, pick], axis=2)  # [points, reps]
        alpha = (1 - level) / 2
        low, high = np.nanquantile(replicates, [alpha, 1 - alpha], axis=1)
    return mean, low, high
