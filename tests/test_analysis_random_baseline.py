"""experiments.random_baseline: reproducible, in the harness's episode accounting, written where table1 reads it."""

from __future__ import annotations

import json

import numpy as np

from analysis.table1 import read_random_baseline
from experiments.random_baseline import random_policy_episodes, write_baseline


def test_reproducible_and_written_where_table1_reads(tmp_path):
    first = random_policy_episodes("InvertedPendulum-v5", episodes=5, seed=3)
    assert first == random_policy_episodes("InvertedPendulum-v5", episodes=5, seed=3)
    assert first != random_policy_episodes("InvertedPendulum-v5", episodes=5, seed=4)
    # InvertedPendulum-v5 pays 1 per step except the terminating one: return = length - 1 for a falling pole
    assert all(ret == length - 1 for ret, length in first)
    path = write_baseline("InvertedPendulum-v5", episodes=5, seed=3, out=tmp_path)
    record = json.loads(path.read_text())
    assert path.name == "InvertedPendulum-v5.json" and record["n"] == 5 and record["seed"] == 3
    assert record["mean"] == np.mean([r for r, _ in first])
    assert record["std"] == np.std([r for r, _ in first], ddof=1)
    assert record["gymnasium"] and record["mujoco"] and record["date"]
    assert read_random_baseline("InvertedPendulum-v5", tmp_path)["mean"] == record["mean"]


def test_shipped_reference_files_cover_the_seven_tasks():
    for task in ("HalfCheetah", "Hopper", "InvertedDoublePendulum", "InvertedPendulum", "Reacher", "Swimmer",
                 "Walker2d"):
        record = read_random_baseline(f"{task}-v5")
        assert record["n"] == 100 and record["env_id"] == f"{task}-v5"
