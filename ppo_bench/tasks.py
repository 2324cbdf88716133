"""The seven MuJoCo tasks of the paper's Table 1 (Schulman et al. 2017, section 6.1), in one place.

Each task has a Hydra preset conf/env/<name>.yaml (tests/test_presets.py checks that the presets and this list agree).
The paper ran Gym -v1; the harness defaults to Gymnasium -v5 (-v4 selectable by env.id). This module imports nothing
heavy, so analysis code can use it without the training stack.
"""

from __future__ import annotations

from typing import NamedTuple


class Task(NamedTuple):
    name: str  # the preset's name: env=<name> selects conf/env/<name>.yaml
    gym_name: str  # Gymnasium's name without the version, e.g. HalfCheetah
    physics_steps_per_s: int  # MuJoCo steps/s of this task with random actions on 2 cores (orders sweeps)

    @property
    def env_id(self) -> str:
        """The Gymnasium id the harness runs by default."""
        return f"{self.gym_name}-v5"


TASKS: tuple[Task, ...] = (
    Task("half_cheetah", "HalfCheetah", 24_000),
    Task("hopper", "Hopper", 8_600),
    Task("inverted_double_pendulum", "InvertedDoublePendulum", 17_000),
    Task("inverted_pendulum", "InvertedPendulum", 37_000),
    Task("reacher", "Reacher", 42_000),
    Task("swimmer", "Swimmer", 19_000),
    Task("walker2d", "Walker2d", 7_400),
)

TASK_NAMES: tuple[str, ...] = tuple(t.name for t in TASKS)
PAPER_ENV_IDS: tuple[str, ...] = tuple(t.env_id for t in TASKS)
SLOWEST_FIRST: tuple[str, ...] = tuple(t.name for t in sorted(TASKS, key=lambda t: t.physics_steps_per_s))
