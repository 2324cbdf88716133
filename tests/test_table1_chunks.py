"""experiments.table1 in chunks: a chunk's records go into the report, and the missing chunks are named."""

import json

import pandas as pd

from analysis.paper_values import TABLE1
from experiments import table1 as t1
from experiments.table1_quick import archive_runs
from tests.run_folders import write_run_folder

OBJECTIVES = {"none": (None, 0.0, None), "clip0.2": (0.2, 0.0, None), "kl_fixed1": (None, 1.0, None)}


def test_report_from_committed_chunks_names_the_missing_ones(tmp_path, monkeypatch):
    monkeypatch.setattr(t1, "RESULTS", tmp_path / "results")
    monkeypatch.setattr(t1, "RECORDS", tmp_path / "results" / "records")
    t1.RECORDS.mkdir(parents=True)
    # one chunk: half_cheetah, seeds 1-3, three settings whose last-100-episode means are 100, 700 and 400
    runs = tmp_path / "outputs" / "half_cheetah"
    for name, (eps, beta, target) in OBJECTIVES.items():
        level = {"none": 100.0, "clip0.2": 700.0, "kl_fixed1": 400.0}[name]
        for seed in (1, 2, 3):
            episodes = [(1000 * (i + 1), level + (seed - 2) * 10.0, 1000) for i in range(120)]
            write_run_folder(runs / f"{name}_{seed}", env="HalfCheetah-v5", clip_eps=eps, kl_beta=beta,
                             kl_target=target, seed=seed, episodes=episodes, total_timesteps=120_000)
    assert archive_runs(runs, t1.RECORDS / "half_cheetah.tar.xz") == 9
    (t1.RECORDS / "half_cheetah.json").write_text(json.dumps({
        "task": "half_cheetah", "seeds": [1, 2, 3], "runs": 9, "command": "python -m experiments.table1 --chunk "
        "half_cheetah", "started": "2026-11-22 15:00:00", "wall_min": 1.0, "git": "abc (clean)"}))

    assert t1.missing() == [(task, seed) for task in t1.TASKS if task != "half_cheetah" for seed in (1, 2, 3)]
    assert t1.report() == 0
    table = pd.read_csv(t1.RESULTS / "table1.csv").set_index("objective")
    random = json.loads((t1.Path("results/baselines/random/HalfCheetah-v5.json")).read_text())["mean"]
    # the best setting (clip0.2, mean 700) is 1; none is (100 - random) / (700 - random)
    assert table.loc["clip0.2", "score"] == 1.0
    assert abs(table.loc["none", "score"] - (100 - random) / (700 - random)) < 1e-9
    chunks = (t1.RESULTS / "CHUNKS.md").read_text()
    assert "| half_cheetah | half_cheetah | 1, 2, 3 | 9 | 1.0 min | 2026-11-22" in chunks
    assert "Missing (task, seed): walker2d 1" in chunks
    assert set(TABLE1) >= set(table.index)


def test_the_readme_block_is_rebuilt_from_the_reports_csvs(tmp_path, monkeypatch):
    """Per-task mean ± std over seeds (one seed: said so), the score with its interval beside the paper's, the random
    policy's returns, and the rank line; only the text between the markers changes."""
    monkeypatch.setattr(t1, "RESULTS", tmp_path)
    pd.DataFrame({"objective": ["clip0.2", "none"], "title": ["Clipping, ε = 0.2", "No clipping or penalty"],
                  "score": [1.0, -0.25], "ci_low": [0.9, float("nan")], "ci_high": [1.0, float("nan")],
                  "paper": [0.82, -0.39], "n_tasks": [2, 2]}).to_csv(tmp_path / "table1.csv", index=False)
    pd.DataFrame({"objective": ["clip0.2", "clip0.2", "none", "none"], "env": ["A-v5", "B-v5", "A-v5", "B-v5"],
                  "mean": [1234.4, -5.04, 150.0, -7.26], "std": [56.6, 0.31, float("nan"), 1.0],
                  "baseline": [-290.49, -43.3, -290.49, -43.3]}).to_csv(tmp_path / "table1_per_task.csv", index=False)
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{t1.BEGIN}\nold table\n{t1.END}\nafter\n")
    t1.update_readme(readme)
    text = readme.read_text()
    assert text.startswith(f"intro\n{t1.BEGIN}\n| setting | A-v5 return | B-v5 return | normalised, 2 tasks [95% CI] |")
    assert "| Clipping, ε = 0.2 | 1234 ± 57 | -5.0 ± 0.3 | 1.00 [0.90, 1.00] | 0.82 |" in text
    assert "| No clipping or penalty | 150 (1 seed) | -7.3 ± 1.0 | -0.25 n/a | -0.39 |" in text
    assert "| random policy (0) | -290.5 | -43.3 |  |  |" in text
    assert "Rank agreement with the paper" in text and "old table" not in text and text.endswith(f"{t1.END}\nafter\n")


def test_a_chunk_whose_runs_were_resumed_says_so(tmp_path):
    """A chunk cut short and run again resumes its runs: its record counts them and CHUNKS.md marks its wall time."""
    from experiments.chunks import ChunkStore

    out = tmp_path / "outputs"
    for name, meta in (("a", {}), ("b", {"resumed": [{"from_global_step": 4096}]})):
        write_run_folder(out / name, env="HalfCheetah-v5", clip_eps=0.2, kl_beta=0.0, kl_target=None, seed=1,
                         episodes=[(1000, 1.0, 1000)], total_timesteps=1000)
        (out / name / "meta.json").write_text(json.dumps(meta))
    store = ChunkStore(tmp_path / "results", "make report")
    assert store.run("half_cheetah", (1,), ["true"], out, expected_runs=2) == 0
    record = store.committed()["half_cheetah_seed1"]
    assert record["resumed_runs"] == 1 and (record["runs"], record["command"], record["seeds"]) == (2, "true", [1])
    assert "min (last part; 1 runs resumed" in store.write_chunks_md("T", ("half_cheetah",))
