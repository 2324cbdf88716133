"""Typed, frozen settings: the only form of the config the training code sees.

Hydra composes a DictConfig at the edge (ppo_bench.train); `settings_from_dict` checks it and turns it into these
dataclasses once. Nothing writes back into the config at run time; derived numbers are properties.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from ppo_bench.details import MEMBER_DETAILS, DetailSettings

__all__ = ["MEMBER_DETAILS", "AlgoSettings", "ConfigError", "DetailSettings", "EnvSettings", "LoggerSettings",
           "ObjectiveSettings", "TrainSettings", "settings_from_dict", "settings_to_dict"]


class ConfigError(ValueError):
    """Bad user input: the message is one line naming the field and what is allowed."""


@dataclass(frozen=True)
class ObjectiveSettings:
    """One member of the objective family L = E[min(rÂ, clip(r,1-ε,1+ε)Â)] - β E[KL(π_old || π)]
    (Schulman et al. 2017, eqs. 7 and 8)."""

    clip_eps: float | None = 0.2
    """ε of the clipped surrogate; null turns clipping off."""
    kl_beta: float = 0.0
    """β of the KL penalty (the starting β when kl_target is set); 0 turns the penalty off."""
    kl_target: float | None = None
    """d_targ of the adaptive-β rule (section 4); null keeps β fixed."""

    @property
    def name(self) -> str:
        """Short label derived from the numbers, e.g. `clip0.2`, `kl_adaptive0.01`, `clip0.2+kl_fixed1`."""
        return self._label("clip{eps:g}", "kl_adaptive{target:g}", "_beta{beta:g}", "kl_fixed{beta:g}", "+", "none")

    @property
    def title(self) -> str:
        """Table 1 style label derived from the numbers, e.g. `Clipping, ε = 0.2`."""
        return self._label("Clipping, ε = {eps:g}", "Adaptive KL, d_targ = {target:g}", ", β0 = {beta:g}",
                           "Fixed KL, β = {beta:g}", " + ", "No clipping or penalty")

    def _label(self, clip: str, adaptive: str, start: str, fixed: str, join: str, empty: str) -> str:
        numbers = {"eps": self.clip_eps, "target": self.kl_target, "beta": self.kl_beta}
        parts = [clip.format(**numbers)] if self.clip_eps is not None else []
        if self.kl_target is not None:  # the Table 1 rows start at β = 1; another start is part of the label
            parts.append(adaptive.format(**numbers) + ("" if self.kl_beta == 1.0 else start.format(**numbers)))
        elif self.kl_beta > 0:
            parts.append(fixed.format(**numbers))
        return join.join(parts) or empty


@dataclass(frozen=True)
class AlgoSettings:
    """Which algorithm updates the policy: PPO (the objective family, minibatch Adam), TRPO (Schulman et al. 2015:
    max L^CPI subject to E[KL(π_old || π)] ≤ δ, a natural-gradient step by conjugate gradient and a backtracking
    line search; the value function fitted by Adam with learning_rate, epochs, minibatch_size; `objective` ignored),
    vanilla PG or A2C (both the loop's update with one step on L^PG per batch), or CEM (ppo_bench.cem: gradient-free,
    its samples are env.num_envs environments; conf/algo/)."""

    name: str = "ppo"
    """ppo, trpo, pg (vanilla policy gradient with an adaptive Adam stepsize), a2c (synchronous advantage
    actor-critic, Mnih et al. 2016) or cem (the noisy cross-entropy method, Szita & Lörincz 2006)."""
    optimizer: str = "adam"
    """The optimiser of the loop's update: adam, or rmsprop (A2C; torch's RMSprop with α = 0.99, ε = 1e-5 as the
    A2C of openai/baselines)."""
    entropy_coef: float = 0.0
    """c2 of the paper's eq. 9: the loss subtracts c2 × the policy's entropy (0 in Table 3's MuJoCo settings)."""
    cem_elite_frac: float = 0.05
    """CEM: the fraction of each generation's samples that μ and σ are refitted to (rllab: best_frac 0.05)."""
    cem_init_std: float = 1.0
    """CEM: σ of the first generation around the initialised policy's parameters (rllab: init_std 1)."""
    cem_extra_std: float = 1.0
    """CEM: the noisy CEM's extra sampling std, decayed linearly to 0 (rllab: extra_std 1)."""
    cem_extra_decay: float = 100.0
    """CEM: generations over which the extra std decays (rllab: extra_decay_time 100)."""
    max_kl: float = 0.01
    """TRPO: δ, the KL bound of each policy step."""
    cg_iters: int = 10
    """TRPO: conjugate-gradient iterations for the natural-gradient direction."""
    cg_damping: float = 0.1
    """TRPO: damping added to the Fisher-vector product (F + damping·I)."""
    line_search_steps: int = 10
    """TRPO: backtracking halvings of the step before giving up (then the policy stays)."""
    kl_tolerance: float = 1.5
    """TRPO: a step is accepted with KL ≤ kl_tolerance × max_kl and a surrogate improvement (1.5 in the 2017 code)."""
    kl_target: float = 0.01
    """PG: the KL per update that the adaptive stepsize aims at (objective.adapt_stepsize)."""


@dataclass(frozen=True)
class EnvSettings:
    """Which task, and how many copies of it each member steps."""

    id: str = "InvertedPendulum-v5"
    """Gymnasium id; any registered id with a Box action space works."""
    num_envs: int = 1
    """Environments per member; the paper uses 1 for MuJoCo."""
    backend: str = "gymnasium"
    """Environment implementation: gymnasium (Python, in the training thread) or envpool (C++ threads)."""
    threads: int = 0
    """envpool worker threads (0: one per core); must stay 0 with gymnasium, which has none."""


@dataclass(frozen=True)
class LoggerSettings:
    """The wandb mirror of the run record."""

    mode: str = "auto"
    """auto (online if credentials exist, else offline), online, offline, or disabled."""
    project: str = "ppo-bench"
    """wandb project."""
    entity: str | None = None
    """wandb entity (user or team); null for the default."""
    group: str | None = None
    """wandb group; null means the sweep folder's name (or the run's, outside a sweep)."""
    tags: tuple[str, ...] = ()
    """Extra wandb tags; env and objective are always added."""


@dataclass(frozen=True)
class TrainSettings:
    """Everything one run needs; Table 3 and section 6.1 of the paper as defaults."""

    objective: ObjectiveSettings = field(default_factory=ObjectiveSettings)
    env: EnvSettings = field(default_factory=EnvSettings)
    details: DetailSettings = field(default_factory=DetailSettings)
    logger: LoggerSettings = field(default_factory=LoggerSettings)
    algo: AlgoSettings = field(default_factory=AlgoSettings)
    seed: int = 1
    """Seeds the environments, the network init, the action noise and the minibatch order."""
    total_timesteps: int = 1_000_000
    """Environment steps per member (all its envs together)."""
    rollout_steps: int = 2048
    """Horizon T: steps per environment in one rollout."""
    epochs: int = 10
    """Passes over each rollout."""
    minibatch_size: int = 64
    """Samples per gradient step."""
    learning_rate: float = 3e-4
    """Adam stepsize."""
    gamma: float = 0.99
    """Discount γ."""
    gae_lambda: float = 0.95
    """GAE λ."""
    hidden_sizes: tuple[int, ...] = (64, 64)
    """Hidden layers of the policy and of the separate value network (tanh)."""
    eval_every: int = 0
    """Deterministic evaluation every this many env steps (and at the end); 0 turns evaluation off."""
    eval_episodes: int = 10
    """Episodes per evaluation."""
    torch_threads: int = 1
    """torch threads of the update (the rollout uses 1); 1 is fastest for one run, 2 can help a large population."""
    progress: str = "auto"
    """Progress bar: auto (only on a terminal), on, or off."""
    save_policy: bool = True
    """Save the final policy with its observation normaliser as policy.pt."""
    checkpoint: bool = True
    """Write checkpoint.pt every iteration, so that rerunning the same command resumes an interrupted run."""
    save_first_update: bool = False
    """Save the first update's batch and policy weights before and after it as first_update.pt (Figure 2)."""

    @property
    def name(self) -> str:
        """The setting's label in tables and wandb: the objective's name for PPO, else the algorithm's."""
        return self.objective.name if self.algo.name == "ppo" else self.algo.name

    @property
    def title(self) -> str:
        return {"ppo": self.objective.title, "trpo": "TRPO", "pg": "Vanilla PG, adaptive stepsize",
                "a2c": "A2C", "cem": "CEM"}[self.algo.name]

    @property
    def batch_size(self) -> int:
        return self.rollout_steps * self.env.num_envs

    @property
    def num_minibatches(self) -> int:
        return self.batch_size // self.minibatch_size

    @property
    def num_iterations(self) -> int:
        return max(1, math.ceil(self.total_timesteps / self.batch_size))


_ALLOWED = {
    "details.adv_norm": ("batch", "minibatch", "none"),
    "details.init": ("normc", "orthogonal"),
    "details.obs_norm_order": ("before", "after"),
    "details.value_clip": ("none", "own", "policy"),
    "logger.mode": ("auto", "online", "offline", "disabled"),
    "env.backend": ("gymnasium", "envpool"),
    "progress": ("auto", "on", "off"),
    "algo.name": ("ppo", "trpo", "pg", "a2c", "cem"),
    "algo.optimizer": ("adam", "rmsprop"),
}


def _build(cls, values: dict[str, Any], prefix: str):
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise ConfigError(f"{prefix}{unknown[0]}: unknown field; allowed: {', '.join(names)}")
    kwargs = {}
    for key, value in values.items():
        f = names[key]
        nested = {ObjectiveSettings: "objective", EnvSettings: "env", DetailSettings: "details",
                  LoggerSettings: "logger", AlgoSettings: "algo"}
        sub = next((c for c, n in nested.items() if n == key and not prefix), None)
        if sub is not None:
            kwargs[key] = _build(sub, dict(value or {}), f"{key}.")
            continue
        kwargs[key] = _coerce(value, str(f.type), f"{prefix}{key}")
    return cls(**kwargs)


def _coerce(value: Any, type_name: str, where: str) -> Any:
    """Checks one value against its annotated type (a string under `from __future__ import annotations`)."""
    optional = "None" in type_name
    if value is None:
        if optional:
            return None
        raise ConfigError(f"{where}: null is not allowed; expected {type_name}")
    base = type_name.replace(" | None", "")
    try:
        if base == "bool":
            if not isinstance(value, bool):
                raise TypeError
            return value
        if base == "int":
            if isinstance(value, bool) or float(value) != int(value):
                raise TypeError
            return int(value)
        if base == "float":
            if isinstance(value, bool):
                raise TypeError
            return float(value)
        if base == "str":
            if not isinstance(value, str):
                raise TypeError
            return value
        if base.startswith("tuple"):
            items = list(value)
            inner = "int" if "int" in base else "str"
            return tuple(_coerce(v, inner, where) for v in items)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}={value!r}: expected {type_name}") from None
    raise AssertionError(f"unhandled type {type_name} for {where}")


