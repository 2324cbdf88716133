"""Long comparisons run a chunk at a time (one task, some seeds: one fused Hydra multirun each), with each finished
chunk's compact records committed under results/<name>/records/ and its report rebuilt from whatever is committed.
Used by experiments.table1 and experiments.figure3."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from experiments.sweep import shown
from experiments.table1_quick import archive_runs, unpack_runs
from ppo_bench.provenance import git_description, machine, package_versions

SEEDS = (1, 2, 3)
STEPS = 1_000_000
DETAILS = "baselines_2017_07"
"""The protocol of every chunk: the paper's 1M env steps per run; the details preset README.md "Table 1's protocol"
argues for."""


def chunk_name(task: str, seeds: tuple[int, ...]) -> str:
    return task if tuple(seeds) == SEEDS else f"{task}_seed{'-'.join(map(str, seeds))}"


def fused_command(task: str, seeds: tuple[int, ...], settings: str, out: Path, jobs: int,
                  extra: list[str]) -> list[str]:
    """One chunk as one fused multirun: the comparison's settings (a Hydra sweep override) × seeds on one task."""
    return [sys.executable, "-m", "ppo_bench.train", "-m", f"env={task}", settings, f"seed={','.join(map(str, seeds))}",
            f"total_timesteps={STEPS}", f"details={DETAILS}", "hydra/launcher=fused", f"hydra.launcher.n_jobs={jobs}",
            "env.backend=envpool", "env.threads=1", "torch_threads=1", "progress=off", f"hydra.sweep.dir={out}", *extra]


@dataclass(frozen=True)
class ChunkStore:
    """The committed chunks of one comparison: records/<chunk>.tar.xz (config, status, meta, episodes and metrics of
    every run; no weights, checkpoints or wandb files) and records/<chunk>.json (command, machine, versions, commit,
    wall time)."""

    results: Path  # results/<comparison>/
    report_command: str  # the command that rebuilds the report, for CHUNKS.md

    @property
    def records(self) -> Path:
        return self.results / "records"

    def committed(self) -> dict[str, dict]:
        return {p.stem: json.loads(p.read_text()) for p in sorted(self.records.glob("*.json"))}

    def missing(self, tasks: tuple[str, ...]) -> list[tuple[str, int]]:
        """(task, seed) pairs whose records are not committed."""
        have = {(c["task"], seed) for c in self.committed().values() for seed in c["seeds"]}
        return [(task, seed) for task in tasks for seed in SEEDS if (task, seed) not in have]

    def run(self, task: str, seeds: tuple[int, ...], command: list[str], out: Path, expected_runs: int) -> int:
        """Runs one chunk's command; when every run finished or diverged, packs its records into records/."""
        name = chunk_name(task, seeds)
        print(f"$ {shown(command)}", flush=True)
        start, started, load = time.time(), time.strftime("%Y-%m-%d %H:%M:%S"), os.getloadavg()[0]
        code = subprocess.run(command).returncode
        wall = time.time() - start
        print(f"# {name}: exit {code}, {wall / 60:.1f} min", flush=True)
        statuses = [json.loads(p.read_text())["status"] for p in out.rglob("status.json")]
        resumed = sum("resumed" in json.loads(p.read_text()) for p in out.rglob("meta.json"))
        if code != 0 or len(statuses) != expected_runs or not set(statuses) <= {"finished", "diverged"}:
            print(f"# {name}: not complete ({len(statuses)} runs, statuses {sorted(set(statuses))}); rerun the same "
                  "command to resume it", flush=True)
            return code or 1
        self.records.mkdir(parents=True, exist_ok=True)
        n = archive_runs(out, self.records / f"{name}.tar.xz")
        info = {"task": task, "seeds": list(seeds), **run_record(command, n, started, wall),
                "resumed_runs": resumed, "load_avg_start": load, "load_avg_end": os.getloadavg()[0]}
        (self.records / f"{name}.json").write_text(json.dumps(info, indent=1) + "\n")
        print(f"# {n} run records -> {self.records / name}.tar.xz; commit {self.records}/ now", flush=True)
        return 0

    def unpack(self, into: Path) -> dict[str, Path]:
        """Every committed chunk's runs folder, unpacked below `into`: {chunk: folder}."""
        return {name: unpack_runs(self.records / f"{name}.tar.xz", into / name) for name in self.committed()}

    def labels(self, folders: dict[str, Path]) -> list[str]:
        """analysis.report --label arguments that name each unpacked folder by its committed archive."""
        return [f"--label={folder}={self.records / name}.tar.xz:runs" for name, folder in folders.items()]

    def write_chunks_md(self, title: str, tasks: tuple[str, ...]) -> str:
        """CHUNKS.md: each committed chunk and the (task, seed) pairs still missing; returns its text."""
        chunks, gaps = self.committed(), self.missing(tasks)
        lines = [f"# {title} chunks\n", "| chunk | task | seeds | runs | wall | started | commit |",
                 "|---|---|---|---|---|---|---|"]
        lines += [f"| {name} | {c['task']} | {', '.join(map(str, c['seeds']))} | {c['runs']} | {c['wall_min']} min"
                  f"{resumed_note(c)} | {c['started']} | {c['git'][:10]} |" for name, c in chunks.items()]
        lines += ["", "Missing (task, seed): " + (", ".join(f"{t} {s}" for t, s in gaps) if gaps else "none"), "",
                  "Each chunk's exact command, machine and package versions: records/<chunk>.json. Rebuild this "
                  f"report from the committed records: `{self.report_command}`."]
        self.results.mkdir(parents=True, exist_ok=True)
        (self.results / "CHUNKS.md").write_text("\n".join(lines) + "\n")
        return "\n".join(lines)


