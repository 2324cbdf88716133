"""What a researcher finds in wandb, read back from a real offline run file with wandb's own protobuf records: charts in
sections against env steps, job_type, group, tags, and a summary that ranks runs (the score as Table 1 scores a run);
the history converts back to the run folder's metrics; one command syncs a whole sweep."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from analysis.wandb_runs import raw_from_history
from ppo_bench.loop import train
from ppo_bench.settings import EnvSettings, LoggerSettings, ObjectiveSettings, TrainSettings
from tests.conftest import with_
from tests.test_cli import ROOT
from tests.wandb_records import read_records


def value(item):
    return json.loads(item.value_json)


def key(item):
    return item.key or "/".join(item.nested_key)


@pytest.fixture(scope="module")
def offline_run(tmp_path_factory):
    settings = TrainSettings(env=EnvSettings(id="InvertedPendulum-v5"), total_timesteps=1024, rollout_steps=256,
                             minibatch_size=64, epochs=2, progress="off", objective=ObjectiveSettings(None, 1.0, 0.01),
                             logger=LoggerSettings(mode="offline", group="exp-a", tags=("preset-x",)))
    run_dir = tmp_path_factory.mktemp("wandb") / "run"
    train(settings, run_dir)
    files = list(run_dir.glob("wandb/offline-run-*/run-*.wandb"))
    assert len(files) == 1
    return run_dir, read_records(files[0])


def test_run_is_typed_grouped_and_tagged(offline_run):
    """job_type is the setting; the group is the experiment; tags: env, objective, details preset, experiment."""
    _, records = offline_run
    run = next(r.run for r in records if r.WhichOneof("record_type") == "run")
    assert run.job_type == "kl_adaptive0.01"
    assert run.run_group == "exp-a"
    assert run.tags == ["InvertedPendulum-v5", "kl_adaptive0.01", "baselines_2017_07", "exp-a", "preset-x"]


def history(records) -> pd.DataFrame:
    rows = [{key(item): value(item) for item in r.history.item} for r in records
            if r.WhichOneof("record_type") == "history"]
    return pd.DataFrame(rows)


def test_charts_are_in_sections_against_env_steps(offline_run):
    _, records = offline_run
    keys = set(history(records).columns)
    assert {"losses/policy_loss", "losses/value_loss", "diagnostics/kl", "diagnostics/clip_fraction",
            "diagnostics/beta", "train/sps", "train/learning_rate", "episode/return", "global_step"} <= keys
    assert not {"policy_loss", "kl", "sps"} & keys  # no bare metric outside a section
    metrics = [r.metric for r in records if r.WhichOneof("record_type") == "metric"]
    assert any(m.glob_name == "*" and m.step_metric == "global_step" for m in metrics)


def test_summary_ranks_the_run_by_its_table1_score(offline_run):
    run_dir, records = offline_run
    summary = {}
    for r in records:
        if r.WhichOneof("record_type") == "summary":
            summary.update({key(item): value(item) for item in r.summary.update})
    episodes = pd.read_csv(run_dir / "episodes.csv")
    status = json.loads((run_dir / "status.json").read_text())
    assert summary["status"] == "finished"
    assert summary["global_step"] == status["global_step"] == 1024
    assert summary["score_episodes"] == min(100, len(episodes))
    assert summary["score"] == pytest.approx(episodes["return"].tail(100).mean())
    random = json.loads((ROOT / "results" / "baselines" / "random" / "InvertedPendulum-v5.json").read_text())["mean"]
    reference = 809.43  # openai/baselines ppo2 on InvertedPendulum at 1M steps
    assert summary["normalised_score"] == pytest.approx((summary["score"] - random) / (reference - random))


def test_the_history_converts_back_to_the_run_folders_metrics(offline_run):
    run_dir, records = offline_run
    raw = raw_from_history("r", {}, "finished", history(records))
    local = pd.read_csv(run_dir / "metrics.csv")
    for column in ("policy_loss", "value_loss", "kl", "beta", "sps", "learning_rate", "explained_variance"):
        assert np.allclose(raw.metrics[column].to_numpy(), local[column].to_numpy(), rtol=1e-6), column
    assert np.allclose(raw.episodes["return"], pd.read_csv(run_dir / "episodes.csv")["return"])


def test_one_command_syncs_every_offline_run_of_a_sweep(tmp_path, tiny):
    for seed in (1, 2):
        train(with_(tiny, seed=seed, total_timesteps=256, rollout_steps=128,
                    logger=LoggerSettings(mode="offline")), tmp_path / "sweep" / f"s{seed}")
    out = subprocess.run([sys.executable, "-m", "ppo_bench.sync", str(tmp_path / "sweep"), "--dry-run"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "2 offline runs" in out.stdout and "Would sync 2 run(s)" in out.stdout + out.stderr
    (next((tmp_path / "sweep" / "s1").glob("wandb/offline-run-*/run-*.wandb"))).with_suffix(".wandb.synced").touch()
    out = subprocess.run([sys.executable, "-m", "ppo_bench.sync", str(tmp_path / "sweep"), "--dry-run"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert "1 offline run" in out.stdout and "(1 already synced, skipped)" in out.stdout


class StandInRun:
    """A wandb.apis.public.Run as the public API serves it (entity, project, id, url, state, group, tags, config,
    summary_metrics, scan_history()), built from a real offline run file's records."""

    def __init__(self, records, entity="me", project="ppo-bench"):
        run = next(r.run for r in records if r.WhichOneof("record_type") == "run")
        self.entity, self.project, self.id = entity, project, run.run_id
        self.url, self.state = f"https://wandb.example/{entity}/{project}/runs/{run.run_id}", "finished"
        self.group, self.tags = run.run_group, list(run.tags)
        self.config = {item.key: value(item) for item in run.config.update}
        self.summary_metrics = {}
        for r in records:
            if r.WhichOneof("record_type") == "summary":
                self.summary_metrics.update({key(item): value(item) for item in r.summary.update})
        self._history = history(records).to_dict("records")

    def scan_history(self):
        return [{k: v for k, v in row.items() if not (isinstance(v, float) and np.isnan(v))} for row in self._history]


