"""The seven MuJoCo tasks of the paper's Table 1 (Schulman et al. 2017, section 6.1), in one place.

Each task has a Hydra preset conf/env/<name>.yaml (tests/test_presets.py checks that the presets and this list agree).
The paper ran Gym -v1; the harness defaults to Gymnasium -v5 (-v4 selectable by env.id). This module imports nothing
heavy, so analysis code can use it without the training stack.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

RANDOM_BASELINES = Path(__file__).resolve().parent.parent / "results" / "baselines" / "random"
"""The harness's own uniform-random returns, one file per env id (python -m experiments.random_baseline)."""


class Task(NamedTuple):
    name: str  # the preset's name: env=<name> selects conf/env/<name>.yaml
    gym_name: str  # Gymnasium's name without the version, e.g. HalfCheetah
    physics_steps_per_s: int  # MuJoCo steps/s of this task with random actions on 2 cores (orders sweeps)
    reference_return: float  # clipped PPO (ε = 0.2) at 1M steps: openai/baselines ppo2, benchmarks_mujoco1M (v2)

    @property
    def env_id(self) -> str:
        """The Gymnasium id the harness runs by default."""
        return f"{self.gym_name}-v5"


TASKS: tuple[Task, ...] = (
    Task("half_cheetah", "HalfCheetah", 24_000, 1668.58),
    Task("hopper", "Hopper", 8_600, 2316.16),
    Task("inverted_double_pendulum", "InvertedDoublePendulum", 17_000, 7102.91),
    Task("inverted_pendulum", "InvertedPendulum", 37_000, 809.43),
    Task("reacher", "Reacher", 42_000, -6.71),
    Task("swimmer", "Swimmer", 19_000, 111.19),
    Task("walker2d", "Walker2d", 7_400, 3424.95),
)

TASK_NAMES: tuple[str, ...] = tuple(t.name for t in TASKS)
PAPER_ENV_IDS: tuple[str, ...] = tuple(t.env_id for t in TASKS)
SLOWEST_FIRST: tuple[str, ...] = tuple(t.name for t in sorted(TASKS, key=lambda t: t.physics_steps_per_s))


def random_return(env_id: str) -> float | None:
    """Mean return of uniform random actions on env_id as measured by the harness, or None when not measured."""
    path = RANDOM_BASELINES / f"{env_id}.json"
    return float(json.loads(path.read_text())["mean"]) if path.exists() else None


def normalised_score(env_id: str, score: float | None) -> float | None:
    """A run's score on one scale across tasks: 0 = the random policy, 1 = clipped PPO's reference return at 1M
    steps (Task.reference_return); None when the task's random baseline or reference is not known. Table 1's own
    normalisation (1 = the best setting's mean) needs all runs and is made by analysis.table1."""
    task = next((t for t in TASKS if t.gym_name == env_id.rsplit("-", 1)[0]), None)
    random = random_return(env_id)
    if score is None or task is None or random is None:
        return None
    return (score - random) / (task.reference_return - random)
