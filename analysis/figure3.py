"""Figure 3 of the PPO paper: PPO (clip, ε = 0.2) against the baseline algorithms on the seven MuJoCo tasks, one
panel per task on the paper's y-axis range, and the final returns beside the values read off the paper's figure.

    figure3          one panel per task, one line per algorithm: mean training-episode return over seeds with a 95%
                     bootstrap band (analysis.figures.learning_curves' rule), the paper's legend order, and the
                     paper's y-range (dotted lines), widened only where our curves leave it
    final_returns    per task and algorithm: the mean over seeds of each run's Table 1 score (mean return of its last
                     100 training episodes), the seeds' range, and the paper's read-off where there is one
    comparison       the paper's two questions answered from final_returns: is PPO ahead on most tasks, and is TRPO's
                     HalfCheetah near 0

Beyond the paper, one more line where a report supplies its runs: PPO (clip ε = 0.2) with the value loss unclipped
(PPO_VALUE_UNCLIPPED; runs relabelled by value_unclipped), so that PPO's place does not rest on one release's value
clip alone.
"""

from __future__ import annotations

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from analysis.figures import binned, draw_curves, panel_grid, setting_legend
from analysis.paper_values import FIGURE3_FINAL_RETURNS, FIGURE3_SETTINGS, FIGURE3_Y_RANGES
from analysis.runs import RunFrames
from analysis.table1 import run_scores

FIGURE3_BASELINES = {"a2c", "a2c_trust_region", "cem", "pg", "trpo"}
"""Figure 3's settings other than PPO: a report whose runs include one of them draws Figure 3 too."""
RUN_HERE = [s for s in FIGURE3_SETTINGS if s != "a2c_trust_region"]
"""The algorithms ppo-bench runs for Figure 3 (A2C with trust region is left out; README.md says why)."""
PPO_VALUE_UNCLIPPED = "clip0.2_value_unclipped"
"""PPO (clip ε = 0.2) run with details.value_clip=none: not in the paper's figure; drawn when a report supplies it."""
SETTINGS = {**FIGURE3_SETTINGS, PPO_VALUE_UNCLIPPED: "PPO (Clip), value loss unclipped"}
"""Every line Figure 3 can draw, in legend order: the paper's, then PPO with the value loss unclipped."""
FIGURE3_COLORS = dict(zip(SETTINGS, [sns.color_palette("tab10", 10)[i] for i in (0, 9, 2, 3, 4, 1, 6)]))
"""One colour per algorithm, PPO red, unclipped value pink; told apart at a glance (tab10: blue, cyan, green, red,
purple, orange, pink)."""


def task_name(env_id: str) -> str:
    """HalfCheetah-v5 -> HalfCheetah (the paper's panels name tasks without a version)."""
    return env_id.rsplit("-v", 1)[0]


