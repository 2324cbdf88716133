"""Figure 3 of the PPO paper in chunks: the baseline algorithms (TRPO, vanilla PG with adaptive stepsize, A2C, CEM)
on the 7 tasks × seeds 1, 2, 3 × 1M env steps, against PPO (clip, ε = 0.2) from the full Table 1's records.

    python -m experiments.figure3 --chunk hopper            # one task: 4 algorithms × 3 seeds (12 runs)
    python -m experiments.figure3 --chunk hopper --seeds 1  # one task, one seed (4 runs)
    python -m experiments.figure3 --next                    # the first chunk whose records are not committed yet
    python -m experiments.figure3 --report                  # the figure from whatever chunks are committed
    make figure3-chunk TASK=hopper / make figure3-next / make figure3-report

PPO's line is not rerun: the Table 1 chunks already hold clip ε = 0.2 on every task and seed under the same protocol
(details preset, 1M steps, envpool, the same seeds), and the report takes those runs from results/table1/records/.
One line beyond the paper's: PPO with the value loss unclipped, from the value-clip row (experiments.value_clip_row)
where it is committed.
Every algorithm keeps its release settings (conf/algo/), all else as Table 1's runs. A chunk is one ordinary fused
Hydra multirun (each algorithm's seeds one population); its records go to results/figure3/records/ as Table 1's do
(experiments.chunks). `--report` writes results/figure3/: figure3.png/.pdf (one panel per task on the paper's
y-range), final_returns.csv/.md (the Table 1 score of each run, averaged over seeds, beside the paper's read-offs)
and CHUNKS.md.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pandas as pd

from analysis.figure3 import comparison, figure3, final_returns, final_returns_markdown
from analysis.figures import save_figure
from analysis.paper_values import FIGURE3_CITATION
from analysis.runs import RunFrames, load_runs, scored
from experiments import table1, value_clip_row
from experiments.chunks import ChunkStore, chunk_main, fused_command, replace_readme_block
from experiments.sweep import TASKS

RESULTS = Path("results/figure3")
README = Path("README.md")
BEGIN, END = "<!-- figure3:begin (python -m experiments.figure3 --report) -->", "<!-- figure3:end -->"
ALGORITHMS = ("trpo", "pg", "a2c", "cem")


def train_command(task: str, seeds: tuple[int, ...], out: Path, jobs: int, extra: list[str]) -> list[str]:
    """One chunk as one fused multirun: every baseline algorithm × seeds on one task, Table 1's protocol."""
    return fused_command(task, seeds, f"algo={','.join(ALGORITHMS)}", out, jobs, extra)


def store() -> ChunkStore:
    return ChunkStore(RESULTS, "python -m experiments.figure3 --report")


def report() -> int:
    """results/figure3/ from every committed Figure 3 chunk and the clip ε = 0.2 runs of every Table 1 chunk."""
    chunks, ppo = store(), table1.store()
    if not chunks.committed() and not ppo.committed():
        print(f"# no chunk is committed yet ({chunks.records}/ and {ppo.records}/ are empty)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        folders = [*chunks.unpack(Path(tmp) / "figure3").values(), *ppo.unpack(Path(tmp) / "table1").values()]
        frames = scored(load_runs(*folders))
        if (value_clip_row.RESULTS / "runs.tar.xz").exists():
            unclipped = value_clip_row.unclipped_runs(Path(tmp) / "value_clip_row")
            frames = RunFrames(*(pd.concat(pair, ignore_index=True) for pair in zip(frames, unclipped)))
        table = final_returns(frames.runs, frames.episodes)
        RESULTS.mkdir(parents=True, exist_ok=True)
        save_figure(figure3(frames.runs, frames.episodes), RESULTS / "figure3")
    table.to_csv(RESULTS / "final_returns.csv", index=False)
    returns_and_comparison = "\n".join([final_returns_markdown(table), "", *comparison(table)])
    text = ["# Figure 3: final returns\n",
            "Mean over seeds of each run's score (mean return of its last 100 training episodes), the seeds' range "
            f"in brackets; the paper's values are approximate read-offs ({FIGURE3_CITATION}). PPO (Clip) is the "
            "clip ε = 0.2 runs of the full Table 1 (results/table1/records/); PPO (Clip), value loss unclipped, not "
            "in the paper's figure, is the same setting with details.value_clip=none (results/value_clip_row/ and "
            "results/hopper_value_clip/).\n", returns_and_comparison, "",
            "![Figure 3](figure3.png)", ""]
    (RESULTS / "final_returns.md").write_text("\n".join(text))
    replace_readme_block(README, BEGIN, END, returns_and_comparison)
    print("\n".join(text))
    print(chunks.write_chunks_md("Figure 3", TASKS))
    return 0


def main(argv: list[str] | None = None) -> int:
    return chunk_main(argv, "Figure 3 of the PPO paper in chunks (7 tasks × TRPO, PG, A2C, CEM × 3 seeds × 1M "
                      "steps; PPO from the Table 1 chunks)", TASKS, store(), train_command, report, len(ALGORITHMS))


if __name__ == "__main__":
    sys.exit(main())
