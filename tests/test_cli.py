"""The Hydra command line: every config composes, bad input stops with one line, multirun makes one folder per job."""

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import pytest
from omegaconf import OmegaConf

import ppo_bench.settings as settings_module
from ppo_bench.settings import DetailSettings, LoggerSettings, TrainSettings
from ppo_bench.train import CONF_DIR, compose_settings

ROOT = Path(__file__).resolve().parent.parent
OBJECTIVES = {"none": "none", "clip": "clip0.2", "kl_fixed": "kl_fixed1", "kl_adaptive": "kl_adaptive0.01",
              "clip_kl_adaptive": "clip0.2+kl_adaptive0.01"}
ENVS = {"half_cheetah": "HalfCheetah-v5", "hopper": "Hopper-v5",
        "inverted_double_pendulum": "InvertedDoublePendulum-v5", "inverted_pendulum": "InvertedPendulum-v5",
        "reacher": "Reacher-v5", "swimmer": "Swimmer-v5",
        "walker2d": "Walker2d-v5"}


def composed(*overrides):
    return compose_settings(*overrides)


def test_default_config_is_table3_and_the_paper_preset():
    settings = composed()
    assert settings == TrainSettings()  # the YAML defaults and the documented dataclass defaults agree
    assert (settings.rollout_steps, settings.learning_rate, settings.epochs, settings.minibatch_size,
            settings.gamma, settings.gae_lambda, settings.hidden_sizes) == (2048, 3e-4, 10, 64, 0.99, 0.95, (64, 64))
    assert settings.details == DetailSettings()
    assert settings.logger == LoggerSettings()


@pytest.mark.parametrize("objective", OBJECTIVES)
@pytest.mark.parametrize("env", ENVS)
def test_every_objective_and_env_composes(objective, env):
    settings = composed(f"objective={objective}", f"env={env}")
    assert settings.objective.name == OBJECTIVES[objective]
    assert settings.env.id == ENVS[env]


@pytest.mark.parametrize("env", ENVS.values())
def test_every_paper_task_is_a_continuous_gymnasium_env(env):
    e = gym.make(env)
    assert isinstance(e.action_space, gym.spaces.Box)
    e.close()


def test_table1_rows_are_one_override_away():
    assert composed("objective=clip", "objective.clip_eps=0.3").objective.title == "Clipping, ε = 0.3"
    assert composed("objective=kl_fixed", "objective.kl_beta=10").objective.title == "Fixed KL, β = 10"
    assert composed("objective=kl_adaptive", "objective.kl_target=0.003").objective.name == "kl_adaptive0.003"
    assert composed("objective=clip", "objective.kl_beta=1").objective.name == "clip0.2+kl_fixed1"
    modern = composed("details=modern").details
    assert (modern.init, modern.max_grad_norm, modern.lr_anneal, modern.reward_scale) == ("orthogonal", 0.5, True, True)


