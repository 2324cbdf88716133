import dataclasses
import os

import pytest

from ppo_bench.settings import EnvSettings, LoggerSettings, TrainSettings

os.environ.setdefault("WANDB_SILENT", "true")


@pytest.fixture
def tiny() -> TrainSettings:
    """A run small enough for unit tests: InvertedPendulum, 2 iterations of 256 steps, wandb off."""
    return TrainSettings(env=EnvSettings(id="InvertedPendulum-v5"), logger=LoggerSettings(mode="disabled"),
                         total_timesteps=512, rollout_steps=256, minibatch_size=64, epochs=2, progress="off")


def with_(settings: TrainSettings, **changes) -> TrainSettings:
    return dataclasses.replace(settings, **changes)
