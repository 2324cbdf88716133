"""A written report logged into a wandb project as one analysis run: Table 1 as a wandb.Table, each figure as an
image, and report.html with the table files as an artifact. Offline (the default, and whenever the server cannot be
reached) it is an offline run in <report>/wandb/, synced later with `wandb sync`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

TABLE_FILES = ("report.html", "report.md", "table1.csv", "table1_per_task.csv", "table1_runs.csv", "table1.md",
               "table1.tex")


def log_report(out: Path, project: str, entity: str | None = None, group: str | None = None,
               mode: str = "offline") -> str:
    """Logs the report written in `out`; returns the analysis run's folder (offline) or URL (online)."""
    import wandb

    run = wandb.init(project=project, entity=entity, group=group, job_type="analysis", mode=mode, dir=str(out),
                     name=f"report{'-' + group if group else ''}", tags=["report"],
                     settings=wandb.Settings(silent=True, console="off", init_timeout=30))
    table = pd.read_csv(out / "table1.csv")
    run.log({"table1": wandb.Table(dataframe=table)})
    run.summary.update({f"table1/{row.objective}": row.score for row in table.itertuples()})
    for figure in sorted((out / "figures").glob("*.png")):
        run.log({f"figures/{figure.stem}": wandb.Image(str(figure))})
    artifact = wandb.Artifact(f"report{'-' + group if group else ''}", type="report",
                              description="ppo-bench report: Table 1, per-task and per-run scores, figures")
    for name in TABLE_FILES:
        if (out / name).exists():
            artifact.add_file(str(out / name))
    run.log_artifact(artifact)
    where = run.dir if mode == "offline" else run.url
    run.finish()
    return str(Path(where).parent) if mode == "offline" else str(where)
