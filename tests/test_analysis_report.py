"""The report end to end on a tiny real sweep (4 runs of ppo_bench.train), scored against a baseline file the test
writes, with the expected numbers recomputed here from the run folders' CSVs."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from tests.run_folders import write_random_baseline

MAIN = Path(__file__).resolve().parent.parent
BASELINE = 5.0  # the test's own random-policy return for InvertedPendulum-v5


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    subprocess.run([sys.executable, "-m", "ppo_bench.train", "-m", "objective=clip,none", "seed=1,2",
                    "total_timesteps=4096", "logger.mode=disabled", "progress=off",
                    f"hydra.sweep.dir={root / 'sweep'}"],
                   cwd=MAIN, check=True, capture_output=True, text=True, timeout=300)
    write_random_baseline(root / "baselines", "InvertedPendulum-v5", BASELINE)
    return root


def last_100_mean(run_dir: Path) -> float:
    with open(run_dir / "episodes.csv") as f:
        returns = [float(row["return"]) for row in csv.DictReader(f)]
    return sum(returns[-100:]) / len(returns[-100:])


def test_report_end_to_end(sweep):
    out = sweep / "out"
    result = subprocess.run([sys.executable, "-m", "analysis.report", str(sweep / "sweep"), "--out", str(out),
                             "--baseline-dir", str(sweep / "baselines"), "--reps", "200"],
                            cwd=MAIN, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    # expected scores, from the CSVs: raw = mean of the last 100 returns; best = the better setting's mean
    raw: dict[str, list[float]] = {"clip": [], "none": []}
    for run_dir in sorted((sweep / "sweep").iterdir()):
        if run_dir.is_dir():
            raw["clip" if "objective=clip" in run_dir.name else "none"].append(last_100_mean(run_dir))
    assert [len(v) for v in raw.values()] == [2, 2]
    best = max(sum(v) / 2 for v in raw.values())
    expected = {k: sum((x - BASELINE) / (best - BASELINE) for x in v) / 2 for k, v in raw.items()}
    with open(out / "table1.csv") as f:
        table = {row["objective"]: row for row in csv.DictReader(f)}
    assert float(table["clip0.2"]["score"]) == pytest.approx(expected["clip"], abs=1e-9)
    assert float(table["none"]["score"]) == pytest.approx(expected["none"], abs=1e-9)
    assert (float(table["clip0.2"]["paper"]), float(table["none"]["paper"])) == (0.82, -0.39)
    assert max(float(table[k]["score"]) for k in table) == pytest.approx(1.0)

    md = (out / "report.md").read_text()
    assert "4 loaded; finished 4, diverged 0, running 0, interrupted 0, failed 0, duplicate 0, unreadable 0" in md
    assert "| Clipping, ε = 0.2 |" in md and "| No clipping or penalty |" in md
    assert f"| baseline (random) | {BASELINE:.1f} |" in md
    assert "total_timesteps | 4096" in md  # the settings used
    html = (out / "report.html").read_text()
    assert html.count('src="data:image/png;base64,') == 4 and 'src="figures/' not in html  # images embedded
    assert "<table>" in html and "<td>Clipping, ε = 0.2</td>" in html
    for name in ("figure1", "learning_curves", "aggregate", "diagnostics"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 0 and (out / "figures" / f"{name}.pdf").exists()


def test_report_names_the_command_for_a_missing_baseline(sweep):
    result = subprocess.run([sys.executable, "-m", "analysis.report", str(sweep / "sweep"), "--out",
                             str(sweep / "out2"), "--baseline-dir", str(sweep / "no_baselines")],
                            cwd=MAIN, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert "python -m experiments.random_baseline --envs InvertedPendulum-v5" in result.stderr


def test_coverage_lists_missing_cells(tmp_path):
    from analysis.report import coverage
    from analysis.runs import load_runs
    from tests.run_folders import write_run_folder

    episodes = [(100, 1.0, 10)]
    for env, clip_eps, seed in [("A-v5", 0.2, 1), ("A-v5", 0.2, 2), ("A-v5", None, 1), ("B-v5", 0.2, 1)]:
        write_run_folder(tmp_path / f"{env}{clip_eps}{seed}", env=env, clip_eps=clip_eps, seed=seed, episodes=episodes)
    write_run_folder(tmp_path / "failed", env="A-v5", clip_eps=None, seed=2, status="failed", episodes=episodes)
    counts, missing = coverage(load_runs(tmp_path).runs)
    assert counts.loc["clip0.2", "A-v5"] == 2 and counts.loc["none", "B-v5"] == 0
    assert sorted(zip(missing["objective"], missing["env"], missing["scored runs"])) == \
        [("clip0.2", "B-v5", 1), ("none", "A-v5", 1), ("none", "B-v5", 0)]


def test_written_reports_hold_no_machine_path(tmp_path, monkeypatch):
    """A labelled input folder is written as its label, paths under the working folder become relative."""
    from analysis.report import portable_text

    work, extracted = tmp_path / "work", tmp_path / "extracted" / "runs"
    (work / "report").mkdir(parents=True)
    extracted.mkdir(parents=True)
    monkeypatch.chdir(work)
    (work / "report" / "report.md").write_text(f"runs in {extracted}/a, baselines in {work}/results/baselines\n")
    (work / "report" / "table.csv").write_text(f"run_dir\n{extracted}/b\n")
    portable_text(work / "report", {str(extracted): "records/x.tar.xz:runs"})
    assert (work / "report" / "report.md").read_text() == \
        "runs in records/x.tar.xz:runs/a, baselines in results/baselines\n"
    assert (work / "report" / "table.csv").read_text() == "run_dir\nrecords/x.tar.xz:runs/b\n"


def test_unequal_coverage_is_flagged_at_the_top():
    import pandas as pd

    from analysis.report import coverage_warning

    table = pd.DataFrame({"n_tasks": [7, 1], "min_seeds": [3, 3]})
    runs = pd.DataFrame({"scored": [True, True, False], "total_timesteps": [1_000_000, 90_000, 5]})
    line = coverage_warning(table, runs)
    assert line.startswith("**Unequal coverage: tasks per setting range 1-7; budgets of 90,000, 1,000,000")
    same = pd.DataFrame({"n_tasks": [7, 7], "min_seeds": [3, 3]})
    assert coverage_warning(same, runs[runs["total_timesteps"] == 1_000_000]) == ""
