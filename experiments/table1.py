"""Table 1 of the PPO paper, in full: 7 tasks × the 11 settings × seeds 1, 2, 3 × 1M env steps, then the report.

    make table1          (or: python -m experiments.table1 [--out DIR] [--jobs 2] [--dry-run] [--resume]
                                                           [hydra overrides...])

One ordinary Hydra multirun over the 11 Table 1 presets (conf/objective/clip0.1.yaml, ...), printed before it runs,
into <out>/table1 (default <out> = outputs/table1/<timestamp>), then `python -m analysis.report <out>/table1
--out <out>/report` (report.md, report.html, table1.{md,tex,csv}, per-task and per-run CSVs, figures):

    python -m ppo_bench.train -m hydra/launcher=joblib hydra.launcher.n_jobs=2 env=walker2d,swimmer,hopper,\
half_cheetah,reacher,inverted_double_pendulum,inverted_pendulum objective=none,clip0.1,clip0.2,clip0.3,\
kl_adaptive0.003,kl_adaptive0.01,kl_adaptive0.03,kl_fixed0.3,kl_fixed1,kl_fixed3,kl_fixed10 seed=1,2,3 \
total_timesteps=1000000 hydra.sweep.dir=<out>/table1

Extra arguments are Hydra overrides appended to every multirun, e.g. `details=modern`. One that picks a launcher
replaces the local joblib launcher (and --jobs): `hydra/launcher=slurm hydra.launcher.partition=cpu` sends every run
to SLURM as one array job (conf/hydra/launcher/slurm.yaml), and `hydra/launcher=fused hydra.launcher.n_jobs=2
env.backend=envpool env.threads=1 torch_threads=2` trains each task's 33 runs as one population per process (same
run folders; the fast path on a CPU box: about 3.5 h here, from `make benchmark-population`).
`--dry-run` prints the commands only. Rerunning with --out of an earlier sweep (`--resume`) continues it: finished
runs are skipped, unfinished ones resume from their checkpoints.

Cost: 231 runs × 1M env steps = 231M env steps (each run rounds up to 489 rollouts of 2048: 1,001,472 steps).
Measured on this machine (2 vCPUs, AMD EPYC, 23 GiB; 2 joblib workers, one torch thread per run, wandb offline)
in the experiments.table1_quick sweep (results/table1_quick/RUN.md): one run steps ~1,900 (Walker2d) to ~3,500
(InvertedPendulum) env steps/s when it has a core to itself, and the machine did ~2,900-3,300 env steps/s over a
whole multirun with other processes sharing the CPU. So the full sweep with the joblib launcher is about
231M / 3,000 ≈ 21 hours here (~15 hours on an otherwise idle machine): a 1M-step run is 5-9 minutes of one core.
On a cluster it is 231 independent single-core jobs of that length.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from experiments.sweep import TABLE1_FAMILIES, TASKS, Sweep, run_sweep, timestamp


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Table 1 of the PPO paper: 7 tasks × 11 settings × 3 seeds × 1M "
                                                 "steps, then the report")
    parser.add_argument("--out", type=Path, default=None, help="sweep folder (default outputs/table1/<timestamp>)")
    parser.add_argument("--jobs", type=int, default=2, help="joblib workers (default 2)")
    parser.add_argument("--dry-run", action="store_true", help="print the commands only")
    parser.add_argument("--resume", action="store_true", help="with --out of an earlier sweep: continue it (finished runs are skipped, others resume)")
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides for every multirun")
    args = parser.parse_args(argv)
    sweep = Sweep(out=args.out or Path("outputs/table1") / timestamp(), families=TABLE1_FAMILIES, tasks=TASKS,
                  seeds=(1, 2, 3), steps=1_000_000, jobs=args.jobs, extra=tuple(args.overrides))
    code, wall = run_sweep(sweep, dry_run=args.dry_run, resume=args.resume)
    if not args.dry_run:
        print(f"# wall time {wall / 3600:.2f} h; report: {sweep.out / 'report' / 'report.md'}")
    return code


if __name__ == "__main__":
    sys.exit(main())
