"""The random-policy reference of Table 1's normalisation: uniform random actions, measured per task.

Schulman et al. 2017, section 6.1: per task, scores are shifted and scaled so that "the random policy" scores 0.
This script measures that policy's return with the harness's own episode accounting (ppo_bench.envs.MemberEnvs:
same-step autoreset, the true environment reward, every step of an episode counted once) and writes one versioned
reference file per task:

    results/baselines/random/<env id>.json     e.g. HalfCheetah-v5.json (the id carries the task's version)

Protocol: one environment, episodes run back to back until `episodes` have ended (so long episodes are not
under-represented, as they would be when taking the first N endings from many parallel envs); each action is drawn
uniform in [low, high] of the action space from numpy.random.default_rng(seed); the env is seeded by the harness's
env_seed(seed, 0). std is the sample standard deviation (ddof=1).

    python -m experiments.random_baseline [--episodes 100] [--seed 0] [--envs HalfCheetah-v5 ...] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from ppo_bench.envs import MemberEnvs
from ppo_bench.provenance import package_versions
from ppo_bench.tasks import PAPER_ENV_IDS

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "results" / "baselines" / "random"


def random_policy_episodes(env_id: str, episodes: int = 100, seed: int = 0) -> list[tuple[float, int]]:
    """(return, length) of `episodes` consecutive episodes of uniform random actions in one environment."""
    envs = MemberEnvs(env_id, [seed], envs_per_member=1)
    rng = np.random.default_rng(seed)
    results: list[tuple[float, int]] = []
    try:
        envs.reset()
        while len(results) < episodes:
            actions = rng.uniform(envs.action_low, envs.action_high, size=(1, 1, *envs.action_low.shape))
            _, ended = envs.step(actions)
            results.extend((episode_return, length) for _, episode_return, length in ended)
    finally:
        envs.close()
    return results[:episodes]


def baseline_record(env_id: str, results: list[tuple[float, int]], seed: int) -> dict:
    """The JSON content of one reference file."""
    returns = np.array([r for r, _ in results], dtype=np.float64)
    lengths = np.array([n for _, n in results], dtype=np.float64)

    versions = package_versions()
    return {
        "env_id": env_id,
        "policy": "uniform random actions in the action bounds",
        "mean": float(returns.mean()),
        "std": float(returns.std(ddof=1)) if len(returns) > 1 else 0.0,
        "sem": float(returns.std(ddof=1) / np.sqrt(len(returns))) if len(returns) > 1 else 0.0,
        "n": int(len(returns)),
        "mean_length": float(lengths.mean()),
        "seed": seed,
        "gymnasium": versions["gymnasium"],
        "mujoco": versions["mujoco"],
        "numpy": versions["numpy"],
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": "python -m experiments.random_baseline " + " ".join(sys.argv[1:]),
        "returns": [float(r) for r in returns],
        "lengths": [int(n) for n in lengths],
    }


def write_baseline(env_id: str, episodes: int = 100, seed: int = 0, out: Path = DEFAULT_OUT) -> Path:
    """Measures one task and writes out/<env_id>.json; returns the file's path."""
    record = baseline_record(env_id, random_policy_episodes(env_id, episodes, seed), seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{env_id}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=100, help="episodes per task (default 100)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the env and of the action generator")
    parser.add_argument("--envs", nargs="+", default=list(PAPER_ENV_IDS), help="Gymnasium ids (default: the 7 tasks)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    for env_id in args.envs:
        path = write_baseline(env_id, args.episodes, args.seed, args.out)
        record = json.loads(path.read_text())
        print(f"{env_id:28s} {record['mean']:9.2f} ± {record['std']:7.2f}  (mean length {record['mean_length']:.1f}, "
              f"n={record['n']})  -> {path}")


if __name__ == "__main__":
    main()
