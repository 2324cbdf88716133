"""The one training loop: every objective, K independent members at once (a plain run is K = 1). Each iteration
collects a batch (ppo_bench.rollout), updates on it (ppo_bench.update), logs and checkpoints every member
(ppo_bench.population holds the state a checkpoint slices); runs stop cleanly on signals and errors."""

from __future__ import annotations

import math
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ppo_bench.cem import CemTrainer
from ppo_bench.checkpoint import checkpoint_step, common_checkpoints, existing_run, remove_checkpoint, save_checkpoint
from ppo_bench.envs import env_seed, make_member_envs
from ppo_bench.identity import population_identity
from ppo_bench.objective import adapt_beta, adapt_stepsize
from ppo_bench.policy import SavedPolicy, evaluate
from ppo_bench.population import MemberSettings, Population
from ppo_bench.record import RunRecord
from ppo_bench.rollout import Batch, collect, explained_variance
from ppo_bench.settings import MEMBER_DETAILS, ConfigError, TrainSettings, settings_to_dict
from ppo_bench.tasks import normalised_score
from ppo_bench.trpo import trpo_update
from ppo_bench.update import Diagnostics, update
from ppo_bench.wandb_mirror import WandbMirror, run_tags


def run_name(settings: TrainSettings) -> str:
    return f"{settings.env.id}/{settings.name}/s{settings.seed}"


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
    if active and members[0].algo.name == "cem":  # a CEM run is a population of samples already: one at a time
        for k in active:
            statuses[k] = _train_active([members[k]], [run_dirs[k]], [statuses[k] is not None], group, 1)[0]
    elif active:
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
        experiments = [m.logger.group or group or Path(d).name for m, d in zip(members, run_dirs)]
        mirrors = [WandbMirror(m.logger, d, run_name(m), experiment, run_tags(m, experiment), settings_to_dict(m),
                               run_id=c and c["wandb_id"], job_type=m.name)
                   for m, d, c, experiment in zip(members, run_dirs, checkpoints, experiments)]
        for record, c in zip(records, checkpoints):  # the wall time of a run leaves out waiting for wandb
            record.restart_clock(c["wall_time"] if c else 0.0)
        trainer = (CemTrainer if members[0].algo.name == "cem" else _Trainer)(members, records, mirrors, statuses,
                                                                               checkpoints)
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
            mirror.finish(status, None if trainer is None else trainer.summary(k), Path(run_dirs[k]) / "policy.pt")
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
        self.K = len(members)
        self.per_member = MemberSettings.of(members)
        self.envs = make_member_envs(s.env, [m.seed for m in members], self.per_member.clip_actions)
        self.pop = Population(members, self.envs.obs_dim, self.envs.act_dim)
        self.clip_eps = self.per_member.clip_eps  # ε of the current iteration (annealed with details.clip_anneal)

    # the population's parts, by the names tests and benchmarks use
    net = property(lambda self: self.pop.net)
    generators = property(lambda self: self.pop.generators)
    obs_stats = property(lambda self: self.pop.obs_stats)
    live = property(lambda self: self.pop.live)

    def rollout(self, obs: np.ndarray) -> tuple[Batch, np.ndarray]:
        return collect(self.pop, self.per_member, self.envs, obs, self.s, self.log_episodes)

    def update(self, batch: Batch) -> Diagnostics | None:
        """One update of every live member; marks those that diverged; adapts β for the next update."""
        pop, s = self.pop, self.s
        before = policy_params(pop.net) if s.save_first_update and pop.updates == 0 else None
        result = (trpo_update if s.algo.name == "trpo" else update)(pop, self.per_member, batch, s, self.clip_eps)
        self.mark_diverged(result.non_finite_loss, "non-finite loss")
        if result.diagnostics is None:
            return None
        if before is not None:
            self.save_first_update(batch, result.advantages, before, policy_params(pop.net))
        pop.updates += 1
        self.mark_diverged(result.non_finite_after, "non-finite weights or KL")
        pop.beta = adapt_beta(pop.beta, result.diagnostics.kl, self.per_member.kl_target)  # for the next update
        if s.algo.name == "pg":
            pop.lr_scale = adapt_stepsize(pop.lr_scale, result.diagnostics.kl, s.algo.kl_target)
        return result.diagnostics

    def log_episodes(self, ended: list[tuple[int, float, int]]) -> None:
        pop = self.pop
        for k, episode_return, length in ended:
            if not pop.live[k]:
                continue
            self.records[k].episodes.append([(pop.global_step, episode_return, length)])
            pop.recent_returns[k].append(episode_return)
            self.mirrors[k].log({"global_step": pop.global_step, "episode/return": episode_return,
                                 "episode/length": length})

    def summary(self, k: int) -> dict[str, float | int | None]:
        """Member k's figures for the wandb summary: its score as Table 1 scores a run (mean return of the last
        SCORE_EPISODES training episodes), that score normalised (ppo_bench.tasks.normalised_score), how many
        episodes the mean covers, and the env steps reached."""
        returns = self.pop.recent_returns[k]
        score = float(np.mean(returns)) if returns else None
        return {"score": score, "normalised_score": normalised_score(self.s.env.id, score),
                "score_episodes": len(returns), "global_step": self.records[k].global_step}

    def save_first_update(self, batch: Batch, advantages: torch.Tensor, before: dict[str, list[torch.Tensor]],
                          after: dict[str, list[torch.Tensor]]) -> None:
        """Per member: the batch (with the advantages as the loss saw them) and θ_old, θ_new of the policy."""
        def member(params: dict[str, list[torch.Tensor]], k: int) -> dict[str, list[torch.Tensor]]:
            return {n: [p[k:k + 1] for p in ps] for n, ps in params.items()}

        for k in np.nonzero(self.pop.live)[0]:
            torch.save({"obs": batch.obs[k:k + 1], "actions": batch.actions[k:k + 1],
                        "log_probs": batch.log_probs[k:k + 1], "advantages": advantages[k:k + 1],
                        "clip_eps": self.clip_eps[k:k + 1], "before": member(before, k), "after": member(after, k),
                        "env_id": self.s.env.id, "global_step": self.pop.global_step},
                       self.records[k].dir / "first_update.pt")

    def mark_diverged(self, which: np.ndarray, reason: str) -> None:
        for k in np.nonzero(which)[0]:
            self.pop.live[k] = False
            self.statuses[k] = "diverged"
            self.records[k].global_step = self.pop.global_step
            self.records[k].set_status("diverged", f"{reason} at env step {self.pop.global_step}")
            remove_checkpoint(self.records[k].dir)

    def run(self) -> None:
        s, pop = self.s, self.pop
        obs = self.envs.reset()
        done_iterations, wall_before = 0, 0.0
        if self.checkpoints[0] is not None:
            obs = self.restore(obs)
            done_iterations, wall_before = self.checkpoints[0]["iteration"], self.checkpoints[0]["wall_time"]
        start = time.time() - wall_before
        show = {"on": True, "off": False, "auto": sys.stderr.isatty()}[s.progress]
        label = run_name(s) if self.K == 1 else f"{s.env.id} ×{self.K}"
        bar = tqdm(total=s.num_iterations * s.batch_size, initial=pop.global_step, unit="step", desc=label,
                   disable=not show, leave=False)
        try:
            for iteration in range(done_iterations + 1, s.num_iterations + 1):
                multiplier = 1 - (iteration - 1) / s.num_iterations  # the 2017 code's lrmult, ppo2's frac
                learning_rate = s.learning_rate * (multiplier if s.details.lr_anneal else 1)
                for group in pop.optimizer.param_groups:
                    group["lr"] = learning_rate
                self.clip_eps = self.per_member.annealed_clip_eps(multiplier)
                torch.set_num_threads(1)  # the rollout's forward passes are too small to share
                batch, obs = self.rollout(obs)
                explained = explained_variance(batch.values, batch.returns)
                was_live = pop.live.copy()
                torch.set_num_threads(s.torch_threads)
                diagnostics = self.update(batch)
                wall = time.time() - start
                columns = {} if diagnostics is None else diagnostics.columns()
                for k in np.nonzero(was_live)[0]:
                    row = {"iteration": iteration, "global_step": pop.global_step, "wall_time": wall,
                           "sps": pop.global_step / wall, "learning_rate": learning_rate * float(pop.lr_scale[k]),
                           "clip_eps": float(self.clip_eps[k]), "explained_variance": float(explained[k])}
                    row.update({name: float(value[k]) for name, value in columns.items()})
                    metrics = self.records[k].metrics
                    metrics.append([tuple(row.get(c, math.nan) for c in metrics.columns)])
                    self.mirrors[k].log(row)
                    self.records[k].global_step = pop.global_step
                if not pop.live.any():
                    return
                if pop.next_eval is not None and pop.global_step >= pop.next_eval:
                    self.evaluate()
                    pop.next_eval += s.eval_every * math.ceil((pop.global_step + 1 - pop.next_eval) / s.eval_every)
                if s.checkpoint:
                    self.save_checkpoints(iteration, obs, time.time() - start)
                for k in np.nonzero(pop.live)[0]:  # status.json says how far a running run has got
                    self.records[k].set_status("running")
                bar.update(s.batch_size)
                recent = [np.mean(r) for r, alive in zip(pop.recent_returns, pop.live) if alive and r]
                bar.set_postfix(sps=f"{self.K * pop.global_step / wall:.0f}",
                                ret=f"{np.mean(recent):.1f}" if recent else "-")
            if s.eval_every:
                self.evaluate()
            for k in np.nonzero(pop.live)[0]:
                if s.save_policy:
                    self.policy(k).save(self.records[k].dir / "policy.pt")
                self.statuses[k] = "finished"
                self.records[k].set_status("finished")
                remove_checkpoint(self.records[k].dir)
        finally:
            bar.close()
            self.envs.close()

    def save_checkpoints(self, iteration: int, obs: np.ndarray, wall_time: float) -> None:
        """One checkpoint per live member, in its own run folder: everything its continuation depends on."""
        for k in np.nonzero(self.pop.live)[0]:
            save_checkpoint(self.records[k].dir, {
                **self.pop.member_state(k), "iteration": iteration, "wall_time": wall_time,
                "envs": self.envs.member_state(k), "obs": obs[k].copy(), "offsets": self.records[k].offsets(),
                "wandb_id": self.mirrors[k].run_id})

    def restore(self, reset_obs: np.ndarray) -> np.ndarray:
        """Loads every member's checkpoint into its slot of the population; returns the observation to go on from
        (the reset one for members whose environments cannot be restored: envpool, non-MuJoCo envs)."""
        self.pop.load(self.checkpoints)
        obs = reset_obs.copy()
        for k, c in enumerate(self.checkpoints):
            if self.envs.set_member_state(k, c["envs"]):
                obs[k] = c["obs"]
        return obs

    def policy(self, k: int) -> SavedPolicy:
        stats = self.pop.obs_stats
        d = self.members[k].details
        return SavedPolicy.from_member(self.pop.net, k, self.s.env.id, None if stats is None else stats.mean,
                                       None if stats is None else stats.var, d.obs_clip, d.obs_var_floor,
                                       d.clip_actions)

    def evaluate(self) -> None:
        """Deterministic episodes with the normaliser frozen; logged apart from training episodes."""
        pop = self.pop
        for k in np.nonzero(pop.live)[0]:
            results = evaluate(self.policy(k), self.s.eval_episodes, eval_seed(self.members[k].seed))
            self.records[k].evals.append([(pop.global_step, i, ret, length)
                                          for i, (ret, length) in enumerate(results)])
            self.mirrors[k].log({"global_step": pop.global_step,
                                 "eval/return": float(np.mean([r for r, _ in results])),
                                 "eval/length": float(np.mean([n for _, n in results]))})


def policy_params(net) -> dict[str, list[torch.Tensor]]:
    """A copy of the policy's parameters (Figure 2's θ_old and θ_new)."""
    return {"weights": [p.detach().clone() for p in net.policy_weights],
            "biases": [p.detach().clone() for p in net.policy_biases], "log_std": [net.log_std.detach().clone()]}


def eval_seed(member_seed: int) -> int:
    """Evaluation episodes use seeds apart from every training environment's."""
    return env_seed(member_seed, 1_000_000) % 2**31
