"""Figure 2: the saved first update, and the surrogates along the interpolation line."""

import csv

import numpy as np
import pytest

from analysis.figure2 import figure2, load_first_update, surrogates_along_update
from ppo_bench.loop import train


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    from ppo_bench.settings import EnvSettings, LoggerSettings, TrainSettings

    settings = TrainSettings(env=EnvSettings(id="Hopper-v5"), logger=LoggerSettings(mode="disabled"),
                             total_timesteps=512, rollout_steps=512, progress="off", save_first_update=True)
    run = tmp_path_factory.mktemp("fig2") / "run"
    train(settings, run)
    return run


def test_first_update_is_saved_and_moves_the_policy(first_run):
    saved = load_first_update(first_run)
    assert saved["obs"].shape[:2] == saved["actions"].shape[:2] == (1, 512)
    moved = [(a - b).abs().max().item() for a, b in zip(saved["after"]["weights"], saved["before"]["weights"])]
    assert min(moved) > 0


def test_surrogates_along_the_update(first_run):
    saved = load_first_update(first_run)
    frame = surrogates_along_update(saved, np.array([0.0, 0.5, 1.0, 2.0]))
    start = frame.iloc[0]
    mean_adv = saved["advantages"].mean().item()
    # at θ_old: r = 1, so every surrogate is E[Â] and the KL is 0
    assert start.kl == pytest.approx(0.0, abs=1e-6)
    for column in ("cpi", "clipped", "clip_objective"):
        assert start[column] == pytest.approx(mean_adv, abs=1e-5)
    assert frame.kl.is_monotonic_increasing
    assert (frame.clip_objective <= frame.cpi + 1e-7).all() and (frame.clip_objective <= frame.clipped + 1e-7).all()
    # at α = 1 the KL is the one the run logged for its first update (same batch, same weights)
    with open(first_run / "metrics.csv") as f:
        logged = float(next(csv.DictReader(f))["kl"])
    assert frame.kl.iloc[2] == pytest.approx(logged, rel=1e-3)
    fig = figure2(frame)
    assert len(fig.axes[0].lines) == 5  # four curves and the α = 1 marker
