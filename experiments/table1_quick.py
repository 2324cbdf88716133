"""A reduced Table 1 that finishes in about 40 minutes on 2 cores: the same machinery as experiments.table1.

    make table1-quick    (or: python -m experiments.table1_quick [--out results/table1_quick] [--sweep-dir DIR]
                                                                 [--jobs 2] [--dry-run] [hydra overrides...])
    python -m experiments.table1_quick --regenerate      # the report again from the committed run records only

The reduction, and why:
- all 7 tasks: the normalised score is an average over tasks, and the paper's headline (no clipping below the random
  policy) comes from one task, HalfCheetah; dropping tasks changes what the score means more than anything else.
- 6 of the 11 settings, every family represented: no clipping; clipping ε = 0.1, 0.2, 0.3 (the paper's main finding
  is this row group against the first row); fixed KL β = 1; adaptive KL d_targ = 0.01 (the paper's best adaptive row,
  and the β = 1 start every adaptive row shares). The other fixed/adaptive values differ from these by at most 0.1
  in the paper, well inside what 2 seeds can resolve.
- seeds 1, 2: the fewest that give a spread (bootstrap intervals over seeds).
- 90,000 env steps per run (44 rollouts of 2048 = 90,112): the most that fits. Measured here before choosing (20k-step
  runs, two jobs on the two cores): one run steps ~1,700-2,600 env steps/s (Walker2d and Hopper slowest,
  InvertedPendulum fastest; ~1,300-1,700 while another process held a core), ~4,000 env steps/s for the machine,
  plus ~10 s of start-up per multirun and a few seconds per run (wandb offline, policy save). 84 runs × 90k = 7.6M
  steps ≈ 35 min at full speed, ~40 min with the CPU shared at times; ~150k steps would be ~60 min.
  What 90k steps costs: most tasks are early in learning (the paper's 1M-step numbers are out of reach), and on the
  tasks with 1000-step episodes (HalfCheetah, Swimmer) "the last 100 episodes" is every episode of the run, so their
  scores are whole-run averages. The scoring rule is the paper's all the same (analysis.table1 defaults).

Writes, by default:
- outputs/table1_quick/<timestamp>/{none,clip,kl_fixed,kl_adaptive}/: the raw run folders (not committed);
- results/table1_quick/: the report (report.md, report.html, table1.{md,tex,csv}, table1_per_task.csv,
  table1_runs.csv = one row per run with its raw and normalised score, figures/*.png (re-encoded as palette PNGs
  to keep the folder small; report.html embeds them) and *.pdf), RUN.md (the command,
  machine, package versions, wall time, git commit, measured env steps/s), and runs.tar.xz: every run's
  config.yaml, status.json, meta.json, episodes.csv and metrics.csv (no policy weights, checkpoints or wandb files;
  ~1.5 MB), which is all analysis.report reads, so `--regenerate` rebuilds the whole report (table, per-task,
  per-run scores, figures) from it alone.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from experiments.sweep import TASKS, Sweep, run_sweep, shown, timestamp
from ppo_bench.provenance import git_description, machine, package_versions

FAMILIES: dict[str, list[str]] = {"table1": ["objective=none,clip0.1,clip0.2,clip0.3,kl_fixed1,kl_adaptive0.01"]}
SEEDS = (1, 2)
STEPS = 90_000
RECORD_FILES = ("config.yaml", "status.json", "meta.json", "episodes.csv", "metrics.csv")
ROOT = Path(__file__).resolve().parent.parent


def archive_runs(sweep_dir: Path, target: Path) -> int:
    """Writes the run records (RECORD_FILES of every run folder under sweep_dir) to target as runs/<relative path>;
    returns the number of runs archived."""
    folders = sorted(p.parent for p in sweep_dir.rglob("status.json"))
    with tarfile.open(target, "w:xz", preset=9) as tar:
        for folder in folders:
            for name in RECORD_FILES:
                if (folder / name).exists():
                    arcname = str(Path("runs") / folder.relative_to(sweep_dir) / name)
                    if name == "meta.json":  # the machine's absolute paths stay on the machine
                        data = json.dumps(portable_meta(json.loads((folder / name).read_text())), indent=2).encode()
                        info = tarfile.TarInfo(arcname)
                        info.size, info.mtime = len(data), int((folder / name).stat().st_mtime)
                        tar.addfile(info, io.BytesIO(data))
                    else:
                        tar.add(folder / name, arcname=arcname)
    return len(folders)


def unpack_runs(archive: Path, into: Path) -> Path:
    """Unpacks an archive written by archive_runs into `into`; returns its runs folder (into/runs)."""
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into / "runs"


def portable_meta(meta: dict) -> dict:
    """meta.json with relative paths: each invocation's interpreter as `python`, paths inside its working
    directory relative to it, the working directory itself as `.` (also for each resumed attempt)."""
    def portable(invocation: dict) -> dict:
        cwd = invocation.get("cwd")
        command = list(invocation.get("command", []))
        if command:
            command[0] = "python"
        if cwd:
            command = [os.path.relpath(a, cwd) if a.startswith(cwd + os.sep) else a for a in command]
        return {**invocation, "command": command, **({"cwd": "."} if cwd else {})}

    out = portable(meta)
    if "resumed" in meta:
        out["resumed"] = [portable(attempt) for attempt in meta["resumed"]]
    return out


def measured_sps(sweep_dir: Path) -> tuple[str, float, float]:
    """(Markdown table of mean env steps/s per task, mean per-run env steps/s, total env steps) from the run records."""
    from analysis.runs import load_runs

    runs, _, metrics = load_runs(sweep_dir)
    last = metrics.sort_values("iteration").groupby("run_id").tail(1)
    per_run = (last["global_step"] / last["wall_time"]).rename("sps")
    frame = last.assign(sps=per_run)
    by_env = frame.groupby("env")["sps"].agg(["mean", "min", "max", "count"])
    lines = ["| task | runs | env steps/s per run: mean (min-max) |", "|---|---|---|"]
    lines += [f"| {env} | {int(r['count'])} | {r['mean']:.0f} ({r['min']:.0f}-{r['max']:.0f}) |"
              for env, r in by_env.iterrows()]
    return "\n".join(lines), float(per_run.mean()), float(last["global_step"].sum())


def _load(value: float) -> str:
    return "not recorded" if value != value else f"{value:.2f}"  # NaN: an invocation logged by hand


def run_commits(sweep_dir: Path) -> str:
    """Markdown table: family, git commit, dirty flag, number of runs, from every run's meta.json."""
    counts: dict[tuple[str, str, str], int] = {}
    for path in sorted(sweep_dir.glob("*/*/meta.json")):
        meta = json.loads(path.read_text())
        key = (path.parent.parent.name, str(meta.get("git_commit")), "dirty" if meta.get("git_dirty") else "clean")
        counts[key] = counts.get(key, 0) + 1
    lines = ["| family | commit | tree | runs |", "|---|---|---|---|"]
    return "\n".join(lines + [f"| {f} | {c[:10]} | {d} | {n} |" for (f, c, d), n in counts.items()])


