"""The Hopper value-clip ablation's table, rebuilt from the committed records, against the same scores computed
straight from the runs' episodes.csv files."""

import shutil
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from experiments import hopper_value_clip

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "results" / "hopper_value_clip"


def last_100_mean_by_setting(archives: list[Path], tmp: Path) -> dict[tuple[str, str], list[float]]:
    """(objective, details.value_clip) -> each run's mean return over its last 100 episodes, read with plain csv."""
    scores: dict[tuple[str, str], list[float]] = {}
    for i, archive in enumerate(archives):
        with tarfile.open(archive) as tar:
            tar.extractall(tmp / str(i), filter="data")
        for config_path in (tmp / str(i)).rglob("config.yaml"):
            config = yaml.safe_load(config_path.read_text())
            objective = config_path.parent.name.split("objective=")[1].split(",")[0]
            if objective not in ("clip0.2", "kl_fixed1"):
                continue
            episodes = pd.read_csv(config_path.parent / "episodes.csv").sort_values("global_step", kind="stable")
            scores.setdefault((objective, config["details"]["value_clip"]), []).append(
                float(np.mean(episodes["return"].to_numpy()[-100:])))
    return scores


@pytest.mark.skipif(not (COMMITTED / "runs.tar.xz").exists(), reason="the ablation's records are not committed")
def test_the_committed_table_is_the_runs_last_100_episodes(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)  # the Table 1 chunks are read from results/table1/records/
    results = tmp_path / "results"
    results.mkdir()
    shutil.copy(COMMITTED / "runs.tar.xz", results / "runs.tar.xz")
    monkeypatch.setattr(hopper_value_clip, "RESULTS", results)
    assert hopper_value_clip.main([]) == 0
    assert (results / "table.md").read_text() == (COMMITTED / "table.md").read_text()

    archives = [COMMITTED / "runs.tar.xz", *sorted((ROOT / "results/table1/records").glob("hopper*.tar.xz"))]
    expected = last_100_mean_by_setting(archives, tmp_path / "raw")
    table = pd.read_csv(results / "table.csv")
    assert sorted(zip(table["objective"], table["value_clip"])) == sorted(expected)
    for row in table.itertuples(index=False):
        returns = expected[(row.objective, row.value_clip)]
        assert row.seeds == len(returns) == 3
        assert row.mean == pytest.approx(np.mean(returns), rel=1e-12)
        assert row.std == pytest.approx(np.std(returns, ddof=1), rel=1e-12)
