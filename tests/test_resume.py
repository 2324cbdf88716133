"""Resume: a run killed with SIGKILL at any moment continues from its checkpoint to the numbers of an uninterrupted
run, with no duplicated and no missing rows; a finished run is skipped; a different run is refused."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from ppo_bench.cem import CemTrainer
from ppo_bench.checkpoint import existing_run
from ppo_bench.loop import train
from ppo_bench.settings import ConfigError
from tests.conftest import with_
from tests.test_cli import ROOT, composed

ARGS = ["env=hopper", "total_timesteps=8192", "rollout_steps=256", "epochs=4", "logger.mode=disabled",
        "details=modern", "eval_every=2048", "eval_episodes=2"]


def cli(run_dir, *extra):
    return [sys.executable, "-m", "ppo_bench.train", *ARGS, f"hydra.run.dir={run_dir}", *extra]


def comparable(run_dir):
    """Everything a run logged, less the wall-clock columns."""
    text = (run_dir / "metrics.csv").read_text().splitlines()
    header = text[0].split(",")
    keep = [i for i, c in enumerate(header) if c not in ("wall_time", "sps")]
    metrics = [[row.split(",")[i] for i in keep] for row in text]
    return metrics, (run_dir / "episodes.csv").read_text(), (run_dir / "eval.csv").read_text()


def rows(run_dir):
    path = run_dir / "metrics.csv"
    return len(path.read_text().splitlines()) - 1 if path.exists() else 0


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    run = tmp_path_factory.mktemp("resume") / "whole"
    subprocess.run(cli(run), cwd=ROOT, check=True, capture_output=True)
    return run


@pytest.mark.parametrize("kill_after_rows,extra_delay", [(0, 0.0), (3, 0.05), (9, 0.13), (20, 0.0)])
def test_sigkill_then_rerun_matches_an_uninterrupted_run(uninterrupted, tmp_path, kill_after_rows, extra_delay):
    run = tmp_path / "run"
    process = subprocess.Popen(cli(run), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while (not (run / "status.json").exists() or rows(run) < kill_after_rows) and process.poll() is None \
            and time.time() < deadline:
        time.sleep(0.01)
    time.sleep(extra_delay)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    state = json.loads((run / "status.json").read_text())
    assert state["status"] == "running"  # killed: it had no chance to say more
    again = subprocess.run(cli(run), cwd=ROOT, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr[-2000:]
    assert json.loads((run / "status.json").read_text())["status"] == "finished"
    assert comparable(run) == comparable(uninterrupted)
    if kill_after_rows:
        assert json.loads((run / "meta.json").read_text())["resumed"]


def test_rerunning_a_finished_run_skips_it(uninterrupted):
    before = {p.name: p.read_bytes() for p in uninterrupted.iterdir() if p.is_file()}
    again = subprocess.run(cli(uninterrupted), cwd=ROOT, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    after = {p.name: p.read_bytes() for p in uninterrupted.iterdir() if p.is_file()}
    assert after == before


@pytest.mark.parametrize("algo", ["ppo", "a2c", "pg", "trpo", "cem"])
def test_in_process_resume_after_a_failure(tiny, tmp_path, monkeypatch, algo):
    """A run that failed mid-way (here: an exception after iteration 2) resumes to an uninterrupted run's numbers;
    for every algorithm (its optimiser state, PG's stepsize and TRPO's value fit are in the checkpoint)."""
    import ppo_bench.loop as loop

    settings = with_(tiny, total_timesteps=1280) if algo == "ppo" else \
        composed(f"algo={algo}", "total_timesteps=1280", "rollout_steps=256" if algo != "a2c" else "rollout_steps=5",
                 "minibatch_size=256" if algo == "pg" else "seed=1", "env.num_envs=4" if algo == "cem" else "seed=1",
                 "logger.mode=disabled", "progress=off")
    train(settings, tmp_path / "whole")
    trainer = CemTrainer if algo == "cem" else loop._Trainer
    real = trainer.save_checkpoints
    calls = {"n": 0}

    def crash_after_two(self, *args):
        real(self, *args)
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("node lost")

    monkeypatch.setattr(trainer, "save_checkpoints", crash_after_two)
    with pytest.raises(RuntimeError):
        train(settings, tmp_path / "run")
    assert existing_run(tmp_path / "run", settings) == "failed"
    monkeypatch.setattr(trainer, "save_checkpoints", real)
    assert train(settings, tmp_path / "run") == "finished"
    assert comparable(tmp_path / "run") == comparable(tmp_path / "whole")


def test_a_different_run_in_the_folder_is_refused(tiny, tmp_path):
    train(tiny, tmp_path / "run")
    with pytest.raises(ConfigError, match="already holds a different run .*seed"):
        train(with_(tiny, seed=2), tmp_path / "run")


def test_a_checkpoint_of_another_layout_is_refused(tiny):
    """Checkpoints carry their layout's version; one this code cannot read is refused in one line, never misread."""
    from ppo_bench.population import CHECKPOINT_VERSION, Population

    population = Population([tiny], obs_dim=4, act_dim=1)
    for parameter in population.net.parameters():  # one Adam step, as before any real checkpoint
        parameter.grad = torch.zeros_like(parameter)
    population.optimizer.step()
    saved = {**population.member_state(0), "iteration": 1}
    assert saved["version"] == CHECKPOINT_VERSION
    with pytest.raises(ConfigError, match=f"checkpoint version 99: this ppo-bench reads version {CHECKPOINT_VERSION}"):
        population.load([{**saved, "version": 99}])
    population.load([saved])  # its own layout loads
