"""The implementation details that separate PPO releases (Schulman et al. 2017's code of July and August 2017, later
ppo2/CleanRL defaults): each a typed field, selected as a preset with details=<name> (conf/details/)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DetailSettings:
    """Implementation details that the literature shows matter. Presets (conf/details/): baselines_2017_07 and
    baselines_2017_08 (the two states of the paper's released code, openai/baselines), modern (ppo2 / CleanRL).
    The defaults here are baselines_2017_07, the default preset (tests/test_presets.py keeps the two equal)."""

    obs_norm: bool = True
    """Normalise observations by a running mean/std (frozen during evaluation)."""
    obs_clip: float | None = 5.0
    """Clip normalised observations to ±obs_clip; null for no clip."""
    obs_var_floor: float | None = 1e-2
    """Normalise by sqrt(max(var, floor)) (2017 code: 1e-2); null: by sqrt(var + 1e-8) (ppo2 / CleanRL)."""
    obs_norm_order: str = "before"
    """When a batch enters the running statistics: before (2017: then the batch is renormalised with them and the
    optimisation, π_old included, sees that) or after (the batch keeps the normalisation it was collected with)."""
    adv_norm: str = "batch"
    """Advantage standardisation: batch (whole rollout), minibatch, or none."""
    value_clip: str = "policy"
    """Value-loss clipping: none, own (±value_clip_eps, the same for every objective), or policy (±the policy's ε,
    annealed with it; unclipped for objectives without ε), as the July 2017 release."""
    value_clip_eps: float = 0.2
    """ε of value_clip=own (ppo2: 0.2)."""
    value_loss_coef: float = 0.5
    """Factor of the squared value error: 0.5 (July 2017, ppo2) or 1 (August 2017)."""
    init: str = "normc"
    """Weight init: normc (2017 code: unit-norm columns, policy head 0.01) or orthogonal (ppo2: √2, heads 0.01/1)."""
    max_grad_norm: float | None = None
    """Clip each member's gradient to this global norm; null for no clip."""
    lr_anneal: bool = False
    """Anneal the learning rate linearly to 0 over training."""
    clip_anneal: bool = False
    """Anneal the policy's ε linearly to 0 with the same multiplier as the learning rate (August 2017 release)."""
    adam_eps: float = 1e-8
    """Adam's epsilon (July 2017: 1e-8, TensorFlow's default; August 2017 and ppo2: 1e-5)."""
    reward_scale: bool = False
    """Divide rewards by the running std of the discounted return."""
    reward_clip: float | None = None
    """Clip (scaled) rewards to ±reward_clip; null for no clip."""
    clip_actions: bool = False
    """Clip actions to the action bounds before the environment sees them (ppo2); false sends the raw Gaussian sample
    (2017 code): MuJoCo clamps the control either way, but the reward's control cost sees the action as sent."""
    bootstrap_truncation: bool = False
    """An episode cut by the time limit bootstraps from V(final observation); false treats it as terminal (2017)."""


MEMBER_DETAILS = ("obs_var_floor", "obs_norm_order", "value_clip", "value_clip_eps", "value_loss_coef", "clip_anneal",
                  "clip_actions", "bootstrap_truncation")
"""The details that members of one fused population may set each for itself, like seed and objective; the others
(one optimiser, one learning-rate schedule, one network layout, one reward pipeline) the population shares."""
