"""analysis.runs: finding folders, the status rule, half-written folders, and the wandb conversion."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.runs import find_run_folders, frames_from_raw, load_runs, not_scored, read_run_folder, scored
from analysis.wandb_runs import load_wandb, raw_from_history
from tests.run_folders import write_run_folder

EPISODES = [(100, 1.0, 10), (300, 2.0, 20), (2500, 3.0, 30)]


def test_one_row_per_run_with_config_columns(tmp_path):
    write_run_folder(tmp_path / "a", env="TaskA-v5", clip_eps=0.2, seed=3, episodes=EPISODES,
                     metrics=[{"iteration": 1, "global_step": 2048, "kl": 0.01}], total_timesteps=4096)
    frames = load_runs(tmp_path / "a")
    row = frames.runs.iloc[0]
    assert len(frames.runs) == 1
    assert (row.env, row.objective, row.title, row.clip_eps, row.kl_beta, row.seed) == \
        ("TaskA-v5", "clip0.2", "Clipping, ε = 0.2", 0.2, 0.0, 3)
    assert pd.isna(row.kl_target)
    assert (row.status, bool(row.scored), row.global_step, row.total_timesteps, row.batch_size) == \
        ("finished", True, 2500, 4096, 2048)
    assert (row.n_episodes, row.n_iterations) == (3, 1)
    assert row["config.details.obs_norm"] is True or row["config.details.obs_norm"] == True  # noqa: E712
    assert frames.episodes["return"].tolist() == [1.0, 2.0, 3.0]
    assert set(frames.episodes["objective"]) == {"clip0.2"}
    assert frames.metrics["kl"].tolist() == [0.01]


def test_sweep_folders_and_globs(tmp_path):
    for name, seed in (("objective=clip,seed=1", 1), ("objective=clip,seed=2", 2)):
        write_run_folder(tmp_path / "sweep" / name, seed=seed, episodes=EPISODES)
    (tmp_path / "sweep" / "multirun.yaml").write_text("x: 1\n")
    assert len(find_run_folders([tmp_path / "sweep"])) == 2  # a sweep folder: its run folders
    assert len(find_run_folders([tmp_path])) == 2  # found at any depth
    assert len(find_run_folders([str(tmp_path / "sweep" / "*seed=1")])) == 1  # a glob
    assert len(find_run_folders([tmp_path / "sweep", str(tmp_path / "sweep" / "*")])) == 2  # no duplicates
    with pytest.raises(FileNotFoundError, match="no such"):
        find_run_folders([tmp_path / "nowhere"])


def test_status_rule_and_half_written_folders(tmp_path):
    write_run_folder(tmp_path / "finished", seed=1, episodes=EPISODES)
    write_run_folder(tmp_path / "diverged", seed=2, status="diverged", reason="non-finite loss", episodes=EPISODES)
    write_run_folder(tmp_path / "diverged_empty", seed=3, status="diverged", reason="non-finite loss")
    write_run_folder(tmp_path / "running", seed=4, status="running", episodes=EPISODES)
    write_run_folder(tmp_path / "failed", seed=5, status="failed", reason="KeyboardInterrupt", episodes=EPISODES)
    write_run_folder(tmp_path / "no_status", seed=6, status=None, episodes=EPISODES)
    write_run_folder(tmp_path / "no_config", seed=7, write_config=False, episodes=EPISODES)
    torn = write_run_folder(tmp_path / "torn", seed=8, episodes=EPISODES)
    with open(torn / "episodes.csv", "a") as f:
        f.write("2600,4.0")  # a torn last line: no length, no newline
    (torn / "metrics.csv").write_text("")  # created but nothing flushed yet
    bad_json = write_run_folder(tmp_path / "bad_json", seed=9, episodes=EPISODES)
    (bad_json / "status.json").write_text('{"status": "fini')

    frames = load_runs(tmp_path)
    status = dict(zip(frames.runs["seed"].fillna(7).astype(int), frames.runs["status"]))
    assert status == {1: "finished", 2: "diverged", 3: "diverged", 4: "running", 5: "failed", 6: "unreadable",
                      7: "unreadable", 8: "finished", 9: "unreadable"}
    scored_seeds = sorted(frames.runs.loc[frames.runs["scored"], "seed"].astype(int))
    assert scored_seeds == [1, 2, 3, 8]
    listed = not_scored(frames.runs)
    assert sorted(listed["status"]) == ["failed", "running", "unreadable", "unreadable", "unreadable"]
    reasons = dict(zip(listed["seed"].fillna(7).astype(int), listed["reason"]))
    assert reasons[6] == "status.json missing" and reasons[7] == "config.yaml missing"
    assert "unreadable" in reasons[9] and reasons[5] == "KeyboardInterrupt"
    torn_row = frames.runs[frames.runs["seed"] == 8].iloc[0]
    assert (torn_row.n_episodes, torn_row.n_iterations) == (3, 0)  # the torn line is dropped
    kept = scored(frames)
    assert set(kept.episodes["run_id"]) <= set(kept.runs["run_id"]) and len(kept.runs) == 4


def test_read_run_folder_never_raises_on_an_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    raw = read_run_folder(tmp_path / "empty")
    assert raw.problem == "config.yaml missing; status.json missing"
    assert raw.episodes.empty and raw.metrics.empty


def _history():
    """wandb-style mixed history: episode rows and iteration rows, each with global_step."""
    return pd.DataFrame([
        {"global_step": 100, "episode/return": 1.0, "episode/length": 10},
        {"global_step": 300, "episode/return": 2.0, "episode/length": 20},
        {"global_step": 2048, "iteration": 1, "kl": 0.01, "clip_fraction": 0.1, "beta": 0.0},
        {"global_step": 2500, "episode/return": 3.0, "episode/length": 30},
    ])


def test_wandb_history_gives_the_same_frames_as_the_folder(tmp_path):
    config = {"objective": {"clip_eps": 0.2, "kl_beta": 0.0, "kl_target": None, "name": "clip0.2",
                            "title": "Clipping, ε = 0.2"},
              "env": {"id": "TaskA-v5", "num_envs": 1}, "seed": 1, "total_timesteps": 4096, "rollout_steps": 2048}
    from_wandb = frames_from_raw([raw_from_history("e/p/abc", config, "finished", _history())])
    write_run_folder(tmp_path / "run", env="TaskA-v5", seed=1, episodes=EPISODES, total_timesteps=4096,
                     metrics=[{"iteration": 1, "global_step": 2048, "kl": 0.01, "clip_fraction": 0.1, "beta": 0.0}])
    from_folder = load_runs(tmp_path / "run")
    columns = ["env", "objective", "title", "clip_eps", "seed", "status", "scored", "global_step", "total_timesteps",
               "batch_size", "n_episodes", "n_iterations"]
    assert from_wandb.runs[columns].iloc[0].tolist() == from_folder.runs[columns].iloc[0].tolist()
    pd.testing.assert_frame_equal(from_wandb.episodes.drop(columns="run_id"),
                                  from_folder.episodes.drop(columns="run_id"), check_dtype=False)
    assert from_wandb.metrics[["global_step", "kl", "clip_fraction"]].values.tolist() == [[2048, 0.01, 0.1]]


def test_load_wandb_through_a_stand_in_api():
    class FakeRun:
        entity, project, id, url, state = "e", "p", "r1", "https://wandb.example/r1", "crashed"
        config = {"objective": {"name": "none", "title": "No clipping or penalty"}, "env": {"id": "TaskA-v5"},
                  "seed": 2, "_wandb": {}}
        summary_metrics = {"status": "diverged"}

        def scan_history(self):
            return _history().to_dict("records")

    class FakeApi:
        def runs(self, path, filters=None):
            assert path == "e/p"
            return [FakeRun()]

    frames = load_wandb("e/p", api=FakeApi())
    row = frames.runs.iloc[0]
    assert (row.run_id, row.objective, row.status, bool(row.scored), row.n_episodes) == \
        ("e/p/r1", "none", "diverged", True, 3)


def test_analysis_reads_exactly_the_columns_the_record_writes():
    """analysis never imports the training code, so it keeps its own copy of the run folder's columns: held equal
    here."""
    from analysis import runs
    from ppo_bench import record

    assert runs.METRIC_COLUMNS == record.METRIC_COLUMNS
    assert runs.EPISODE_COLUMNS == record.EPISODE_COLUMNS


def test_the_same_run_found_twice_is_scored_once(tmp_path):
    """Two folders with the same config (an alias preset, a copied folder): the finished one is scored, the other is
    listed as a duplicate naming it; another seed is another run."""
    write_run_folder(tmp_path / "a_running", env="TaskA-v5", clip_eps=0.2, seed=1, status="running",
                     episodes=[(100, 1.0, 5)])
    write_run_folder(tmp_path / "b_finished", env="TaskA-v5", clip_eps=0.2, seed=1, episodes=[(100, 2.0, 5)])
    write_run_folder(tmp_path / "c_other_seed", env="TaskA-v5", clip_eps=0.2, seed=2, episodes=[(100, 3.0, 5)])
    runs = load_runs(tmp_path).runs
    runs = runs.set_index(runs["run_id"].map(lambda r: r.rsplit("/", 1)[-1]))
    assert sorted(runs.index) == ["a_running", "b_finished", "c_other_seed"]
    assert runs.loc["b_finished", "scored"] and runs.loc["c_other_seed", "scored"]
    assert runs.loc["a_running", "status"] == "duplicate" and not runs.loc["a_running", "scored"]
    assert runs.loc["a_running", "reason"].endswith("b_finished")


def test_the_wandb_filter_asks_for_the_group_and_every_tag():
    from analysis.report import wandb_filters

    assert wandb_filters(None, []) == {}
    assert wandb_filters("exp", []) == {"group": "exp"}
    assert wandb_filters("exp", ["a", "b"]) == {"$and": [{"group": "exp"}, {"tags": {"$in": ["a"]}},
                                                         {"tags": {"$in": ["b"]}}]}
