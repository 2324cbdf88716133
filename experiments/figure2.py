"""Figure 2 from a real Hopper-v5 update: the surrogates along θ_old -> θ_new of the first policy update.

    make figure2         (or: python -m experiments.figure2 [--seed 1] [--out results/figure2])

Trains one iteration of clipped PPO (ε = 0.2, Table 3 settings, the default details preset) on Hopper-v5 through the
ordinary command line with save_first_update=true, then evaluates E[KL], L^CPI, E[clip·Â] and L^CLIP for α in [0, 3]
(analysis.figure2), writes figure2.png/.pdf and figure2.csv, and prints the KL at α = 1 beside the paper's ≈ 0.02.
Takes about 10 seconds.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from analysis.figure2 import figure2, load_first_update, surrogates_along_update
from analysis.figures import save_figure

PAPER_KL_AT_1 = 0.02  # Schulman et al. 2017, Figure 2 caption: the updated policy has KL ≈ 0.02 from θ_old


def main() -> None:
    parser = argparse.ArgumentParser(description="Figure 2 of the PPO paper from a real Hopper-v5 update")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default="results/figure2")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        run = Path(folder) / "run"
        subprocess.run([sys.executable, "-m", "ppo_bench.train", "env=hopper", "objective=clip", f"seed={args.seed}",
                        "total_timesteps=2048", "save_first_update=true", "logger.mode=disabled",
                        f"hydra.run.dir={run}"], check=True, stdout=subprocess.DEVNULL)
        frame = surrogates_along_update(load_first_update(run), np.linspace(0.0, 3.0, 121))
    frame.to_csv(out / "figure2.csv", index=False)
    at_one = frame.iloc[(frame["alpha"] - 1.0).abs().argmin()]
    peak = frame.loc[frame["clip_objective"].idxmax()]
    save_figure(figure2(frame, f"Hopper-v5, first update, seed {args.seed}"), out / "figure2")
    print(f"KL(π_old || π_new) at α = 1: {at_one.kl:.4f}   (paper: ≈ {PAPER_KL_AT_1})")
    print(f"L^CLIP peaks at α = {peak.alpha:.3f}, where KL = {peak.kl:.4f}")
    print(f"wrote {out}/figure2.png, .pdf, .csv")


if __name__ == "__main__":
    main()
