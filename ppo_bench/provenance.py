"""Where a result came from: the harness's git commit, package versions and the machine. Written into every run's
meta.json and into the records of the committed experiments (experiments/), from these functions only."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = ("ppo-bench", "torch", "numpy", "gymnasium", "mujoco", "hydra-core", "hydra-joblib-launcher", "omegaconf",
            "wandb", "pandas", "matplotlib")
ROOT = Path(__file__).resolve().parent.parent


def git_state() -> dict[str, Any]:
    """Commit and dirty flag of the checkout this package runs from (None when it is not a git checkout)."""

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return {"git_commit": commit, "git_dirty": None if commit is None else bool(dirty)}


def git_description() -> str:
    """The commit with its tree state in words, e.g. '77042da9... (clean)'."""
    state = git_state()
    if state["git_commit"] is None:
        return "unknown (not a git checkout)"
    tree = "working tree dirty: uncommitted changes to tracked files" if state["git_dirty"] else "clean"
    return f"{state['git_commit']} ({tree})"


def package_versions() -> dict[str, str | None]:
    """Python's version and each of PACKAGES' (None when not installed)."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def machine() -> dict[str, str]:
    """Cores, CPU model, RAM, OS and Python of this machine."""
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")),
                 platform.processor() or "unknown")
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    kb = next((int(line.split()[1]) for line in meminfo.splitlines() if line.startswith("MemTotal")), 0)
    return {"nproc": str(os.cpu_count()), "CPU": model, "RAM": f"{kb / 2**20:.1f} GiB",
            "OS": f"{platform.system()} {platform.release()}", "Python": platform.python_version()}