def write_run_md(out: Path, commands: list[str], sweep: Sweep, code: int) -> None:
    table, sps, steps = measured_sps(sweep.out)
    info = machine()
    calls = [json.loads(line) for line in (sweep.out / "invocations.jsonl").read_text().splitlines() if line.strip()]
    wall = sum(c["wall_s"] for c in calls)
    md = ["# table1_quick: how this was made\n",
          "## Command\n", "```", *[c["command"] for c in calls], "```\n",
          "which ran (each printed before it ran):\n", "```", *commands, "```\n",
          f"Exit code of the last invocation: {code}. Raw run folders: `{sweep.out}` (not committed).\n",
          "## Reduction\n",
          f"{len(sweep.tasks)} tasks × 6 settings × seeds {', '.join(map(str, sweep.seeds))} × {sweep.steps} env "
          f"steps per run (rounded up to whole 2048-step rollouts): {sweep.n_runs} runs. Reasons: module docstring "
          "of experiments/table1_quick.py.\n",
          "## Wall time\n",
          "| started | command | wall | exit | load avg (1 min) start → end |", "|---|---|---|---|---|",
          *[f"| {c['started']} | `{c['command']}` | {c['wall_s'] / 60:.1f} min | {c['exit']} | "
            f"{_load(c['load_start'])} → {_load(c['load_end'])} |" for c in calls], "",
          f"Total {wall / 60:.1f} min of wall time, {steps / 1e6:.2f}M env steps in the scored runs: "
          f"{steps / wall:.0f} env steps/s for the machine including start-up, report and any rerun. Mean over runs "
          f"of each run's own env steps/s: {sps:.0f}. Other processes shared the 2 cores at times (load averages "
          "above 2).\n",
          table + "\n",
          "## Machine\n", *[f"- {k}: {v}" for k, v in info.items()], "",
          "## Packages\n", *[f"- {k} {v}" for k, v in package_versions().items()], "",
          "## Code\n", f"git commit of the harness when the report was made: {git_description()}. Each run's own "
          "commit and dirty flag are in its meta.json (in runs.tar.xz):\n",
          run_commits(sweep.out) + "\n",
          "## Regenerating\n",
          "`runs.tar.xz` holds every run's config.yaml, status.json, meta.json, episodes.csv and metrics.csv, which is "
          "everything analysis.report reads. To rebuild this report (Table 1, per-task table, per-run scores, "
          "figures) from it alone:\n", "```", "python -m experiments.table1_quick --regenerate", "```",
          "or by hand:\n", "```", "mkdir -p outputs/t1q && tar xJf results/table1_quick/runs.tar.xz -C outputs/t1q",
          "python -m analysis.report outputs/t1q/runs --out outputs/t1q/report", "```\n",
          "`table1_runs.csv` is the compact per-run score table (raw score = mean of the last 100 training episodes, "
          "baseline, best, normalised); Table 1 is the mean over tasks of the mean over seeds of `normalised`.\n"]
    (out / "RUN.md").write_text("\n".join(md))


