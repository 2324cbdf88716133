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
details preset is the one README.md "Table 1's protocol" argues for (experiments.chunks.DETAILS).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from analysis.paper_values import TABLE1
from experiments.chunks import ChunkStore, chunk_main, fused_command
from experiments.sweep import TASKS

RESULTS = Path("results/table1")
RECORDS = RESULTS / "records"


def train_command(task: str, seeds: tuple[int, ...], out: Path, jobs: int, extra: list[str]) -> list[str]:
    """One chunk as one fused multirun: the 11 Table 1 presets (conf/objective/) × seeds on one task."""
    return fused_command(task, seeds, f"objective={','.join(TABLE1)}", out, jobs, extra)


def store() -> ChunkStore:
    return ChunkStore(RESULTS, "python -m experiments.table1 --report")


def missing() -> list[tuple[str, int]]:
    return store().missing(TASKS)


def report() -> int:
    """The report from every committed chunk, into results/table1/; says which (task, seed) pairs are missing."""
    chunks = store()
    if not chunks.committed():
        print(f"# no chunk is committed yet ({RECORDS}/ is empty)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        folders = chunks.unpack(Path(tmp))
        command = [sys.executable, "-m", "analysis.report", *map(str, folders.values()), "--out", str(RESULTS),
                   *chunks.labels(folders)]
        code = subprocess.run(command).returncode
    print(chunks.write_chunks_md("Table 1", TASKS))
    return code


def main(argv: list[str] | None = None) -> int:
    return chunk_main(argv, "Table 1 of the PPO paper in chunks (7 tasks × 11 settings × 3 seeds × 1M steps)", TASKS,
                      store(), train_command, report, len(TABLE1))


if __name__ == "__main__":
    sys.exit(main())
