"""The paper's own numbers, carried by the project so that every table can show them beside ours.

Source: J. Schulman, F. Wolski, P. Dhariwal, A. Radford, O. Klimov, "Proximal Policy Optimization Algorithms",
arXiv:1707.06347 (v2, 2017), Table 1 (section 6.1): average normalised score over 7 MuJoCo tasks (Gym -v1) × 3 seeds,
1M timesteps per run; per task the random policy is 0 and the best result is 1.

Keys are ppo_bench's derived objective names (ObjectiveSettings.name), so a run's config selects its paper value
without any typed mapping: the adaptive-KL rows start at β = 1 as the Table 1 caption states.
"""

from __future__ import annotations

CITATION = ('Schulman, Wolski, Dhariwal, Radford, Klimov, "Proximal Policy Optimization Algorithms", '
            "arXiv:1707.06347 (2017), Table 1")

TABLE1: dict[str, tuple[str, float]] = {  # objective name -> (the paper's row label, average normalised score)
    "none": ("No clipping or penalty", -0.39),
    "clip0.1": ("Clipping, ε = 0.1", 0.76),
    "clip0.2": ("Clipping, ε = 0.2", 0.82),
    "clip0.3": ("Clipping, ε = 0.3", 0.70),
    "kl_adaptive0.003": ("Adaptive KL, d_targ = 0.003", 0.68),
    "kl_adaptive0.01": ("Adaptive KL, d_targ = 0.01", 0.74),
    "kl_adaptive0.03": ("Adaptive KL, d_targ = 0.03", 0.71),
    "kl_fixed0.3": ("Fixed KL, β = 0.3", 0.62),
    "kl_fixed1": ("Fixed KL, β = 1", 0.71),
    "kl_fixed3": ("Fixed KL, β = 3", 0.72),
    "kl_fixed10": ("Fixed KL, β = 10", 0.69),
}


def paper_score(objective: str) -> float | None:
    """Table 1's score of an objective name, or None when the paper has no such row."""
    row = TABLE1.get(objective)
    return None if row is None else row[1]


def paper_order(objective: str) -> tuple[int, str]:
    """Sort key: the paper's row order first, then other settings by name."""
    names = list(TABLE1)
    return (names.index(objective), "") if objective in TABLE1 else (len(names), str(objective))