class StandInApi:
    """wandb.Api's runs(path, filters) over stand-in runs, applying the group and tag filters report builds."""

    def __init__(self, runs):
        self.served = runs

    def runs(self, path, filters=None):
        def matches(run, condition):
            if "$and" in condition:
                return all(matches(run, c) for c in condition["$and"])
            if "group" in condition:
                return run.group == condition["group"]
            if "tags" in condition:
                return set(condition["tags"]["$in"]) & set(run.tags)
            return True

        assert path == "me/ppo-bench"
        return [run for run in self.served if matches(run, filters or {})]


def test_the_report_from_wandb_equals_the_report_from_the_run_folders_and_logs_back(tmp_path, tiny):
    """A real small sweep (2 objectives x 2 seeds, offline) served through a stand-in of wandb's public API gives
    the same Table 1 as its run folders; runs of another group are left out by --group."""
    from analysis import report

    for group, objectives in (("exp-a", ("clip0.2", "none")), ("exp-b", ("clip0.2",))):
        for name in objectives:
            objective = ObjectiveSettings(0.2 if name == "clip0.2" else None, 0.0, None)
            for seed in (1, 2):
                train(with_(tiny, seed=seed, objective=objective, total_timesteps=1024,
                            logger=LoggerSettings(mode="offline", group=group)),
                      tmp_path / group / f"{name}-s{seed}")
    served = [StandInRun(read_records(f)) for f in sorted(tmp_path.glob("*/*/wandb/offline-run-*/run-*.wandb"))]
    assert len(served) == 6
    assert report.main([str(tmp_path / "exp-a"), "--out", str(tmp_path / "from_folders"), "--reps", "200"]) == 0
    assert report.main(["--wandb", "me/ppo-bench", "--group", "exp-a", "--out", str(tmp_path / "from_wandb"),
                        "--reps", "200"], wandb_api=StandInApi(served)) == 0
    from_folders = pd.read_csv(tmp_path / "from_folders" / "table1.csv")
    from_wandb = pd.read_csv(tmp_path / "from_wandb" / "table1.csv")
    assert from_wandb["n_runs"].tolist() == [2, 2]
    pd.testing.assert_frame_equal(from_wandb, from_folders)
    # the same report logged into the project as an offline analysis run: Table 1 there holds table1.csv's numbers
    assert report.main([str(tmp_path / "exp-a"), "--out", str(tmp_path / "logged"), "--reps", "200",
                        "--log-wandb", "me/ppo-bench", "--group", "exp-a"]) == 0
    run_files = list((tmp_path / "logged").glob("wandb/offline-run-*/run-*.wandb"))
    assert len(run_files) == 1
    records = read_records(run_files[0])
    run = next(r.run for r in records if r.WhichOneof("record_type") == "run")
    assert (run.job_type, run.run_group, run.project) == ("analysis", "exp-a", "ppo-bench")
    logged = history(records)  # media are logged as nested keys: table1/_type, table1/path, ...
    row = logged.dropna(subset=["table1/path"]).iloc[0]
    assert row["table1/_type"] == "table-file"
    table = json.loads((run_files[0].parent / "files" / row["table1/path"]).read_text())
    logged_table = pd.DataFrame(table["data"], columns=table["columns"])
    expected = pd.read_csv(tmp_path / "logged" / "table1.csv")
    assert logged_table["objective"].tolist() == expected["objective"].tolist()
    assert np.allclose(logged_table["score"].astype(float), expected["score"])
    assert {f"figures/{p.stem}/_type" for p in (tmp_path / "logged" / "figures").glob("*.png")} <= set(logged.columns)
    artifacts = [r.artifact for r in records if r.WhichOneof("record_type") == "artifact"]
    assert any(a.type == "report" for a in artifacts)