def figure3_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs Figure 3 draws: scored runs of its settings."""
    return runs[runs["scored"] & runs["objective"].isin(SETTINGS)]


def value_unclipped(frames: RunFrames) -> RunFrames:
    """frames' clip ε = 0.2 runs with details.value_clip=none, relabelled PPO_VALUE_UNCLIPPED (runs, episodes, metrics);
    every other run left out."""
    runs = frames.runs
    chosen = runs.loc[(runs["objective"] == "clip0.2") & (runs["config.details.value_clip"] == "none"), "run_id"]
    runs = runs[runs["run_id"].isin(chosen)].assign(objective=PPO_VALUE_UNCLIPPED, title=SETTINGS[PPO_VALUE_UNCLIPPED])
    return RunFrames(runs.reset_index(drop=True),
                     frames.episodes[frames.episodes["run_id"].isin(chosen)].assign(objective=PPO_VALUE_UNCLIPPED),
                     frames.metrics[frames.metrics["run_id"].isin(chosen)].assign(objective=PPO_VALUE_UNCLIPPED))


def figure3(runs: pd.DataFrame, episodes: pd.DataFrame, points: int = 100, n_boot: int = 1000,
            seed: int = 0) -> Figure:
    runs = figure3_runs(runs)
    tasks = sorted(runs["env"].unique(), key=task_name)
    colors = {o: c for o, c in FIGURE3_COLORS.items() if o in set(runs["objective"])}
    fig, axes = panel_grid(max(len(tasks), 1))
    draw_curves(binned(episodes, runs, "return", points), "return", tasks, colors, axes, n_boot, log=False, seed=seed)
    for ax, env in zip(axes, tasks):
        ax.set_title(env)
        ax.set_ylabel("episode return")
        if task_name(env) in FIGURE3_Y_RANGES:  # the paper's range, widened where our curves leave it
            low, high = FIGURE3_Y_RANGES[task_name(env)]
            drawn = [y for line in ax.get_lines() for y in line.get_ydata()]
            margin = 0.05 * (high - low)
            ax.set_ylim(min([low, *[y - margin for y in drawn if y < low]]),
                        max([high, *[y + margin for y in drawn if y > high]]))
            for y in (low, high):
                ax.axhline(y, color="gray", linestyle=":", linewidth=0.8)
    setting_legend(fig, colors, SETTINGS)
    return fig


def final_returns(runs: pd.DataFrame, episodes: pd.DataFrame) -> pd.DataFrame:
    """[task × setting rows] env, setting, label, seeds, mean, low, high (the seeds' range), paper (read-off or NaN)."""
    scores = run_scores(figure3_runs(runs), episodes)
    rows = []
    for (env, setting), group in scores.groupby(["env", "objective"]):
        paper = FIGURE3_FINAL_RETURNS.get(task_name(env), {}).get(setting)
        rows.append({"env": env, "setting": setting, "label": SETTINGS[setting], "seeds": len(group),
                     "mean": group["raw"].mean(), "low": group["raw"].min(), "high": group["raw"].max(),
                     "paper": float("nan") if paper is None else float(paper)})
    order = list(SETTINGS)
    frame = pd.DataFrame(rows, columns=["env", "setting", "label", "seeds", "mean", "low", "high", "paper"])
    return frame.sort_values(["env", "setting"], key=lambda c: c.map(order.index) if c.name == "setting" else c,
                             ignore_index=True)


def final_returns_markdown(table: pd.DataFrame) -> str:
    """One row per task, one column per setting run or read off the paper: `mean [low, high] (paper ~x)`, the range
    over seeds in brackets."""
    read_off = {s for returns in FIGURE3_FINAL_RETURNS.values() for s in returns}
    settings = [s for s in SETTINGS if s in set(table["setting"]) | read_off]
    lines = ["| task | " + " | ".join(SETTINGS[s] for s in settings) + " |",
             "|---|" + "---|" * len(settings)]
    for env, rows in table.groupby("env", sort=False):
        cells = []
        for s in settings:
            row = rows[rows["setting"] == s]
            paper = FIGURE3_FINAL_RETURNS.get(task_name(env), {}).get(s)
            if row.empty:
                cell = "not run"
            else:
                r = row.iloc[0]
                cell = f"{r['mean']:.0f} [{r['low']:.0f}, {r['high']:.0f}]" if r["seeds"] > 1 else f"{r['mean']:.0f}"
            cells.append(cell + (f" (paper ~{paper:g})" if paper is not None else ""))
        lines.append(f"| {env} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def comparison(table: pd.DataFrame) -> list[str]:
    """Sentences that answer, from final_returns' table, how our Figure 3 compares with the paper's: on how many tasks
    PPO's final return is the highest of the algorithms run (against how often the paper's read-offs put PPO at the
    top of the same tasks: highest, or level with the highest), the same count for PPO with the value loss unclipped
    where the table has it on every such task, and TRPO's HalfCheetah beside the paper's ~0."""
    by_env = {env: rows.set_index("setting") for env, rows in table.groupby("env", sort=True)}
    full = [env for env, rows in by_env.items() if set(RUN_HERE) <= set(rows.index)]
    if not full:
        return ["No task has PPO and every baseline run yet."]
    ahead = [env for env in full if by_env[env].loc[RUN_HERE, "mean"].idxmax() == "clip0.2"]
    paper_top = []
    for env in full:
        read_off = FIGURE3_FINAL_RETURNS.get(task_name(env), {})
        if "clip0.2" in read_off and read_off["clip0.2"] >= max(read_off.values()):
            paper_top.append(env)
    lines = [f"PPO (clip ε = 0.2) has the highest final return of the {len(RUN_HERE)} algorithms run on "
             f"{len(ahead)} of the {len(full)} tasks with every algorithm run ({', '.join(ahead) or 'none'}); "
             f"the paper's read-offs put PPO highest or level with the highest on {len(paper_top)} of those "
             f"{len(full)} ({', '.join(paper_top) or 'none'})."]
    if all(PPO_VALUE_UNCLIPPED in by_env[env].index for env in full):
        baselines = [s for s in RUN_HERE if s != "clip0.2"]
        unclipped = [env for env in full if by_env[env].loc[PPO_VALUE_UNCLIPPED, "mean"]
                     > by_env[env].loc[baselines, "mean"].max()]
        lines.append(f"With the value loss unclipped, PPO (clip ε = 0.2) ends above every baseline on {len(unclipped)} "
                     f"of the {len(full)} ({', '.join(unclipped) or 'none'}).")
    for env in full:
        rows = by_env[env].loc[RUN_HERE]
        best = rows["mean"].idxmax()
        if best != "clip0.2":
            lines.append(f"{env}: {rows.loc[best, 'label']} ends highest ({rows.loc[best, 'mean']:.0f}, PPO "
                         f"{rows.loc['clip0.2', 'mean']:.0f}).")
    cheetah = next((rows for env, rows in by_env.items() if task_name(env) == "HalfCheetah"), None)
    if cheetah is not None and "trpo" in cheetah.index:
        r = cheetah.loc["trpo"]
        lines.append(f"TRPO on {r['env']}: {r['mean']:.0f} [{r['low']:.0f}, {r['high']:.0f}] over seeds "
                     f"(the paper: ~{FIGURE3_FINAL_RETURNS['HalfCheetah']['trpo']:g}).")
    return lines
