"""Resume: what to do with a run folder that already exists, and the member checkpoint written every iteration.

A run folder that holds the same run (ppo_bench.identity) is continued, never redone: finished or diverged ->
skipped; running, interrupted or failed -> resumed from its checkpoint (or restarted from its first iteration when
it was stopped before writing one). A folder that holds a different run is refused.

Each folder keeps its last two checkpoints (checkpoint.pt and checkpoint.prev.pt): the members of a population write
theirs one after another, so a kill between two of them leaves the population one iteration apart, and the
population resumes from the latest iteration every member still has (`common_checkpoints`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
import yaml

from ppo_bench.identity import run_identity
from ppo_bench.record import read_status
from ppo_bench.settings import ConfigError, TrainSettings, settings_from_dict, settings_to_dict

CHECKPOINT = "checkpoint.pt"
PREVIOUS = "checkpoint.prev.pt"


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
    if run_identity(saved) != run_identity(settings):
        difference = _first_difference(settings_to_dict(run_identity(saved)), settings_to_dict(run_identity(settings)))
        raise ConfigError(f"output folder {run_dir}: already holds a different run ({difference}); runs are never "
                          "overwritten, choose another folder")
    return status["status"]


def save_checkpoint(run_dir: Path, state: dict[str, Any]) -> None:
    """Atomic: a kill at any moment leaves the previous checkpoint or the new one, never a torn file; the previous
    one is kept as checkpoint.prev.pt."""
    path = Path(run_dir) / CHECKPOINT
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    if path.exists():
        os.replace(path, path.with_name(PREVIOUS))
    os.replace(tmp, path)


def _saved(run_dir: Path) -> list[dict[str, Any]]:
    """The checkpoints a folder holds, newest first (a kill between the two renames leaves only the previous one)."""
    paths = [Path(run_dir) / name for name in (CHECKPOINT, PREVIOUS)]
    return [torch.load(path, weights_only=False) for path in paths if path.exists()]


def load_checkpoint(run_dir: Path) -> dict[str, Any] | None:
    saved = _saved(run_dir)
    return saved[0] if saved else None


def checkpoint_step(run_dir: Path) -> int:
    """The env step a run resumes from (0: from the start)."""
    checkpoint = load_checkpoint(run_dir)
    return 0 if checkpoint is None else checkpoint["global_step"]


def checkpoint_iterations(run_dir: Path) -> set[int]:
    """The iterations a run can resume after (iteration 0: from the start, always possible)."""
    return {0} | {checkpoint["iteration"] for checkpoint in _saved(run_dir)}


def common_checkpoints(run_dirs: list[Path]) -> list[dict[str, Any] | None] | None:
    """Every member's checkpoint at the latest iteration all of them have (None for members starting afresh), or
    None when they share no iteration but the start and some have gone further (resume them separately)."""
    saved = [_saved(d) for d in run_dirs]
    iterations = set.intersection(*({0} | {c["iteration"] for c in member} for member in saved))
    latest = max(iterations)
    if latest == 0 and any(saved):
        return None
    return [next((c for c in member if c["iteration"] == latest), None) for member in saved]


def remove_checkpoint(run_dir: Path) -> None:
    """A finished or diverged run needs no checkpoint: it is never resumed."""
    for name in (CHECKPOINT, PREVIOUS):
        (Path(run_dir) / name).unlink(missing_ok=True)
