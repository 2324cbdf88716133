"""analysis.table1 on synthetic runs whose normalised scores are worked out by hand below.

Two tasks, two settings (clip0.2, none), two seeds. Every run logs, in order:
  5 episodes in its first iteration (global_step <= 2048, the batch size) returning u  (its untrained return),
  10 episodes at steps 2100..2550 returning 999                                           (in neither window),
  100 episodes from step 3000 on returning v - 1 and v + 1 alternately                     (its last 100: mean v).

            random baseline   clip0.2 v (s1, s2)   none v (s1, s2)   u: clip (s1, s2), none (s1, s2)
  TaskA-v5        10              110, 90              40, 60              20, 40, 30, 30
  TaskB-v5       -20               40, 60             180, 220              0,  0,  0,  0

Default (random baseline, best = best setting's mean): best_A = 100 (clip), best_B = 200 (none).
  clip: A (110-10)/90, (90-10)/90 -> mean 1;   B (40+20)/220, (60+20)/220 -> mean 70/220 = 7/22
        score = (1 + 7/22) / 2 = 29/44
  none: A 30/90, 50/90 -> mean 4/9;            B 200/220, 240/220 -> mean 1
        score = (4/9 + 1) / 2 = 13/18
best = single run: best_A = 110, best_B = 220.
  clip: A 100/100, 80/100 -> 0.9;  B 60/240, 80/240 -> 70/240;  score = (0.9 + 7/24) / 2 = 143/240
  none: A 30/100, 50/100 -> 0.4;   B 200/240, 240/240 -> 11/12;  score = (0.4 + 11/12) / 2 = 79/120
baseline = untrained (task mean of u): b_A = 30, b_B = 0; best means 100 and 200.
  clip: A 80/70, 60/70 -> 1;   B 40/200, 60/200 -> 0.25;     score = 0.625
  none: A 10/70, 30/70 -> 2/7; B 180/200, 220/200 -> 1;       score = (2/7 + 1) / 2 = 9/14
Bootstrap (2 seeds per task): a task's resampled mean is x1, (x1+x2)/2 or x2 with probability 1/4, 1/2, 1/4, so the
lowest replicate (both tasks at their lower seed) has probability 1/16 > 2.5%: the 95% interval's ends are exactly
the all-low and all-high combinations. clip: [(8/9 + 3/11)/2, (10/9 + 4/11)/2] = [115/198, 146/198].
"""

from __future__ import annotations

import numpy as np
import pytest

from analysis.runs import load_runs
from analysis.table1 import MissingBaselineError, normalise, table1
from analysis.table1_text import to_latex, to_markdown, write_table1
from tests.run_folders import write_random_baseline, write_run_folder

RUNS = {  # (env, clip_eps, seed): (v, u)
    ("TaskA-v5", 0.2, 1): (110, 20), ("TaskA-v5", 0.2, 2): (90, 40),
    ("TaskA-v5", None, 1): (40, 30), ("TaskA-v5", None, 2): (60, 30),
    ("TaskB-v5", 0.2, 1): (40, 0), ("TaskB-v5", 0.2, 2): (60, 0),
    ("TaskB-v5", None, 1): (180, 0), ("TaskB-v5", None, 2): (220, 0),
}


def episodes(v: float, u: float) -> list[tuple[int, float, int]]:
    first = [(400 * (i + 1), u, 10) for i in range(5)]  # steps 400..2000: the first iteration
    middle = [(2100 + 50 * i, 999.0, 10) for i in range(10)]
    last = [(3000 + 10 * i, v - 1 if i % 2 == 0 else v + 1, 10) for i in range(100)]
    return first + middle + last


@pytest.fixture
def sweep(tmp_path):
    for (env, clip_eps, seed), (v, u) in RUNS.items():
        write_run_folder(tmp_path / "runs" / f"{env}-{clip_eps}-{seed}", env=env, clip_eps=clip_eps, seed=seed,
                         episodes=episodes(v, u))
    write_random_baseline(tmp_path / "baselines", "TaskA-v5", 10.0)
    write_random_baseline(tmp_path / "baselines", "TaskB-v5", -20.0)
    return load_runs(tmp_path / "runs"), tmp_path / "baselines"


def scores_of(result) -> dict[str, float]:
    return dict(zip(result.table["objective"], result.table["score"]))


