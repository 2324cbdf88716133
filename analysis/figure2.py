"""Figure 2 of the paper: the surrogates along the line from θ_old to the first update's θ_new.

Input: a run folder's first_update.pt (train with save_first_update=true). For α on a grid,
θ(α) = θ_old + α (θ_new - θ_old) for every policy weight and the log-std, and on the first batch:

    E[KL(π_old || π_θ(α))],  L^CPI = E[r Â],  E[clip(r, 1-ε, 1+ε) Â],  L^CLIP = E[min(r Â, clip(r, 1-ε, 1+ε) Â)]

with Â the advantages exactly as the first update's loss saw them. The losses come from ppo_bench.objective, the
same functions the training loop uses.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from ppo_bench.networks import mlp
from ppo_bench.objective import gaussian_kl, gaussian_log_prob, surrogate_loss

COLUMNS = ("alpha", "kl", "cpi", "clipped", "clip_objective")
LABELS = {"kl": "E[KL(π_old || π)]", "cpi": "L^CPI = E[r Â]", "clipped": "E[clip(r, 1-ε, 1+ε) Â]",
          "clip_objective": "L^CLIP = E[min(r Â, clip(r, 1-ε, 1+ε) Â)]"}


def _interpolate(before: dict, after: dict, alpha: float) -> dict[str, list[torch.Tensor]]:
    return {name: [b + alpha * (a - b) for b, a in zip(before[name], after[name])] for name in before}


def surrogates_along_update(first_update: dict, alphas: np.ndarray) -> pd.DataFrame:
    """One row per α: columns COLUMNS. first_update as saved by the training loop (member axis of size 1)."""
    obs, actions = first_update["obs"], first_update["actions"]
    log_prob_old, advantages = first_update["log_probs"], first_update["advantages"]
    eps = first_update["clip_eps"]
    old = first_update["before"]
    mean_old = mlp(obs, old["weights"], old["biases"])
    rows = []
    with torch.no_grad():
        for alpha in alphas:
            theta = _interpolate(old, first_update["after"], float(alpha))
            mean, log_std = mlp(obs, theta["weights"], theta["biases"]), theta["log_std"][0]
            log_prob = gaussian_log_prob(actions, mean, log_std)
            kl = gaussian_kl(mean_old, old["log_std"][0], mean, log_std)
            zero = torch.zeros(1)
            clip = surrogate_loss(log_prob, log_prob_old, advantages, kl, eps, zero)
            plain = surrogate_loss(log_prob, log_prob_old, advantages, kl, torch.full((1,), float("inf")), zero)
            ratio = torch.exp(log_prob - log_prob_old)
            clipped = (torch.clamp(ratio, 1 - eps.item(), 1 + eps.item()) * advantages).mean()
            rows.append((float(alpha), kl.mean().item(), plain.surrogate.item(), clipped.item(),
                         clip.surrogate.item()))
    return pd.DataFrame(rows, columns=COLUMNS)


def load_first_update(run_dir: str | Path) -> dict:
    path = Path(run_dir) / "first_update.pt"
    if not path.exists():
        raise FileNotFoundError(f"{path}: missing; train with save_first_update=true (python -m experiments.figure2)")
    return torch.load(path, weights_only=False)


def figure2(frame: pd.DataFrame, title: str = "") -> Figure:
    """The four curves against the interpolation factor α, with α = 1 (the updated policy) marked."""
    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.add_subplot()
    for column in COLUMNS[1:]:
        ax.plot(frame["alpha"], frame[column], label=LABELS[column])
    ax.axvline(1.0, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("linear interpolation factor α (0 = θ_old, 1 = θ after the first update)")
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=8)
    return fig
