"""`hydra/launcher=fused`: the jobs of a sweep that differ only in seed and objective train together as one
population (K members in one process, batched matmuls, K×n environments stepped together), populations in parallel.

    python -m ppo_bench.train -m hydra/launcher=fused env=hopper,walker2d objective=clip,none seed=1,2,3

Each job is first resolved by Hydra exactly as any launcher would (config, output folder from its overrides), so
every member writes the same run folder and wandb run a solo job would. Jobs are then grouped by their run identity
but for seed, objective and the per-member details (ppo_bench.identity.population_identity; when a sweep is rerun
to resume it, also by the checkpoint iteration the members can continue from together; finished members are
skipped); a group is cut into populations of at most `max_members`, and cut further until there are at least
`n_jobs` populations to keep every worker busy. Populations run in `n_jobs` processes.
"""

import logging
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import JobReturn, JobStatus, configure_log, filter_overrides, run_job, setup_globals
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, open_dict

log = logging.getLogger(__name__)


@dataclass
class FusedLauncherConf:
    _target_: str = "hydra_plugins.ppo_bench_fused.fused_launcher.FusedLauncher"
    n_jobs: int = 2
    """Populations trained at once, one process each (one per core is fastest)."""
    max_members: int = 33
    """Most members in one population (33 = Table 1's 11 settings × 3 seeds)."""


ConfigStore.instance().store(group="hydra/launcher", name="fused", node=FusedLauncherConf, provider="ppo_bench")


@dataclass
class _Job:
    index: int
    settings: Any  # ppo_bench.settings.TrainSettings
    run_dir: Path
    group: str
    job_return: JobReturn


def resumable_together(members: list[int], run_dirs: list[Path]) -> list[list[int]]:
    """Members that can continue as one population: all of them when they share a checkpoint iteration (a
    population stopped together), else those whose latest checkpoints are at the same iteration."""
    from ppo_bench.checkpoint import checkpoint_iterations, common_checkpoints

    if common_checkpoints([run_dirs[i] for i in members]) is not None:
        return [members]
    parts: dict[int, list[int]] = defaultdict(list)
    for i in members:
        parts[max(checkpoint_iterations(run_dirs[i]))].append(i)
    return list(parts.values())


def split_populations(groups: list[list[int]], max_members: int, n_jobs: int) -> list[list[int]]:
    """Cuts each group into populations of at most max_members, then halves the largest until there are at least
    n_jobs populations (or all are single members)."""
    populations = []
    for members in groups:
        pieces = math.ceil(len(members) / max_members)
        size = math.ceil(len(members) / pieces)
        populations += [members[i:i + size] for i in range(0, len(members), size)]
    while len(populations) < n_jobs and max(map(len, populations)) > 1:
        largest = max(populations, key=len)
        populations.remove(largest)
        half = math.ceil(len(largest) / 2)
        populations += [largest[:half], largest[half:]]
    return populations


def _train_population(settings: list, run_dirs: list[Path], group: str) -> list[str]:
    from ppo_bench.loop import train_population

    return train_population(settings, run_dirs, group)


class FusedLauncher(Launcher):
    def __init__(self, n_jobs: int = 2, max_members: int = 33) -> None:
        self.n_jobs, self.max_members = n_jobs, max_members
        self.config: Optional[DictConfig] = None
        self.hydra_context: Optional[HydraContext] = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config, self.hydra_context = config, hydra_context

    def resolve_job(self, index: int, overrides: Sequence[str]) -> _Job:
        """Lets Hydra resolve the job's config and output folder, with a task function that only records them."""
        from ppo_bench.train import to_settings

        config = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
        with open_dict(config):
            config.hydra.job.id = config.hydra.job.num = index
        seen: dict[str, Any] = {}

        def record(cfg: DictConfig) -> None:
            hydra_cfg = HydraConfig.get()
            seen.update(settings=to_settings(cfg), run_dir=Path(hydra_cfg.runtime.output_dir),
                        group=Path(hydra_cfg.sweep.dir).name)

        job_return = run_job(hydra_context=self.hydra_context, task_function=record, config=config,
                             job_dir_key="hydra.sweep.dir", job_subdir_key="hydra.sweep.subdir",
                             configure_logging=False)
        if job_return.status == JobStatus.FAILED:
            raise job_return.return_value
        return _Job(index, seen["settings"], seen["run_dir"], seen["group"], job_return)

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        from joblib import Parallel, delayed

        setup_globals()
        configure_log(self.config.hydra.hydra_logging, self.config.hydra.verbose)
        Path(str(self.config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)
        jobs = [self.resolve_job(initial_job_idx + i, o) for i, o in enumerate(job_overrides)]
        from ppo_bench.identity import population_identity

        groups: dict[Any, list[int]] = defaultdict(list)
        for i, job in enumerate(jobs):
            groups[population_identity(job.settings)].append(i)
        run_dirs = [job.run_dir for job in jobs]
        groups = [part for members in groups.values() for part in resumable_together(members, run_dirs)]
        populations = split_populations(groups, self.max_members, self.n_jobs)
        log.info(f"Fusing {len(jobs)} jobs into {len(populations)} populations of sizes "
                 f"{[len(p) for p in populations]}, {self.n_jobs} at a time")
        for population in populations:
            for i in population:
                log.info(f"\t#{jobs[i].index} : {' '.join(filter_overrides(job_overrides[i]))}")
        outcomes = Parallel(n_jobs=self.n_jobs, backend="loky")(
            delayed(_train_population)([jobs[i].settings for i in p], [jobs[i].run_dir for i in p], jobs[p[0]].group)
            for p in populations)
        for population, statuses in zip(populations, outcomes):
            for i, status in zip(population, statuses):
                jobs[i].job_return.return_value = status
                jobs[i].job_return.status = JobStatus.COMPLETED
                print(f"{status}: {jobs[i].run_dir}")
        return [job.job_return for job in jobs]
