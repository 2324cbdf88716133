"""Table 1 of the PPO paper, in full, run in chunks: 7 tasks × the 11 settings × seeds 1, 2, 3 × 1M env steps.

    python -m experiments.table1 --chunk hopper          # one task: its 33 runs (11 settings × 3 seeds)
    python -m experiments.table1 --chunk hopper --seeds 1  # a smaller chunk: one task, one seed (11 runs)
    python -m experiments.table1 --next                  # the first chunk whose records are not committed yet
    python -m experiments.table1 --report                # the report from whatever chunks are committed
    make table1 / make table1-report

The whole table is 231M env steps: about 4-5 hours on 2 cores with fused populations and envpool, more than one
working session, so it is run a chunk at a time. A chunk is one ordinary fused Hydra multirun (printed before it
runs; its 33 runs train as populations of K members in `--jobs` processes, environments on envpool) into
outputs/table1/<chunk>/, after which its compact records (config, status, meta, episodes and metrics of every run;
no weights, checkpoints or wandb files) are packed into results/table1/records/<chunk>.tar.xz and the chunk's
command, machine, package versions, git commit and wall time into results/table1/records/<chunk>.json. Rerunning a
chunk's command resumes its unfinished runs and skips finished ones. `--report` unpacks every committed chunk, writes
the report (analysis.report: Markdown + HTML, Table 1 with 95% intervals beside the paper's column, figures) into
results/table1/, and lists the (task, seed) pairs that are still missing.

The protocol is the paper's (section 6.1, Table 3): Gymnasium MuJoCo v5, 1M steps, 3 seeds, the score of a run is
the mean return of its last 100 training episodes, per task the random policy = 0 and the best setting = 1; the
details preset is the one README.md "Table 1's protocol" argues for (`details=` below).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from analysis.paper_values import TABLE1
from experiments.sweep import TASKS, shown
from experiments.table1_quick import archive_runs
from ppo_bench.provenance import git_description, machine, package_versions

RESULTS = Path("results/table1")
RECORDS = RESULTS / "records"
SEEDS = (1, 2, 3)
STEPS = 1_000_000
DETAILS = "baselines_2017_07"


def chunk_name(task: str, seeds: tuple[int, ...]) -> str:
    return task if tuple(seeds) == SEEDS else f"{task}_seed{'-'.join(map(str, seeds))}"


def train_command(task: str, seeds: tuple[int, ...], out: Path, jobs: int, extra: list[str]) -> list[str]:
    """One chunk as one fused multirun: the 11 Table 1 presets (conf/objective/) × seeds on one task."""
    return [sys.executable, "-m", "ppo_bench.train", "-m", f"env={task}", f"objective={','.join(TABLE1)}",
            f"seed={','.join(map(str, seeds))}", f"total_timesteps={STEPS}", f"details={DETAILS}",
            "hydra/launcher=fused", f"hydra.launcher.n_jobs={jobs}", "env.backend=envpool", "env.threads=1",
            "torch_threads=1", "progress=off", f"hydra.sweep.dir={out}", *extra]


def committed_chunks() -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(RECORDS.glob("*.json"))}


def covered() -> set[tuple[str, int]]:
    """(task, seed) pairs whose records are committed."""
    return {(c["task"], seed) for c in committed_chunks().values() for seed in c["seeds"]}


def missing() -> list[tuple[str, int]]:
    have = covered()
    return [(task, seed) for task in TASKS for seed in SEEDS if (task, seed) not in have]


def run_chunk(task: str, seeds: tuple[int, ...], jobs: int, extra: list[str]) -> int:
    name = chunk_name(task, seeds)
    out = Path("outputs/table1") / name
    command = train_command(task, seeds, out, jobs, extra)
    print(f"$ {shown(command)}", flush=True)
    start, started, load = time.time(), time.strftime("%Y-%m-%d %H:%M:%S"), os.getloadavg()[0]
    code = subprocess.run(command).returncode
    wall = time.time() - start
    print(f"# {name}: exit {code}, {wall / 60:.1f} min", flush=True)
    statuses = [json.loads(p.read_text())["status"] for p in out.rglob("status.json")]
    if code != 0 or len(statuses) != len(TABLE1) * len(seeds) or not set(statuses) <= {"finished", "diverged"}:
        print(f"# {name}: not complete ({len(statuses)} runs, statuses {sorted(set(statuses))}); rerun the same "
              "command to resume it", flush=True)
        return code or 1
    RECORDS.mkdir(parents=True, exist_ok=True)
    n = archive_runs(out, RECORDS / f"{name}.tar.xz")
    info = {"task": task, "seeds": list(seeds), "runs": n, "command": shown(command), "started": started,
            "wall_min": round(wall / 60, 1), "load_avg_start": load, "load_avg_end": os.getloadavg()[0],
            "git": git_description(), "machine": machine(), "packages": package_versions()}
    (RECORDS / f"{name}.json").write_text(json.dumps(info, indent=1) + "\n")
    print(f"# {n} run records -> {RECORDS / name}.tar.xz; commit results/table1/records/ now", flush=True)
    return 0


def report() -> int:
    """The report from every committed chunk, into results/table1/; says which (task, seed) pairs are missing."""
    chunks = committed_chunks()
    if not chunks:
        print("# no chunk is committed yet (results/table1/records/ is empty)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        for name in chunks:
            with tarfile.open(RECORDS / f"{name}.tar.xz") as tar:
                tar.extractall(Path(tmp) / name, filter="data")
        command = [sys.executable, "-m", "analysis.report", *[str(Path(tmp) / name / "runs") for name in chunks],
                   "--out", str(RESULTS),
                   *[f"--label={Path(tmp) / name / 'runs'}={RECORDS / name}.tar.xz:runs" for name in chunks]]
        code = subprocess.run(command).returncode
    gaps = missing()
    lines = ["# Table 1 chunks\n", "| chunk | task | seeds | runs | wall | started | commit |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {name} | {c['task']} | {', '.join(map(str, c['seeds']))} | {c['runs']} | {c['wall_min']} min | "
              f"{c['started']} | {c['git'][:10]} |" for name, c in chunks.items()]
    lines += ["", "Missing (task, seed): " + (", ".join(f"{t} {s}" for t, s in gaps) if gaps else "none"), "",
              "Each chunk's exact command, machine and package versions: records/<chunk>.json. Rebuild this report "
              "from the committed records: `python -m experiments.table1 --report`."]
    (RESULTS / "CHUNKS.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Table 1 of the PPO paper in chunks (7 tasks × 11 settings × 3 seeds "
                                                 "× 1M steps)")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--chunk", choices=TASKS, help="run one task's chunk")
    which.add_argument("--next", action="store_true", help="run the first task with a missing seed")
    which.add_argument("--report", action="store_true", help="the report from the committed chunks")
    parser.add_argument("--seeds", default="1,2,3", help="seeds of the chunk (default 1,2,3)")
    parser.add_argument("--jobs", type=int, default=2, help="populations trained at once (default 2)")
    parser.add_argument("--dry-run", action="store_true", help="print the command only")
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides, e.g. hydra/launcher=slurm")
    args = parser.parse_args(argv)
    if args.report:
        return report()
    seeds = tuple(int(s) for s in args.seeds.split(","))
    task = args.chunk
    if args.next:
        gaps = missing()
        if not gaps:
            print("# every chunk is committed; python -m experiments.table1 --report")
            return 0
        task, seeds = gaps[0][0], tuple(s for t, s in gaps if t == gaps[0][0])
    if args.dry_run:
        out = Path("outputs/table1") / chunk_name(task, seeds)
        print(f"$ {shown(train_command(task, seeds, out, args.jobs, args.overrides))}")
        return 0
    return run_chunk(task, seeds, args.jobs, args.overrides)


if __name__ == "__main__":
    sys.exit(main())
