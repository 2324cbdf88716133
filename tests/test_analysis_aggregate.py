"""analysis.aggregate on tiny hand-made arrays with exact answers."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.aggregate import bootstrap, iqm, iqm_of, performance_profile, pooled, probability_of_improvement


def test_iqm():
    assert iqm(np.arange(1, 9)) == 4.5  # drop 1, 2 and 7, 8: mean of 3, 4, 5, 6
    assert iqm(np.array([100.0, 1.0, 2.0, 3.0, -50.0])) == 2.0  # n = 5 drops one at each end
    assert iqm(np.array([1.0, 2.0, 6.0])) == 3.0  # n < 4: the plain mean


def test_probability_of_improvement():
    assert probability_of_improvement({"A": np.array([1.0, 3.0])}, {"A": np.array([2.0, 2.0])}) == 0.5  # 2 of 4 pairs
    assert probability_of_improvement({"A": np.array([2.0])}, {"A": np.array([2.0])}) == 0.5  # a tie counts half
    x = {"A": np.array([3.0, 4.0]), "B": np.array([0.0])}
    y = {"A": np.array([1.0, 3.5]), "B": np.array([1.0]), "C": np.array([9.0])}
    assert probability_of_improvement(x, y) == pytest.approx((3 / 4 + 0) / 2)  # mean over the shared tasks A, B
    assert np.isnan(probability_of_improvement({"A": np.ones(1)}, {"B": np.ones(1)}))


def test_performance_profile_weighs_tasks_equally():
    assert performance_profile({"A": np.array([0.1, 0.5, 0.9, 1.2])}, [0.0, 0.5, 1.0]).tolist() == [1.0, 0.5, 0.25]
    assert performance_profile({"A": np.array([1.0, 1.0]), "B": np.array([0.0])}, [0.5]).tolist() == [0.5]


def test_stratified_bootstrap_keeps_tasks_apart():
    """Task A holds only 0s and task B only 1s: every replicate keeps 2 runs of each, so the pooled IQM (n = 4 drops
    one score at each end: one 0 and one 1) is 0.5 in every replicate: a pooled, unstratified resample would vary."""
    scores = {"A": np.array([0.0, 0.0]), "B": np.array([1.0, 1.0])}
    point, low, high = bootstrap(iqm_of, scores, reps=200, seed=0)
    assert (float(point), float(low), float(high)) == (0.5, 0.5, 0.5)
    assert pooled(scores).tolist() == [0.0, 0.0, 1.0, 1.0]


def test_bootstrap_interval_of_a_two_run_task():
    """Mean of [0, 1] resampled: 0, 0.5, 1 with probability 1/4, 1/2, 1/4, so the 95% interval is [0, 1]."""
    point, low, high = bootstrap(lambda s: s["A"].mean(), {"A": np.array([0.0, 1.0])}, reps=2000, seed=1)
    assert (float(point), float(low), float(high)) == (0.5, 0.0, 1.0)


def test_mean_band_resamples_whole_runs():
    """Two runs: a replicate's mean is run 1's, the average, or run 2's; the band spans both runs. A point only run 1
    reached has run 1's value whenever it is drawn (and NaN otherwise, ignored)."""
    from analysis.aggregate import mean_band

    mean, low, high = mean_band(np.array([[1.0, 3.0], [5.0, np.nan]]), reps=500, seed=0)
    assert mean.tolist() == [2.0, 5.0] and low.tolist() == [1.0, 5.0] and high.tolist() == [3.0, 5.0]
