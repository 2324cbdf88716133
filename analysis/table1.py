"""Table 1: the average normalised score of each objective setting, with the paper's value beside it.

Schulman et al. 2017, section 6.1: a run's score is the average total reward of its last 100 training episodes; per
task, scores are shifted and scaled so that the random policy is 0 and the best result is 1; the normalised scores are
then averaged over tasks and seeds. The paper leaves two choices open; both are switches here:

    baseline="random"     (default) uniform random actions, read from the reference files that
                          `python -m experiments.random_baseline` writes (results/baselines/random/<env id>.json)
    baseline="untrained"  the untrained initial policy: a run's untrained return is the mean return of the episodes
                          that ended in its first iteration (global_step <= its batch size, i.e. collected by the
                          initial policy before any update; the first logged episode if none ended that early); the
                          task's baseline is the mean of that over the task's scored runs.
    best="setting_mean"   (default) the best setting's mean raw score on the task (mean over its runs)
    best="single_run"     the best single run's raw score on the task

Which runs are scored follows analysis.runs (finished and diverged; a diverged run that logged no episode is given
the task's baseline, normalised 0). A setting's score is the mean over tasks of its mean normalised score over that
task's runs: with equal seeds per task (3 in the paper) that is the paper's average over the 21 runs, and a missing
run does not change a task's weight. "Best" is taken among the settings that were loaded.

95% interval: percentile bootstrap that resamples runs (seeds) with replacement within each task for the setting
(stratified by task), 10,000 replicates of the setting score by default, with baselines and bests held fixed at their
point values. With one seed per task the interval is the point.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.paper_values import CITATION, paper_order, paper_score
from analysis.runs import not_scored
from ppo_bench.tasks import TASKS

RANDOM_BASELINE_DIR = Path(__file__).resolve().parent.parent / "results" / "baselines" / "random"
BASELINES = ("random", "untrained")
BESTS = ("setting_mean", "single_run")


class MissingBaselineError(FileNotFoundError):
    """A task has no random-policy reference file."""


# -- per-run scores ------------------------------------------------------------------------------------------------

def run_scores(runs: pd.DataFrame, episodes: pd.DataFrame, last_n: int = 100) -> pd.DataFrame:
    """One row per scored run (runs["scored"]): run_id, env, objective, title, seed, status, raw (mean return of its
    last `last_n` training episodes, NaN if it has none), n_used (episodes averaged), untrained (mean return of the
    episodes that ended within its first iteration; see the module docstring)."""
    rows = []
    for run in runs[runs["scored"]].itertuples(index=False):
        mine = episodes[episodes["run_id"] == run.run_id].sort_values("global_step", kind="stable")
        last = mine["return"].to_numpy(dtype=np.float64)[-last_n:]
        first_iteration = mine[mine["global_step"] <= (run.batch_size or 0)]["return"].to_numpy(dtype=np.float64)
        if len(first_iteration) == 0:
            first_iteration = mine["return"].to_numpy(dtype=np.float64)[:1]
        rows.append({"run_id": run.run_id, "env": run.env, "objective": run.objective, "title": run.title,
                     "seed": run.seed, "status": run.status,
                     "raw": last.mean() if len(last) else np.nan,  # mean total reward of the last 100 episodes
                     "n_used": len(last),
                     "untrained": first_iteration.mean() if len(first_iteration) else np.nan})
    columns = ["run_id", "env", "objective", "title", "seed", "status", "raw", "n_used", "untrained"]
    return pd.DataFrame(rows, columns=columns)


# -- baselines and bests -------------------------------------------------------------------------------------------

def read_random_baseline(env_id: str, folder: str | Path | None = None) -> dict:
    """The reference file of one task (experiments.random_baseline); MissingBaselineError names the command."""
    folder = Path(folder) if folder is not None else RANDOM_BASELINE_DIR
    path = folder / f"{env_id}.json"
    if not path.exists():
        raise MissingBaselineError(
            f"no random-policy baseline for {env_id}: {path} does not exist; make it with "
            f"`python -m experiments.random_baseline --envs {env_id}" +
            ("" if folder == RANDOM_BASELINE_DIR else f" --out {folder}") + "` (or score with baseline='untrained')")
    return json.loads(path.read_text())


def task_baselines(scores: pd.DataFrame, baseline: str = "random", folder: str | Path | None = None) -> pd.Series:
    """[tasks] the return that normalises to 0, per env id."""
    envs = sorted(scores["env"].unique())
    if baseline == "random":
        return pd.Series({env: float(read_random_baseline(env, folder)["mean"]) for env in envs}, name="baseline")
    if baseline == "untrained":
        return scores.groupby("env")["untrained"].mean().rename("baseline")
    raise ValueError(f"baseline={baseline!r}: allowed {', '.join(BASELINES)}")


def task_bests(scores: pd.DataFrame, best: str = "setting_mean") -> pd.Series:
    """[tasks] the raw score that normalises to 1, per env id (from scores["raw"], baseline-filled)."""
    if best == "setting_mean":
        return scores.groupby(["env", "objective"])["raw"].mean().groupby("env").max().rename("best")
    if best == "single_run":
        return scores.groupby("env")["raw"].max().rename("best")
    raise ValueError(f"best={best!r}: allowed {', '.join(BESTS)}")


def normalise(raw: np.ndarray, baseline: np.ndarray, best: np.ndarray) -> np.ndarray:
    """[n] (raw - baseline) / (best - baseline): the random policy -> 0, the best result -> 1 (paper section 6.1).
    NaN where best == baseline."""
    span = np.asarray(best, dtype=np.float64) - np.asarray(baseline, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(span != 0, (np.asarray(raw, dtype=np.float64) - baseline) / span, np.nan)


def normalised_scores(runs: pd.DataFrame, episodes: pd.DataFrame, baseline: str = "random",
                      best: str = "setting_mean", baseline_dir: str | Path | None = None,
                      last_n: int = 100) -> pd.DataFrame:
    """run_scores plus columns baseline, best, normalised, and raw_source ("episodes", or "baseline" for a scored run
    without episodes, whose raw score is set to its task's baseline)."""
    scores = run_scores(runs, episodes, last_n)
    baselines = task_baselines(scores, baseline, baseline_dir)
    scores["baseline"] = scores["env"].map(baselines).astype("float64")
    scores["raw_source"] = np.where(scores["raw"].isna(), "baseline", "episodes")
    scores["raw"] = scores["raw"].fillna(scores["baseline"])
    scores["best"] = scores["env"].map(task_bests(scores, best)).astype("float64")
    scores["normalised"] = normalise(scores["raw"], scores["baseline"], scores["best"])
    return scores


# -- the table -----------------------------------------------------------------------------------------------------

def setting_score(by_task: list[np.ndarray]) -> float:
    """Mean over tasks of the mean over runs; by_task: one [n_runs_t] array of normalised scores per task."""
    return float(np.mean([x.mean() for x in by_task]))


def bootstrap_setting_score(by_task: list[np.ndarray], reps: int = 10_000, seed: int = 0,
                            level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of setting_score with runs resampled with replacement within each task."""
    rng = np.random.default_rng(seed)
    replicate_means = [x[rng.integers(0, len(x), size=(reps, len(x)))].mean(axis=1) for x in by_task]  # [tasks, reps]
    replicates = np.mean(replicate_means, axis=0)  # [reps]
    alpha = (1 - level) / 2
    low, high = np.quantile(replicates, [alpha, 1 - alpha])
    return float(low), float(high)


def by_task(scores: pd.DataFrame, objective: str, column: str = "normalised") -> dict[str, np.ndarray]:
    """{env: [n_runs] scores} of one setting, NaNs dropped."""
    mine = scores[scores["objective"] == objective].dropna(subset=[column])
    return {env: group[column].to_numpy(dtype=np.float64) for env, group in mine.groupby("env")}


def settings_order(objectives) -> list[str]:
    return sorted(set(objectives), key=paper_order)


@dataclass(frozen=True)
class Table1:
    """Everything Table 1 is made of.

    table:     [settings] objective, title, score, ci_low, ci_high, paper, n_runs, n_tasks, n_diverged
    per_task:  [settings × tasks] objective, env, mean, std, n of raw scores (+ the baseline and best per env)
    scores:    [scored runs] see normalised_scores
    excluded:  [unscored runs] see analysis.runs.not_scored
    """

    table: pd.DataFrame
    per_task: pd.DataFrame
    scores: pd.DataFrame
    excluded: pd.DataFrame
    baseline: str
    best: str
    last_n: int
    reps: int
    baseline_dir: str


def table1(runs: pd.DataFrame, episodes: pd.DataFrame, baseline: str = "random", best: str = "setting_mean",
           baseline_dir: str | Path | None = None, last_n: int = 100, reps: int = 10_000, seed: int = 0) -> Table1:
    """Table 1 from the tidy frames of analysis.runs (see the module docstring for every rule)."""
    scores = normalised_scores(runs, episodes, baseline, best, baseline_dir, last_n)
    rows = []
    for objective in settings_order(scores["objective"]):
        tasks = list(by_task(scores, objective).values())
        mine = scores[scores["objective"] == objective]
        seeds_per_task = min((len(t) for t in tasks), default=0)
        low, high = bootstrap_setting_score(tasks, reps, seed) if seeds_per_task >= 2 else (np.nan, np.nan)
        steps = runs.loc[runs["run_id"].isin(mine["run_id"]), "total_timesteps"]
        rows.append({"objective": objective, "title": mine["title"].iloc[0],
                     "score": setting_score(tasks) if tasks else np.nan, "ci_low": low, "ci_high": high,
                     "paper": paper_score(objective), "n_runs": len(mine), "n_tasks": mine["env"].nunique(),
                     "n_diverged": int((mine["status"] == "diverged").sum()), "min_seeds": seeds_per_task,
                     "paper_comparable": _paper_comparable(mine["env"].nunique(), steps)})
    table = pd.DataFrame(rows, columns=["objective", "title", "score", "ci_low", "ci_high", "paper", "n_runs",
                                        "n_tasks", "n_diverged", "min_seeds", "paper_comparable"])
    table["paper"] = table["paper"].astype("float64")
    per_task = (scores.groupby(["objective", "env"])["raw"].agg(mean="mean", std="std", n="count").reset_index())
    per_task["baseline"] = per_task["env"].map(scores.groupby("env")["baseline"].first())
    per_task["best"] = per_task["env"].map(scores.groupby("env")["best"].first())
    rank = {name: i for i, name in enumerate(settings_order(per_task["objective"]))}
    per_task = (per_task.assign(_rank=per_task["objective"].map(rank)).sort_values(["_rank", "env"])
                .drop(columns="_rank").reset_index(drop=True))
    excluded = not_scored(runs)
    return Table1(table, per_task, scores, excluded, baseline, best, last_n, reps,
                  str(baseline_dir if baseline_dir is not None else RANDOM_BASELINE_DIR))


PAPER_TASKS = len(TASKS)
PAPER_STEPS = 1_000_000  # env steps per run (Schulman et al. 2017, section 6.1)


def _paper_comparable(n_tasks: int, steps: pd.Series) -> str:
    """'' when a setting's runs match the paper's protocol (7 tasks, 1M steps each), else why not."""
    reasons = []
    if n_tasks != PAPER_TASKS:
        reasons.append(f"{n_tasks} of {PAPER_TASKS} tasks")
    budgets = sorted({int(s) for s in steps.dropna()})
    if budgets and budgets != [PAPER_STEPS]:
        reasons.append(f"{'/'.join(f'{b:,}' for b in budgets)} steps, not {PAPER_STEPS:,}")
    return "; ".join(reasons)


# -- writers -------------------------------------------------------------------------------------------------------

def _fmt(x: float, digits: int = 2) -> str:
    return "–" if x is None or pd.isna(x) else f"{x:.{digits}f}"


def rules_text(result: Table1) -> str:
    """One paragraph stating how the numbers were made."""
    baseline = {"random": f"uniform random actions ({result.baseline_dir})",
                "untrained": "the untrained initial policy (episodes of each run's first iteration)"}[result.baseline]
    best = {"setting_mean": "the best setting's mean", "single_run": "the best single run"}[result.best]
    return (f"Score of a run: mean return of its last {result.last_n} training episodes. Per task, 0 = {baseline}, "
            f"1 = {best}. Setting score: mean over tasks of the mean over seeds; 95% interval: percentile bootstrap "
            f"over seeds within task ({result.reps} replicates). Paper: {CITATION}.")


def _per_task_wide(result: Table1, digits: int = 1) -> pd.DataFrame:
    """[settings, tasks] strings 'mean ± std (n)', with baseline and best rows."""
    p = result.per_task
    cell = p.apply(lambda r: f"{r['mean']:.{digits}f} ± {_fmt(r['std'], digits)} ({r['n']})", axis=1)
    wide = p.assign(cell=cell).pivot(index="objective", columns="env", values="cell")
    wide = wide.loc[settings_order(wide.index)]
    extra = pd.DataFrame([p.groupby("env")["baseline"].first().map(lambda v: _fmt(v, digits)),
                          p.groupby("env")["best"].first().map(lambda v: _fmt(v, digits))],
                         index=[f"baseline ({result.baseline})", f"best ({result.best})"])
    return pd.concat([wide, extra]).fillna("–")


def _markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def paper_agreement(table: pd.DataFrame) -> dict:
    """How our ranking of the settings compares with the paper's: Spearman's ρ (Pearson's correlation of the
    average ranks) over the settings that have a paper value, whether no clipping is last in both, and the rank of
    clip ε = 0.2 in ours (1 = best)."""
    both = table.dropna(subset=["score", "paper"])
    ours = table.dropna(subset=["score"]).sort_values("score", ascending=False)["objective"].tolist()
    rho = float(both["score"].rank().corr(both["paper"].rank())) if len(both) >= 3 else float("nan")
    return {"spearman": rho, "n_settings": len(both), "none_last": bool(ours) and ours[-1] == "none",
            "clip0.2_rank": ours.index("clip0.2") + 1 if "clip0.2" in ours else None, "n_ranked": len(ours)}


def agreement_text(table: pd.DataFrame) -> str:
    a = paper_agreement(table)
    if a["n_settings"] < 3:
        return "Rank agreement with the paper: fewer than 3 settings with both scores."
    clip = "not run" if a["clip0.2_rank"] is None else f"rank {a['clip0.2_rank']} of {a['n_ranked']}"
    return (f"Rank agreement with the paper over {a['n_settings']} settings: Spearman ρ = {a['spearman']:.2f}. "
            f"No clipping last: {'yes' if a['none_last'] else 'no'} (the paper: yes). Clipping ε = 0.2: {clip} "
            "(the paper: 1).")


def _ci_cell(r) -> str:
    if r.min_seeds < 2:
        return "n/a (one seed on some task: no spread to bootstrap)"
    return f"[{_fmt(r.ci_low)}, {_fmt(r.ci_high)}]"


def _paper_cell(r) -> str:
    if pd.isna(r.paper) or not r.paper_comparable:
        return _fmt(r.paper)
    return f"({_fmt(r.paper)}; not comparable: {r.paper_comparable})"


def to_markdown(result: Table1) -> str:
    """Table 1 and the per-task raw scores as Markdown. An interval needs at least two seeds on every task; the
    paper's value is marked where the runs do not follow its protocol (7 tasks, 1M steps)."""
    t = result.table
    main = _markdown_table(
        ["setting", "score", "95% CI", "paper", "runs", "tasks", "diverged"],
        [[r.title, _fmt(r.score), _ci_cell(r), _paper_cell(r), r.n_runs, r.n_tasks, r.n_diverged]
         for r in t.itertuples()])
    wide = _per_task_wide(result)
    titles = dict(zip(t["objective"], t["title"]))
    per_task = _markdown_table(["setting", *wide.columns],
                               [[titles.get(i, i), *row] for i, row in zip(wide.index, wide.to_numpy())])
    return (f"{main}\n\n{rules_text(result)}\n\n{agreement_text(t)}\n\n"
            f"Raw scores per task (mean ± std over seeds (runs)):\n\n{per_task}\n")


def _latex_escape(text: str) -> str:
    text = str(text)
    for a, b in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"), ("#", r"\#"),
                 ("ε", r"$\epsilon$"), ("β", r"$\beta$"), ("±", r"$\pm$"), ("–", "--")):
        text = text.replace(a, b)
    return text


def to_latex(result: Table1) -> str:
    """Table 1 as a LaTeX tabular (booktabs), the paper's value beside ours."""
    lines = [r"\begin{tabular}{lcccc}", r"\toprule", r"Setting & Score & 95\% CI & Paper & Runs \\", r"\midrule"]
    for r in result.table.itertuples():
        lines.append(f"{_latex_escape(r.title)} & {_fmt(r.score)} & [{_fmt(r.ci_low)}, {_fmt(r.ci_high)}] & "
                     f"{_latex_escape(_fmt(r.paper))} & {r.n_runs} \\\\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def write_table1(result: Table1, out: str | Path, stem: str = "table1") -> list[Path]:
    """Writes <stem>.md, <stem>.tex, <stem>.csv (the table), <stem>_per_task.csv and <stem>_runs.csv (per run)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{stem}.md", out / f"{stem}.tex", out / f"{stem}.csv", out / f"{stem}_per_task.csv",
             out / f"{stem}_runs.csv"]
    paths[0].write_text(to_markdown(result))
    paths[1].write_text(to_latex(result))
    result.table.to_csv(paths[2], index=False)
    result.per_task.to_csv(paths[3], index=False)
    result.scores.to_csv(paths[4], index=False)
    return paths
