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


FIGURE3_CITATION = ("Schulman et al. 2017, Figure 3 (learning curves, 7 MuJoCo -v1 tasks, 1M steps); final returns "
                    "read off the figure by third parties, approximate")

FIGURE3_SETTINGS: dict[str, str] = {  # setting name (TrainSettings.name) -> the paper's legend label, legend order
    "a2c": "A2C",
    "a2c_trust_region": "A2C + Trust Region",
    "cem": "CEM",
    "clip0.2": "PPO (Clip)",
    "pg": "Vanilla PG, Adaptive",
    "trpo": "TRPO",
}

FIGURE3_Y_RANGES: dict[str, tuple[float, float]] = {  # Gymnasium task name -> the y-axis of the paper's panel
    "HalfCheetah": (-500, 2000),
    "Hopper": (0, 2500),
    "InvertedDoublePendulum": (0, 8000),
    "InvertedPendulum": (0, 1000),
    "Reacher": (-120, -20),
    "Swimmer": (0, 120),
    "Walker2d": (0, 3000),
}

FIGURE3_FINAL_RETURNS: dict[str, dict[str, float]] = {  # task -> setting -> final return read off Figure 3
    "HalfCheetah": {"clip0.2": 1800, "trpo": 0, "a2c": 1000, "a2c_trust_region": 930},
    "Hopper": {"clip0.2": 2330, "trpo": 2100, "a2c": 900, "a2c_trust_region": 1220},
    "InvertedDoublePendulum": {"clip0.2": 8000, "trpo": 200, "a2c": 7100, "a2c_trust_region": 8100},
    "InvertedPendulum": {"clip0.2": 1000, "trpo": 1000, "a2c": 1000, "a2c_trust_region": 1000},
    "Reacher": {"clip0.2": -7, "trpo": -115, "a2c": -24, "a2c_trust_region": -27},
    "Swimmer": {"clip0.2": 108, "trpo": 121, "a2c": 31, "a2c_trust_region": 36},
    "Walker2d": {"clip0.2": 3460, "trpo": 1100, "a2c": 850, "a2c_trust_region": 700},
}