def test_default_random_baseline_best_setting_mean(sweep):
    frames, baselines = sweep
    result = table1(frames.runs, frames.episodes, baseline_dir=baselines)
    assert scores_of(result) == pytest.approx({"clip0.2": 29 / 44, "none": 13 / 18}, abs=1e-12)
    assert result.table["objective"].tolist() == ["none", "clip0.2"]  # the paper's row order
    assert result.table["paper"].tolist() == [-0.39, 0.82]
    assert result.table["n_runs"].tolist() == [4, 4] and result.table["n_tasks"].tolist() == [2, 2]
    raw = dict(zip(zip(result.scores["env"], result.scores["objective"], result.scores["seed"]), result.scores["raw"]))
    assert raw[("TaskA-v5", "clip0.2", 1)] == 110 and raw[("TaskB-v5", "none", 2)] == 220
    assert set(result.scores["n_used"]) == {100}
    per_task = result.per_task.set_index(["objective", "env"])
    assert per_task.loc[("clip0.2", "TaskA-v5"), "mean"] == 100 and per_task.loc[("none", "TaskB-v5"), "mean"] == 200
    assert per_task.loc[("none", "TaskB-v5"), "best"] == 200 and per_task.loc[("none", "TaskB-v5"), "baseline"] == -20


def test_best_single_run(sweep):
    frames, baselines = sweep
    result = table1(frames.runs, frames.episodes, best="single_run", baseline_dir=baselines)
    assert scores_of(result) == pytest.approx({"clip0.2": 143 / 240, "none": 79 / 120}, abs=1e-12)


def test_untrained_baseline(sweep):
    frames, _ = sweep
    result = table1(frames.runs, frames.episodes, baseline="untrained", baseline_dir="/nonexistent")
    assert scores_of(result) == pytest.approx({"clip0.2": 0.625, "none": 9 / 14}, abs=1e-12)
    assert dict(zip(result.scores["env"], result.scores["baseline"])) == {"TaskA-v5": 30.0, "TaskB-v5": 0.0}


def test_bootstrap_interval_ends(sweep):
    frames, baselines = sweep
    table = table1(frames.runs, frames.episodes, baseline_dir=baselines, reps=10_000).table.set_index("objective")
    assert table.loc["clip0.2", "ci_low"] == pytest.approx(115 / 198, abs=1e-12)
    assert table.loc["clip0.2", "ci_high"] == pytest.approx(146 / 198, abs=1e-12)


def test_last_n_and_missing_baseline(sweep, tmp_path):
    frames, baselines = sweep
    result = table1(frames.runs, frames.episodes, baseline_dir=baselines, last_n=2)
    assert set(result.scores["raw"]) == {v for v, _ in RUNS.values()}  # v-1, v+1 average to v
    with pytest.raises(MissingBaselineError, match=r"python -m experiments\.random_baseline --envs TaskA-v5"):
        table1(frames.runs, frames.episodes, baseline_dir=tmp_path / "empty")


def test_status_rule_in_the_table(sweep, tmp_path):
    """A diverged run is scored on what it logged; one without episodes at the baseline (0); running and failed runs
    are listed, not scored."""
    frames, baselines = sweep
    root = tmp_path / "runs"
    write_run_folder(root / "div", env="TaskA-v5", clip_eps=None, seed=3, status="diverged",
                     episodes=[(100, 10.0, 5), (200, 100.0, 5)])
    write_run_folder(root / "div_empty", env="TaskA-v5", clip_eps=None, seed=4, status="diverged")
    write_run_folder(root / "running", env="TaskA-v5", clip_eps=None, seed=5, status="running",
                     episodes=[(100, 5000.0, 5)])
    write_run_folder(root / "failed", env="TaskA-v5", clip_eps=None, seed=6, status="failed",
                     episodes=[(100, 5000.0, 5)])
    frames = load_runs(root)
    result = table1(frames.runs, frames.episodes, baseline_dir=baselines)
    runs = result.scores.set_index("seed")
    mine = result.scores[(result.scores["objective"] == "none") & (result.scores["env"] == "TaskA-v5")]
    assert sorted(mine["seed"]) == [1, 2, 3, 4]
    # none on TaskA: raw 40, 60, 55 (mean of 10 and 100), 10 (baseline) -> mean 41.25 < 100, so best_A stays 100
    d = mine.set_index("seed")
    assert d.loc[3, "raw"] == 55 and d.loc[4, "raw"] == 10 and d.loc[4, "raw_source"] == "baseline"
    assert d.loc[3, "normalised"] == pytest.approx(45 / 90) and d.loc[4, "normalised"] == 0
    assert runs.loc[3, "status"] == "diverged"
    # none: A mean of 30/90, 50/90, 45/90, 0 = 125/360; B 1 -> (125/360 + 1) / 2
    assert scores_of(result)["none"] == pytest.approx((125 / 360 + 1) / 2, abs=1e-12)
    assert result.table.set_index("objective").loc["none", "n_diverged"] == 2
    assert sorted(result.excluded["status"]) == ["failed", "running"]


