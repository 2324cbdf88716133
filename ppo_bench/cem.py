"""The cross-entropy method, a baseline of the paper's Figure 3 (Szita & Lörincz 2006, the noisy CEM; settings as
rllab's CEM, the implementation of Duan et al. 2016's benchmark): a Gaussian over the policy's parameters, each
generation N samples evaluated on whole episodes, the mean and std refitted to the best fraction.

A generation's N parameter samples are what a fused population already is: one batched MLP with N members
(ppo_bench.networks.mlp), stepping N environments at once (one per sample, env.num_envs = N). What a CEM run shares
with the loop: the environment backends, the run folder (episodes.csv, metrics.csv, status, checkpoint), the wandb
mirror, resume and signal handling (ppo_bench.loop). What it does not: a rollout batch, a loss, an optimiser. Runs of
several seeds are trained one after another in their process (a run is already a population of samples).

One generation: sample θ_i ~ N(μ, diag(σ² + extra_std² max(1 - g / extra_decay, 0))), i = 1..N; fresh environments
seeded by (seed, g); each sample acts deterministically (the policy's mean, actions clipped to the bounds, raw
observations) until every sample has finished at least one episode; a sample's score is the mean return of its
finished episodes, and every step simulated counts toward the budget; μ, σ = mean and std of the best ⌈ρN⌉ samples.
"""

from __future__ import annotations

import math
import time
from collections import deque

import numpy as np
import torch

from ppo_bench.checkpoint import remove_checkpoint, save_checkpoint
from ppo_bench.envs import env_seed, make_member_envs
from ppo_bench.networks import ActorCritic, mlp
from ppo_bench.policy import SavedPolicy
from ppo_bench.population import CHECKPOINT_VERSION, SCORE_EPISODES, check_checkpoint_version
from ppo_bench.record import RunRecord
from ppo_bench.settings import ConfigError, TrainSettings
from ppo_bench.tasks import normalised_score
from ppo_bench.wandb_mirror import WandbMirror


def sample_std(std: torch.Tensor, generation: int, extra_std: float, extra_decay: float) -> torch.Tensor:
    """The noisy CEM's sampling std of generation g (from 0): sqrt(σ² + extra_std² · max(1 - g / extra_decay, 0))."""
    return torch.sqrt(std.square() + extra_std ** 2 * max(1.0 - generation / extra_decay, 0.0))


def refit(samples: torch.Tensor, scores: torch.Tensor, elite_frac: float) -> tuple[torch.Tensor, torch.Tensor]:
    """μ and σ (population std) of the best ⌈elite_frac · N⌉ samples. samples [N, P], scores [N] -> [P], [P]."""
    n_elite = max(1, math.ceil(elite_frac * len(scores)))
    elite = samples[torch.argsort(scores, descending=True, stable=True)[:n_elite]]
    return elite.mean(0), elite.std(0, correction=0)


