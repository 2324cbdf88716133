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

import pandas as pd

from analysis.paper_values import TABLE1
from analysis.table1_text import agreement_text
from experiments.chunks import ChunkStore, chunk_main, fused_command, replace_readme_block
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


def report_and_readme() -> int:
    """--report: the report, then the README's Table 1 block from it."""
    code = report()
    if code == 0 and README.exists():
        update_readme(README)
    return code


README = Path("README.md")
BEGIN, END = "<!-- table1:begin (python -m experiments.table1 --report) -->", "<!-- table1:end -->"


def _mean_std(mean: float, std: float) -> str:
    digits = 0 if abs(mean) >= 100 else 1
    return f"{mean:.{digits}f} (1 seed)" if pd.isna(std) else f"{mean:.{digits}f} ± {std:.{digits}f}"


def readme_table() -> str:
    """The README's Table 1 block from results/table1/'s CSVs: per-task returns (mean ± std over seeds), the
    normalised score with its 95% interval beside the paper's, the random policy's returns, and the rank agreement."""
    table = pd.read_csv(RESULTS / "table1.csv")
    per_task = pd.read_csv(RESULTS / "table1_per_task.csv")
    tasks = sorted(per_task["env"].unique())
    n = int(table["n_tasks"].max())
    header = ["setting", *[f"{t} return" for t in tasks], f"normalised, {n} tasks [95% CI]", "paper (7 tasks)"]
    rows = []
    for r in table.itertuples(index=False):
        mine = per_task[per_task["objective"] == r.objective].set_index("env")
        cells = [_mean_std(mine.loc[t, "mean"], mine.loc[t, "std"]) if t in mine.index else "" for t in tasks]
        interval = "n/a" if pd.isna(r.ci_low) else f"[{r.ci_low:.2f}, {r.ci_high:.2f}]"
        rows.append([r.title, *cells, f"{r.score:.2f} {interval}", f"{r.paper:.2f}"])
    baselines = per_task.drop_duplicates("env").set_index("env")["baseline"]
    rows.append(["random policy (0)", *[f"{baselines[t]:.1f}" for t in tasks], "", ""])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n\n" + agreement_text(table)


def update_readme(path: Path) -> None:
    """Replaces the README's block between BEGIN and END with readme_table()."""
    replace_readme_block(path, BEGIN, END, readme_table())


def main(argv: list[str] | None = None) -> int:
    return chunk_main(argv, "Table 1 of the PPO paper in chunks (7 tasks × 11 settings × 3 seeds × 1M steps)", TASKS,
                      store(), train_command, report_and_readme, len(TABLE1))


if __name__ == "__main__":
    sys.exit(main())
