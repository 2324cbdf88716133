"""Figures: each function takes tidy DataFrames (analysis.runs / analysis.table1) and returns a matplotlib Figure.

Figures are built as matplotlib.figure.Figure objects, never through pyplot, so no GUI backend and no global figure
state is involved (rendering is Agg's, for PNG, and the PDF backend's); save_figure writes PNG and PDF.

    figure1            one term of L^CLIP against r for Â > 0 and Â < 0 (paper Figure 1), analytic
    learning_curves    one panel per task, one line per setting: mean training-episode return over seeds with a 95%
                       bootstrap band, against env steps
    aggregate_figure   IQM of normalised scores, probability of improvement over a reference setting, performance
                       profiles; stratified bootstrap 95% intervals (analysis.aggregate)
    diagnostics        KL, clip fraction and β against env steps, one panel per (quantity, task), one line per setting
"""

from __future__ import annotations

import math
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import EngFormatter, MaxNLocator

from analysis import aggregate
from analysis.paper_values import TABLE1
from analysis.table1 import by_task, settings_order

# -- shared helpers ------------------------------------------------------------------------------------------------

TABLE1_COLORS = dict(zip(TABLE1, sns.color_palette("husl", len(TABLE1))))
"""One colour per Table 1 setting, fixed by the paper's row order, whatever else a report holds."""
OTHER_COLORS = sns.color_palette("dark", 10)


def setting_colors(objectives) -> dict[str, tuple]:
    """The colour of each setting, in Table 1 order: the same in every figure of every report (a setting outside
    Table 1 gets one of OTHER_COLORS chosen from its name)."""
    return {o: TABLE1_COLORS.get(o) or OTHER_COLORS[zlib.crc32(str(o).encode()) % len(OTHER_COLORS)]
            for o in settings_order(objectives)}


def panel_grid(n_panels: int, ncols: int = 4, size: tuple[float, float] = (3.6, 2.8)) -> tuple[Figure, list]:
    """A figure with exactly n_panels axes on a grid of at most ncols columns."""
    ncols = max(1, min(ncols, n_panels))
    nrows = math.ceil(n_panels / ncols)
    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows), layout="constrained")
    axes = [fig.add_subplot(nrows, ncols, i + 1) for i in range(n_panels)]
    return fig, axes


LEGEND_ENTRY_INCHES = 2.6
"""Width one legend entry needs (a line and a title like 'Adaptive KL, d_targ = 0.003')."""