class CemTrainer:
    """One CEM run (the loop's trainer interface: run(), summary(k))."""

    def __init__(self, members: list[TrainSettings], records: list[RunRecord], mirrors: list[WandbMirror],
                 statuses: list[str], checkpoints: list[dict | None]):
        if len(members) != 1:
            raise ConfigError("algo=cem: a CEM run is trained on its own (its samples are the population)")
        s = self.s = members[0]
        self.record, self.mirror, self.statuses = records[0], mirrors[0], statuses
        probe = make_member_envs(s.env, [s.seed], clip_actions=True)
        self.obs_dim, self.act_dim = probe.obs_dim, probe.act_dim
        probe.close()
        self.generator = torch.Generator().manual_seed(s.seed)
        net = ActorCritic(self.obs_dim, self.act_dim, s.hidden_sizes, s.details.init, [self.generator])
        self.shapes = [p.shape[1:] for p in (*net.policy_weights, *net.policy_biases)]
        self.mean = torch.cat([p.detach()[0].flatten() for p in (*net.policy_weights, *net.policy_biases)])  # μ_0
        self.std = torch.full_like(self.mean, s.algo.cem_init_std)
        self.generation, self.global_step = 0, 0
        self.recent_returns: deque[float] = deque(maxlen=SCORE_EPISODES)
        c = checkpoints[0]
        if c is not None:
            check_checkpoint_version(c)
            self.mean, self.std, self.generation = c["mean"], c["std"], c["iteration"]
            self.global_step = c["global_step"]
            self.generator.set_state(c["generator"])
            self.recent_returns.extend(c["recent_returns"])
        self.wall_before = c["wall_time"] if c else 0.0

    def policy_params(self, flat: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Flat samples [N, P] -> the batched MLP's weights [N, in, out] and biases [N, 1, out]."""
        sizes = [math.prod(shape) for shape in self.shapes]
        params = [x.reshape(len(flat), *shape) for x, shape in zip(flat.split(sizes, 1), self.shapes)]
        half = len(params) // 2
        return params[:half], params[half:]

    def evaluate(self, samples: torch.Tensor) -> tuple[torch.Tensor, list[tuple[int, float, int]], int]:
        """Each sample on its own environment until every one has finished an episode (or the run's whole budget is
        spent in this generation, for a task without a time limit: then an unfinished sample is scored by its return
        so far). Returns each sample's mean return [N], the finished episodes (sample, return, length) in the order
        they ended, and the steps taken."""
        s, n = self.s, len(samples)
        envs = make_member_envs(s.env, [env_seed(s.seed, 10_000 + self.generation)], clip_actions=True)
        weights, biases = self.policy_params(samples)
        totals, counts = np.zeros(n), np.zeros(n, dtype=np.int64)
        running, lengths = np.zeros(n), np.zeros(n, dtype=np.int64)
        episodes, steps = [], 0
        try:
            obs = envs.reset()[0]  # [N, D]
            with torch.no_grad():
                while not (counts > 0).all() and steps * n < s.total_timesteps:  # (the cap: a task without a limit)
                    actions = mlp(torch.as_tensor(obs, dtype=torch.float32)[:, None], weights, biases)[:, 0]
                    step, _ = envs.step(actions.numpy()[None])
                    steps += 1
                    running += step.rewards[0]
                    lengths += 1
                    for i in np.flatnonzero(step.terminated[0] | step.truncated[0]):
                        episodes.append((int(i), float(running[i]), int(lengths[i])))
                        totals[i] += running[i]
                        counts[i] += 1
                        running[i], lengths[i] = 0.0, 0
                    obs = step.obs[0]
        finally:
            envs.close()
        unfinished = counts == 0  # only at the cap: scored by the return so far
        totals[unfinished], counts[unfinished] = running[unfinished], 1
        return torch.as_tensor(totals / counts, dtype=torch.float32), episodes, steps

    def run(self) -> None:
        s, a = self.s, self.s.algo
        n = s.env.num_envs
        start = time.time() - self.wall_before
        while self.global_step < s.total_timesteps:
            std = sample_std(self.std, self.generation, a.cem_extra_std, a.cem_extra_decay)
            samples = self.mean + std * torch.randn(n, len(self.mean), generator=self.generator)
            scores, episodes, steps = self.evaluate(samples)
            self.global_step += steps * n
            self.generation += 1
            self.mean, self.std = refit(samples, scores, a.cem_elite_frac)
            self.record.episodes.append([(self.global_step, ret, length) for _, ret, length in episodes])
            self.recent_returns.extend(ret for _, ret, _ in episodes)
            for _, ret, length in episodes:
                self.mirror.log({"global_step": self.global_step, "episode/return": ret, "episode/length": length})
            wall = time.time() - start
            row = {"iteration": self.generation, "global_step": self.global_step, "wall_time": wall,
                   "sps": self.global_step / wall}
            metrics = self.record.metrics
            metrics.append([tuple(row.get(c, math.nan) for c in metrics.columns)])
            self.mirror.log({**row, "cem/elite_score": float(scores.sort(descending=True).values[
                :max(1, math.ceil(a.cem_elite_frac * n))].mean()), "cem/std": float(self.std.mean())})
            self.record.global_step = self.global_step
            if s.checkpoint:
                self.save_checkpoints(time.time() - start)
            self.record.set_status("running")
        if s.save_policy:
            self.policy().save(self.record.dir / "policy.pt")
        self.statuses[0] = "finished"
        self.record.set_status("finished")
        remove_checkpoint(self.record.dir)

    def save_checkpoints(self, wall_time: float) -> None:
        """The run's checkpoint after a generation: the distribution, the random stream, the records' offsets."""
        save_checkpoint(self.record.dir, {
            "version": CHECKPOINT_VERSION, "iteration": self.generation, "global_step": self.global_step,
            "wall_time": wall_time, "mean": self.mean, "std": self.std, "generator": self.generator.get_state(),
            "recent_returns": list(self.recent_returns), "offsets": self.record.offsets(),
            "wandb_id": self.mirror.run_id})

    def policy(self) -> SavedPolicy:
        """μ as a deterministic policy: raw observations, actions clipped to the bounds, as CEM trained it."""
        weights, biases = self.policy_params(self.mean[None])
        return SavedPolicy(self.s.env.id, [w.clone() for w in weights], [b.clone() for b in biases], None, None, None,
                           None, True)

    def summary(self, k: int) -> dict[str, float | int | None]:
        score = float(np.mean(self.recent_returns)) if self.recent_returns else None
        return {"score": score, "normalised_score": normalised_score(self.s.env.id, score),
                "score_episodes": len(self.recent_returns), "global_step": self.global_step}
