"""Shared machinery of experiments.table1 and experiments.table1_quick: Table 1 as ordinary Hydra multiruns.

Each Table 1 row has a preset named by its derived label (conf/objective/clip0.1.yaml, kl_fixed3.yaml, ...), so the
whole table is one cartesian multirun into <out>/table1 (with the fused launcher, one population per task):

    python -m ppo_bench.train -m hydra/launcher=joblib hydra.launcher.n_jobs=2 env=<tasks> \
        objective=none,clip0.1,clip0.2,clip0.3,kl_adaptive0.003,... seed=1,2,3 total_timesteps=1000000 \
        hydra.sweep.dir=<out>/table1

Every command is printed before it runs, exactly as a user could type it. Extra Hydra overrides are appended to every
multirun; one that selects a launcher (`hydra/launcher=submitit_slurm`) replaces the default joblib launcher (and its
n_jobs). After the multiruns, `python -m analysis.report <out>/<family>... --out <out>/report` writes the report.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from analysis.paper_values import TABLE1
from ppo_bench.tasks import SLOWEST_FIRST

# Table 1's 11 settings (Schulman et al. 2017, Table 1) as one multirun: sweep folder name -> the overrides that
# select them.
# The presets' names are analysis.paper_values.TABLE1's keys; β of the adaptive rows starts at 1 (Table 1 caption).
TABLE1_FAMILIES: dict[str, list[str]] = {"table1": ["objective=" + ",".join(TABLE1)]}

# The seven tasks (conf/env/*.yaml), slowest first: joblib hands jobs out in this order, so the cheap runs fill the
# gaps at the end of each multirun instead of one long run holding a core while the other idles.
TASKS: tuple[str, ...] = SLOWEST_FIRST


@dataclass(frozen=True)
class Sweep:
    """One Table 1 sweep: which families (each a list of overrides), tasks, seeds and steps, and where it goes."""

    out: Path
    families: dict[str, list[str]]
    tasks: tuple[str, ...] = TASKS
    seeds: tuple[int, ...] = (1, 2, 3)
    steps: int = 1_000_000
    jobs: int = 2
    extra: tuple[str, ...] = ()
    report_args: tuple[str, ...] = ()
    python: str = field(default_factory=lambda: sys.executable)

    def family_runs(self, family: str) -> int:
        """Runs in one family's multirun."""
        n = len(self.tasks) * len(self.seeds)
        for item in self.families[family]:
            key, _, value = item.partition("=")
            if not key.startswith("hydra"):
                n *= len(value.split(","))
        return n

    @property
    def n_runs(self) -> int:
        return sum(self.family_runs(f) for f in self.families)

    @property
    def total_steps(self) -> int:
        """Env steps of the whole sweep (each run rounds its steps up to whole rollouts of 2048)."""
        return self.n_runs * self.steps

    def train_command(self, family: str) -> list[str]:
        """The multirun of one family, as argv."""
        launcher = [] if any(e.startswith("hydra/launcher=") for e in self.extra) else \
            ["hydra/launcher=joblib", f"hydra.launcher.n_jobs={self.jobs}"]
        return [self.python, "-m", "ppo_bench.train", "-m", *launcher, f"env={','.join(self.tasks)}",
                *self.families[family], f"seed={','.join(map(str, self.seeds))}", f"total_timesteps={self.steps}",
                f"hydra.sweep.dir={self.out / family}", *self.extra]

    def report_command(self, report_dir: Path | None = None) -> list[str]:
        report_dir = report_dir or self.out / "report"
        return [self.python, "-m", "analysis.report", *[str(self.out / f) for f in self.families],
                "--out", str(report_dir), *self.report_args]


def shown(command: list[str]) -> str:
    """A command as one pasteable shell line, with the interpreter shown as `python`."""
    return " ".join(["python" if i == 0 and c == sys.executable else shlex.quote(c) for i, c in enumerate(command)])


def run_sweep(sweep: Sweep, dry_run: bool = False, resume: bool = False, report_dir: Path | None = None,
              report: bool = True) -> tuple[int, float]:
    """Runs every family's multirun (printing each command first), then the report. A failed multirun does not stop
    the others; the report covers whatever finished (it lists missing and failed runs). Rerunning the same sweep
    (same --out) resumes it: the harness skips finished runs and resumes the others from their checkpoints; `resume`
    only says so. Returns (exit code: 0 if every command succeeded, wall seconds)."""
    start, failures = time.time(), []
    print(f"# {sweep.n_runs} runs × {sweep.steps} env steps = {sweep.total_steps / 1e6:g}M env steps -> {sweep.out}",
          flush=True)
    for family in sweep.families:
        command = sweep.train_command(family)
        folder = sweep.out / family
        if resume and folder.exists():
            print(f"# {folder}: {finished_runs(folder)} of {sweep.family_runs(family)} runs done; the rest resume",
                  flush=True)
        print(f"$ {shown(command)}", flush=True)
        if dry_run:
            continue
        t0 = time.time()
        code = subprocess.run(command).returncode
        print(f"# {family}: exit {code}, {time.time() - t0:.0f} s", flush=True)
        if code != 0:
            failures.append(family)
    if report:
        command = sweep.report_command(report_dir)
        print(f"$ {shown(command)}", flush=True)
        if not dry_run and subprocess.run(command).returncode != 0:
            failures.append("report")
    if failures:
        print(f"# failed: {', '.join(failures)}", file=sys.stderr, flush=True)
    return (1 if failures else 0), time.time() - start


def finished_runs(folder: Path) -> int:
    """Run folders under `folder` whose status.json says finished or diverged (the statuses Table 1 scores)."""
    count = 0
    for path in folder.rglob("status.json"):
        try:
            count += json.loads(path.read_text()).get("status") in ("finished", "diverged")
        except (OSError, ValueError):
            pass
    return count


def timestamp() -> str:
    return time.strftime("%Y-%m-%d_%H-%M-%S")
