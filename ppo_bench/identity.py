"""What makes two runs the same run: one rule for the run folder's name, resume, populations and the fused launcher.

A run is everything in its settings but the knobs that never change what it computes: how it is logged
(`logger.*`), whether a progress bar shows (`progress`), and how many threads the update uses (`torch_threads`).
Resuming a run with other values of these continues it; any other difference (seed, objective, details, env, ...)
is another run. conf/config.yaml names sweep folders by the same rule: its `override_dirname.exclude_keys` lists
exactly NOT_IDENTITY (tests/test_identity.py holds the two together).
"""

from __future__ import annotations

import dataclasses

from ppo_bench.settings import MEMBER_DETAILS, DetailSettings, LoggerSettings, ObjectiveSettings, TrainSettings

NOT_IDENTITY = ("logger.mode", "logger.project", "logger.entity", "logger.group", "logger.tags", "progress",
                "torch_threads")
"""The fields a run may change between attempts (dotted paths, as in Hydra overrides)."""

_NEUTRAL = TrainSettings()


def run_identity(settings: TrainSettings) -> TrainSettings:
    """The settings with every NOT_IDENTITY field at its default: equal identities are the same run."""
    return dataclasses.replace(settings, logger=LoggerSettings(), progress=_NEUTRAL.progress,
                               torch_threads=_NEUTRAL.torch_threads)


def population_identity(settings: TrainSettings) -> TrainSettings:
    """What the members of one fused population share: the run identity but for seed, objective and the
    MEMBER_DETAILS, which each member sets for itself."""
    shared = dataclasses.replace(settings.details, **{name: getattr(DetailSettings(), name) for name in MEMBER_DETAILS})
    return dataclasses.replace(run_identity(settings), seed=_NEUTRAL.seed, objective=ObjectiveSettings(),
                               details=shared)
