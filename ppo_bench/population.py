"""The K members of a population: their settings as arrays with a member axis, and the learning state that every
checkpoint slices per member and a resume stacks back (the checkpoint's whole layout is here, with its version)."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ppo_bench.networks import ActorCritic
from ppo_bench.normalizers import FrozenNormalizer, RewardScaler, RunningMeanStd
from ppo_bench.settings import ConfigError, TrainSettings

CHECKPOINT_VERSION = 1
"""The layout of a member checkpoint (Population.member_state); a checkpoint of another layout is refused."""


def check_checkpoint_version(checkpoint: dict[str, Any]) -> None:
    """Refuses, in one line, a checkpoint whose layout this code cannot read."""
    if checkpoint.get("version", 1) != CHECKPOINT_VERSION:
        raise ConfigError(f"checkpoint version {checkpoint.get('version')}: this ppo-bench reads version "
                          f"{CHECKPOINT_VERSION}; finish the run with the ppo-bench that started it")


SCORE_EPISODES = 100
"""A run's score is the mean return of its last 100 training episodes (the paper's Table 1 rule)."""


@dataclass(frozen=True)
class MemberSettings:
    """What may differ between members (objective and MEMBER_DETAILS), one entry per member."""

    clip_eps: torch.Tensor  # [K] ε before annealing (inf: no clipping)
    clip_anneal: torch.Tensor  # [K] bool: ε annealed to 0 with the learning rate
    value_clip_with_policy_eps: torch.Tensor  # [K] bool: the value loss is clipped with the policy's ε
    value_clip_own_eps: torch.Tensor  # [K] the value loss's own ε (inf: not clipped so)
    value_loss_coef: torch.Tensor  # [K]
    obs_var_floor: np.ndarray  # [K] variance floor of the observation normaliser (NaN: sqrt(var + 1e-8))
    renormalized: torch.Tensor  # [K] bool: the batch is renormalised after the statistics update (2017 order)
    bootstrap_truncation: np.ndarray  # [K] bool: a time-limit truncation bootstraps from V(final observation)
    clip_actions: np.ndarray  # [K] bool: actions are clipped to the bounds before the environment sees them
    kl_beta: torch.Tensor  # [K] β at the start
    kl_target: torch.Tensor  # [K] d_targ of the adaptive rule (NaN: β fixed)

    @classmethod
    def of(cls, members: list[TrainSettings]) -> MemberSettings:
        details = [m.details for m in members]
        return cls(
            clip_eps=torch.tensor([math.inf if m.objective.clip_eps is None else m.objective.clip_eps
                                   for m in members]),
            clip_anneal=torch.tensor([d.clip_anneal for d in details]),
            value_clip_with_policy_eps=torch.tensor([d.value_clip == "policy" for d in details]),
            value_clip_own_eps=torch.tensor([d.value_clip_eps if d.value_clip == "own" else math.inf
                                             for d in details]),
            value_loss_coef=torch.tensor([d.value_loss_coef for d in details]),
            obs_var_floor=np.array([math.nan if d.obs_var_floor is None else d.obs_var_floor for d in details]),
            renormalized=torch.tensor([d.obs_norm_order == "before" for d in details]),
            bootstrap_truncation=np.array([d.bootstrap_truncation for d in details]),
            clip_actions=np.array([d.clip_actions for d in details]),
            kl_beta=torch.tensor([m.objective.kl_beta for m in members]),
            kl_target=torch.tensor([math.nan if m.objective.kl_target is None else m.objective.kl_target
                                    for m in members]))

    def annealed_clip_eps(self, multiplier: float) -> torch.Tensor:
        """[K] ε of an iteration whose learning-rate multiplier is `multiplier`."""
        return self.clip_eps * torch.where(self.clip_anneal, multiplier, 1.0)

    def value_clip_eps(self, clip_eps: torch.Tensor) -> torch.Tensor | None:
        """[K] ε of each member's value-loss clip (inf: unclipped), or None when no member clips."""
        if not self.value_clip_with_policy_eps.any() and self.value_clip_own_eps.isinf().all():
            return None
        return torch.where(self.value_clip_with_policy_eps, clip_eps, self.value_clip_own_eps)


