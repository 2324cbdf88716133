"""Resume: what to do with a run folder that already exists, and the member checkpoint written every iteration.

A run folder that holds the same run (same settings but for logging knobs) is continued, never redone:
finished or diverged -> skipped; running or failed -> resumed from checkpoint.pt (or restarted from its first
iteration when it was killed before writing one). A folder that holds a different run is refused.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import torch
import yaml

from ppo_bench.record import read_status
from ppo_bench.settings import ConfigError, LoggerSettings, TrainSettings, settings_from_dict, settings_to_dict

CHECKPOINT = "checkpoint.pt"


def _comparable(settings: TrainSettings) -> TrainSettings:
    """The settings that decide the numbers a run produces (logging knobs may change between attempts)."""
    return dataclasses.replace(settings, logger=LoggerSettings(), progress="auto")


def _first_difference(a: dict, b: dict, prefix: str = "") -> str:
    for key in a.keys() | b.keys():
        if isinstance(a.get(key), dict) and isinstance(b.get(key), dict):
            found = _first_difference(a[key], b[key], f"{prefix}{key}.")
            if found:
                return found
        elif a.get(key) != b.get(key):
            return f"{prefix}{key}: {a.get(key)!r} there, {b.get(key)!r} now"
    return ""


def existing_run(run_dir: Path, settings: TrainSettings) -> str | None:
    """None for a new folder; else the status of the same run already there. Raises ConfigError for another run."""
    status = read_status(run_dir)
    if status is None:
        return None
    try:
        saved = settings_from_dict(yaml.safe_load((Path(run_dir) / "config.yaml").read_text()))
    except (OSError, ConfigError, yaml.YAMLError) as error:
        raise ConfigError(f"output folder {run_dir}: holds a run whose config.yaml cannot be read ({error}); runs "
                          "are never overwritten, choose another folder") from None
    if _comparable(saved) != _comparable(settings):
        difference = _first_difference(settings_to_dict(_comparable(saved)), settings_to_dict(_comparable(settings)))
        raise ConfigError(f"output folder {run_dir}: already holds a different run ({difference}); runs are never "
                          "overwritten, choose another folder")
    return status["status"]


def save_checkpoint(run_dir: Path, state: dict[str, Any]) -> None:
    """Atomic: a kill at any moment leaves the previous checkpoint or the new one, never a torn file."""
    path = Path(run_dir) / CHECKPOINT
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(run_dir: Path) -> dict[str, Any] | None:
    path = Path(run_dir) / CHECKPOINT
    return torch.load(path, weights_only=False) if path.exists() else None


def checkpoint_iteration(run_dir: Path) -> int:
    """The iteration a run would resume after (0 for a new run or one without a checkpoint)."""
    checkpoint = load_checkpoint(run_dir)
    return 0 if checkpoint is None else checkpoint["iteration"]


def remove_checkpoint(run_dir: Path) -> None:
    """A finished or diverged run needs no checkpoint: it is never resumed."""
    (Path(run_dir) / CHECKPOINT).unlink(missing_ok=True)
