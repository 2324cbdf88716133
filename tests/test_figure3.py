"""Figure 3 (analysis.figure3, experiments.figure3): the final-returns table on synthetic runs with known scores,
the panels on the paper's y-ranges, and the report from committed chunks with PPO taken from Table 1's."""

import json

import pandas as pd
import pytest

from analysis.figure3 import (
    PPO_VALUE_UNCLIPPED,
    SETTINGS,
    comparison,
    figure3,
    final_returns,
    final_returns_markdown,
    value_unclipped,
)
from analysis.paper_values import FIGURE3_SETTINGS
from analysis.runs import RunFrames, load_runs, scored
from experiments import figure3 as f3
from experiments import table1 as t1
from experiments.table1_quick import archive_runs
from tests.run_folders import write_run_folder


def constant_runs(folder, env, levels, **setting):
    """One run per seed whose 120 episodes all return levels[seed - 1] (so its Table 1 score is that level)."""
    for seed, level in enumerate(levels, 1):
        episodes = [(1000 * (i + 1), level, 1000) for i in range(120)]
        write_run_folder(folder / f"{setting.get('algo', 'ppo')}_{setting.get('kl_beta', 0)}_{env}_{seed}", env=env,
                         seed=seed, episodes=episodes, total_timesteps=120_000, **setting)


@pytest.fixture
def runs(tmp_path):
    constant_runs(tmp_path / "f3", "HalfCheetah-v5", (10.0, 20.0, 30.0), clip_eps=None, algo="trpo")
    constant_runs(tmp_path / "t1", "HalfCheetah-v5", (1500.0, 1600.0, 1700.0), clip_eps=0.2)
    constant_runs(tmp_path / "t1", "HalfCheetah-v5", (900.0,), clip_eps=None, kl_beta=1.0)  # not in Figure 3
    constant_runs(tmp_path / "f3", "Reacher-v5", (-6.0, -8.0), clip_eps=None, algo="a2c")
    return tmp_path


def test_final_returns_are_seed_means_of_table1_scores_beside_the_papers_read_offs(runs):
    frames = scored(load_runs(runs / "f3", runs / "t1"))
    table = final_returns(frames.runs, frames.episodes).set_index(["env", "setting"])
    assert set(table.index) == {("HalfCheetah-v5", "trpo"), ("HalfCheetah-v5", "clip0.2"), ("Reacher-v5", "a2c")}
    assert table.loc[("HalfCheetah-v5", "trpo"), ["seeds", "mean", "low", "high", "paper"]].tolist() == \
        [3, 20.0, 10.0, 30.0, 0.0]
    assert table.loc[("HalfCheetah-v5", "clip0.2"), ["mean", "paper"]].tolist() == [1600.0, 1800.0]
    assert table.loc[("Reacher-v5", "a2c"), ["mean", "low", "high", "paper"]].tolist() == [-7.0, -8.0, -6.0, -24.0]
    text = final_returns_markdown(final_returns(frames.runs, frames.episodes))
    assert "| task | A2C | A2C + Trust Region | PPO (Clip) | TRPO |" in text
    assert "| HalfCheetah-v5 | not run (paper ~1000) | not run (paper ~930) | 1600 [1500, 1700] (paper ~1800) | " \
           "20 [10, 30] (paper ~0) |" in text


def test_panels_keep_the_papers_y_range_and_widen_it_only_for_curves_outside(runs):
    frames = scored(load_runs(runs / "f3", runs / "t1"))
    fig = figure3(frames.runs, frames.episodes, points=10, n_boot=50)
    axes = {ax.get_title(): ax for ax in fig.axes}
    assert set(axes) == {"HalfCheetah-v5", "Reacher-v5"}
    assert axes["HalfCheetah-v5"].get_ylim() == (-500, 2000)  # every curve inside: the paper's range
    low, high = axes["Reacher-v5"].get_ylim()  # the paper's -120..-20 cannot show a mean return of -7
    assert low == -120 and high == pytest.approx(-7 + 0.05 * 100)
    assert len(axes["HalfCheetah-v5"].get_lines()) == 2 + 2  # PPO and TRPO, and the paper's range as two lines