class Population:
    """The learning state of K members: one network and Adam over all of them (each member its own slice), random
    generators, normalisers, β, and the counters of the run."""

    def __init__(self, members: list[TrainSettings], obs_dim: int, act_dim: int):
        s = members[0]
        self.K = len(members)
        self.generators = [torch.Generator().manual_seed(m.seed) for m in members]
        self.net = ActorCritic(obs_dim, act_dim, s.hidden_sizes, s.details.init, self.generators)
        self.optimizer = make_optimizer(s, list(self.net.parameters()))
        d = s.details
        self.obs_clip = d.obs_clip
        self.obs_stats = RunningMeanStd(self.K, (obs_dim,)) if d.obs_norm else None
        self.reward_scaler = RewardScaler(self.K, s.env.num_envs, s.gamma, d.reward_clip) if d.reward_scale else None
        self.beta = torch.tensor([m.objective.kl_beta for m in members])
        self.lr_scale = torch.ones(self.K)  # each member's Adam stepsize as a multiple of learning_rate (algo=pg)
        self.live = np.ones(self.K, dtype=bool)  # False once a member diverged: it is no longer trained or logged
        self.global_step = 0
        self.updates = 0
        self.recent_returns = [deque(maxlen=SCORE_EPISODES) for _ in members]
        self.next_eval = s.eval_every if s.eval_every else None

    def obs_normalizer(self, var_floor: np.ndarray) -> Callable[[np.ndarray], torch.Tensor]:
        """The network input of raw observations [K, B, D] under the current statistics (float32)."""
        if self.obs_stats is None:
            return lambda obs: torch.as_tensor(obs, dtype=torch.float32)
        frozen = FrozenNormalizer(self.obs_stats.mean, self.obs_stats.var, self.obs_clip, var_floor)
        return lambda obs: torch.as_tensor(frozen(obs), dtype=torch.float32)

    def member_state(self, k: int) -> dict[str, Any]:
        """Member k's slice of the learning state, as its checkpoint stores it."""
        named = dict(self.net.named_parameters())
        adam = {name: {key: (value[k].clone() if value.dim() else value.clone())
                       for key, value in self.optimizer.state[p].items()} for name, p in named.items()}
        return {
            "version": CHECKPOINT_VERSION, "global_step": self.global_step,
            "params": {name: p.detach()[k].clone() for name, p in named.items()}, "adam": adam,
            "obs_stats": None if self.obs_stats is None else _member_slice(self.obs_stats.state(), k),
            "reward_scaler": None if self.reward_scaler is None else {
                "returns": self.reward_scaler.returns[k].copy(), **_member_slice(self.reward_scaler.stats.state(), k)},
            "beta": self.beta[k].item(), "lr_scale": self.lr_scale[k].item(),
            "generator": self.generators[k].get_state(), "recent_returns": list(self.recent_returns[k]),
            "next_eval": self.next_eval}

    def load(self, checkpoints: list[dict[str, Any]]) -> None:
        """Stacks every member's checkpoint (all of one iteration) back into the population."""
        for c in checkpoints:
            check_checkpoint_version(c)
        named = dict(self.net.named_parameters())
        first = checkpoints[0]
        with torch.no_grad():
            for name, p in named.items():
                p.copy_(torch.stack([c["params"][name] for c in checkpoints]))
                if not first["adam"][name]:  # never stepped by the optimiser (TRPO's policy): no state
                    continue
                state = {key: torch.stack([c["adam"][name][key] for c in checkpoints])
                         for key, value in first["adam"][name].items() if value.dim()}
                self.optimizer.state[p] = {"step": first["adam"][name]["step"].clone(), **state}
        for stats, key in ((self.obs_stats, "obs_stats"), (None if self.reward_scaler is None else
                                                          self.reward_scaler.stats, "reward_scaler")):
            if stats is not None:
                stats.mean, stats.var, stats.count = (np.stack([c[key][f] for c in checkpoints])
                                                      for f in ("mean", "var", "count"))
        if self.reward_scaler is not None:
            self.reward_scaler.returns = np.stack([c["reward_scaler"]["returns"] for c in checkpoints])
        self.beta = torch.tensor([c["beta"] for c in checkpoints], dtype=self.beta.dtype)
        self.lr_scale = torch.tensor([c.get("lr_scale", 1.0) for c in checkpoints], dtype=self.lr_scale.dtype)
        for k, c in enumerate(checkpoints):
            self.generators[k].set_state(c["generator"])
            self.recent_returns[k].extend(c["recent_returns"])
        self.global_step, self.next_eval, self.updates = first["global_step"], first["next_eval"], first["iteration"]


RMSPROP_ALPHA, RMSPROP_EPS = 0.99, 1e-5
"""A2C's RMSprop decay and epsilon, as the A2C of openai/baselines (a2c.py: alpha=0.99, epsilon=1e-5)."""


def make_optimizer(s: TrainSettings, params: list[torch.Tensor]) -> torch.optim.Optimizer:
    """One optimiser over every member's slice: its update is elementwise, so no member's step depends on another's."""
    if s.algo.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=s.learning_rate, alpha=RMSPROP_ALPHA, eps=RMSPROP_EPS, foreach=True)
    return torch.optim.Adam(params, lr=s.learning_rate, eps=s.details.adam_eps, fused=True)


def _member_slice(state: dict[str, np.ndarray], k: int) -> dict[str, np.ndarray]:
    return {name: np.array(value[k]) for name, value in state.items()}
