"""The one training loop: every objective, K independent members at once (a plain run is K = 1)."""

from __future__ import annotations

import math
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ppo_bench.checkpoint import checkpoint_step, common_checkpoints, existing_run, remove_checkpoint, save_checkpoint
from ppo_bench.envs import env_seed, make_member_envs
from ppo_bench.gae import gae
from ppo_bench.identity import population_identity
from ppo_bench.networks import ActorCritic
from ppo_bench.normalizers import FrozenNormalizer, RewardScaler, RunningMeanStd
from ppo_bench.objective import (
    LOG_SQRT_2PI,
    adapt_beta,
    gaussian_entropy,
    gaussian_kl,
    gaussian_log_prob,
    surrogate_loss,
    value_loss,
)
from ppo_bench.policy import SavedPolicy, evaluate
from ppo_bench.record import RunRecord
from ppo_bench.settings import MEMBER_DETAILS, ConfigError, TrainSettings, settings_to_dict
from ppo_bench.wandb_mirror import WandbMirror

SCORE_EPISODES = 100
"""A run's score is the mean return of its last 100 training episodes (the paper's Table 1 rule)."""


def run_name(settings: TrainSettings) -> str:
    return f"{settings.env.id}/{settings.objective.name}/s{settings.seed}"


def train(settings: TrainSettings, run_dir: Path, group: str | None = None) -> str:
    """Trains one run into `run_dir`; returns its final status (finished or diverged)."""
    return train_population([settings], [run_dir], group)[0]


def _check_population(members: list[TrainSettings]) -> None:
    """Members may differ only in seed, objective, MEMBER_DETAILS and what is not part of a run's identity
    (ppo_bench.identity): anything else is not one population."""
    first = population_identity(members[0])
    for m in members[1:]:
        if population_identity(m) != first:
            raise ConfigError("population: members may differ only in seed, objective, logging settings and the "
                              f"details {', '.join(MEMBER_DETAILS)}")


def train_population(members: list[TrainSettings], run_dirs: list[Path], group: str | None = None) -> list[str]:
    """Trains K independent members together, each into its own run folder; returns each member's final status.

    A member whose folder already holds the same run is skipped when it finished or diverged, and resumed from its
    checkpoint when it did not (see ppo_bench.checkpoint); a folder holding a different run is refused.
    """
    _check_population(members)
    statuses = [existing_run(d, m) for m, d in zip(members, run_dirs)]
    active = [k for k, status in enumerate(statuses) if status not in ("finished", "diverged")]
    if active:
        results = _train_active([members[k] for k in active], [run_dirs[k] for k in active],
                                [statuses[k] is not None for k in active], group, len(members))
        for k, status in zip(active, results):
            statuses[k] = status
    return statuses


class Terminated(BaseException):
    """SIGTERM arrived: a scheduler's requeue, preemption or scancel (or `kill`)."""


