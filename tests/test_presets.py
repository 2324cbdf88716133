"""The implementation-detail presets against the released code they name, value by value.

The tables below are written out by hand from the openai/baselines git history (the paper's released code):
- July 20, 2017, commit da99706 ("ppo and trpo", the day of arXiv v1), baselines/pposgd/pposgd_simple.py and
  run_mujoco.py;
- August 27, 2017, commit d9f194f (folder renamed ppo1/);
and for `modern` from baselines ppo2 / CleanRL's ppo_continuous_action defaults.
"""

import dataclasses

import pytest
from hydra import compose, initialize_config_dir

from ppo_bench.settings import DetailSettings
from ppo_bench.train import CONF_DIR, to_settings

RELEASES = {
    "baselines_2017_07": dict(
        obs_norm=True, obs_clip=5.0, obs_var_floor=1e-2, obs_norm_order="before",  # RunningMeanStd, clip ±5
        adv_norm="batch",  # atarg = (atarg - atarg.mean()) / atarg.std()
        value_clip="policy", value_loss_coef=0.5,  # .5 * mean(max(vfloss1, vfloss2)) with clip_param
        init="normc", max_grad_norm=None,  # normc_initializer; no gradient clipping
        lr_anneal=False, clip_anneal=False,  # run_mujoco passes no schedule: lrmult = 1
        adam_eps=1e-8,  # MpiAdam's default epsilon
        reward_scale=False, reward_clip=None, clip_actions=False,  # raw rewards, raw Gaussian actions
        bootstrap_truncation=False,  # Gym's done ends the GAE recursion at the time limit
    ),
    "baselines_2017_08": dict(
        obs_norm=True, obs_clip=5.0, obs_var_floor=1e-2, obs_norm_order="before",
        adv_norm="batch",
        value_clip="none", value_loss_coef=1.0,  # vf_loss = U.mean(tf.square(pi.vpred - ret))
        init="normc", max_grad_norm=None,
        lr_anneal=True, clip_anneal=True,  # schedule='linear': lrmult scales the stepsize and clip_param
        adam_eps=1e-5,
        reward_scale=False, reward_clip=None, clip_actions=False,
        bootstrap_truncation=False,
    ),
    "modern": dict(
        obs_norm=True, obs_clip=10.0, obs_var_floor=None, obs_norm_order="after",  # VecNormalize: var + 1e-8, ±10
        adv_norm="minibatch",
        value_clip="own", value_clip_eps=0.2, value_loss_coef=0.25,  # 0.5 · vf_coef 0.5
        init="orthogonal", max_grad_norm=0.5,
        lr_anneal=True, clip_anneal=False,
        adam_eps=1e-5,
        reward_scale=True, reward_clip=10.0, clip_actions=True,
        bootstrap_truncation=True,
    ),
}


def preset(name: str) -> DetailSettings:
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return to_settings(compose("config", overrides=[f"details={name}"])).details


def test_every_preset_file_is_tested():
    assert sorted(p.stem for p in (CONF_DIR / "details").glob("*.yaml")) == sorted(RELEASES)


@pytest.mark.parametrize("name", RELEASES)
def test_preset_matches_its_release_field_by_field(name):
    details = preset(name)
    for field, value in RELEASES[name].items():
        assert getattr(details, field) == value, f"{name}: details.{field}"


@pytest.mark.parametrize("name", RELEASES)
def test_preset_files_set_every_detail_explicitly(name):
    """No field of a preset may silently fall back to a dataclass default."""
    text = (CONF_DIR / "details" / f"{name}.yaml").read_text()
    keys = {line.split(":")[0] for line in text.splitlines() if line and not line.startswith("#")}
    assert keys == {f.name for f in dataclasses.fields(DetailSettings)}


def test_the_two_releases_differ_exactly_where_the_history_says():
    july, august = dataclasses.asdict(preset("baselines_2017_07")), dataclasses.asdict(preset("baselines_2017_08"))
    changed = {k for k in july if july[k] != august[k]}
    assert changed == {"value_clip", "value_loss_coef", "lr_anneal", "clip_anneal", "adam_eps"}


def test_a_runs_details_are_tagged_with_the_preset_they_equal():
    from ppo_bench.wandb_mirror import preset_name

    for name in RELEASES:
        assert preset_name(DetailSettings(**RELEASES[name])) == name
    assert preset_name(dataclasses.replace(DetailSettings(**RELEASES["modern"]), adam_eps=1e-3)) == "custom-details"