def test_the_dashboard_of_a_real_sweep_has_a_section_per_task_grouped_by_objective(tmp_path, tiny):
    """Built offline (saving needs the server): Table 1's panel, then per task the return curves and diagnostics of
    the experiment's runs of that task, grouped by the config key the runs really carry."""
    pytest.importorskip("wandb_workspaces")
    from analysis.dashboard import build
    from analysis.runs import load_runs

    for env_id in ("InvertedPendulum-v5", "Reacher-v5"):
        for name, clip in (("clip0.2", 0.2), ("none", None)):
            train(with_(tiny, env=EnvSettings(id=env_id), objective=ObjectiveSettings(clip, 0.0, None),
                        total_timesteps=256, rollout_steps=128, logger=LoggerSettings(mode="offline", group="exp")),
                  tmp_path / f"{env_id}-{name}")
    envs = tuple(sorted(load_runs(tmp_path).runs["env"].unique()))
    report = build("me", "ppo-bench", "exp", envs)
    kinds = [type(b).__name__ for b in report.blocks]
    assert kinds == ["P", "H1", "PanelGrid"] + ["H2", "PanelGrid"] * 2
    assert report.blocks[2].panels[0].table_name == "table1"  # what analysis.report --log-wandb logs
    for heading, grid, env_id in zip(report.blocks[3::2], report.blocks[4::2], envs):
        assert heading.text == env_id
        (runset,) = grid.runsets
        assert runset.filters == f"Config(\"logger.group\") == 'exp' and Config(\"env.id\") == '{env_id}'"
        assert runset.groupby == ["objective.name"]
        assert [p.y for p in grid.panels] == [["episode/return"], ["diagnostics/kl"], ["diagnostics/clip_fraction"],
                                              ["diagnostics/beta"]]
    run_file = next(tmp_path.glob("*/wandb/offline-run-*/run-*.wandb"))
    run = next(r.run for r in read_records(run_file) if r.WhichOneof("record_type") == "run")
    config = {item.key: value(item) for item in run.config.update}
    assert config["objective"]["name"] in ("clip0.2", "none") and config["logger"]["group"] == "exp"
    assert config["env"]["id"] in envs