def _raise_terminated(signum: int, frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one stop at a time: the record is marked before the process goes
    raise Terminated("SIGTERM")


def _stop_reason(error: BaseException) -> tuple[str, str]:
    """The status a stopped run gets, and why: interrupted for signals (it resumes), failed for errors."""
    if isinstance(error, KeyboardInterrupt):
        return "interrupted", "Ctrl-C (SIGINT)"
    if isinstance(error, Terminated):
        return "interrupted", "SIGTERM (requeue, preemption, scancel or kill)"
    if isinstance(error, SystemExit):
        return "interrupted", "exit requested while training (e.g. submitit's timeout or preemption signal)"
    return "failed", f"{type(error).__name__}: {error}"


def _train_active(members: list[TrainSettings], run_dirs: list[Path], existing: list[bool], group: str | None,
                  population_size: int) -> list[str]:
    checkpoints = common_checkpoints(run_dirs)
    if checkpoints is None:
        raise ConfigError("population: members would resume from different iterations; resume them separately "
                          "(without fusion)")
    records = [RunRecord(d, m, {"population_size": population_size, "member": k}, resume=there,
                         offsets=c and c["offsets"], wall_time=c["wall_time"] if c else 0.0,
                         global_step=c["global_step"] if c else 0)
               for k, (m, d, there, c) in enumerate(zip(members, run_dirs, existing, checkpoints))]
    statuses = ["running"] * len(members)
    mirrors: list[WandbMirror] = []
    trainer = None
    previous_handler = signal.signal(signal.SIGTERM, _raise_terminated) if _main_thread() else None
    try:
        mirrors = [WandbMirror(m.logger, d, run_name(m), m.logger.group or group or Path(d).name,
                               [m.env.id, m.objective.name, *m.logger.tags], settings_to_dict(m),
                               run_id=c and c["wandb_id"], job_type=m.objective.name)
                   for m, d, c in zip(members, run_dirs, checkpoints)]
        for record, c in zip(records, checkpoints):  # the wall time of a run leaves out waiting for wandb
            record.restart_clock(c["wall_time"] if c else 0.0)
        trainer = _Trainer(members, records, mirrors, statuses, checkpoints)
        trainer.run()
    except BaseException as error:
        status, reason = _stop_reason(error)
        for k, record in enumerate(records):
            if statuses[k] == "running":
                statuses[k] = status
                record.set_status(status, f"{reason}; resumes from env step {checkpoint_step(record.dir)}")
        raise
    finally:
        for record in records:
            record.close()
        for k, (mirror, status) in enumerate(zip(mirrors, statuses)):
            mirror.finish(status, None if trainer is None else trainer.summary(k))
        if previous_handler is not None:
            signal.signal(signal.SIGTERM, previous_handler)
    return statuses


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


class _Trainer:
    def __init__(self, members: list[TrainSettings], records: list[RunRecord], mirrors: list[WandbMirror],
                 statuses: list[str], checkpoints: list[dict | None]):
        self.members, self.records, self.mirrors, self.statuses = members, records, mirrors, statuses
        self.checkpoints = checkpoints
        s = self.s = members[0]
        self.K, self.n, self.T = len(members), s.env.num_envs, s.rollout_steps
        self.generators = [torch.Generator().manual_seed(m.seed) for m in members]
        details = [m.details for m in members]  # the MEMBER_DETAILS differ between members; s.details holds the rest
        self.envs = make_member_envs(s.env, [m.seed for m in members], np.array([d.clip_actions for d in details]))
        self.net = ActorCritic(self.envs.obs_dim, self.envs.act_dim, s.hidden_sizes, s.details.init, self.generators)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=s.learning_rate, eps=s.details.adam_eps,
                                          fused=True)
        self.initial_clip_eps = torch.tensor([math.inf if m.objective.clip_eps is None else m.objective.clip_eps
                                              for m in members])
        self.clip_eps = self.initial_clip_eps  # ε of the current iteration (annealed with details.clip_anneal)
        self.clip_anneal = torch.tensor([d.clip_anneal for d in details])
        self.value_clip_with_policy_eps = torch.tensor([d.value_clip == "policy" for d in details])
        self.value_clip_own_eps = torch.tensor([d.value_clip_eps if d.value_clip == "own" else math.inf
                                                for d in details])
        self.value_loss_coef = torch.tensor([d.value_loss_coef for d in details])
        self.obs_var_floor = np.array([math.nan if d.obs_var_floor is None else d.obs_var_floor for d in details])
        self.renormalized = torch.tensor([d.obs_norm_order == "before" for d in details])
        self.bootstrap_truncation = np.array([d.bootstrap_truncation for d in details])
        self.beta = torch.tensor([m.objective.kl_beta for m in members])
        self.kl_target = torch.tensor([math.nan if m.objective.kl_target is None else m.objective.kl_target
                                       for m in members])
        d = s.details
        self.obs_stats = RunningMeanStd(self.K, (self.envs.obs_dim,)) if d.obs_norm else None
        self.reward_scaler = RewardScaler(self.K, self.n, s.gamma, d.reward_clip) if d.reward_scale else None
        self.live = np.ones(self.K, dtype=bool)
        self.global_step = 0
        self.updates = 0
        self.recent_returns = [deque(maxlen=SCORE_EPISODES) for _ in members]
        self.next_eval = s.eval_every if s.eval_every else None

    # -- rollout -------------------------------------------------------------------------------------------------
    def obs_normalizer(self) -> Callable[[np.ndarray], torch.Tensor]:
        """The network input of raw observations [K, B, D] under the current statistics (float32)."""
        if self.obs_stats is None:
            return lambda obs: torch.as_tensor(obs, dtype=torch.float32)
        frozen = FrozenNormalizer(self.obs_stats.mean, self.obs_stats.var, self.s.details.obs_clip,
                                  self.obs_var_floor)
        return lambda obs: torch.as_tensor(frozen(obs), dtype=torch.float32)

    def rollout(self, obs: np.ndarray) -> tuple[dict[str, torch.Tensor], np.ndarray]:
        """Collects T steps of every env with the current policies and the current (frozen) observation normaliser,
        then updates the normaliser from the batch's raw observations (once per batch, as the 2017 code does); with
        details.obs_norm_order=before the batch is then renormalised with the updated statistics, and π_old's means,
        log-probabilities and values recomputed on it, as the 2017 code's optimisation sees it.
        Returns the batch as [K, T*n, ...] tensors, and the observation to continue from."""
        K, n, T, A, D = self.K, self.n, self.T, self.envs.act_dim, self.envs.obs_dim
        noise = torch.stack([torch.randn(T, n, A, generator=g) for g in self.generators], 1)  # [T, K, n, A]
        buf = {name: torch.zeros(T, K, n, *shape) for name, shape in
               (("obs", (D,)), ("actions", (A,)), ("means", (A,)), ("values", ()))}
        raw_obs = np.zeros((T, K, n, D))
        rewards, truncated_values = np.zeros((T, K, n)), np.zeros((T, K, n))
        dones = np.zeros((T, K, n), dtype=bool)
        log_std = self.net.log_std.detach()
        std = torch.exp(log_std)[:, None]
        dead = ~self.live
        normalized = self.obs_normalizer()  # the statistics stay fixed for the whole rollout
        with torch.no_grad():
            for t in range(T):
                raw_obs[t] = obs
                obs_n = normalized(obs)
                mean = self.net.policy_mean(obs_n)
                action = torch.addcmul(mean, std, noise[t])
                env_action = action.numpy()
                if dead.any():
                    env_action = np.where(dead[:, None, None], 0.0, env_action)
                self.envs.send(env_action)  # envpool simulates while the values and buffers are computed
                buf["obs"][t], buf["actions"][t], buf["means"][t] = obs_n, action, mean
                buf["values"][t] = self.net.value(obs_n)
                step, ended = self.envs.recv()
                self.global_step += n
                done = step.terminated | step.truncated
                truncated_only = step.truncated & ~step.terminated
                truncated_only &= self.bootstrap_truncation[:, None]
                if truncated_only.any():  # bootstrap from the final observation's value; termination does not
                    final_values = self.net.value(normalized(step.final_obs)).numpy()
                    truncated_values[t] = np.where(truncated_only, final_values, 0.0)
                r = step.rewards
                if self.reward_scaler is not None:
                    r = self.reward_scaler(r, done)
                elif self.s.details.reward_clip is not None:
                    r = np.clip(r, -self.s.details.reward_clip, self.s.details.reward_clip)
                rewards[t], dones[t] = r, done
                self.log_episodes(ended)
                obs = step.obs
            last_value = self.net.value(normalized(obs)).numpy()
            # log π(a|s) of the sampled action: a = μ + σ ξ, so log π = Σ(-ξ²/2 - log σ - log √(2π))
            log_probs = (-0.5 * noise.square() - log_std[:, None] - LOG_SQRT_2PI).sum(-1)
        values = buf["values"].double().numpy()
        next_values = np.concatenate([values[1:], last_value[None]])
        # 0 after termination; after truncation V(final obs), or 0 when truncation is treated as terminal
        next_values = np.where(dones, truncated_values, next_values)
        advantages, returns = gae(rewards, values, next_values, dones, self.s.gamma, self.s.gae_lambda)
        batch = {**buf, "log_probs": log_probs, "advantages": torch.as_tensor(advantages, dtype=torch.float32),
                 "returns": torch.as_tensor(returns, dtype=torch.float32)}
        batch = {name: x.transpose(0, 1).reshape(K, T * n, *x.shape[3:]).contiguous() for name, x in batch.items()}
        if self.obs_stats is not None:
            raw = np.swapaxes(raw_obs, 0, 1).reshape(K, T * n, D)
            self.obs_stats.update(raw)
            if self.renormalized.any():
                self.renormalize(batch, raw)
        return batch, obs

    def renormalize(self, batch: dict[str, torch.Tensor], raw_obs: np.ndarray) -> None:
        """The batch as the 2017 code optimises on it: observations normalised with the statistics that include them,
        and π_old (means, log-probabilities of the taken actions, values for value clipping) evaluated on those."""
        obs = self.obs_normalizer()(raw_obs)
        with torch.no_grad():
            means = self.net.policy_mean(obs)
            fresh = {"obs": obs, "means": means, "values": self.net.value(obs),
                     "log_probs": gaussian_log_prob(batch["actions"], means, self.net.log_std)}
        for name, x in fresh.items():  # only the members with details.obs_norm_order=before
            batch[name] = torch.where(self.renormalized.view(-1, *[1] * (x.dim() - 1)), x, batch[name])

    def log_episodes(self, ended: list[tuple[int, float, int]]) -> None:
        for k, episode_return, length in ended:
            if not self.live[k]:
                continue
            self.records[k].episodes.append([(self.global_step, episode_return, length)])
            self.recent_returns[k].append(episode_return)
            self.mirrors[k].log({"global_step": self.global_step, "episode/return": episode_return,
                                 "episode/length": length})

    def summary(self, k: int) -> dict[str, float | int | None]:
        """Member k's figures for the wandb summary: its score as Table 1 scores a run (mean return of the last
        SCORE_EPISODES training episodes), how many episodes that mean covers, and the env steps reached."""
        returns = self.recent_returns[k]
        return {"score": float(np.mean(returns)) if returns else None, "score_episodes": len(returns),
                "global_step": self.records[k].global_step}

    # -- update --------------------------------------------------------------------------------------------------
    def update(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """K epochs of minibatch Adam on the objective; returns per-member diagnostics ([K] each)."""
        s, K = self.s, self.K
        B, M = s.batch_size, s.minibatch_size
        advantages = batch["advantages"]
        if s.details.adv_norm == "batch":
            advantages = (advantages - advantages.mean(1, keepdim=True)) / (advantages.std(1, keepdim=True) + 1e-8)
        old_log_std = self.net.log_std.detach().clone()
        before = self.policy_params() if s.save_first_update and self.updates == 0 else None
        live = torch.as_tensor(self.live)
        sums = {"policy_loss": torch.zeros(K), "value_loss": torch.zeros(K), "grad_norm": torch.zeros(K)}
        steps = 0
        params = list(self.net.parameters())
        value_clip_eps = self.value_clip_eps()
        D, A = batch["obs"].shape[2], batch["actions"].shape[2]
        fields = {"obs": D, "actions": A, "means": A, "log_probs": 1, "values": 1, "returns": 1, "advantages": 1}
        packed = torch.cat([batch["obs"], batch["actions"], batch["means"], batch["log_probs"][..., None],
                            batch["values"][..., None], batch["returns"][..., None], advantages[..., None]], 2)
        width = packed.shape[2]
        for _ in range(s.epochs):
            order = torch.stack([torch.randperm(B, generator=g) for g in self.generators])  # own order per member
            for start in range(0, s.num_minibatches * M, M):
                index = order[:, start:start + M, None].expand(K, M, width)
                mb = dict(zip(fields, torch.gather(packed, 1, index).split(list(fields.values()), 2)))
                obs, actions = mb["obs"], mb["actions"]
                adv = mb["advantages"].squeeze(2)
                if s.details.adv_norm == "minibatch":
                    adv = (adv - adv.mean(1, keepdim=True)) / (adv.std(1, keepdim=True) + 1e-8)
                mean = self.net.policy_mean(obs)
                log_std = self.net.log_std
                policy = surrogate_loss(gaussian_log_prob(actions, mean, log_std), mb["log_probs"].squeeze(2), adv,
                                        gaussian_kl(mb["means"], old_log_std, mean, log_std), self.clip_eps, self.beta)
                v_loss = value_loss(self.net.value(obs), mb["values"].squeeze(2), mb["returns"].squeeze(2),
                                    value_clip_eps, self.value_loss_coef)
                member_loss = policy.loss + v_loss
                finite = torch.isfinite(member_loss.detach())
                if not finite[live].all():
                    self.mark_diverged(~finite.numpy() & self.live, "non-finite loss")
                    live = torch.as_tensor(self.live)
                    if not self.live.any():
                        return {}
                self.optimizer.zero_grad(set_to_none=False)
                torch.where(live, member_loss, 0.0).sum().backward()
                grad_norm = torch.cat([p.grad.flatten(1) for p in params], 1).norm(dim=1)
                if s.details.max_grad_norm is not None:  # each member clipped by its own norm
                    scale = torch.clamp(s.details.max_grad_norm / (grad_norm + 1e-6), max=1.0)
                    for p in params:
                        p.grad.mul_(scale.view(K, *[1] * (p.dim() - 1)))
                self.optimizer.step()
                sums["policy_loss"] += policy.loss.detach()
                sums["value_loss"] += v_loss.detach()
                sums["grad_norm"] += grad_norm
                steps += 1
        diagnostics = {name: total / max(steps, 1) for name, total in sums.items()}
        if before is not None:
            self.save_first_update(batch, advantages, before, self.policy_params())
        self.updates += 1
        with torch.no_grad():  # the updated policy against the old one over the whole batch
            mean, log_std = self.net.policy_mean(batch["obs"]), self.net.log_std
            ratio = torch.exp(gaussian_log_prob(batch["actions"], mean, log_std) - batch["log_probs"])
            kl = gaussian_kl(batch["means"], old_log_std, mean, log_std).mean(1)
            diagnostics.update(
                kl=kl, clip_fraction=((ratio - 1).abs() > self.clip_eps[:, None]).float().mean(1),
                ratio_min=ratio.min(1).values, ratio_mean=ratio.mean(1), ratio_max=ratio.max(1).values,
                entropy=gaussian_entropy(log_std), beta=self.beta.clone())
            weights_finite = torch.stack([torch.isfinite(p).flatten(1).all(1) for p in params]).all(0)
        # a huge but finite ratio is only logged (ratio_max): the run goes on, as the paper's runs did
        bad = (~weights_finite.numpy() | ~torch.isfinite(kl).numpy()) & self.live
        self.mark_diverged(bad, "non-finite weights or KL")
        self.beta = adapt_beta(self.beta, kl, self.kl_target)  # used by the next policy update
        return diagnostics

    def value_clip_eps(self) -> torch.Tensor | None:
        """[K] ε of each member's value-loss clip (inf: unclipped), or None when no member clips."""
        if not self.value_clip_with_policy_eps.any() and self.value_clip_own_eps.isinf().all():
            return None
        return torch.where(self.value_clip_with_policy_eps, self.clip_eps, self.value_clip_own_eps)

    def policy_params(self) -> dict[str, list[torch.Tensor]]:
        net = self.net
        return {"weights": [p.detach().clone() for p in net.policy_weights],
                "biases": [p.detach().clone() for p in net.policy_biases], "log_std": [net.log_std.detach().clone()]}

    def save_first_update(self, batch: dict[str, torch.Tensor], advantages: torch.Tensor,
                          before: dict[str, list[torch.Tensor]], after: dict[str, list[torch.Tensor]]) -> None:
        """Per member: the batch (with the advantages as the loss saw them) and θ_old, θ_new of the policy."""
        def member(params: dict[str, list[torch.Tensor]], k: int) -> dict[str, list[torch.Tensor]]:
            return {n: [p[k:k + 1] for p in ps] for n, ps in params.items()}

        for k in np.nonzero(self.live)[0]:
            torch.save({"obs": batch["obs"][k:k + 1], "actions": batch["actions"][k:k + 1],
                        "log_probs": batch["log_probs"][k:k + 1], "advantages": advantages[k:k + 1],
                        "clip_eps": self.clip_eps[k:k + 1], "before": member(before, k), "after": member(after, k),
                        "env_id": self.s.env.id, "global_step": self.global_step},
                       self.records[k].dir / "first_update.pt")

    def mark_diverged(self, which: np.ndarray, reason: str) -> None:
        for k in np.nonzero(which)[0]:
            self.live[k] = False
            self.statuses[k] = "diverged"
            self.records[k].global_step = self.global_step
            self.records[k].set_status("diverged", f"{reason} at env step {self.global_step}")
            remove_checkpoint(self.records[k].dir)

    # -- the loop ------------------------------------------------------------------------------------------------
    def run(self) -> None:
        s = self.s
        obs = self.envs.reset()
        done_iterations, wall_before = 0, 0.0
        if self.checkpoints[0] is not None:
            obs = self.restore(obs)
            done_iterations, wall_before = self.checkpoints[0]["iteration"], self.checkpoints[0]["wall_time"]
        start = time.time() - wall_before
        show = {"on": True, "off": False, "auto": sys.stderr.isatty()}[s.progress]
        label = run_name(s) if self.K == 1 else f"{s.env.id} ×{self.K}"
        bar = tqdm(total=s.num_iterations * s.batch_size, initial=self.global_step, unit="step", desc=label,
                   disable=not show, leave=False)
        try:
            for iteration in range(done_iterations + 1, s.num_iterations + 1):
                multiplier = 1 - (iteration - 1) / s.num_iterations  # the 2017 code's lrmult, ppo2's frac
                learning_rate = s.learning_rate * (multiplier if s.details.lr_anneal else 1)
                for group in self.optimizer.param_groups:
                    group["lr"] = learning_rate
                self.clip_eps = self.initial_clip_eps * torch.where(self.clip_anneal, multiplier, 1.0)
                torch.set_num_threads(1)  # the rollout's forward passes are too small to share
                batch, obs = self.rollout(obs)
                explained = explained_variance(batch["values"], batch["returns"])
                was_live = self.live.copy()
                torch.set_num_threads(s.torch_threads)
                diagnostics = self.update(batch)
                wall = time.time() - start
                for k in np.nonzero(was_live)[0]:
                    row = {"iteration": iteration, "global_step": self.global_step, "wall_time": wall,
                           "sps": self.global_step / wall, "learning_rate": learning_rate,
                           "clip_eps": float(self.clip_eps[k]),
                           "explained_variance": float(explained[k])}
                    row.update({name: float(value[k]) for name, value in diagnostics.items()})
                    columns = self.records[k].metrics.columns
                    self.records[k].metrics.append([tuple(row.get(c, math.nan) for c in columns)])
                    self.mirrors[k].log(row)
                    self.records[k].global_step = self.global_step
                if not self.live.any():
                    return
                if self.next_eval is not None and self.global_step >= self.next_eval:
                    self.evaluate()
                    self.next_eval += s.eval_every * math.ceil((self.global_step + 1 - self.next_eval) / s.eval_every)
                if s.checkpoint:
                    self.save_checkpoints(iteration, obs, time.time() - start)
                for k in np.nonzero(self.live)[0]:  # status.json says how far a running run has got
                    self.records[k].set_status("running")
                bar.update(s.batch_size)
                recent = [np.mean(r) for r, alive in zip(self.recent_returns, self.live) if alive and r]
                bar.set_postfix(sps=f"{self.K * self.global_step / wall:.0f}",
                                ret=f"{np.mean(recent):.1f}" if recent else "-")
            if s.eval_every:
                self.evaluate()
            for k in np.nonzero(self.live)[0]:
                if s.save_policy:
                    self.policy(k).save(self.records[k].dir / "policy.pt")
                self.statuses[k] = "finished"
                self.records[k].set_status("finished")
                remove_checkpoint(self.records[k].dir)
        finally:
            bar.close()
            self.envs.close()

    # -- resume ------------------------------------------------------------------------------------------------
    def save_checkpoints(self, iteration: int, obs: np.ndarray, wall_time: float) -> None:
        """One checkpoint per live member, in its own run folder: everything its continuation depends on."""
        named = dict(self.net.named_parameters())
        for k in np.nonzero(self.live)[0]:
            adam = {name: {key: (value[k].clone() if value.dim() else value.clone())
                           for key, value in self.optimizer.state[p].items()} for name, p in named.items()}
            save_checkpoint(self.records[k].dir, {
                "iteration": iteration, "global_step": self.global_step, "wall_time": wall_time,
                "params": {name: p.detach()[k].clone() for name, p in named.items()}, "adam": adam,
                "obs_stats": None if self.obs_stats is None else _member_slice(self.obs_stats.state(), k),
                "reward_scaler": None if self.reward_scaler is None else {
                    "returns": self.reward_scaler.returns[k].copy(),
                    **_member_slice(self.reward_scaler.stats.state(), k)},
                "beta": self.beta[k].item(), "generator": self.generators[k].get_state(),
                "envs": self.envs.member_state(k), "obs": obs[k].copy(),
                "recent_returns": list(self.recent_returns[k]), "next_eval": self.next_eval,
                "offsets": self.records[k].offsets(), "wandb_id": self.mirrors[k].run_id})

    def restore(self, reset_obs: np.ndarray) -> np.ndarray:
        """Loads every member's checkpoint into its slot of the population; returns the observation to go on from
        (the reset one for members whose environments cannot be restored: envpool, non-MuJoCo envs)."""
        named = dict(self.net.named_parameters())
        first = self.checkpoints[0]
        with torch.no_grad():
            for name, p in named.items():
                p.copy_(torch.stack([c["params"][name] for c in self.checkpoints]))
                state = {key: torch.stack([c["adam"][name][key] for c in self.checkpoints])
                         for key, value in first["adam"][name].items() if value.dim()}
                self.optimizer.state[p] = {"step": first["adam"][name]["step"].clone(), **state}
        for stats, key in ((self.obs_stats, "obs_stats"), (None if self.reward_scaler is None else
                                                          self.reward_scaler.stats, "reward_scaler")):
            if stats is not None:
                stats.mean, stats.var, stats.count = (np.stack([c[key][f] for c in self.checkpoints])
                                                      for f in ("mean", "var", "count"))
        if self.reward_scaler is not None:
            self.reward_scaler.returns = np.stack([c["reward_scaler"]["returns"] for c in self.checkpoints])
        self.beta = torch.tensor([c["beta"] for c in self.checkpoints], dtype=self.beta.dtype)
        obs = reset_obs.copy()
        for k, c in enumerate(self.checkpoints):
            self.generators[k].set_state(c["generator"])
            if self.envs.set_member_state(k, c["envs"]):
                obs[k] = c["obs"]
            self.recent_returns[k].extend(c["recent_returns"])
        self.global_step, self.next_eval, self.updates = first["global_step"], first["next_eval"], first["iteration"]
        return obs

    def policy(self, k: int) -> SavedPolicy:
        stats = self.obs_stats
        d = self.members[k].details
        return SavedPolicy.from_member(self.net, k, self.s.env.id, None if stats is None else stats.mean,
                                       None if stats is None else stats.var, d.obs_clip, d.obs_var_floor,
                                       d.clip_actions)

    def evaluate(self) -> None:
        """Deterministic episodes with the normaliser frozen; logged apart from training episodes."""
        for k in np.nonzero(self.live)[0]:
            results = evaluate(self.policy(k), self.s.eval_episodes, eval_seed(self.members[k].seed))
            self.records[k].evals.append([(self.global_step, i, ret, length)
                                          for i, (ret, length) in enumerate(results)])
            self.mirrors[k].log({"global_step": self.global_step,
                                 "eval/return": float(np.mean([r for r, _ in results])),
                                 "eval/length": float(np.mean([n for _, n in results]))})


def _member_slice(state: dict[str, np.ndarray], k: int) -> dict[str, np.ndarray]:
    return {name: np.array(value[k]) for name, value in state.items()}


def eval_seed(member_seed: int) -> int:
    """Evaluation episodes use seeds apart from every training environment's."""
    return env_seed(member_seed, 1_000_000) % 2**31


def explained_variance(values: torch.Tensor, returns: torch.Tensor) -> np.ndarray:
    """1 - Var[R - V] / Var[R] per member. [K, B] -> [K]."""
    var_returns = returns.var(1)
    return (1 - (returns - values).var(1) / var_returns).numpy()
