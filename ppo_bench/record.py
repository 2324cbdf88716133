"""The run folder: the self-describing source of truth for one run (one member), appended and flushed as it goes.

    config.yaml    resolved settings, with the objective's derived name and title
    meta.json      git commit and dirty flag, package versions, command line, machine, start time
    status.json    running / finished / diverged / interrupted / failed, with the reason and the env steps reached
    metrics.csv    one row per iteration (METRIC_COLUMNS)
    episodes.csv   every finished training episode: global_step, return, length
    eval.csv       deterministic evaluation episodes: global_step, episode, return, length
    policy.pt      the final policy with its observation normaliser (ppo_bench.policy.SavedPolicy)
"""

from __future__ import annotations

import csv
import json
import os
import platform
import socket
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from ppo_bench.provenance import git_state, package_versions
from ppo_bench.settings import ConfigError, TrainSettings, settings_to_dict

METRIC_COLUMNS = ("iteration", "global_step", "wall_time", "sps", "learning_rate", "clip_eps", "policy_loss",
                  "value_loss", "entropy", "kl", "clip_fraction", "beta", "ratio_min", "ratio_mean", "ratio_max",
                  "explained_variance", "grad_norm")
EPISODE_COLUMNS = ("global_step", "return", "length")
EVAL_COLUMNS = ("global_step", "episode", "return", "length")
STATUSES = ("running", "finished", "diverged", "interrupted", "failed")


def read_status(run_dir: Path) -> dict[str, Any] | None:
    path = Path(run_dir) / "status.json"
    return json.loads(path.read_text()) if path.exists() else None


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class _CsvLog:
    """An appended CSV; `resume_at` truncates an existing file to that byte size (None: to its header) first."""

    def __init__(self, path: Path, columns: tuple[str, ...], resume: bool = False, resume_at: int | None = None):
        self.columns = columns
        if resume and path.exists():
            header = len(path.open("rb").readline())
            os.truncate(path, header if resume_at is None else resume_at)
        self.file = open(path, "a", newline="")
        self.writer = csv.writer(self.file)
        if self.size() == 0:
            self.writer.writerow(columns)
            self.file.flush()

    def append(self, rows: list[tuple]) -> None:
        self.writer.writerows(rows)
        self.file.flush()

    def size(self) -> int:
        return os.fstat(self.file.fileno()).st_size

    def close(self) -> None:
        self.file.close()


class RunRecord:
    """Creates a new run folder, or reopens one to resume it (its logs cut back to the checkpoint's positions)."""

    def __init__(self, run_dir: Path, settings: TrainSettings, extra_meta: dict[str, Any] | None = None,
                 resume: bool = False, offsets: dict[str, int] | None = None, wall_time: float = 0.0,
                 global_step: int = 0):
        self.dir = Path(run_dir)
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ConfigError(f"output folder {self.dir}: cannot be created ({error.strerror}); choose a writable "
                              "hydra.run.dir / hydra.sweep.dir") from None
        if not os.access(self.dir, os.W_OK):
            raise ConfigError(f"output folder {self.dir}: not writable; choose a writable hydra.run.dir / "
                              "hydra.sweep.dir")
        existing = read_status(self.dir)
        if existing is not None and not resume:
            raise ConfigError(f"output folder {self.dir}: already holds a run (status {existing['status']}); runs are "
                              "never overwritten, choose another hydra.run.dir")
        self.start = time.time() - wall_time
        self.global_step = global_step
        attempt = {"command": [sys.executable, *sys.argv], "cwd": os.getcwd(), "host": socket.gethostname(),
                   "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **git_state()}
        if resume:
            meta = json.loads((self.dir / "meta.json").read_text())
            meta.setdefault("resumed", []).append({**attempt, "from_global_step": global_step})
        else:
            (self.dir / "config.yaml").write_text(yaml.safe_dump(settings_to_dict(settings), sort_keys=False,
                                                                 allow_unicode=True))
            meta = {**attempt, "platform": platform.platform(), "packages": package_versions(), **(extra_meta or {})}
        _write_atomic(self.dir / "meta.json", json.dumps(meta, indent=2))
        self.set_status("running")
        offsets = offsets or {}
        self.metrics = _CsvLog(self.dir / "metrics.csv", METRIC_COLUMNS, resume, offsets.get("metrics"))
        self.episodes = _CsvLog(self.dir / "episodes.csv", EPISODE_COLUMNS, resume, offsets.get("episodes"))
        self.evals = _CsvLog(self.dir / "eval.csv", EVAL_COLUMNS, resume, offsets.get("evals"))

    def restart_clock(self, wall_time: float) -> None:
        """Counts the run's wall time from now on, on top of `wall_time` (what earlier attempts used)."""
        self.start = time.time() - wall_time

    def offsets(self) -> dict[str, int]:
        """Where each log ends now: a resumed run cuts its logs back to these."""
        return {"metrics": self.metrics.size(), "episodes": self.episodes.size(), "evals": self.evals.size()}

    def set_status(self, status: str, reason: str | None = None) -> None:
        assert status in STATUSES, status
        _write_atomic(self.dir / "status.json", json.dumps(
            {"status": status, "reason": reason, "global_step": self.global_step,
             "wall_time": round(time.time() - self.start, 3), "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z")}))

    def close(self) -> None:
        for log in (self.metrics, self.episodes, self.evals):
            log.close()
