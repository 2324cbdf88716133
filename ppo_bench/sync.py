"""Uploads every offline wandb run under a folder (a sweep, a Table 1 chunk, outputs/) with one command.

    python -m ppo_bench.sync outputs/sweeps/2026-11-22_12-00-00 [--dry-run]

Finds the offline runs (<run folder>/wandb/offline-run-*) under the folder, leaves out those wandb has already
synced (it marks them with run-<id>.wandb.synced), and hands the rest to `wandb sync` in one call, so rerunning it
after a partial upload sends only what is missing. Needs credentials (`wandb login`) and a route to the server,
except with --dry-run, which only lists what would be sent.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path


def offline_runs(folder: Path) -> tuple[list[Path], list[Path]]:
    """(to sync, already synced): the offline-run-* folders under folder."""
    to_sync, synced = [], []
    for run in sorted(folder.rglob("offline-run-*")):
        if run.is_dir() and any(run.glob("run-*.wandb")):
            (synced if any(run.glob("run-*.wandb.synced")) else to_sync).append(run)
    return to_sync, synced


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a run folder, a sweep folder, or any folder above them")
    parser.add_argument("--dry-run", action="store_true", help="list what would be synced, send nothing")
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        print(f"error: folder {args.folder}: not a folder", file=sys.stderr)
        return 2
    to_sync, synced = offline_runs(args.folder)
    plural = "run" if len(to_sync) == 1 else "runs"
    print(f"{len(to_sync)} offline {plural} under {args.folder} to sync"
          + (f" ({len(synced)} already synced, skipped)" if synced else ""), flush=True)
    if not to_sync:
        return 0
    wandb_cli = Path(sys.executable).parent / "wandb"
    command = [str(wandb_cli) if wandb_cli.exists() else "wandb", "sync", *(["--dry-run"] if args.dry_run else []),
               *map(str, to_sync)]
    return subprocess.run(command).returncode


if __name__ == "__main__":
    sys.exit(main())