def compact_figures(out: Path) -> int:
    """Re-encodes the report's PNG figures as 256-colour palette PNGs (line plots lose nothing visible; ~60% smaller)
    and rewrites report.html, which embeds them; returns the bytes saved. The PDFs stay as they are (vector)."""
    from PIL import Image

    from analysis.report import markdown_to_html

    saved = 0
    for path in sorted((out / "figures").glob("*.png")):
        before = path.stat().st_size
        with Image.open(path) as image:
            palette = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                                    dither=Image.Dither.NONE)
        palette.save(path, optimize=True)
        saved += before - path.stat().st_size
    if (out / "report.md").exists():
        (out / "report.html").write_text(markdown_to_html((out / "report.md").read_text(), out))
    return saved


def regenerate(out: Path) -> int:
    archive = out / "runs.tar.xz"
    with tempfile.TemporaryDirectory() as tmp:
        unpack_runs(archive, Path(tmp))
        command = [sys.executable, "-m", "analysis.report", str(Path(tmp) / "runs"), "--out", str(out),
                   f"--label={Path(tmp) / 'runs'}={archive}:runs"]
        print(f"$ {shown(command)}", flush=True)
        code = subprocess.run(command).returncode
    if code == 0:
        compact_figures(out)
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Reduced Table 1 (7 tasks × 6 settings × 2 seeds × 90k steps, "
                                                 "~40 min on 2 cores)")
    parser.add_argument("--out", type=Path, default=Path("results/table1_quick"),
                        help="report, RUN.md and runs.tar.xz (default results/table1_quick)")
    parser.add_argument("--sweep-dir", type=Path, default=None,
                        help="raw run folders (default outputs/table1_quick/<timestamp>)")
    parser.add_argument("--jobs", type=int, default=2, help="joblib workers (default 2)")
    parser.add_argument("--steps", type=int, default=STEPS, help=f"env steps per run (default {STEPS})")
    parser.add_argument("--dry-run", action="store_true", help="print the commands only")
    parser.add_argument("--resume", action="store_true",
                        help="with --sweep-dir of an interrupted quick sweep: skip finished families, rerun the rest")
    parser.add_argument("--regenerate", action="store_true",
                        help="rebuild the report in --out from --out/runs.tar.xz only (no training)")
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides for every multirun")
    args = parser.parse_args(argv)
    if args.regenerate:
        return regenerate(args.out)

    sweep = Sweep(out=args.sweep_dir or Path("outputs/table1_quick") / timestamp(), families=FAMILIES, tasks=TASKS,
                  seeds=SEEDS, steps=args.steps, jobs=args.jobs, extra=tuple(args.overrides))
    invocation = shown([sys.executable, "-m", "experiments.table1_quick",
                        *(argv if argv is not None else sys.argv[1:])])
    commands = [shown(sweep.train_command(f)) for f in sweep.families] + [shown(sweep.report_command(args.out))]
    if not args.dry_run and (args.out / "RUN.md").exists():  # an earlier quick run: start fresh, no stale files
        shutil.rmtree(args.out)
    load_start, started = os.getloadavg()[0], time.strftime("%Y-%m-%d %H:%M:%S")
    code, wall = run_sweep(sweep, dry_run=args.dry_run, resume=args.resume, report_dir=args.out)
    if args.dry_run:
        return code
    with open(sweep.out / "invocations.jsonl", "a") as log:  # every invocation that worked on this sweep folder
        log.write(json.dumps({"command": invocation, "started": started, "wall_s": round(wall, 1), "exit": code,
                              "load_start": load_start, "load_end": os.getloadavg()[0]}) + "\n")
    if args.out.exists():
        compact_figures(args.out)
        n = archive_runs(sweep.out, args.out / "runs.tar.xz")
        write_run_md(args.out, commands, sweep, code)
        print(f"# {n} run records -> {args.out / 'runs.tar.xz'}; {args.out / 'RUN.md'}")
    print(f"# wall time {wall / 60:.1f} min")
    return code


if __name__ == "__main__":
    sys.exit(main())
