"""Stress check of resume (not part of the test suite): SIGKILL a fused population at random moments, rerun the same
command after each kill, and compare the final records with an uninterrupted twin.

    python -m experiments.stress_resume [--kills 20] [--seed 0] [--out outputs/stress_resume]

The population is 3 members (seeds 1-3, clip 0.2) on InvertedPendulum-v5 with the gymnasium backend (whose
environments resume exactly), 96 iterations of 512 steps (--steps). Each kill lands at a uniformly random moment of its
attempt, between 1 s and --window seconds after the process starts (so during start-up, between the members'
checkpoint writes, while records are written); the window is short enough that the run is still unfinished after
the last kill (checked). The next attempt is the same command. Prints one line per kill (the env step reached, from
status.json) and, at the end, whether every member's metrics (wall-clock columns aside), episodes and evaluations
equal the twin's, with no lost or repeated row. Exit 0 when they all do.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.test_resume import comparable

ARGS = ["hydra/launcher=fused", "hydra.launcher.n_jobs=1", "seed=1,2,3", "env=inverted_pendulum", "rollout_steps=512",
        "epochs=4", "logger.mode=disabled", "details=modern", "eval_every=4096", "eval_episodes=2", "progress=off"]


def command(out: Path, steps: int) -> list[str]:
    return [sys.executable, "-m", "ppo_bench.train", "-m", *ARGS, f"total_timesteps={steps}", f"hydra.sweep.dir={out}"]


def run(out: Path, steps: int, kill_after: float | None) -> float:
    """One attempt; SIGKILL to its whole process group after kill_after seconds (None: let it finish)."""
    start = time.time()
    process = subprocess.Popen(command(out, steps), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        process.wait(timeout=kill_after)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    return time.time() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0, help="seed of the kill moments")
    parser.add_argument("--window", type=float, default=25.0, help="latest kill moment of an attempt, seconds")
    parser.add_argument("--steps", type=int, default=49152, help="env steps per member (a loaded machine starts up "
                                                                    "slower: give it a longer run and a longer window)")
    parser.add_argument("--out", type=Path, default=Path("outputs/stress_resume"))
    parser.add_argument("--compare", type=Path, help="only compare an earlier stress folder (twin/ and killed/)")
    args = parser.parse_args()
    if args.compare:
        return compare(args.compare, None)
    if args.out.exists():
        raise SystemExit(f"--out {args.out}: exists; choose a new folder (results are never overwritten)")
    rng = random.Random(args.seed)
    whole = run(args.out / "twin", args.steps, None)
    print(f"uninterrupted twin: {whole:.1f} s")
    stressed = args.out / "killed"
    effective, unfinished = 0, True  # kills that hit the population before it had finished
    for kill in range(args.kills):
        moment = rng.uniform(1.0, args.window)
        run(stressed, args.steps, moment)
        effective += unfinished
        states = [json.loads((f / "status.json").read_text()) for f in stressed.glob("*/")
                  if (f / "status.json").exists()]
        unfinished = not (states and all(state["status"] == "finished" for state in states))
        reached = ", ".join(f"{state['global_step']} ({state['status']})" for state in states) or "no run folder yet"
        print(f"kill {kill + 1:2d} at {moment:5.1f} s: {reached}", flush=True)
    run(stressed, args.steps, None)
    return compare(args.out, effective)


def compare(out: Path, effective: int | None) -> int:
    """Every member of out/killed against its twin in out/twin; 0 when all are identical."""
    stressed = out / "killed"
    same = []
    for twin in sorted(p.parent for p in (out / "twin").glob("*/status.json")):
        member = stressed / twin.name
        equal = comparable(member) == comparable(twin)
        same.append(equal)
        print(f"{twin.name}: {'identical to the twin' if equal else 'DIFFERS from the twin'}")
    after = "" if effective is None else f" after {effective} kills of the unfinished population"
    print(f"{sum(same)} of {len(same)} members identical to the uninterrupted twin{after}")
    return 0 if same and all(same) else 1


if __name__ == "__main__":
    sys.exit(main())
