"""The population's rollout gives exactly the transitions of a plain, one-step-at-a-time rollout written here from
the definitions: same seeds, same observations, actions, rewards, flags, log-probabilities and values, to the bit."""

import math

import numpy as np
import pytest
import torch

from ppo_bench.envs import make_member_envs
from ppo_bench.gae import gae
from ppo_bench.loop import _Trainer
from ppo_bench.networks import ActorCritic
from ppo_bench.normalizers import RunningMeanStd, normalize
from ppo_bench.record import RunRecord
from ppo_bench.settings import DetailSettings, EnvSettings
from ppo_bench.wandb_mirror import WandbMirror
from tests.conftest import with_


def plain_rollout(members, generator_states, obs_stats: RunningMeanStd, net: ActorCritic, T: int):
    """Each member stepped on its own, every quantity from its definition: z = clip((o - μ) / σ), a = μ_θ(z) + σ_θ ξ
    with ξ from the member's own generator (in the state the rollout found it, drawn for the whole rollout first, as
    the loop does), log π(a|z) of the Gaussian, V(z)."""
    out = []
    for k, m in enumerate(members):
        generator = torch.Generator()
        generator.set_state(generator_states[k])
        noise = torch.randn(T, m.env.num_envs, net.log_std.shape[1], generator=generator)
        envs = make_member_envs(m.env, [m.seed], m.details.clip_actions)
        obs = envs.reset()[0]
        mean_k, var_k = obs_stats.mean[k:k + 1], obs_stats.var[k:k + 1]
        member = {"obs": [], "actions": [], "rewards": [], "dones": [], "log_probs": [], "values": []}
        with torch.no_grad():
            for t in range(T):
                z = torch.as_tensor(normalize(obs[None], mean_k, var_k, m.details.obs_clip, m.details.obs_var_floor),
                                    dtype=torch.float32)[0]
                weights = [w[k] for w in net.policy_weights]
                biases = [b[k] for b in net.policy_biases]
                h = z
                for i, (w, b) in enumerate(zip(weights, biases)):
                    h = torch.baddbmm(b[None], h[None], w[None])[0]
                    h = torch.tanh(h) if i < len(weights) - 1 else h
                std = torch.exp(net.log_std[k])
                action = torch.addcmul(h, std, noise[t])  # h + std * ξ
                log_prob = (-0.5 * ((action - h) / std) ** 2 - torch.log(std) - 0.5 * math.log(2 * math.pi)).sum(-1)
                v = z
                for i, (w, b) in enumerate(zip(net.value_weights, net.value_biases)):
                    v = torch.baddbmm(b[k][None], v[None], w[k][None])[0]
                    v = torch.tanh(v) if i < len(net.value_weights) - 1 else v
                step, _ = envs.step(action.numpy()[None])
                for name, x in (("obs", z), ("actions", action), ("log_probs", log_prob), ("values", v[:, 0]),
                                ("rewards", step.rewards[0]), ("dones", step.terminated[0] | step.truncated[0])):
                    member[name].append(torch.as_tensor(x))
                obs = step.obs[0]
            z = torch.as_tensor(normalize(obs[None], mean_k, var_k, m.details.obs_clip, m.details.obs_var_floor),
                                dtype=torch.float32)
            last_value = net.value(z.expand(len(members), -1, -1))[k]
        envs.close()
        member = {name: torch.stack(xs) for name, xs in member.items()}
        values = member["values"].double().numpy()
        dones = member["dones"].numpy()
        next_values = np.where(dones, 0.0, np.concatenate([values[1:], last_value.double().numpy()[None]]))
        member["advantages"], _ = gae(member["rewards"].numpy(), values, next_values, dones, m.gamma, m.gae_lambda)
        out.append(member)
    return out


@pytest.mark.parametrize("backend", ["gymnasium", "envpool"])
@pytest.mark.parametrize("env_id", ["HalfCheetah-v5", "InvertedPendulum-v5"])
def test_the_rollout_gives_the_transitions_of_a_plain_one(tiny, tmp_path, backend, env_id):
    """Three members with their own seeds, two envs each, 300 steps (many episodes end on InvertedPendulum, none on
    HalfCheetah) under normaliser statistics that are not the identity, one member with the 2017 variance floor."""
    env = EnvSettings(id=env_id, num_envs=2, backend=backend, threads=1)
    base = with_(tiny, env=env, rollout_steps=300, minibatch_size=100, total_timesteps=600)
    members = [with_(base, seed=seed, details=DetailSettings(obs_var_floor=floor, obs_norm_order="after"))
               for seed, floor in ((3, 1e-2), (4, None), (5, None))]
    records = [RunRecord(tmp_path / str(k), m, {}) for k, m in enumerate(members)]
    mirrors = [WandbMirror(m.logger, tmp_path / str(k), "r", "g", [], {}) for k, m in enumerate(members)]
    trainer = _Trainer(members, records, mirrors, ["running"] * 3, [None] * 3)
    rng = np.random.default_rng(0)
    trainer.obs_stats.mean = rng.normal(size=trainer.obs_stats.mean.shape)
    trainer.obs_stats.var = rng.uniform(1e-3, 4.0, size=trainer.obs_stats.var.shape)
    stats_used = RunningMeanStd(3, (trainer.envs.obs_dim,))
    stats_used.mean, stats_used.var = trainer.obs_stats.mean.copy(), trainer.obs_stats.var.copy()
    with torch.no_grad():
        trainer.net.log_std.copy_(torch.linspace(-1.0, 0.5, trainer.net.log_std.numel()).reshape(3, -1))
    generator_states = [g.get_state() for g in trainer.generators]
    batch, _ = trainer.rollout(trainer.envs.reset())
    trainer.envs.close()
    plain = plain_rollout(members, generator_states, stats_used, trainer.net, 300)
    for k in range(3):
        for name in ("obs", "actions", "values", "advantages"):  # rewards and episode ends reach the batch via GAE
            fused = getattr(batch, name)[k].reshape(300, 2, *getattr(batch, name).shape[2:])
            assert torch.equal(fused, torch.as_tensor(plain[k][name]).to(fused.dtype)), (k, name)
        fused = batch.log_probs[k].reshape(300, 2)
        torch.testing.assert_close(fused, plain[k]["log_probs"], rtol=1e-6, atol=1e-6)  # another formula
    assert plain[0]["dones"].any() == (env_id == "InvertedPendulum-v5")
    for record in records:
        record.close()
