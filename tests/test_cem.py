"""The cross-entropy method (algo=cem), a Figure 3 baseline: the refit to the elite and the noisy schedule with
hand-worked numbers, the budget accounting of a run, and a short run that learns."""

import math

import pytest
import torch

from ppo_bench.cem import refit, sample_std
from tests.test_cli import composed
from tests.test_trpo import trained_on_inverted_pendulum


def test_refit_takes_mean_and_std_of_the_best_fraction():
    samples = torch.tensor([[0.0, 10.0], [1.0, 11.0], [2.0, 14.0], [3.0, 13.0], [4.0, 12.0]])
    scores = torch.tensor([5.0, 1.0, 4.0, 2.0, 3.0])
    mean, std = refit(samples, scores, elite_frac=0.4)  # ceil(0.4 × 5) = 2: samples 0 and 2
    assert mean.tolist() == [1.0, 12.0] and std.tolist() == [1.0, 2.0]
    mean, std = refit(samples, scores, elite_frac=0.01)  # at least one sample
    assert mean.tolist() == [0.0, 10.0] and std.tolist() == [0.0, 0.0]


def test_the_extra_std_decays_linearly_to_nothing():
    std = torch.tensor([0.5, 0.0])
    assert sample_std(std, 0, 1.0, 100).tolist() == pytest.approx([math.sqrt(1.25), 1.0])
    assert sample_std(std, 50, 1.0, 100).tolist() == pytest.approx([math.sqrt(0.75), math.sqrt(0.5)])
    assert sample_std(std, 100, 1.0, 100).tolist() == [0.5, 0.0]
    assert sample_std(std, 150, 1.0, 100).tolist() == [0.5, 0.0]


def test_algo_cem_is_rllabs_cem_with_a_hundred_samples():
    s = composed("algo=cem", "env=hopper")
    assert (s.name, s.title, s.env.num_envs) == ("cem", "CEM", 100)
    assert (s.algo.cem_elite_frac, s.algo.cem_init_std, s.algo.cem_extra_std, s.algo.cem_extra_decay) == \
        (0.05, 1.0, 1.0, 100.0)


def test_a_cem_run_counts_every_step_and_evaluates_every_sample(tmp_path):
    """Each generation: N samples each finish at least one episode; the budget grows by N × the steps taken."""
    episodes, metrics = trained_on_inverted_pendulum(tmp_path / "run", "algo=cem", "env.num_envs=8",
                                                     "total_timesteps=2000")
    assert metrics["global_step"].iloc[-1] >= 2000 and (metrics["global_step"] % 8 == 0).all()
    per_generation = episodes.groupby("global_step")
    assert list(per_generation.groups) == metrics["global_step"].tolist()
    # a generation of s steps: every sample's episodes fill at most s steps and at least its first episode
    for (step, group), previous in zip(per_generation, [0, *metrics["global_step"].tolist()]):
        steps = (step - previous) // 8
        assert len(group) >= 8 and group["length"].max() == steps and group["length"].sum() <= 8 * steps


def test_cem_with_an_evaluation_schedule_is_refused_in_one_line():
    from ppo_bench.settings import ConfigError

    with pytest.raises(ConfigError, match="eval_every=1000: algo=cem"):
        composed("algo=cem", "eval_every=1000")


@pytest.mark.slow
def test_cem_learns_inverted_pendulum(tmp_path):
    episodes, _ = trained_on_inverted_pendulum(tmp_path / "run", "algo=cem", "env.num_envs=20",
                                               "algo.cem_elite_frac=0.2", "algo.cem_extra_decay=10",
                                               "total_timesteps=40000")
    start, end = episodes["return"].head(100).mean(), episodes["return"].tail(100).mean()
    assert end > 30 and end > 5 * start, (start, end)  # keeping the worst samples instead would not learn


def test_a_generation_stops_at_the_runs_whole_budget(tmp_path):
    """A generation never runs past the run's budget (so a task without a time limit cannot hang it): with 4 samples
    and a budget of 8 steps, the one generation stops after 2 steps, before any InvertedPendulum episode can end."""
    episodes, metrics = trained_on_inverted_pendulum(tmp_path / "run", "algo=cem", "env.num_envs=4",
                                                     "total_timesteps=8")
    assert metrics["global_step"].tolist() == [8] and episodes.empty