def setting_legend(fig: Figure, colors: dict[str, tuple], titles: dict[str, str]) -> None:
    """Every setting's entry below the panels, in as many columns as the figure's width holds (never cut)."""
    handles = [Line2D([], [], color=c, label=titles.get(o, o)) for o, c in colors.items()]
    fits = max(1, int(fig.get_figwidth() // LEGEND_ENTRY_INCHES))
    fig.legend(handles=handles, loc="outside lower center", ncols=min(fits, len(handles)), frameon=False)


def save_figure(fig: Figure, stem: str | Path) -> list[Path]:
    """Writes <stem>.png (150 dpi) and <stem>.pdf; returns both paths."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    fig.savefig(paths[0], dpi=150)
    fig.savefig(paths[1], metadata={"CreationDate": None})  # no timestamp: the same figure gives the same file
    return paths


def binned(frame: pd.DataFrame, runs: pd.DataFrame, value: str, points: int | None = 100) -> pd.DataFrame:
    """Puts each run's rows (episodes or metrics: run_id, global_step, value) on a common step grid per task.

    Per task, the grid is `points` equal bins over (0, the longest run's total_timesteps or last step]; points=None
    takes the task's largest iteration count (one bin per iteration when the runs share a batch size). A run's value
    in a bin is the mean of its rows whose global_step falls in the bin (left-open, right-closed); a bin without rows
    carries the run's previous bin forward, up to the bin holding the run's last logged step. Nothing is extrapolated
    past it (a diverged run stops where it stopped) or before its first row.
    Returns [rows] run_id, env, objective, title, seed, step (the bin's right edge), value.
    """
    out = []
    info = runs.set_index("run_id")
    for env, task_runs in runs.groupby("env"):
        ends = pd.concat([task_runs["total_timesteps"].astype("float64"), task_runs["global_step"].astype("float64")])
        end = float(np.nanmax(ends.to_numpy())) if len(ends) else 0.0
        if not end > 0:
            continue
        n = points if points is not None else int(max(task_runs["n_iterations"].max(), 1))
        edges = np.linspace(0.0, end, n + 1)
        for run_id in task_runs["run_id"]:
            rows = frame[(frame["run_id"] == run_id)].dropna(subset=[value])
            if rows.empty:
                continue
            steps = rows["global_step"].to_numpy(dtype=np.float64)
            bins = np.clip(np.searchsorted(edges, steps, side="left") - 1, 0, n - 1)  # (e_i, e_i+1] -> i
            sums = np.bincount(bins, weights=rows[value].to_numpy(dtype=np.float64), minlength=n)
            counts = np.bincount(bins, minlength=n)
            means = pd.Series(np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)).ffill().to_numpy()
            reach = bins.max()
            keep = np.arange(n) <= reach
            keep &= ~np.isnan(means)
            r = info.loc[run_id]
            out.append(pd.DataFrame({"run_id": run_id, "env": env, "objective": r["objective"], "title": r["title"],
                                     "seed": r["seed"], "step": edges[1:][keep], value: means[keep]}))
    if not out:
        return pd.DataFrame(columns=["run_id", "env", "objective", "title", "seed", "step", value])
    return pd.concat(out, ignore_index=True)


# -- Figure 1 ------------------------------------------------------------------------------------------------------

def clip_term(r: np.ndarray, advantage: float, eps: float = 0.2) -> np.ndarray:
    """[n] one term of L^CLIP: min(r Â, clip(r, 1-ε, 1+ε) Â)   (paper eq. 7)."""
    return np.minimum(r * advantage, np.clip(r, 1 - eps, 1 + eps) * advantage)


def figure1(eps: float = 0.2) -> Figure:
    """Paper Figure 1: L^CLIP of one timestep as a function of r, for Â > 0 (left) and Â < 0 (right); the dot is
    the starting point r = 1, the dashed line the clip boundary where the term goes flat."""
    fig = Figure(figsize=(7.0, 2.8), layout="constrained")
    r = np.linspace(0.0, 2.0, 401)
    for i, (advantage, boundary) in enumerate(((1.0, 1 + eps), (-1.0, 1 - eps))):
        ax = fig.add_subplot(1, 2, i + 1)
        ax.plot(r, clip_term(r, advantage, eps), color="tab:blue", label="$L^{CLIP}$")
        ax.axvline(boundary, color="gray", linestyle="--", linewidth=0.8)
        ax.plot([1.0], [advantage], "o", color="tab:red")
        ax.axhline(0.0, color="black", linewidth=0.5)
        ax.set_xlabel("$r$")
        ax.set_ylabel("$L^{CLIP}$")
        ax.set_title(f"$\\hat{{A}} {'>' if advantage > 0 else '<'} 0$, ε = {eps:g}")
    return fig


# -- learning curves -----------------------------------------------------------------------------------------------

def draw_curves(data: pd.DataFrame, value: str, tasks: list[str], colors: dict, axes: list, n_boot: int, log: bool,
            seed: int) -> None:
    """On each task's axis, per setting: one line (mean over runs at each grid step) and one band (95% bootstrap
    over runs, analysis.aggregate.mean_band). With log, values <= 0 are left out."""
    for ax, env in zip(axes, tasks):
        mine = data[data["env"] == env]
        if log:
            mine = mine[mine[value] > 0]
        drawn = 0
        for objective, color in colors.items():
            rows = mine[mine["objective"] == objective]
            if rows.empty:
                continue
            grid = rows.pivot_table(index="step", columns="run_id", values=value, aggfunc="mean")  # [steps, runs]
            mean, low, high = aggregate.mean_band(grid.to_numpy(), n_boot, seed)
            ax.plot(grid.index.to_numpy(), mean, color=color)
            ax.fill_between(grid.index.to_numpy(), low, high, color=color, alpha=0.2, linewidth=0)
            drawn += 1
        if log and drawn:
            ax.set_yscale("log")
        if not drawn:
            ax.text(0.5, 0.5, f"no {value} > 0" if log else "no data", ha="center", va="center",
                    transform=ax.transAxes, color="gray")
        ax.set_title(env)
        ax.set_xlabel("env steps")
        ax.xaxis.set_major_locator(MaxNLocator(4))  # 1k / 100k / 1M labels that never run into each other
        ax.xaxis.set_major_formatter(EngFormatter(sep=""))


def learning_curves(runs: pd.DataFrame, episodes: pd.DataFrame, points: int = 100, n_boot: int = 1000,
                    seed: int = 0) -> Figure:
    """One panel per task, one line per setting: the mean over seeds of each run's binned training-episode return
    (see binned), with a 95% bootstrap band over seeds, against env steps. runs: analysis.runs' frame (pass the
    scored runs only to follow the status rule); episodes: its episodes frame."""
    tasks = sorted(runs["env"].dropna().unique())
    data = binned(episodes, runs, "return", points)
    colors = setting_colors(runs["objective"].dropna())
    fig, axes = panel_grid(max(len(tasks), 1))
    draw_curves(data, "return", tasks, colors, axes, n_boot, log=False, seed=seed)
    for ax in axes:
        ax.set_ylabel("episode return")
    setting_legend(fig, colors, dict(zip(runs["objective"], runs["title"])))
    return fig


# -- aggregate (rliable-style) -------------------------------------------------------------------------------------

def aggregate_figure(scores: pd.DataFrame, reference: str = "clip0.2", reps: int = 2000, seed: int = 0) -> Figure:
    """Three panels from normalised scores (analysis.table1.Table1.scores: env, objective, title, normalised):
    IQM per setting with a stratified-bootstrap 95% interval; probability that each other setting improves on
    `reference` (clip ε = 0.2 by default) with its interval; performance profiles (fraction of runs with
    normalised score > τ) with 95% bands. All estimators: analysis.aggregate (numpy, not rliable)."""
    order = settings_order(scores["objective"])
    titles = dict(zip(scores["objective"], scores["title"]))
    colors = setting_colors(order)
    data = {o: by_task(scores, o) for o in order}
    data = {o: d for o, d in data.items() if d}
    order = [o for o in order if o in data]
    fig = Figure(figsize=(15.0, 0.45 * len(order) + 2.6), layout="constrained")
    ax_iqm, ax_poi, ax_profile = (fig.add_subplot(1, 3, i + 1) for i in range(3))

    def intervals(ax, names, stats, xlabel):
        y = np.arange(len(names))[::-1]
        for yi, name, (point, low, high) in zip(y, names, stats):
            ax.hlines(yi, low, high, color=colors[name], linewidth=6, alpha=0.5)
            ax.plot([point], [yi], "|", color="black", markersize=14)
        ax.set_yticks(y, [titles.get(n, n) for n in names])
        ax.set_xlabel(xlabel)

    seeds = min(len(x) for d in data.values() for x in d.values()) if data else 0  # fewest runs of a setting, task
    intervals(ax_iqm, order, [aggregate.bootstrap(aggregate.iqm_of, data[o], reps=reps, seed=seed) for o in order],
              "IQM of normalised score")
    ax_iqm.set_title("IQM (95% stratified bootstrap CI)" if seeds >= 2 else
                     "IQM (no interval: one seed on some task)")
    others = [o for o in order if o != reference]
    if seeds < 2:
        ax_poi.text(0.5, 0.5, "n/a: needs at least 2 seeds\nof every setting on every task", ha="center",
                    va="center", transform=ax_poi.transAxes)
        ax_poi.set_xticks([])
        ax_poi.set_yticks([])
    elif reference in data and others:
        stats = [aggregate.bootstrap(aggregate.probability_of_improvement, data[o], data[reference], reps=reps,
                                     seed=seed) for o in others]
        intervals(ax_poi, others, stats, f"P(setting > {titles.get(reference, reference)})")
        ax_poi.axvline(0.5, color="gray", linestyle="--", linewidth=0.8)
        ax_poi.set_xlim(0, 1)
    else:
        ax_poi.text(0.5, 0.5, f"no runs of {reference}" if reference not in data else "no other setting",
                    ha="center", va="center", transform=ax_poi.transAxes)
    ax_poi.set_title("Probability of improvement")
    everything = np.concatenate([aggregate.pooled(d) for d in data.values()]) if data else np.zeros(1)
    taus = np.linspace(min(0.0, everything.min()), max(1.0, everything.max()), 101)
    for o in order:
        point, low, high = aggregate.bootstrap(lambda s: aggregate.performance_profile(s, taus), data[o], reps=reps,
                                               seed=seed)
        ax_profile.plot(taus, point, color=colors[o], label=titles.get(o, o))
        ax_profile.fill_between(taus, low, high, color=colors[o], alpha=0.2, linewidth=0)
    ax_profile.set_xlabel("normalised score τ")
    ax_profile.set_ylabel("fraction of runs with score > τ")
    ax_profile.set_title("Performance profiles")
    ax_profile.legend(fontsize="small", frameon=False)
    return fig


# -- training diagnostics ------------------------------------------------------------------------------------------

DIAGNOSTICS = ("kl", "clip_fraction", "beta")


def diagnostics(runs: pd.DataFrame, metrics: pd.DataFrame, columns: tuple[str, ...] = DIAGNOSTICS,
                points: int | None = None, n_boot: int = 200, seed: int = 0) -> Figure:
    """One panel per (quantity, task): rows are `columns` of metrics.csv (KL[π_old, π_new] after each update, the
    fraction of samples with |r - 1| > ε, the KL penalty's β), columns are tasks; one line per setting (mean over
    seeds with a 95% bootstrap band), against env steps (points=None: one grid point per iteration). kl and beta
    are drawn on a log scale, where values <= 0 are left out: a setting without a KL penalty (β = 0) draws no β
    line."""
    tasks = sorted(runs["env"].dropna().unique())
    colors = setting_colors(runs["objective"].dropna())
    n = max(len(tasks), 1)
    fig = Figure(figsize=(3.6 * n, 2.6 * len(columns) + 0.6), layout="constrained")
    for row, column in enumerate(columns):
        axes = [fig.add_subplot(len(columns), n, row * n + i + 1) for i in range(n)]
        draw_curves(binned(metrics, runs, column, points), column, tasks, colors, axes, n_boot,
                log=column in ("kl", "beta"), seed=seed)
        for ax in axes:
            ax.set_ylabel(column)
    setting_legend(fig, colors, dict(zip(runs["objective"], runs["title"])))
    return fig
