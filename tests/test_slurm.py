"""hydra/launcher=slurm on a real single-node SLURM cluster (tests/slurm/cluster.sh brings it up): a sweep runs; a
requeued job (SIGTERM), a job signalled as submitit expects on timeout (USR2) and a job that hits its real time
limit each resume from their checkpoints and finish with the records of an uninterrupted run, no lost or repeated
row, and the same wandb run id. Skipped, with the reason, where SLURM cannot be installed or started."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_cli import ROOT
from tests.test_resume import comparable

pytestmark = pytest.mark.slow

SCRIPT = ROOT / "tests" / "slurm" / "cluster.sh"
RUN = ["env=inverted_pendulum", "rollout_steps=512", "minibatch_size=64", "epochs=4", "progress=off",
       "logger.mode=offline", "details=modern"]


@pytest.fixture(scope="module")
def cluster():
    try:
        up = subprocess.run(["bash", str(SCRIPT), "up"], capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as error:
        pytest.skip(f"SLURM: cannot bring up a cluster here ({error})")
    if up.returncode != 0:
        pytest.skip(f"SLURM: cannot bring up a cluster here ({(up.stdout + up.stderr).strip().splitlines()[-1:]})")
    yield
    subprocess.run(["bash", str(SCRIPT), "down"], capture_output=True, timeout=120)


def sweep(out: Path, steps: int, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ppo_bench.train", "-m", "hydra/launcher=slurm",
                             "hydra.launcher.mem_gb=2", "hydra.launcher.partition=debug", *RUN,
                             f"total_timesteps={steps}", *extra, f"hydra.sweep.dir={out}"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run_folders(out: Path) -> list[Path]:
    return sorted(p.parent for p in out.glob("*/config.yaml"))


def job_ids() -> list[str]:
    listed = subprocess.run(["squeue", "-h", "-o", "%i %T"], capture_output=True, text=True).stdout.split("\n")
    return [line.split()[0] for line in listed if line.strip().endswith("RUNNING")]


def wait_until_training(out: Path, rows: int = 2, timeout: float = 300) -> tuple[Path, str]:
    """The run folder and the SLURM job id of a job that has logged `rows` iterations."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for folder in run_folders(out):
            metrics = folder / "metrics.csv"
            if metrics.exists() and len(metrics.read_text().splitlines()) > rows and job_ids():
                return folder, job_ids()[0]
        time.sleep(0.2)
    queue = subprocess.run(["squeue"], capture_output=True, text=True).stdout
    raise AssertionError(f"no job trained within {timeout} s: {queue}")


def finish(process: subprocess.Popen, timeout: float = 900) -> str:
    try:
        _, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        subprocess.run(["scancel", "--user=root"], capture_output=True)
        raise
    assert process.returncode == 0, stderr[-3000:]
    return stderr


def uninterrupted_twin(tmp_path: Path, steps: int, seed: int = 1) -> Path:
    run = tmp_path / "twin"
    subprocess.run([sys.executable, "-m", "ppo_bench.train", *RUN, f"total_timesteps={steps}", f"seed={seed}",
                    f"hydra.run.dir={run}"], cwd=ROOT, check=True, capture_output=True, timeout=600)
    return run


def assert_resumed_like_the_twin(folder: Path, twin: Path) -> None:
    assert json.loads((folder / "status.json").read_text())["status"] == "finished"
    assert json.loads((folder / "meta.json").read_text())["resumed"]
    assert comparable(folder) == comparable(twin)  # no lost or repeated row, the same numbers
    ids = {p.name.rsplit("-", 1)[1] for p in (folder / "wandb").glob("offline-run-*")}
    assert len(ids) == 1, ids  # every attempt continued the same wandb run


def trainer_pids() -> list[int]:
    """The Python processes running a submitit job on this node (srun's own process is left out)."""
    listed = subprocess.run(["pgrep", "-f", "submitit.core._submit"], capture_output=True, text=True).stdout.split()
    return [int(p) for p in listed if Path(f"/proc/{p}/comm").read_text().startswith("python")]


