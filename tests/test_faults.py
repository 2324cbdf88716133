"""Faults a sweep meets on a cluster: one run identity everywhere, Hydra's whole sweep syntax, Ctrl-C and SIGTERM as
a clean stop that the printed command resumes, wandb that cannot reach its server."""

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from ppo_bench.checkpoint import existing_run, load_checkpoint
from ppo_bench.identity import NOT_IDENTITY, population_identity, run_identity
from ppo_bench.loop import train
from ppo_bench.settings import ConfigError, DetailSettings, LoggerSettings, ObjectiveSettings
from tests.conftest import with_
from tests.test_cli import ROOT

TINY = ["env=inverted_pendulum", "total_timesteps=2048", "rollout_steps=256", "minibatch_size=64", "epochs=2",
        "progress=off"]


def test_folder_names_leave_out_exactly_what_is_not_part_of_a_run():
    config = yaml.safe_load((ROOT / "conf" / "config.yaml").read_text())
    assert tuple(config["hydra"]["job"]["config"]["override_dirname"]["exclude_keys"]) == NOT_IDENTITY


def test_identity_ignores_logging_and_threads_only(tiny):
    same = with_(tiny, torch_threads=2, progress="on", logger=LoggerSettings(mode="offline", project="x", tags=("a",)))
    assert run_identity(same) == run_identity(tiny)
    for other in (with_(tiny, seed=2), with_(tiny, objective=ObjectiveSettings(None, 0.0, None)),
                  with_(tiny, details=DetailSettings(obs_var_floor=None)), with_(tiny, total_timesteps=1024)):
        assert run_identity(other) != run_identity(tiny)
    # members of a population: seed, objective and the per-member details may differ, the rest may not
    assert population_identity(with_(tiny, seed=2, details=DetailSettings(value_clip="none"))) == \
        population_identity(tiny)
    assert population_identity(with_(tiny, learning_rate=1e-3)) != population_identity(tiny)


def test_resuming_with_other_threads_or_logger_continues_and_another_seed_is_refused(tiny, tmp_path):
    settings = with_(tiny, total_timesteps=1024)
    train(settings, tmp_path / "run")
    assert existing_run(tmp_path / "run", with_(settings, torch_threads=2, logger=LoggerSettings(mode="offline"))) \
        == "finished"
    for other in (with_(settings, seed=2), with_(settings, objective=ObjectiveSettings(None, 0.0, None))):
        with pytest.raises(ConfigError, match="already holds a different run"):
            existing_run(tmp_path / "run", other)


