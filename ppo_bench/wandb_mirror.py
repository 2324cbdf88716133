"""wandb as a mirror of the run folder: one wandb run per member, env steps as the x-axis.

A wandb failure never stops training: the mirror warns once, turns itself off, and the local record goes on.
"""

from __future__ import annotations

import netrc
import os
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ppo_bench.settings import LoggerSettings


def has_credentials() -> bool:
    """True when wandb could log in without asking: WANDB_API_KEY, or a netrc entry for the wandb host."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    host = urlparse(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")).hostname
    try:
        return netrc.netrc().authenticators(host) is not None
    except (OSError, netrc.NetrcParseError):
        return False


def resolve_mode(mode: str) -> str:
    if mode == "auto":
        return "online" if has_credentials() else "offline"
    return mode


class WandbMirror:
    """Mirrors one run folder to one wandb run."""

    def __init__(self, logger: LoggerSettings, run_dir: Path, name: str, group: str, tags: list[str],
                 config: dict[str, Any], run_id: str | None = None):
        """run_id continues that wandb run (a resumed run folder); None starts a new one."""
        self.run = None
        mode = resolve_mode(logger.mode)
        if mode == "disabled":
            return
        try:
            import wandb

            self.run = wandb.init(project=logger.project, entity=logger.entity, group=group, name=name, tags=tags,
                                  config=config, dir=str(run_dir), mode=mode, reinit="create_new",
                                  id=run_id, resume="allow" if run_id else None,
                                  settings=wandb.Settings(silent=True, console="off"))
            self.run.define_metric("global_step")
            self.run.define_metric("*", step_metric="global_step")
            if logger.mode == "auto" and mode == "offline":
                print(f"wandb: no credentials, logging offline; sync later with: wandb sync {Path(self.run.dir).parent}")
        except Exception as error:  # noqa: BLE001 - any wandb failure must leave training running
            self._fail(error)

    @property
    def run_id(self) -> str | None:
        return None if self.run is None else self.run.id

    def _fail(self, error: Exception) -> None:
        warnings.warn(f"wandb disabled for this run after an error ({type(error).__name__}: {error}); "
                      "the run folder keeps the full record", stacklevel=3)
        self.run = None

    def log(self, values: dict[str, Any]) -> None:
        if self.run is None:
            return
        try:
            self.run.log(values)
        except Exception as error:  # noqa: BLE001
            self._fail(error)

    def finish(self, status: str) -> None:
        if self.run is None:
            return
        try:
            self.run.summary["status"] = status
            self.run.finish(exit_code=0 if status == "finished" else 1)
        except Exception as error:  # noqa: BLE001
            self._fail(error)
        self.run = None