def stopped(pid: int) -> bool:
    """The process exists and is stopped (state T in /proc/PID/stat)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in "Tt"
    except FileNotFoundError:
        return False


@contextlib.contextmanager
def held_trainer():
    """The job's trainer stopped (SIGSTOP) inside the block and continued after it, so that a signal sent inside the
    block reaches a run that is mid-training however fast this machine is. Yields the stopped pids."""
    held = trainer_pids()
    assert held, "no submitit trainer process found"
    for pid in held:
        os.kill(pid, signal.SIGSTOP)
    deadline = time.time() + 10
    while not all(stopped(pid) for pid in held) and time.time() < deadline:  # SIGSTOP takes effect asynchronously
        time.sleep(0.05)
    assert all(stopped(pid) for pid in held), "the trainer did not stop on SIGSTOP"
    try:
        yield held
    finally:
        for pid in held:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


def test_a_sweep_runs_on_slurm(cluster, tmp_path):
    out = tmp_path / "sweep"
    finish(sweep(out, 1024, "seed=1,2"))
    folders = run_folders(out)
    assert len(folders) == 2
    assert all(json.loads((f / "status.json").read_text())["status"] == "finished" for f in folders)


def signalled_while_held(tmp_path: Path, steps: int, command: list[str]) -> None:
    """A sweep of one run whose trainer, stopped at its second iteration, gets `command`'s signal and then goes on."""
    process = sweep(tmp_path / "sweep", steps)
    folder, job = wait_until_training(tmp_path / "sweep")
    with held_trainer():
        subprocess.run([*command, job], check=True)
        time.sleep(1)
    time.sleep(3)
    subprocess.run(["scontrol", "update", f"JobId={job}", "StartTime=now"], capture_output=True)
    finish(process)
    assert_resumed_like_the_twin(folder, uninterrupted_twin(tmp_path, steps))


def test_requeue_resumes_to_the_uninterrupted_records(cluster, tmp_path):
    """scontrol requeue: SIGTERM to the job's processes; the run is marked interrupted and its requeued job goes on."""
    signalled_while_held(tmp_path, 12288, ["scontrol", "requeue"])


def test_usr2_as_on_timeout_resumes_to_the_uninterrupted_records(cluster, tmp_path):
    signalled_while_held(tmp_path, 12288, ["scancel", "--signal=USR2"])


def test_a_real_time_limit_resumes_to_the_uninterrupted_records(cluster, tmp_path):
    """timeout_min=2 with submitit's signal 60 s before it. The trainer is held from its second iteration until
    SLURM's time-limit signal wakes it (slurmstepd sends SIGCONT with it), so the signal lands mid-run however fast
    the machine is."""
    steps = 12288
    process = sweep(tmp_path / "sweep", steps, "hydra.launcher.timeout_min=2", "hydra.launcher.signal_delay_s=60")
    folder, job = wait_until_training(tmp_path / "sweep")
    with held_trainer() as held:
        deadline = time.time() + 240
        while any(stopped(pid) for pid in held) and time.time() < deadline:
            time.sleep(0.5)
        released_by_slurm = not any(stopped(pid) for pid in held)
    assert released_by_slurm, "SLURM sent no time-limit signal within 240 s of a 2-minute job's start"
    deadline = time.time() + 900
    while process.poll() is None and time.time() < deadline:
        for pending in subprocess.run(["squeue", "-h", "-o", "%i %T %r"], capture_output=True,
                                      text=True).stdout.splitlines():
            if "BeginTime" in pending:
                subprocess.run(["scontrol", "update", f"JobId={pending.split()[0]}", "StartTime=now"],
                               capture_output=True)
        time.sleep(1)
    finish(process)
    assert_resumed_like_the_twin(folder, uninterrupted_twin(tmp_path, steps))
