"""The report: run folders -> Table 1, the figures, and what was (not) scored, as report.md and report.html.

    python -m analysis.report <run folders, sweep folders or globs...> --out <dir>
        [--baseline random|untrained] [--best setting_mean|single_run] [--baseline-dir DIR]
        [--reference clip0.2] [--last-n 100] [--reps 10000] [--points 100]

Writes into <dir>: report.md (images linked), report.html (self-contained: images embedded as base64 PNG), the
Table 1 files (analysis.table1.write_table1), and every figure as PNG and PDF under figures/.
"""

from __future__ import annotations

import argparse
import base64
import html
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis import figures
from analysis.figure3 import FIGURE3_BASELINES, figure3, final_returns, final_returns_markdown
from analysis.paper_values import FIGURE3_CITATION
from analysis.runs import RunFrames, load_runs, scored
from analysis.table1 import BASELINES, BESTS, MissingBaselineError, Table1, table1
from analysis.table1_text import to_markdown, write_table1
from analysis.wandb_report import log_report
from analysis.wandb_runs import load_wandb

IDENTITY_KEYS = ("config.seed", "config.objective.clip_eps", "config.objective.kl_beta", "config.objective.kl_target",
                 "config.objective.name", "config.objective.title", "config.env.id", "config.logger.group",
                 "config.logger.tags")


def coverage_warning(table: pd.DataFrame, runs: pd.DataFrame) -> str:
    """A line for the top of the report when the settings were not run on the same tasks, seeds per task or
    budgets (their scores are then not comparable row by row); '' when they were."""
    problems = []
    if table["n_tasks"].nunique() > 1:
        problems.append(f"tasks per setting range {table['n_tasks'].min()}-{table['n_tasks'].max()}")
    if table["min_seeds"].nunique() > 1:
        problems.append(f"seeds per task range {table['min_seeds'].min()}-{table['min_seeds'].max()}")
    budgets = sorted({int(b) for b in runs.loc[runs["scored"], "total_timesteps"].dropna()})
    if len(budgets) > 1:
        problems.append(f"budgets of {', '.join(f'{b:,}' for b in budgets)} env steps")
    if not problems:
        return ""
    return (f"**Unequal coverage: {'; '.join(problems)}.** Scores of settings run on different tasks, seeds or "
            "budgets are not comparable row by row; see the per-task table and the missing runs below.\n")


def settings_used(runs: pd.DataFrame) -> tuple[dict[str, object], dict[str, list]]:
    """(config keys with one value across the runs -> that value, keys that vary -> their sorted distinct values),
    leaving out what a Table 1 sweep varies on purpose (seed, objective, env) and the logger."""
    constant, varying = {}, {}
    for column in sorted(c for c in runs.columns if c.startswith("config.") and c not in IDENTITY_KEYS):
        if column.startswith("config.logger."):
            continue
        values = sorted({str(v) for v in runs[column]})
        if len(values) == 1:
            constant[column.removeprefix("config.")] = values[0]
        else:
            varying[column.removeprefix("config.")] = values
    return constant, varying


