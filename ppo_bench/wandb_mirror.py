"""wandb as a mirror of the run folder: one wandb run per member, env steps as the x-axis.

A wandb failure never stops training: the mirror warns once, turns itself off, and the local record goes on. The
wandb run id is chosen here, before wandb starts, and kept even when wandb fails (e.g. its service process was
killed with the job), so a resumed run always continues the same wandb run.

With credentials but no route to the server, `wandb.init` gives up after INIT_TIMEOUT_S seconds (or
$WANDB_INIT_TIMEOUT); the run then logs offline into its run folder, to be synced later, and so does every later
run of this process (one wait and one warning per process, not per member).

What a researcher finds in the project: charts in sections (`train/`, `losses/`, `diagnostics/`, `episode/`, `eval/`;
wandb_key), all against `global_step`; the run's `job_type` is its objective (the setting), its tags the task, the
objective and the logger's tags; at the end the summary holds the run's `score` (mean return of its last 100 training
episodes, as Table 1 scores a run), `episodes`, `global_step` and `status`, so runs rank and group in the runs table.
"""

from __future__ import annotations

import functools
import os
import uuid
import warnings
from pathlib import Path
from typing import Any

import yaml

from ppo_bench.settings import DetailSettings, LoggerSettings, TrainSettings

INIT_TIMEOUT_S = 10.0
"""Seconds wandb.init may take online before the run falls back to offline logging."""

_online_failed: list[str] = []  # why online logging failed in this process (it is not tried again)


@functools.cache
def has_credentials() -> bool:
    """True when wandb itself finds credentials (WANDB_API_KEY, `wandb login`, settings) for its configured host.
    Never touches the network: unless silent, wandb.login asks the server whose key it is, to print the user name."""
    import wandb

    try:
        wandb.setup(settings=wandb.Settings(silent=True))
        return bool(wandb.login(verify=False, prompt=False))
    except Exception:  # noqa: BLE001 - malformed credentials count as none; the run logs offline
        return False


def resolve_mode(mode: str) -> str:
    if mode == "auto":
        return "online" if has_credentials() else "offline"
    return mode


TRAIN_KEYS = ("iteration", "wall_time", "sps", "learning_rate", "clip_eps")


def wandb_key(column: str) -> str:
    """The wandb key of a metrics.csv column: train/..., losses/..., diagnostics/... (global_step and keys that
    already have a section stay as they are)."""
    if column == "global_step" or "/" in column:
        return column
    if column in TRAIN_KEYS:
        return f"train/{column}"
    if column.endswith("_loss"):
        return f"losses/{column}"
    return f"diagnostics/{column}"


def _init_timeout() -> float:
    return float(os.environ.get("WANDB_INIT_TIMEOUT", INIT_TIMEOUT_S))


class WandbMirror:
    """Mirrors one run folder to one wandb run."""

    def __init__(self, logger: LoggerSettings, run_dir: Path, name: str, group: str, tags: list[str],
                 config: dict[str, Any], run_id: str | None = None, job_type: str | None = None):
        """run_id continues that wandb run (a resumed run folder); None starts a new one."""
        self.run = None
        self.run_id: str | None = run_id
        mode = resolve_mode(logger.mode)
        if mode == "disabled":
            return
        try:
            import wandb

            self.run_id = run_id or uuid.uuid4().hex[:8]
            init = dict(project=logger.project, entity=logger.entity, group=group, name=name, tags=tags,
                        job_type=job_type, config=config, dir=str(run_dir), reinit="create_new", id=self.run_id,
                        resume="allow")
            if mode == "online" and _online_failed:
                mode = "offline"
            if mode == "online":
                try:
                    self.run = wandb.init(**init, mode="online", settings=wandb.Settings(
                        silent=True, console="off", init_timeout=_init_timeout()))
                except Exception as error:  # noqa: BLE001 - no route to the server, or it refused: log offline
                    _online_failed.append(f"{type(error).__name__}: {str(error).splitlines()[0]}")
                    wandb.teardown()  # its service still holds the failed run's stream under this id
                    warnings.warn(f"wandb: cannot log online ({_online_failed[0]}); this process logs offline into "
                                  "each run folder; sync later with: wandb sync <run folder>/wandb/offline-run-*",
                                  stacklevel=2)
                    mode = "offline"
            if self.run is None:
                self.run = wandb.init(**init, mode=mode, settings=wandb.Settings(silent=True, console="off"))
            self.run.define_metric("global_step")
            self.run.define_metric("*", step_metric="global_step")
            if logger.mode == "auto" and mode == "offline" and not _online_failed:
                print("wandb: no credentials, logging offline; sync later with: "
                      f"wandb sync {Path(self.run.dir).parent}")
        except Exception as error:  # noqa: BLE001 - any wandb failure must leave training running
            self._fail(error)

    def _fail(self, error: Exception) -> None:
        warnings.warn(f"wandb disabled for this run after an error ({type(error).__name__}: {error}); "
                      "the run folder keeps the full record", stacklevel=3)
        self.run = None

    def log(self, values: dict[str, Any]) -> None:
        if self.run is None:
            return
        try:
            self.run.log({wandb_key(key): value for key, value in values.items()})
        except Exception as error:  # noqa: BLE001
            self._fail(error)

    def finish(self, status: str, summary: dict[str, Any] | None = None, policy: Path | None = None) -> None:
        """Ends the wandb run with the run's status and summary figures (score, episodes, global_step); a saved
        policy (policy.pt with its normaliser) goes with it as the artifact policy-<run id> (type model), which
        `python -m ppo_bench.replay ENTITY/PROJECT/policy-<run id>:latest` replays."""
        if self.run is None:
            return
        try:
            for key, value in (summary or {}).items():
                self.run.summary[key] = value
            self.run.summary["status"] = status
            if policy is not None and Path(policy).exists():
                import wandb

                artifact = wandb.Artifact(f"policy-{self.run_id}", type="model", metadata=dict(summary or {}))
                artifact.add_file(str(policy))
                self.run.log_artifact(artifact)
            self.run.finish(exit_code=0 if status == "finished" else 1)
        except Exception as error:  # noqa: BLE001
            self._fail(error)
        self.run = None


DETAIL_PRESETS = Path(__file__).resolve().parent.parent / "conf" / "details"


@functools.lru_cache(maxsize=None)
def _presets() -> dict[str, DetailSettings]:
    return {path.stem: DetailSettings(**yaml.safe_load(path.read_text()))
            for path in sorted(DETAIL_PRESETS.glob("*.yaml"))}


def preset_name(details: DetailSettings) -> str:
    """The name of the details preset these details equal (a tag to filter runs by), or 'custom-details'."""
    return next((name for name, preset in _presets().items() if preset == details), "custom-details")


def run_tags(settings: TrainSettings, experiment: str) -> list[str]:
    """A run's wandb tags: env id, objective, details preset, experiment (its group), then logger.tags."""
    return [settings.env.id, settings.name, preset_name(settings.details), experiment,
            *settings.logger.tags]
