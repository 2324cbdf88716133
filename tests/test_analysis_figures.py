"""analysis.figures on small synthetic data: the expected panels and lines, and the numbers behind them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import figures
from analysis.runs import load_runs
from tests.run_folders import write_run_folder

SETTINGS = {"clip0.2": dict(clip_eps=0.2, kl_beta=0.0), "kl_fixed1": dict(clip_eps=None, kl_beta=1.0)}


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    """2 tasks × 2 settings × 2 seeds; a run returns the constant c = 10 × seed (+ 100 for kl_fixed1) in every
    episode, one episode every 100 steps up to 4000; metrics every 1000 steps: kl 0.01 × seed, clip fraction 0.1,
    β = kl_beta."""
    root = tmp_path_factory.mktemp("runs")
    for env in ("TaskA-v5", "TaskB-v5"):
        for name, objective in SETTINGS.items():
            for seed in (1, 2):
                c = 10.0 * seed + (100 if name == "kl_fixed1" else 0)
                write_run_folder(root / f"{env}-{name}-{seed}", env=env, seed=seed, total_timesteps=4000,
                                 rollout_steps=1000, **objective,
                                 episodes=[(s, c, 100) for s in range(100, 4001, 100)],
                                 metrics=[{"iteration": i, "global_step": 1000 * i, "kl": 0.01 * seed,
                                           "clip_fraction": 0.1, "beta": objective["kl_beta"]} for i in range(1, 5)])
    return load_runs(root)


def test_figure1_is_the_clipped_term():
    fig = figures.figure1(eps=0.2)
    assert len(fig.axes) == 2
    for ax, at_half, at_one_and_half in zip(fig.axes, (0.5, -0.8), (1.2, -1.5)):
        r, value = ax.get_lines()[0].get_data()  # min(r Â, clip(r, 0.8, 1.2) Â) with Â = +1, -1
        assert np.interp(0.5, r, value) == pytest.approx(at_half)
        assert np.interp(1.5, r, value) == pytest.approx(at_one_and_half)
    assert figures.clip_term(np.array([0.5, 1.0, 1.5]), 2.0, 0.2).tolist() == [1.0, 2.0, 2.4]


def test_binned_by_hand():
    runs = pd.DataFrame({"run_id": ["r"], "env": ["T"], "objective": ["none"], "title": ["No"], "seed": [1],
                         "total_timesteps": [1000], "global_step": [600], "n_iterations": [1]})
    rows = pd.DataFrame({"run_id": ["r"] * 3, "global_step": [100, 250, 600], "return": [1.0, 3.0, 5.0]})
    out = figures.binned(rows, runs, "return", points=4)  # bins (0,250], (250,500], (500,750], (750,1000]
    assert out["step"].tolist() == [250.0, 500.0, 750.0]  # nothing past the run's last step
    assert out["return"].tolist() == [2.0, 2.0, 5.0]  # the empty bin carries 2 forward


def test_learning_curves(frames):
    fig = figures.learning_curves(frames.runs, frames.episodes, points=8, n_boot=50)
    assert len(fig.axes) == 2  # one panel per task
    colors = figures.setting_colors(frames.runs["objective"])
    for ax in fig.axes:
        lines = ax.get_lines()
        assert len(lines) == 2 and len(ax.collections) == 2  # one line and one 95% band per setting
        by_color = {tuple(np.round(line.get_color()[:3], 6)): line.get_ydata() for line in lines}
        assert np.allclose(by_color[tuple(np.round(colors["clip0.2"][:3], 6))], 15.0)  # mean of 10 and 20
        assert np.allclose(by_color[tuple(np.round(colors["kl_fixed1"][:3], 6))], 115.0)
        assert np.allclose(lines[0].get_xdata(), np.arange(500, 4001, 500))
    assert len(fig.legends[0].get_texts()) == 2


def test_aggregate_figure():
    scores = pd.DataFrame({
        "env": ["A", "A", "B", "B"] * 3,
        "objective": ["clip0.2"] * 4 + ["none"] * 4 + ["kl_fixed1"] * 4,
        "title": ["Clipping, ε = 0.2"] * 4 + ["No clipping or penalty"] * 4 + ["Fixed KL, β = 1"] * 4,
        "normalised": [1.0, 0.9, 0.8, 1.0, -0.5, 0.1, 0.2, 0.0, 0.7, 0.8, 0.9, 0.6]})
    fig = figures.aggregate_figure(scores, reps=50)
    ax_iqm, ax_poi, ax_profile = fig.axes
    assert [t.get_text() for t in ax_iqm.get_yticklabels()] == ["No clipping or penalty", "Clipping, ε = 0.2",
                                                                "Fixed KL, β = 1"]
    assert [t.get_text() for t in ax_poi.get_yticklabels()] == ["No clipping or penalty", "Fixed KL, β = 1"]
    assert len(ax_profile.get_lines()) == 3 and len(ax_profile.collections) == 3
    # the IQM marks are at the point estimates: none's 4 scores -0.5, 0.1, 0.2, 0.0 -> IQM of 0.0, 0.1 = 0.05
    marks = [line.get_xdata()[0] for line in ax_iqm.get_lines()]
    assert marks[0] == pytest.approx(0.05)


def test_diagnostics(frames):
    fig = figures.diagnostics(frames.runs, frames.metrics, n_boot=20)
    assert len(fig.axes) == 3 * 2  # (kl, clip_fraction, beta) × 2 tasks
    lines = [len(ax.get_lines()) for ax in fig.axes]
    assert lines == [2, 2, 2, 2, 1, 1]  # no β line for the clip setting (β = 0 on a log axis)
    kl = fig.axes[0].get_lines()
    assert sorted(np.round(line.get_ydata()[0], 6) for line in kl) == [0.015, 0.015]  # mean of 0.01 and 0.02
    assert fig.axes[0].get_yscale() == "log" and fig.axes[2].get_yscale() == "linear"


def test_save_figure(tmp_path):
    paths = figures.save_figure(figures.figure1(), tmp_path / "f" / "figure1")
    assert [p.name for p in paths] == ["figure1.png", "figure1.pdf"]
    assert paths[0].read_bytes()[:4] == b"\x89PNG" and paths[1].read_bytes()[:4] == b"%PDF"


def test_a_setting_has_one_colour_in_every_report():
    from analysis.figures import setting_colors

    alone = setting_colors(["clip0.2"])
    with_others = setting_colors(["none", "clip0.1", "clip0.2", "kl_fixed1", "my_setting"])
    assert alone["clip0.2"] == with_others["clip0.2"]
    assert setting_colors(["my_setting"])["my_setting"] == with_others["my_setting"]
    assert len({with_others[o] for o in ("none", "clip0.1", "clip0.2", "kl_fixed1")}) == 4


def test_one_task_one_seed_four_settings_keeps_every_legend_entry_and_says_what_is_not_shown(tmp_path):
    """The demo's shape: the legend of a one-panel figure lists all four settings inside the figure, the probability
    of improvement says n/a instead of drawing zero-width intervals, and the IQM panel says it has no interval."""
    settings = {"none": dict(clip_eps=None, kl_beta=0.0), "clip0.2": dict(clip_eps=0.2, kl_beta=0.0),
                "kl_adaptive0.01": dict(clip_eps=None, kl_beta=1.0, kl_target=0.01),
                "kl_fixed1": dict(clip_eps=None, kl_beta=1.0)}
    for k, (name, objective) in enumerate(settings.items()):
        write_run_folder(tmp_path / name, env="TaskA-v5", seed=1, total_timesteps=4000, rollout_steps=1000,
                         **objective, episodes=[(s, 10.0 * k, 100) for s in range(100, 4001, 100)])
    frames = load_runs(tmp_path)
    fig = figures.learning_curves(frames.runs, frames.episodes, points=8, n_boot=20)
    fig.canvas.draw()  # matplotlib.figure.Figure gets an Agg canvas on savefig/draw
    legend = fig.legends[0]
    assert len(legend.get_texts()) == 4
    box, figure_box = legend.get_window_extent(), fig.bbox
    assert box.x0 >= figure_box.x0 - 1 and box.x1 <= figure_box.x1 + 1, (box, figure_box)
    scores = pd.DataFrame({"env": ["A"] * 4, "objective": list(settings),
                           "title": ["No clipping or penalty", "Clipping, ε = 0.2", "Adaptive KL, d_targ = 0.01",
                                     "Fixed KL, β = 1"], "normalised": [0.1, 0.9, 1.0, 0.8]})
    ax_iqm, ax_poi, _ = figures.aggregate_figure(scores, reps=20).axes
    assert "no interval" in ax_iqm.get_title()
    assert [t.get_text() for t in ax_poi.texts] == ["n/a: needs at least 2 seeds\nof every setting on every task"]
    assert not ax_poi.get_lines()
