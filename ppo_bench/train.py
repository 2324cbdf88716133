"""Command line: `python -m ppo_bench.train [-m] key=value ...` (Hydra). Hydra stays here, at the edge.

Every job of the command is composed and checked before Hydra starts, so bad input stops with one line and a
non-zero exit before any folder is made or any job runs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import hydra
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ppo_bench.checkpoint import existing_run
from ppo_bench.envs import check_env
from ppo_bench.loop import train
from ppo_bench.settings import ConfigError, TrainSettings, settings_from_dict

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"
GROUPS = ("objective", "env", "details", "logger")


def to_settings(cfg: DictConfig) -> TrainSettings:
    settings = settings_from_dict(OmegaConf.to_container(cfg, resolve=True))
    check_env(settings.env)
    return settings


def _options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


def _job_overrides(args: list[str]) -> tuple[list[list[str]], bool]:
    """The override list of every job the command line launches (a sweep expands to its cartesian product)."""
    multirun = any(a in ("-m", "--multirun") for a in args)
    overrides = [a for a in args if not a.startswith("-")]
    parsed = OverridesParser.create().parse_overrides(overrides)
    jobs: list[list[str]] = [[]]
    for override in parsed:
        if override.is_hydra_override() or override.key_or_group.startswith("hydra"):
            continue
        values = [str(v) for v in override.sweep_string_iterator()] if override.is_sweep_override() else \
            [override.get_value_element_as_str()]
        key = override.get_key_element()
        jobs = [job + [f"{key}={v}"] for job in jobs for v in values]
    return jobs, multirun


def check_command_line(args: list[str]) -> None:
    """Composes and checks every job of the command line; raises ConfigError on the first bad one."""
    try:
        jobs, multirun = _job_overrides(args)
    except (HydraException, OmegaConfBaseException) as error:
        raise ConfigError(f"command line: {str(error).splitlines()[0]}") from None
    hydra_overrides = [a for a in args if a.startswith("hydra.") or a.startswith("hydra/")]
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        for job in jobs:
            for item in job:
                key, _, value = item.partition("=")
                if key in GROUPS and value not in _options(key):
                    raise ConfigError(f"{key}={value}: unknown; allowed: {', '.join(_options(key))}")
            try:
                cfg = compose("config", overrides=job + hydra_overrides, return_hydra_config=True)
            except (HydraException, OmegaConfBaseException) as error:
                raise ConfigError(str(error).splitlines()[0]) from None
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
            return Path(str(OmegaConf.select(cfg, "hydra.sweep.dir"))) / str(OmegaConf.select(cfg, "hydra.sweep.subdir"))
        return Path(str(OmegaConf.select(cfg, "hydra.run.dir")))
    except OmegaConfBaseException:
        return None


def _check_output_folder(out: Path, field: str) -> None:
    existing = out
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"{field}={out}: {existing} is not a writable folder; choose a writable output folder")


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> None:
    hydra_cfg = HydraConfig.get()
    run_dir = Path(hydra_cfg.runtime.output_dir)
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
    main()


if __name__ == "__main__":
    cli()
