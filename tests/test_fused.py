"""Fused populations: the `fused` launcher, member independence under divergence, submitit_local sweeps."""

import csv
import json

import pytest
import torch
from omegaconf import OmegaConf

import ppo_bench.update as update_module
from hydra_plugins.ppo_bench_fused.fused_launcher import split_populations
from ppo_bench.loop import train, train_population
from ppo_bench.settings import EnvSettings
from tests.conftest import with_
from tests.test_cli import run_cli

COMPARED = ("policy_loss", "value_loss", "kl", "clip_fraction", "beta", "ratio_max", "explained_variance", "grad_norm")


def rows(run):
    with open(run / "metrics.csv") as f:
        return list(csv.DictReader(f))


def assert_same_metrics(a, b):
    ra, rb = rows(a), rows(b)
    assert len(ra) == len(rb)
    for x, y in zip(ra, rb):
        for c in COMPARED:
            assert float(x[c]) == pytest.approx(float(y[c]), rel=1e-4, abs=1e-6), c


def test_split_populations():
    assert split_populations([[0, 1, 2, 3, 4]], max_members=2, n_jobs=1) == [[0, 1], [2, 3], [4]]
    assert split_populations([[0, 1, 2, 3], [4]], max_members=33, n_jobs=2) == [[0, 1, 2, 3], [4]]
    assert split_populations([[0, 1, 2, 3]], max_members=33, n_jobs=2) == [[0, 1], [2, 3]]
    assert split_populations([[0]], max_members=33, n_jobs=4) == [[0]]


def test_a_member_with_a_non_finite_loss_does_not_disturb_the_others(tiny, tmp_path, monkeypatch):
    real = update_module.value_loss
    calls = {"n": 0}

    def poison_member_one(*args):
        calls["n"] += 1
        out = real(*args)
        if calls["n"] > 10:
            out = out * torch.tensor([1.0, float("nan")])
        return out

    monkeypatch.setattr(update_module, "value_loss", poison_member_one)
    a, b = with_(tiny, total_timesteps=1024), with_(tiny, total_timesteps=1024, seed=2)
    assert train_population([a, b], [tmp_path / "a", tmp_path / "b"]) == ["finished", "diverged"]
    monkeypatch.setattr(update_module, "value_loss", real)
    train(a, tmp_path / "a_solo")
    assert_same_metrics(tmp_path / "a", tmp_path / "a_solo")
    assert (tmp_path / "a" / "episodes.csv").read_text() == (tmp_path / "a_solo" / "episodes.csv").read_text()


def sweep(tmp_path, name, *launcher):
    out = run_cli("-m", *launcher, "objective=clip,kl_adaptive", "seed=1,2", "total_timesteps=512",
                  "rollout_steps=128", "logger.mode=offline", f"hydra.sweep.dir={tmp_path / name}")
    assert out.returncode == 0, out.stderr[-3000:]
    return {p.parent.name: p.parent for p in (tmp_path / name).glob("*/status.json")}


def test_fused_sweep_gives_the_same_runs_as_an_ordinary_one(tmp_path):
    from analysis.runs import load_runs

    plain = sweep(tmp_path, "plain")
    fused = sweep(tmp_path, "fused", "hydra/launcher=fused")
    assert sorted(plain) == sorted(fused) and len(plain) == 4
    for name in plain:
        assert OmegaConf.load(plain[name] / "config.yaml") == OmegaConf.load(fused[name] / "config.yaml")
        assert json.loads((fused[name] / "status.json").read_text())["status"] == "finished"
        assert len(list((fused[name] / "wandb").glob("offline-run-*/run-*.wandb"))) == 1
        assert_same_metrics(plain[name], fused[name])
    before = {name: (run / "metrics.csv").read_bytes() for name, run in fused.items()}
    assert sweep(tmp_path, "fused", "hydra/launcher=fused") == fused  # rerunning the sweep skips finished runs
    assert {name: (run / "metrics.csv").read_bytes() for name, run in fused.items()} == before
    a, b = load_runs(tmp_path / "plain"), load_runs(tmp_path / "fused")
    columns = ["env", "objective", "title", "seed", "status", "global_step", "n_episodes", "n_iterations"]
    key = ["objective", "seed"]
    assert a.runs[columns].sort_values(key).reset_index(drop=True).equals(
        b.runs[columns].sort_values(key).reset_index(drop=True))


def test_submitit_local_sweep(tmp_path):
    runs = sweep(tmp_path, "submitit", "hydra/launcher=local")
    assert len(runs) == 4
    for run in runs.values():
        assert json.loads((run / "status.json").read_text())["status"] == "finished"


def test_members_with_their_own_details_match_solo_runs(tiny, tmp_path):
    """The MEMBER_DETAILS are per member: a population mixing the July 2017 details with their opposites gives each
    member the record it gets alone."""
    from ppo_bench.settings import DetailSettings

    july = with_(tiny, env=EnvSettings(id="Hopper-v5"), total_timesteps=768)
    other = with_(july, seed=2, details=DetailSettings(obs_var_floor=None, obs_norm_order="after", value_clip="own",
                                                       value_clip_eps=0.1, value_loss_coef=1.0, clip_anneal=True,
                                                       clip_actions=True, bootstrap_truncation=True))
    assert train_population([july, other], [tmp_path / "a", tmp_path / "b"]) == ["finished", "finished"]
    train(july, tmp_path / "a_solo")
    train(other, tmp_path / "b_solo")
    for name in "ab":
        assert_same_metrics(tmp_path / name, tmp_path / f"{name}_solo")
        fused, solo = rows_of(tmp_path / name / "episodes.csv"), rows_of(tmp_path / f"{name}_solo" / "episodes.csv")
        assert [(e["global_step"], e["length"]) for e in fused] == [(e["global_step"], e["length"]) for e in solo]
        assert [float(e["return"]) for e in fused] == pytest.approx([float(e["return"]) for e in solo], rel=1e-6)


def rows_of(path):
    with open(path) as f:
        return list(csv.DictReader(f))