def run_cli(*args, cwd=ROOT, timeout=300):
    env = {**os.environ, "WANDB_SILENT": "true"}
    return subprocess.run([sys.executable, "-m", "ppo_bench.train", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.mark.parametrize("args,field", [
    (["objective.clip_eps=-1"], "objective.clip_eps"),
    (["objective.clip_eps=1.5"], "objective.clip_eps"),
    (["objective=kl_fixed", "objective.kl_beta=-2"], "objective.kl_beta"),
    (["objective=kl_adaptive", "objective.kl_target=0"], "objective.kl_target"),
    (["env=pong"], "env=pong"),
    (["objective=clipped"], "objective=clipped"),
    (["env.id=NoSuchEnv-v0"], "env.id"),
    (["env.id=CartPole-v1"], "env.id"),
    (["minibatch_size=4096"], "minibatch_size"),
    (["details.adv_norm=sometimes"], "details.adv_norm"),
    (["logger.mode=loud"], "logger.mode"),
    (["epochs=abc"], "epochs"),
    (["-m", "objective=clip,none", "objective.clip_eps=0.2,7"], "objective.clip_eps"),
    (["total_timestep=2048"], "total_timestep: no such setting; did you mean total_timesteps?"),
    (["details.obs_clp=3"], "did you mean details.obs_clip"),
])
def test_bad_input_is_one_line_naming_the_field(args, field, tmp_path):
    out = run_cli("logger.mode=disabled", "total_timesteps=64", "rollout_steps=64", "minibatch_size=64", *args,
                  f"hydra.run.dir={tmp_path}/run", f"hydra.sweep.dir={tmp_path}/sweep")
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert field in lines[0] and "Traceback" not in out.stderr
    assert not (tmp_path / "run").exists() and not (tmp_path / "sweep").exists()


def test_unwritable_output_folder_is_refused(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    out = run_cli(f"hydra.run.dir={blocker}/run", "total_timesteps=64", "rollout_steps=64")
    assert out.returncode != 0 and len(out.stderr.strip().splitlines()) == 1
    assert "hydra.run.dir" in out.stderr and "not a writable folder" in out.stderr


def test_cli_run_then_rerun_into_the_same_folder_is_refused(tmp_path):
    args = [f"hydra.run.dir={tmp_path}/run", "total_timesteps=128", "rollout_steps=64", "logger.mode=disabled"]
    first = run_cli(*args)
    assert first.returncode == 0, first.stderr
    assert json.loads((tmp_path / "run" / "status.json").read_text())["status"] == "finished"
    before = (tmp_path / "run" / "metrics.csv").read_bytes()
    again = run_cli(*args, "seed=2")
    assert again.returncode != 0 and "already holds a different run (seed" in again.stderr
    assert (tmp_path / "run" / "metrics.csv").read_bytes() == before


def test_two_job_multirun_with_joblib_makes_two_run_folders_and_two_wandb_runs(tmp_path):
    out = run_cli("-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "objective=clip,kl_adaptive",
                  "total_timesteps=256", "rollout_steps=128", "logger.mode=offline", f"hydra.sweep.dir={tmp_path}")
    assert out.returncode == 0, out.stderr[-2000:]
    runs = sorted(p.parent for p in tmp_path.glob("*/status.json"))
    assert [p.name for p in runs] == [f"objective={o},rollout_steps=128,total_timesteps=256"
                                      for o in ("clip", "kl_adaptive")]
    for run in runs:
        assert json.loads((run / "status.json").read_text())["status"] == "finished"
        assert len(list((run / "wandb").glob("offline-run-*/run-*.wandb"))) == 1
    labels = {OmegaConf.load(run / "config.yaml").objective.name for run in runs}
    assert labels == {"clip0.2", "kl_adaptive0.01"}


def test_dataclass_fields_all_have_a_doc():
    source = (ROOT / "ppo_bench" / "settings.py").read_text() + (ROOT / "ppo_bench" / "details.py").read_text()
    for cls in ("ObjectiveSettings", "EnvSettings", "DetailSettings", "LoggerSettings", "AlgoSettings",
                "TrainSettings"):
        for f in dataclasses.fields(getattr(settings_module, cls)):
            if f.name in ("objective", "env", "details", "logger", "algo"):
                continue
            line = next(i for i, text in enumerate(source.splitlines()) if text.strip().startswith(f"{f.name}:"))
            assert source.splitlines()[line + 1].strip().startswith('"""'), f"{cls}.{f.name} has no doc"


def test_table1_row_presets_are_named_by_their_derived_labels():
    """conf/objective/<name>.yaml for the 11 Table 1 rows: the file name is the label derived from its numbers, so
    `objective=none,clip0.1,...,kl_adaptive0.03` is all of Table 1 in one multirun."""
    from analysis.paper_values import TABLE1

    for name, (title, _) in TABLE1.items():
        objective = composed(f"objective={name}").objective
        assert (objective.name, objective.title) == (name, title)


def test_python_m_ppo_bench_help_works_from_any_folder(tmp_path):
    out = subprocess.run([sys.executable, "-m", "ppo_bench", "--help"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "objective" in out.stdout and "details" in out.stdout


def test_env_presets_are_the_task_registry():
    """conf/env/*.yaml are exactly ppo_bench.tasks.TASKS, each selecting its task's Gymnasium id."""
    from ppo_bench.tasks import TASKS

    assert sorted(p.stem for p in (Path(CONF_DIR) / "env").glob("*.yaml")) == sorted(t.name for t in TASKS)
    for task in TASKS:
        assert composed(f"env={task.name}").env.id == task.env_id