def test_normalise_maps_baseline_to_0_and_best_to_1():
    assert normalise([10.0, 100.0, 55.0], [10.0] * 3, [100.0] * 3).tolist() == [0.0, 1.0, 0.5]
    assert np.isnan(normalise([1.0], [2.0], [2.0])).all()  # best == baseline: undefined


def test_writers(sweep, tmp_path):
    frames, baselines = sweep
    result = table1(frames.runs, frames.episodes, baseline_dir=baselines, reps=100)
    md = to_markdown(result)
    assert "| Clipping, ε = 0.2 | 0.66 |" in md and "| No clipping or penalty | 0.72 |" in md and "0.82" in md
    assert "| baseline (random) | 10.0 | -20.0 |" in md
    tex = to_latex(result)
    assert r"Clipping, $\epsilon$ = 0.2 & 0.66 &" in tex and r"\bottomrule" in tex
    paths = write_table1(result, tmp_path / "out")
    assert [p.name for p in paths] == ["table1.md", "table1.tex", "table1.csv", "table1_per_task.csv",
                                       "table1_runs.csv"]
    assert all(p.exists() for p in paths)
    assert (tmp_path / "out" / "table1.csv").read_text().splitlines()[0].startswith("objective,title,score,ci_low")


def test_one_seed_gives_no_interval_and_the_paper_is_marked_off_protocol(sweep, tmp_path):
    """Two tasks at write_run_folder's budget: the paper's value is marked not comparable (2 of 7 tasks, not 1M steps);
    with one seed per task there is no spread to bootstrap, so the interval is n/a, never a point [x, x]."""
    frames, baselines = sweep
    result = table1(frames.runs, frames.episodes, baseline_dir=baselines)
    assert set(result.table["min_seeds"]) == {2}
    assert result.table["paper_comparable"].str.startswith("2 of 7 tasks").all()
    md = to_markdown(result)
    assert "(0.82; not comparable: 2 of 7 tasks" in md
    one_seed = frames.runs[frames.runs["seed"] == 1]
    single = table1(one_seed, frames.episodes[frames.episodes["run_id"].isin(one_seed["run_id"])],
                    baseline_dir=baselines)
    assert single.table["ci_low"].isna().all() and single.table["ci_high"].isna().all()
    assert "n/a (one seed on some task" in to_markdown(single)


def test_rank_agreement_with_the_paper_by_hand():
    """Ours ranks clip0.2 > clip0.1 > kl_fixed1 > none; the paper: 0.82 > 0.76 > 0.71 > -0.39: the same order, ρ = 1.
    Swapping our top two gives ranks (3, 4, 2, 1) against (4, 3, 2, 1): ρ = 1 - 6·2/(4·15) = 0.8."""
    import pandas as pd

    from analysis.table1_text import paper_agreement

    table = pd.DataFrame({"objective": ["none", "clip0.1", "clip0.2", "kl_fixed1"], "score": [-0.2, 0.7, 0.9, 0.5],
                          "paper": [-0.39, 0.76, 0.82, 0.71]})
    a = paper_agreement(table)
    assert a["spearman"] == pytest.approx(1.0) and a["none_last"] and a["clip0.2_rank"] == 1
    swapped = table.assign(score=[-0.2, 0.9, 0.7, 0.5])
    a = paper_agreement(swapped)
    assert a["spearman"] == pytest.approx(0.8) and a["clip0.2_rank"] == 2