def run_record(command: list[str], runs: int, started: str, wall_s: float) -> dict:
    """What a committed set of runs keeps beside its records: the command, its runs, start, wall time, commit,
    machine and package versions."""
    return {"runs": runs, "command": shown(command), "started": started, "wall_min": round(wall_s / 60, 1),
            "git": git_description(), "machine": machine(), "packages": package_versions()}


def replace_readme_block(path: Path, begin: str, end: str, text: str) -> None:
    """Rewrites the text between the begin and end markers of a README; a README without them is left alone."""
    if not path.exists():
        return
    old = path.read_text()
    if begin not in old or end not in old:
        return
    head, rest = old.split(begin, 1)
    path.write_text(head + begin + "\n" + text + "\n" + end + rest.split(end, 1)[1])


def resumed_note(chunk: dict) -> str:
    """CHUNKS.md's mark on a chunk whose runs were resumed: its wall time is then the last invocation's only, and an
    envpool run restarts its environments from a reset when it resumes (so it is not the uninterrupted run)."""
    n = chunk.get("resumed_runs", 0)
    return f" (last part; {n} runs resumed, each run's meta.json lists its starts)" if n else ""


def chunk_main(argv: list[str] | None, description: str, tasks: tuple[str, ...], store: ChunkStore,
               train_command: Callable[[str, tuple[int, ...], Path, int, list[str]], list[str]],
               report: Callable[[], int], runs_per_seed: int) -> int:
    """The command line of a chunked comparison: --chunk TASK [--seeds], --next, --report, --dry-run."""
    parser = argparse.ArgumentParser(description=description)
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--chunk", choices=tasks, help="run one task's chunk")
    which.add_argument("--next", action="store_true", help="run the first task with a missing seed")
    which.add_argument("--report", action="store_true", help="the report from the committed chunks")
    parser.add_argument("--seeds", default=",".join(map(str, SEEDS)), help="seeds of the chunk (default 1,2,3)")
    parser.add_argument("--jobs", type=int, default=2, help="populations trained at once (default 2)")
    parser.add_argument("--dry-run", action="store_true", help="print the command only")
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides, e.g. hydra/launcher=slurm")
    args = parser.parse_args(argv)
    if args.report:
        return report()
    seeds = tuple(int(s) for s in args.seeds.split(","))
    task = args.chunk
    if args.next:
        gaps = store.missing(tasks)
        if not gaps:
            print(f"# every chunk is committed; {store.report_command}")
            return 0
        task, seeds = gaps[0][0], tuple(s for t, s in gaps if t == gaps[0][0])
    out = Path("outputs") / store.results.name / chunk_name(task, seeds)
    command = train_command(task, seeds, out, args.jobs, args.overrides)
    if args.dry_run:
        print(f"$ {shown(command)}")
        return 0
    return store.run(task, seeds, command, out, runs_per_seed * len(seeds))


def run_then_report(argv: list[str] | None, description: str, run: Callable[[], int], report: Callable[[], int],
                    run_help: str) -> int:
    """The command line of a one-off experiment beside the chunked ones: --run runs it, then (or alone) the report
    is rebuilt from its committed records."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--run", action="store_true", help=run_help)
    args = parser.parse_args(argv)
    if args.run and run() != 0:
        return 1
    return report()
