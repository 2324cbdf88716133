"""Command line: `python -m ppo_bench.train [-m] key=value ...` (Hydra). Hydra stays here, at the edge.

Every job of the command is composed and checked before Hydra starts, so bad input stops with one line and a
non-zero exit before any folder is made or any job runs.
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
import sys
from pathlib import Path

import hydra
from hydra import initialize_config_dir
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from hydra.errors import HydraException
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ppo_bench.checkpoint import checkpoint_step, existing_run
from ppo_bench.envs import check_env
from ppo_bench.loop import Terminated, train
from ppo_bench.record import read_status
from ppo_bench.settings import ConfigError, TrainSettings, settings_from_dict, settings_to_dict

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"
GROUPS = ("objective", "env", "details", "logger")
BASIC_SWEEPER = f"{BasicSweeper.__module__}.{BasicSweeper.__name__}"


def to_settings(cfg: DictConfig) -> TrainSettings:
    settings = settings_from_dict(OmegaConf.to_container(cfg, resolve=True))
    check_env(settings.env)
    return settings


def compose_settings(*overrides: str) -> TrainSettings:
    """The checked settings of one run of `python -m ppo_bench.train <overrides>`, without running it."""
    from hydra import compose

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return to_settings(compose("config", overrides=list(overrides)))


def _options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


def _check_choices(overrides: list[str]) -> None:
    """A config group choice must name one of its files (Hydra's own message for this spans many lines)."""
    for item in overrides:
        key, _, value = item.partition("=")
        if key in GROUPS and value not in _options(key):
            raise ConfigError(f"{key}={value}: unknown; allowed: {', '.join(_options(key))}")


def _expand(master: DictConfig, parsed: list[Override]) -> list[list[str]]:
    """The override list of every job, as Hydra's basic sweeper expands them (globs, ranges, choices, lists and
    the sweeper's `params`). A sweeper plugin picks its jobs while it runs: only what they share is checked here."""
    if OmegaConf.select(master, "hydra.sweeper._target_") != BASIC_SWEEPER:
        return [[o.input_line for o in parsed if not o.is_sweep_override()]]
    params = OmegaConf.select(master, "hydra.sweeper.params") or {}
    loader = GlobalHydra.instance().config_loader()
    parsed = OverridesParser.create(config_loader=loader).parse_overrides([f"{k}={v}" for k, v in params.items()]) \
        + parsed
    return [job for batch in BasicSweeper.split_arguments(parsed, None) for job in batch]


def check_command_line(args: list[str]) -> None:
    """Composes and checks every job of the command line with Hydra's own config loader and sweeper; raises
    ConfigError on the first bad one."""
    multirun = any(a in ("-m", "--multirun") for a in args)
    overrides = [a for a in args if not a.startswith("-")]
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            loader = GlobalHydra.instance().config_loader()
            parsed = OverridesParser.create(config_loader=loader).parse_overrides(overrides)
            task = [o for o in parsed if not o.is_hydra_override()]
            _check_choices([o.input_line for o in task if not o.is_sweep_override()])
            master = loader.load_configuration("config", overrides, RunMode.MULTIRUN if multirun else RunMode.RUN)
            jobs = _expand(master, task) if multirun else [[o.input_line for o in task]]
            if not jobs:
                sweeps = " ".join(o.input_line for o in task if o.is_sweep_override())
                raise ConfigError(f"command line: the sweep {sweeps} expands to no job (a glob that matches no "
                                  "option, or an empty range); nothing was run")
            for job in jobs:
                _check_choices(job)
                _check_job(loader.load_sweep_config(master, job), multirun)
    except (HydraException, OmegaConfBaseException) as error:
        message = str(error).strip().splitlines()[0]
        unknown = re.match(r"Could not override '([^']+)'", message)
        if unknown:
            raise ConfigError(_unknown_key(unknown.group(1))) from None
        raise ConfigError(f"command line: {message}") from None


def _setting_keys(values: dict, prefix: str = "") -> list[str]:
    """Every settable key as a dotted path (env.id, details.obs_clip, ...)."""
    keys = []
    for name, value in values.items():
        keys += _setting_keys(value, f"{prefix}{name}.") if isinstance(value, dict) else [f"{prefix}{name}"]
    return keys


def _unknown_key(key: str) -> str:
    """One line naming an override key that is no setting, with the closest settings."""
    keys = [k for k in _setting_keys(settings_to_dict(TrainSettings())) if not k.endswith((".name", ".title"))]
    close = difflib.get_close_matches(key, keys, n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(close)}?" if close else "see ppo_bench/settings.py for the settings"
    return f"{key}: no such setting; {hint}"


def _check_job(cfg: DictConfig, multirun: bool) -> None:
    settings = to_settings(OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"]))
    run_dir = _job_folder(cfg, multirun)
    if run_dir is not None:
        _check_output_folder(run_dir, "hydra.sweep.dir" if multirun else "hydra.run.dir")
        existing_run(run_dir, settings)  # the same run continues; a different one is refused


def _job_folder(cfg: DictConfig, multirun: bool) -> Path | None:
    """The job's run folder as Hydra will name it (None when it depends on what only the launch knows)."""
    HydraConfig.instance().set_config(cfg)
    try:
        if multirun:
            sweep_dir, subdir = OmegaConf.select(cfg, "hydra.sweep.dir"), OmegaConf.select(cfg, "hydra.sweep.subdir")
            return Path(str(sweep_dir)) / str(subdir)
        return Path(str(OmegaConf.select(cfg, "hydra.run.dir")))
    except OmegaConfBaseException:
        return None


def _check_output_folder(out: Path, field: str) -> None:
    existing = out
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"{field}={out}: {existing} is not a writable folder; choose a writable output folder")


_started: list[Path] = []  # the run folder of a single run once it is known (Hydra forgets it when the job ends)


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def main(cfg: DictConfig) -> None:
    hydra_cfg = HydraConfig.get()
    run_dir = Path(hydra_cfg.runtime.output_dir)
    _started.append(run_dir)
    group = Path(hydra_cfg.sweep.dir).name if hydra_cfg.mode == RunMode.MULTIRUN else run_dir.name
    try:
        status = train(to_settings(cfg), run_dir, group)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    print(f"{status}: {run_dir}")


def cli() -> None:
    args = sys.argv[1:]
    if not any(a in ("--help", "-h", "--info", "--cfg", "-c", "--hydra-help", "--shell-completion", "-sc")
               or a.startswith("--info") or a.startswith("--cfg") for a in args):
        try:
            check_command_line(args)
        except ConfigError as error:
            print(f"error: {error}", file=sys.stderr)
            raise SystemExit(2) from None
    try:
        main()
    except (KeyboardInterrupt, Terminated) as stop:
        print(_stopped_line(args), file=sys.stderr)
        raise SystemExit(130 if isinstance(stop, KeyboardInterrupt) else 143) from None


def _stopped_line(args: list[str]) -> str:
    """One line for a command stopped by Ctrl-C or SIGTERM: what was kept, and the one command that resumes it."""
    if not HydraConfig.initialized():
        return "interrupted before any run started; nothing was saved"
    hydra_cfg = HydraConfig.get()
    if hydra_cfg.mode == RunMode.MULTIRUN:
        folder, field = Path(hydra_cfg.sweep.dir), "hydra.sweep.dir"
        kept = f"the run folders in {_shown(folder)} keep their records and checkpoints"
    elif not _started:
        return "interrupted before the run started; nothing was saved"
    else:
        folder, field = _started[-1], "hydra.run.dir"
        status = read_status(folder)
        kept = "no run had started" if status is None else \
            f"{_shown(folder)} keeps its record to env step {status['global_step']} (status {status['status']}) " \
            f"and a checkpoint at env step {checkpoint_step(folder)}"
    command = ["python", "-m", "ppo_bench.train", *[a for a in args if not a.startswith(f"{field}=")],
               f"{field}={_shown(folder)}"]
    return f"interrupted: {kept}; resume with: {shlex.join(command)}"


def _shown(folder: Path) -> str:
    """The folder relative to the working directory when it lies inside it (as Hydra's defaults do)."""
    try:
        return str(folder.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(folder)


if __name__ == "__main__":
    cli()