def _check(s: TrainSettings) -> None:
    o, d = s.objective, s.details
    for where, allowed in _ALLOWED.items():
        value = s
        for part in where.split("."):
            value = getattr(value, part)
        if value not in allowed:
            raise ConfigError(f"{where}={value!r}: allowed values are {', '.join(allowed)}")
    if o.clip_eps is not None and not 0 < o.clip_eps < 1:
        raise ConfigError(f"objective.clip_eps={o.clip_eps}: must be in (0, 1), or null for no clipping")
    if not (o.kl_beta >= 0 and math.isfinite(o.kl_beta)):
        raise ConfigError(f"objective.kl_beta={o.kl_beta}: must be a finite number >= 0 (0 turns the penalty off)")
    if o.kl_target is not None:
        if not (o.kl_target > 0 and math.isfinite(o.kl_target)):
            raise ConfigError(f"objective.kl_target={o.kl_target}: must be > 0, or null for a fixed β")
        if o.kl_beta <= 0:
            raise ConfigError(f"objective.kl_beta={o.kl_beta}: must be > 0 when objective.kl_target is set "
                              "(β starts there)")
    for where, value in (("details.value_clip_eps", d.value_clip_eps), ("details.obs_clip", d.obs_clip),
                         ("details.obs_var_floor", d.obs_var_floor), ("details.value_loss_coef", d.value_loss_coef),
                         ("details.max_grad_norm", d.max_grad_norm), ("details.reward_clip", d.reward_clip)):
        if value is not None and not value > 0:
            raise ConfigError(f"{where}={value}: must be > 0, or null to turn it off")
    a = s.algo
    for where, value in (("algo.max_kl", a.max_kl), ("algo.cg_iters", a.cg_iters), ("algo.cg_damping", a.cg_damping),
                         ("algo.line_search_steps", a.line_search_steps), ("algo.kl_tolerance", a.kl_tolerance),
                         ("algo.kl_target", a.kl_target), ("algo.cem_init_std", a.cem_init_std),
                         ("algo.cem_extra_decay", a.cem_extra_decay)):
        if not value > 0:
            raise ConfigError(f"{where}={value}: must be > 0")
    if not 0 < a.cem_elite_frac <= 1:
        raise ConfigError(f"algo.cem_elite_frac={a.cem_elite_frac}: must be in (0, 1]")
    if not a.cem_extra_std >= 0:
        raise ConfigError(f"algo.cem_extra_std={a.cem_extra_std}: must be >= 0")
    if a.name == "cem" and s.eval_every:
        raise ConfigError(f"eval_every={s.eval_every}: algo=cem has no evaluation apart from its own episodes; "
                          "set eval_every=0")
    if not (a.entropy_coef >= 0 and math.isfinite(a.entropy_coef)):
        raise ConfigError(f"algo.entropy_coef={a.entropy_coef}: must be a finite number >= 0 (0 turns it off)")
    if not d.adam_eps > 0:
        raise ConfigError(f"details.adam_eps={d.adam_eps}: must be > 0")
    positive = {"seed": s.seed + 1, "total_timesteps": s.total_timesteps, "rollout_steps": s.rollout_steps,
                "epochs": s.epochs, "minibatch_size": s.minibatch_size, "learning_rate": s.learning_rate,
                "eval_episodes": s.eval_episodes, "torch_threads": s.torch_threads, "env.num_envs": s.env.num_envs}
    for where, value in positive.items():
        if not value > 0:
            shown = s.seed if where == "seed" else value
            raise ConfigError(f"{where}={shown}: must be {'>= 0' if where == 'seed' else '> 0'}")
    if s.env.threads < 0 or (s.env.threads and s.env.backend != "envpool"):
        raise ConfigError(f"env.threads={s.env.threads}: must be 0 with env.backend=gymnasium, >= 0 with envpool")
    if s.eval_every < 0:
        raise ConfigError(f"eval_every={s.eval_every}: must be >= 0 (0 turns evaluation off)")
    if not 0 < s.gamma <= 1:
        raise ConfigError(f"gamma={s.gamma}: must be in (0, 1]")
    if not 0 <= s.gae_lambda <= 1:
        raise ConfigError(f"gae_lambda={s.gae_lambda}: must be in [0, 1]")
    if s.minibatch_size > s.batch_size:
        raise ConfigError(f"minibatch_size={s.minibatch_size}: must be <= the batch, rollout_steps × env.num_envs = "
                          f"{s.batch_size}")
    if not s.hidden_sizes or min(s.hidden_sizes) <= 0:
        raise ConfigError(f"hidden_sizes={list(s.hidden_sizes)}: must be a non-empty list of positive sizes")


def settings_from_dict(values: dict[str, Any]) -> TrainSettings:
    """A resolved config (plain dict) -> checked TrainSettings; raises ConfigError with a one-line message."""
    values = dict(values)
    if isinstance(values.get("objective"), dict):  # a saved config carries the derived labels; they are not input
        values["objective"] = {k: v for k, v in values["objective"].items() if k not in ("name", "title")}
    settings = _build(TrainSettings, values, "")
    _check(settings)
    return settings


def settings_to_dict(settings: TrainSettings) -> dict[str, Any]:
    """The plain-dict form written to the run folder and to wandb, with the derived labels added."""
    values = dataclasses.asdict(settings)
    values["objective"]["name"] = settings.name
    values["objective"]["title"] = settings.title
    values["hidden_sizes"] = list(settings.hidden_sizes)
    values["logger"]["tags"] = list(settings.logger.tags)
    return values