def coverage(runs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(settings × tasks count of scored runs, the cells below the grid's largest count): the runs a sweep misses."""
    kept = runs[runs["scored"]]
    counts = kept.pivot_table(index="objective", columns="env", values="run_id", aggfunc="count", fill_value=0)
    if counts.empty:
        return counts, pd.DataFrame(columns=["objective", "env", "scored runs", "expected"])
    full = int(counts.to_numpy().max())
    long = counts.stack().rename("scored runs").reset_index()
    missing = long[long["scored runs"] < full].assign(expected=full).reset_index(drop=True)
    return counts, missing


@dataclass
class Report:
    frames: RunFrames
    result: Table1
    figures: dict[str, list[Path]]  # name -> [png, pdf]
    markdown: str


def _table(frame: pd.DataFrame) -> str:
    """A small frame as a Markdown table (no tabulate dependency)."""
    if frame.empty:
        return "(none)"
    header = "| " + " | ".join(map(str, frame.columns)) + " |\n|" + "|".join("---" for _ in frame.columns) + "|\n"
    return header + "\n".join("| " + " | ".join("" if pd.isna(v) else str(v) for v in row) + " |"
                              for row in frame.itertuples(index=False))


def build_report(frames: RunFrames, out: str | Path, baseline: str = "random", best: str = "setting_mean",
                 baseline_dir: str | Path | None = None, reference: str = "clip0.2", last_n: int = 100,
                 reps: int = 10_000, points: int = 100, sources: list[str] | None = None) -> Report:
    """Scores the frames, draws the figures into <out>/figures, writes the table files, report.md and report.html."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    result = table1(frames.runs, frames.episodes, baseline, best, baseline_dir, last_n, reps)
    write_table1(result, out)
    kept = scored(frames)
    drawn = {
        "figure1": figures.figure1(),
        "learning_curves": figures.learning_curves(kept.runs, kept.episodes, points),
        "aggregate": figures.aggregate_figure(result.scores, reference, reps=min(reps, 2000)),
        "diagnostics": figures.diagnostics(kept.runs, kept.metrics),
    }
    baselines = sorted(set(kept.runs["objective"]) & FIGURE3_BASELINES)
    if baselines:  # runs of Figure 3's baseline algorithms: the paper's Figure 3 and its final returns too
        drawn["figure3"] = figure3(kept.runs, kept.episodes, points)
    saved = {name: figures.save_figure(fig, out / "figures" / name) for name, fig in drawn.items()}

    runs = frames.runs
    statuses = ["finished", "diverged", "running", "interrupted", "failed", "duplicate", "unreadable"]
    counts = runs["status"].value_counts().reindex(statuses, fill_value=0)
    diverged = runs.loc[runs["status"] == "diverged", ["env", "objective", "seed", "reason", "global_step",
                                                        "n_episodes", "run_dir"]]
    constant, varying = settings_used(runs)
    _, missing = coverage(runs)
    captions = {
        "figure1": "Figure 1 (analytic): one term of L^CLIP against the probability ratio r, ε = 0.2.",
        "learning_curves": "Training-episode return against env steps: mean over seeds, 95% bootstrap band.",
        "aggregate": f"IQM, probability of improvement over {reference}, performance profiles of normalised scores "
                     "(stratified bootstrap 95% intervals).",
        "diagnostics": "KL[π_old, π_new] after each update, clip fraction, and β against env steps.",
        "figure3": "Figure 3: PPO (clip ε = 0.2) and the baseline algorithms, mean over seeds with a 95% bootstrap "
                   "band, on the paper's y-range (dotted; widened only where a curve leaves it).",
    }
    md = ["# ppo-bench report\n", f"Generated from {', '.join(sources or [])}.\n",
          f"**Runs:** {len(runs)} loaded; " + ", ".join(f"{k} {v}" for k, v in counts.items()) +
          f". Scored: {int(runs['scored'].sum())} (finished, and diverged runs on the episodes they logged). "
          f"Tasks: {', '.join(sorted(runs['env'].dropna().unique()))}.\n",
          coverage_warning(result.table, runs),
          "## Table 1\n", to_markdown(result),
          "\n## Runs not scored (running, interrupted, failed, duplicate, unreadable)\n", _table(result.excluded),
          "\n## Missing runs (setting × task cells with fewer scored runs than the fullest cell)\n", _table(missing),
          "\n## Diverged runs (scored on what they logged)\n", _table(diverged),
          "\n## Settings used\n", "Constant across runs:\n",
          _table(pd.DataFrame(list(constant.items()), columns=["key", "value"])),
          "\nVarying across runs (besides seed, objective, env):\n",
          _table(pd.DataFrame([(k, ", ".join(v)) for k, v in varying.items()], columns=["key", "values"])),
          *([f"\n## Figure 3: final returns ({', '.join(baselines)} and PPO)\n",
             "Mean over seeds of each run's score (mean return of its last 100 training episodes), the seeds' range "
             f"in brackets, beside approximate read-offs of the paper's figure ({FIGURE3_CITATION}).\n",
             final_returns_markdown(final_returns(kept.runs, kept.episodes)) + "\n"] if baselines else []),
          "\n## Figures\n"]
    for name in drawn:
        md.append(f"![{name}](figures/{name}.png)\n\n{captions[name]} ([PDF](figures/{name}.pdf))\n")
    markdown = "\n".join(md)
    (out / "report.md").write_text(markdown)
    (out / "report.html").write_text(markdown_to_html(markdown, out))
    return Report(frames, result, saved, markdown)


def markdown_to_html(markdown: str, base: Path) -> str:
    """The report's own small Markdown subset (headings, tables, images, links, bold, paragraphs) as one HTML page,
    with every image read from `base` and embedded as a base64 data URI (links to the PDFs stay relative)."""
    body, rows = [], []

    def flush_table():
        if rows:
            cells = [[c.strip() for c in r.strip().strip("|").split("|")] for r in rows if not set(r) <= set("|-")]
            head, *rest = cells
            body.append("<table><thead><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in head) + "</tr></thead>"
                        "<tbody>" + "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>"
                                            for r in rest) + "</tbody></table>")
            rows.clear()

    for line in markdown.splitlines():
        if line.startswith("|"):
            rows.append(line)
            continue
        flush_table()
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            body.append(f"<h{level}>{html.escape(line[level:].strip())}</h{level}>")
        elif line.startswith("!["):
            path = line[line.index("(") + 1:line.index(")")]
            data = base64.b64encode((base / path).read_bytes()).decode("ascii")
            body.append(f'<p><img alt="{html.escape(path)}" src="data:image/png;base64,{data}"></p>')
        elif line.strip():
            text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", html.escape(line))
            text = re.sub(r"\[([^\]]+)\]\(([^)]+)\)", r'<a href="\2">\1</a>', text)
            body.append(f"<p>{text}</p>")
    flush_table()
    style = ("body{font-family:sans-serif;max-width:1400px;margin:2em auto;padding:0 1em}"
             "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:2px 8px;"
             "text-align:left}img{max-width:100%}")
    return (f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>ppo-bench report</title>"
            f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def portable_text(out: Path, labels: dict[str, str]) -> None:
    """Rewrites the report's text files so that no machine path remains: each labelled folder (resolved) becomes its
    label, then the working folder's path becomes relative; the same inputs give the same files on any machine."""
    replacements = [(str(Path(folder).resolve()), label) for folder, label in labels.items()]
    replacements += [(str(Path(folder)), label) for folder, label in labels.items()]
    replacements += [(str(Path.cwd().resolve()) + "/", "")]
    for path in sorted(out.rglob("*")):
        if path.suffix in (".md", ".html", ".csv", ".json") and path.is_file():
            text = original = path.read_text()
            for old, new in replacements:
                text = text.replace(old, new)
            if text != original:
                path.write_text(text)


def wandb_filters(group: str | None, tags: list[str]) -> dict:
    """wandb's public-API filter (MongoDB style) for runs of `group` carrying every one of `tags`."""
    conditions = ([{"group": group}] if group else []) + [{"tags": {"$in": [tag]}} for tag in tags]
    return {} if not conditions else conditions[0] if len(conditions) == 1 else {"$and": conditions}


def main(argv: list[str] | None = None, wandb_api: object = None) -> int:
    parser = argparse.ArgumentParser(description="Table 1, figures and run summary from run folders or a wandb "
                                                 "project.")
    parser.add_argument("sources", nargs="*", help="run folders, sweep folders (searched recursively) or globs")
    parser.add_argument("--wandb", metavar="ENTITY/PROJECT",
                        help="read the runs from this wandb project through wandb's public API instead of folders")
    parser.add_argument("--group", help="with --wandb: only the runs of this group (an experiment)")
    parser.add_argument("--tag", action="append", default=[], help="with --wandb: only runs with this tag "
                                                                   "(repeatable: runs with every tag)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--baseline", choices=BASELINES, default="random", help="what normalises to 0")
    parser.add_argument("--best", choices=BESTS, default="setting_mean", help="what normalises to 1")
    parser.add_argument("--baseline-dir", type=Path, default=None,
                        help="folder of random-baseline files (default results/baselines/random)")
    parser.add_argument("--reference", default="clip0.2", help="setting the probability of improvement compares to")
    parser.add_argument("--last-n", type=int, default=100, help="episodes averaged into a run's score")
    parser.add_argument("--reps", type=int, default=10_000, help="bootstrap replicates")
    parser.add_argument("--points", type=int, default=100, help="grid points of learning curves")
    parser.add_argument("--label", action="append", default=[], metavar="FOLDER=LABEL",
                        help="write LABEL wherever FOLDER's path would appear (e.g. a temporary extraction folder "
                             "as the archive it came from); other paths inside the working folder are written "
                             "relative to it")
    parser.add_argument("--log-wandb", metavar="[ENTITY/]PROJECT",
                        help="also log the report into this wandb project as an analysis run (Table 1 as a table, "
                             "figures as images, the report files as an artifact)")
    parser.add_argument("--wandb-mode", choices=("offline", "online"), default="offline",
                        help="with --log-wandb: online, or offline into <out>/wandb to sync later (default)")
    args = parser.parse_args(argv)
    labels = dict(item.split("=", 1) for item in args.label)
    if bool(args.sources) == bool(args.wandb):
        print("error: give run folders or --wandb ENTITY/PROJECT (one of the two)", file=sys.stderr)
        return 2
    try:
        if args.wandb:
            frames = load_wandb(args.wandb, wandb_filters(args.group, args.tag), wandb_api)
        else:
            frames = load_runs(*args.sources)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    sources = [f"wandb:{args.wandb}"] if args.wandb else [str(s) for s in args.sources]
    if frames.runs.empty:
        print(f"error: no runs in {' '.join(sources)}", file=sys.stderr)
        return 2
    if not frames.runs["scored"].any():
        print("error: no finished or diverged runs to score; statuses: " +
              frames.runs["status"].value_counts().to_dict().__repr__(), file=sys.stderr)
        return 2
    try:
        report = build_report(frames, args.out, args.baseline, args.best, args.baseline_dir, args.reference,
                              args.last_n, args.reps, args.points, sources)
    except MissingBaselineError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    portable_text(args.out, labels)
    if args.log_wandb:
        entity, _, project = args.log_wandb.rpartition("/")
        where = log_report(args.out, project, entity or None, args.group, args.wandb_mode)
        print(f"report logged to wandb ({args.wandb_mode}): {where}")
    print(f"{len(frames.runs)} runs ({int(frames.runs['scored'].sum())} scored) -> {args.out}/report.md, "
          f"{args.out}/report.html")
    print(report.result.table[["title", "score", "ci_low", "ci_high", "paper", "n_runs"]].to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
