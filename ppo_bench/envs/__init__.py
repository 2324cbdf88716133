"""K members × n environments stepped together, on Gymnasium (gymnasium_backend) or envpool (envpool_backend), with
one interface (base.MemberEnvsBase) and the same semantics: same-step autoreset, the true reward, the final
observation of an ended episode for bootstrapping."""

from __future__ import annotations

import numpy as np

from ppo_bench.envs.base import Step, env_seed
from ppo_bench.envs.gymnasium_backend import MemberEnvs, check_env_id
from ppo_bench.settings import EnvSettings

__all__ = ["MemberEnvs", "Step", "check_env", "env_seed", "make_member_envs"]


def make_member_envs(env: EnvSettings, member_seeds: list[int], clip_actions: bool | np.ndarray = True):
    """The environments of a population on the configured backend. clip_actions (one for all, or [K]): clip actions
    to the bounds before the environment sees them."""
    if env.backend == "envpool":
        from ppo_bench.envs.envpool_backend import EnvpoolMemberEnvs

        return EnvpoolMemberEnvs(env.id, member_seeds, env.num_envs, env.threads or None, clip_actions)
    return MemberEnvs(env.id, member_seeds, env.num_envs, clip_actions)


def check_env(env: EnvSettings) -> None:
    """Raises ConfigError unless the backend can run env.id."""
    if env.backend == "envpool":
        from ppo_bench.envs.envpool_backend import check_envpool_id

        check_envpool_id(env.id)
    else:
        check_env_id(env.id)
