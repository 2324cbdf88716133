"""Table 1 as text: Markdown with the scoring rules and the agreement with the paper, LaTeX, and the files
analysis.report writes (analysis.table1 computes the table)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.paper_values import CITATION
from analysis.table1 import Table1, settings_order


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