def run_cli(*args, timeout=600, env=None):
    return subprocess.run([sys.executable, "-m", "ppo_bench.train", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_a_sweep_rerun_with_other_threads_and_logger_continues_in_the_same_folders(tmp_path):
    out = tmp_path / "sweep"
    first = run_cli("-m", "seed=1,2", *TINY, "total_timesteps=512", "logger.mode=disabled", f"hydra.sweep.dir={out}")
    assert first.returncode == 0, first.stderr[-2000:]
    folders = sorted(p.name for p in out.iterdir() if p.is_dir())
    again = run_cli("-m", "seed=1,2", *TINY, "total_timesteps=512", "logger.mode=offline", "torch_threads=2",
                    f"hydra.sweep.dir={out}")
    assert again.returncode == 0, again.stderr[-2000:]
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == folders  # the same two runs, skipped as finished


@pytest.mark.slow
def test_glob_and_range_sweeps_run(tmp_path):
    """Hydra's own sweep syntax, expanded by Hydra (no parser of our own): glob over the objective presets, range
    over seeds."""
    out = tmp_path / "glob"
    done = run_cli("-m", "objective=glob(kl_adaptive0.0*)", *TINY, "total_timesteps=512", "logger.mode=disabled",
                   f"hydra.sweep.dir={out}")
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(p.name.split("objective=")[1].split(",")[0] for p in out.iterdir() if p.is_dir()) == \
        ["kl_adaptive0.003", "kl_adaptive0.01", "kl_adaptive0.03"]
    out = tmp_path / "range"
    done = run_cli("-m", "seed=range(4,6)", *TINY, "total_timesteps=512", "logger.mode=disabled",
                   f"hydra.sweep.dir={out}")
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(json.loads((p / "status.json").read_text())["status"] + p.name.split("seed=")[1].split(",")[0]
                  for p in out.iterdir() if p.is_dir()) == ["finished4", "finished5"]


def test_a_bad_glob_or_choice_is_still_one_line(tmp_path):
    done = run_cli("-m", "objective=glob(nothing*)", *TINY, f"hydra.sweep.dir={tmp_path / 'x'}")
    assert done.returncode != 0
    done = run_cli("objective=clipp", *TINY, f"hydra.run.dir={tmp_path / 'y'}")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert "objective=clipp" in done.stderr and "clip0.2" in done.stderr


def _ctrl_c_as_in_a_terminal():
    """The child takes SIGINT as a terminal's Ctrl-C delivers it, even when this suite runs in the background
    (`cmd &` in a script starts it with SIGINT ignored, and Python then keeps ignoring it)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def stop_when_running(process, run, signum, rows=2):
    deadline = time.time() + 300
    while time.time() < deadline and process.poll() is None:
        metrics = run / "metrics.csv"
        if metrics.exists() and len(metrics.read_text().splitlines()) > rows:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGSTOP)  # held while the signal is queued: it lands mid-training however fast
    process.send_signal(signum)
    process.send_signal(signal.SIGCONT)
    return process.communicate(timeout=300)


@pytest.mark.slow
@pytest.mark.parametrize("signum,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_stopped_run_says_one_line_and_its_command_resumes_it(tmp_path, signum, code):
    """Ctrl-C (SIGINT) or a scheduler's SIGTERM: one line on stderr naming what was kept and the command that
    resumes; status `interrupted` (never `running` for a run that is gone); the printed command finishes the run."""
    run = tmp_path / "run"
    env = {**os.environ, "WANDB_MODE": "offline"}
    process = subprocess.Popen([sys.executable, "-m", "ppo_bench.train", *TINY, "total_timesteps=8192",
                                "logger.mode=offline", f"hydra.run.dir={run}"], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env,
                               preexec_fn=_ctrl_c_as_in_a_terminal)
    _, stderr = stop_when_running(process, run, signum)
    assert process.returncode == code, stderr[-3000:]
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("interrupted:"), stderr[-3000:]
    status = json.loads((run / "status.json").read_text())
    assert status["status"] == "interrupted"
    wandb_id = load_checkpoint(run)["wandb_id"]
    assert wandb_id
    command = shlex.split(lines[0].split("resume with: ", 1)[1])
    assert command[:3] == ["python", "-m", "ppo_bench.train"]
    again = subprocess.run([sys.executable, *command[1:]], cwd=ROOT, capture_output=True, text=True, env=env,
                           timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads((run / "status.json").read_text())["status"] == "finished"
    assert json.loads((run / "meta.json").read_text())["resumed"]
    offline = list((run / "wandb").glob("offline-run-*"))
    assert {p.name.rsplit("-", 1)[1] for p in offline} == {wandb_id}  # the same wandb run continued


@pytest.mark.slow
def test_a_fake_key_and_no_route_fall_back_to_offline_within_seconds(tmp_path):
    """wandb with credentials but no server (a closed local port): a 4-member fused population waits once, a few
    seconds, not once per member, starts training (its first episodes are logged) within 30 s of start-up,
    finishes, and leaves 4 offline runs that `wandb sync --dry-run` accepts."""
    out = tmp_path / "sweep"
    env = {**os.environ, "WANDB_API_KEY": "x" * 40, "WANDB_BASE_URL": "http://127.0.0.1:9", "WANDB_INIT_TIMEOUT": "5"}
    env.pop("WANDB_MODE", None)
    start = time.time()
    process = subprocess.Popen([sys.executable, "-m", "ppo_bench.train", "-m", "seed=1,2,3,4", *TINY,
                                "total_timesteps=1024", "logger.mode=online", "hydra/launcher=fused",
                                "hydra.launcher.n_jobs=1", f"hydra.sweep.dir={out}"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first_step = None
    while process.poll() is None and time.time() - start < 300:
        if first_step is None and any(len(p.read_text().splitlines()) > 1 for p in out.glob("*/episodes.csv")):
            first_step = time.time() - start
        time.sleep(0.1)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr[-3000:]
    assert first_step is not None and first_step < 30, first_step
    assert stderr.count("cannot log online") == 1
    runs = sorted(out.glob("*/wandb/offline-run-*"))
    assert len(runs) == 4
    dry_run = subprocess.run([Path(sys.executable).parent / "wandb", "sync", "--dry-run", *map(str, runs)],
                             capture_output=True, text=True, timeout=120, env={**env, "WANDB_MODE": "offline"})
    assert dry_run.returncode == 0, dry_run.stderr
    assert "Would sync 4 run(s)" in dry_run.stdout + dry_run.stderr, dry_run.stdout + dry_run.stderr
    for folder in out.iterdir():
        if folder.is_dir():
            assert json.loads((folder / "status.json").read_text())["status"] == "finished"


def test_a_population_killed_between_two_members_checkpoints_resumes_from_the_iteration_both_have(tiny, tmp_path,
                                                                                                   monkeypatch):
    """The members write their checkpoints one after another: a stop after member 0 wrote iteration 3 and before
    member 1 did leaves them one iteration apart; the rerun continues both from iteration 2 (member 0's previous
    checkpoint) to the numbers of an uninterrupted population."""
    import ppo_bench.checkpoint as checkpoint
    import ppo_bench.loop as loop
    from ppo_bench.loop import train_population
    from tests.test_resume import comparable

    settings = with_(tiny, total_timesteps=1536)  # 6 iterations of 256 steps
    members = [with_(settings, seed=1), with_(settings, seed=2)]
    train_population(members, [tmp_path / "twin1", tmp_path / "twin2"])
    real = checkpoint.save_checkpoint
    writes = {"n": 0}

    def stop_mid_population(run_dir, state):
        if state["iteration"] == 3 and writes["n"] == 1:
            raise KeyboardInterrupt  # after member 0's iteration-3 checkpoint, before member 1's
        real(run_dir, state)
        writes["n"] += state["iteration"] == 3

    monkeypatch.setattr(loop, "save_checkpoint", stop_mid_population)
    dirs = [tmp_path / "run1", tmp_path / "run2"]
    with pytest.raises(KeyboardInterrupt):
        train_population(members, dirs)
    assert [load_checkpoint(d)["iteration"] for d in dirs] == [3, 2]
    assert [json.loads((d / "status.json").read_text())["status"] for d in dirs] == ["interrupted"] * 2
    monkeypatch.setattr(loop, "save_checkpoint", real)
    assert train_population(members, dirs) == ["finished", "finished"]
    for run, twin in zip(dirs, [tmp_path / "twin1", tmp_path / "twin2"]):
        assert comparable(run) == comparable(twin)


@pytest.mark.parametrize("key,expected", [("x" * 40, "True"), (None, "False")])
def test_auto_asks_wandb_itself_whether_credentials_exist(tmp_path, key, expected):
    """logger.mode=auto goes online only with credentials, as wandb itself finds them (here: WANDB_API_KEY, or none
    at all with an empty home), without asking the server: every request here goes to a proxy that never answers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update({"HOME": str(tmp_path), "HTTPS_PROXY": "http://10.255.255.1:3128", "HTTP_PROXY": "http://10.255.255.1:3128",
                **({"WANDB_API_KEY": key} if key else {})})
    out = subprocess.run([sys.executable, "-c", "from ppo_bench.wandb_mirror import has_credentials; "
                          "print(has_credentials())"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip().splitlines()[-1] == expected, out.stderr[-2000:]
    assert "wandb:" not in out.stderr, out.stderr[-2000:]  # silent: unsilent, login asks the server who the key is