def test_the_report_draws_committed_chunks_with_ppo_from_table1(runs, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for module, source, chunk in ((f3, runs / "f3", "half_cheetah"), (t1, runs / "t1", "half_cheetah")):
        monkeypatch.setattr(module, "RESULTS", tmp_path / "results" / module.__name__.split(".")[-1])
        records = module.store().records
        records.mkdir(parents=True)
        archive_runs(source, records / f"{chunk}.tar.xz")
        (records / f"{chunk}.json").write_text(json.dumps({"task": chunk, "seeds": [1, 2, 3], "runs": 1,
                                                           "started": "-", "wall_min": 1.0, "git": "abc"}))
    (tmp_path / "README.md").write_text(f"intro\n{f3.BEGIN}\nold\n{f3.END}\nafter\n")
    assert f3.report() == 0
    readme = (tmp_path / "README.md").read_text()  # the README block: the final returns and the comparison
    assert readme.startswith(f"intro\n{f3.BEGIN}\n| task |") and readme.endswith(f"{f3.END}\nafter\n")
    assert "No task has PPO and every baseline run yet." in readme and "\nold\n" not in readme
    out = tmp_path / "results" / "figure3"
    assert {"figure3.png", "figure3.pdf", "final_returns.csv", "final_returns.md", "CHUNKS.md"} <= \
        {p.name for p in out.iterdir()}
    table = pd.read_csv(out / "final_returns.csv")
    assert sorted(table["setting"]) == ["a2c", "clip0.2", "trpo"]  # kl_fixed1 of the Table 1 chunk left out
    assert "Missing (task, seed): walker2d 1" in (out / "CHUNKS.md").read_text()


def test_any_report_with_baseline_runs_draws_figure3_and_one_without_does_not(runs, tmp_path):
    from analysis.report import build_report

    with_baselines = build_report(load_runs(runs / "f3", runs / "t1"), tmp_path / "with", reps=200)
    assert "figure3" in with_baselines.figures and (tmp_path / "with" / "figures" / "figure3.png").exists()
    assert "## Figure 3: final returns (a2c, trpo and PPO)" in with_baselines.markdown
    assert "20 [10, 30] (paper ~0)" in with_baselines.markdown
    ppo_only = build_report(load_runs(runs / "t1"), tmp_path / "without", reps=200)
    assert "figure3" not in ppo_only.figures and "Figure 3" not in ppo_only.markdown


def test_the_comparison_with_the_paper_counts_tasks_where_ppo_ends_highest():
    def rows(env, means):
        return [{"env": env, "setting": s, "label": FIGURE3_SETTINGS[s], "seeds": 3, "mean": m, "low": m - 30,
                 "high": m + 30, "paper": float("nan")} for s, m in means.items()]

    table = pd.DataFrame(rows("HalfCheetah-v5", {"a2c": 900, "cem": 10, "clip0.2": 1500, "pg": 800, "trpo": 20})
                         + rows("Hopper-v5", {"a2c": 700, "cem": 50, "clip0.2": 600, "pg": 400, "trpo": 2500})
                         + rows("Swimmer-v5", {"clip0.2": 60}))  # not every algorithm run: not counted
    lines = comparison(table)
    # the paper's read-offs: HalfCheetah PPO 1800 against TRPO 0, A2C 1000, A2C+TR 930; Hopper 2330 against 2100,
    # 900, 1220: PPO highest on both
    assert lines[0] == ("PPO (clip ε = 0.2) has the highest final return of the 5 algorithms run on 1 of the 2 tasks "
                        "with every algorithm run (HalfCheetah-v5); the paper's read-offs put PPO highest or level "
                        "with the highest on 2 of those 2 (HalfCheetah-v5, Hopper-v5).")
    assert lines[1:] == ["Hopper-v5: TRPO ends highest (2500, PPO 600).",
                         "TRPO on HalfCheetah-v5: 20 [-10, 50] over seeds (the paper: ~0)."]
    assert comparison(pd.DataFrame(rows("Swimmer-v5", {"clip0.2": 60}))) == [
        "No task has PPO and every baseline run yet."]


def test_ppo_with_the_value_loss_unclipped_is_counted_apart_from_the_papers_ppo():
    def rows(env, means):
        return [{"env": env, "setting": s, "label": SETTINGS[s], "seeds": 3, "mean": m, "low": m, "high": m,
                 "paper": float("nan")} for s, m in means.items()]

    baselines = {"a2c": 900, "cem": 10, "pg": 800}
    table = pd.DataFrame(rows("HalfCheetah-v5", {**baselines, "trpo": 20, "clip0.2": 1500, PPO_VALUE_UNCLIPPED: 1400})
                         + rows("Hopper-v5", {**baselines, "trpo": 2500, "clip0.2": 600, PPO_VALUE_UNCLIPPED: 2600})
                         + rows("Swimmer-v5", {**baselines, "trpo": 100, "clip0.2": 50, PPO_VALUE_UNCLIPPED: 90}))
    lines = comparison(table)
    assert lines[0].startswith("PPO (clip ε = 0.2) has the highest final return of the 5 algorithms run on 1 of the "
                               "3 tasks with every algorithm run (HalfCheetah-v5);")  # the extra line is no rival
    assert lines[1] == ("With the value loss unclipped, PPO (clip ε = 0.2) ends above every baseline on 2 of the 3 "
                        "(HalfCheetah-v5, Hopper-v5).")
    assert lines[2:4] == ["Hopper-v5: TRPO ends highest (2500, PPO 600).",
                          "Swimmer-v5: A2C ends highest (900, PPO 50)."]
    assert "value loss unclipped" not in " ".join(comparison(table[table["setting"] != PPO_VALUE_UNCLIPPED]))
    markdown = final_returns_markdown(table)
    assert markdown.splitlines()[0].endswith("| TRPO | PPO (Clip), value loss unclipped |")
    assert markdown.splitlines()[2].endswith("| 20 [20, 20] (paper ~0) | 1400 [1400, 1400] |")  # no read-off


def test_value_unclipped_relabels_only_clip_02_runs_without_the_value_clip():
    runs = pd.DataFrame({"run_id": ["a", "b", "c"], "objective": ["clip0.2", "clip0.2", "kl_fixed1"],
                         "title": ["Clipping, ε = 0.2"] * 2 + ["Fixed KL, β = 1"],
                         "config.details.value_clip": ["none", "policy", "none"]})
    episodes = pd.DataFrame({"run_id": ["a", "a", "b", "c"], "return": [1.0, 2.0, 3.0, 4.0],
                             "objective": ["clip0.2", "clip0.2", "clip0.2", "kl_fixed1"]})
    metrics = pd.DataFrame({"run_id": ["a", "b"], "objective": ["clip0.2", "clip0.2"]})
    out = value_unclipped(RunFrames(runs, episodes, metrics))
    assert out.runs[["run_id", "objective", "title"]].values.tolist() == [
        ["a", PPO_VALUE_UNCLIPPED, "PPO (Clip), value loss unclipped"]]
    assert out.episodes[["run_id", "objective", "return"]].values.tolist() == [["a", PPO_VALUE_UNCLIPPED, 1.0],
                                                                               ["a", PPO_VALUE_UNCLIPPED, 2.0]]
    assert out.metrics["run_id"].tolist() == ["a"]
