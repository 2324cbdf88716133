"""The wandb dashboard of one experiment, built from code with wandb's own library for reports
(wandb-workspaces: pip install 'ppo-bench[dashboard]').

One section per task in the layout of the paper's Figure 3 (training return against env steps, the runs of each
objective grouped: mean and standard error), the diagnostics beside it (KL, clip fraction, β), and Table 1 from the
analysis run that `python -m analysis.report ... --log-wandb ENTITY/PROJECT --group EXPERIMENT` logged. Building the
specification needs no server; saving it does:

    python -m analysis.dashboard ENTITY/PROJECT --group EXPERIMENT [--tasks HalfCheetah-v5 ...] [--save]
"""

from __future__ import annotations

import argparse
import sys

from ppo_bench.tasks import PAPER_ENV_IDS

DIAGNOSTICS = ("diagnostics/kl", "diagnostics/clip_fraction", "diagnostics/beta")


def build(entity: str, project: str, group: str, env_ids: tuple[str, ...] = PAPER_ENV_IDS):
    """The dashboard as a wandb_workspaces Report (not saved)."""
    import wandb_workspaces.expr as expr
    import wandb_workspaces.reports.v2 as wr

    def runset(name: str, *filters) -> wr.Runset:
        return wr.Runset(entity=entity, project=project, name=name,
                         filters=[expr.Config("logger.group") == group, *filters], groupby=["objective.name"])

    def task_section(env_id: str) -> list:
        curves = wr.LinePlot(title=f"{env_id}: training return", x="global_step", y=["episode/return"],
                             groupby_aggfunc="mean", groupby_rangefunc="stderr", smoothing_factor=0.9,
                             title_x="env steps", layout=wr.Layout(x=0, y=0, w=12, h=8))
        diagnostics = [wr.LinePlot(title=metric.split("/")[1], x="global_step", y=[metric], groupby_aggfunc="mean",
                                   groupby_rangefunc="stderr", layout=wr.Layout(x=12 + 4 * (i % 3), y=0, w=4, h=8))
                       for i, metric in enumerate(DIAGNOSTICS)]
        return [wr.H2(env_id), wr.PanelGrid(runsets=[runset(env_id, expr.Config("env.id") == env_id)],
                                            panels=[curves, *diagnostics])]

    table = wr.PanelGrid(runsets=[wr.Runset(entity=entity, project=project, name="report",
                                            filters=[expr.Config("logger.group") == group])],
                         panels=[wr.WeavePanelSummaryTable(table_name="table1", layout=wr.Layout(w=24, h=10))])
    blocks = [wr.P(f"Experiment {group}: runs grouped by objective (mean and standard error over seeds)."),
              wr.H1("Table 1"), table]
    for env_id in env_ids:
        blocks += task_section(env_id)
    return wr.Report(entity=entity, project=project, title=f"ppo-bench: {group}",
                     description="Table 1 and the Figure 3 layout per task, from ppo-bench runs", blocks=blocks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The wandb dashboard of one experiment (a wandb report).")
    parser.add_argument("project", metavar="ENTITY/PROJECT")
    parser.add_argument("--group", required=True, help="the experiment: the runs' wandb group (logger.group)")
    parser.add_argument("--tasks", nargs="+", default=list(PAPER_ENV_IDS), help="env ids, one section each")
    parser.add_argument("--save", action="store_true", help="create the report on the server (needs credentials)")
    args = parser.parse_args(argv)
    entity, _, project = args.project.rpartition("/")
    if not entity:
        print("error: give the project as ENTITY/PROJECT", file=sys.stderr)
        return 2
    try:
        report = build(entity, project, args.group, tuple(args.tasks))
    except ImportError:
        print("error: the dashboard needs wandb-workspaces: pip install 'ppo-bench[dashboard]'", file=sys.stderr)
        return 2
    sections = [b.text for b in report.blocks if type(b).__name__ == "H2"]
    print(f"report '{report.title}': Table 1, then {len(sections)} task sections ({', '.join(sections)})")
    if args.save:
        report.save()
        print(report.url)
    else:
        print("not saved (add --save to create it in the project)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
