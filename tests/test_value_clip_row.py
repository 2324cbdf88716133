"""experiments.value_clip_row: the unclipped-value clip ε = 0.2 row scored with Table 1's anchors, on synthetic runs
whose answer is worked out by hand."""

import pandas as pd
import pytest

from experiments.value_clip_row import markdown, table


def test_the_row_is_scored_with_table1s_anchors_and_ranked_in_clip_02s_place():
    # Table 1's anchors: task A random 0, best 100; task B random -50, best 50
    per_task = pd.DataFrame({"objective": ["clip0.2", "clip0.2", "kl_fixed1", "kl_fixed1"],
                             "env": ["A-v5", "B-v5", "A-v5", "B-v5"], "mean": [40.0, -10.0, 100.0, 50.0],
                             "std": [1.0, 2.0, 3.0, 4.0], "baseline": [0.0, -50.0, 0.0, -50.0],
                             "best": [100.0, 50.0, 100.0, 50.0]})
    table1 = pd.DataFrame({"objective": ["none", "clip0.2", "kl_fixed1"], "score": [0.1, 0.4, 0.8]})
    scores = pd.DataFrame({"env": ["A-v5"] * 3 + ["B-v5"] * 3, "raw": [80.0, 100.0, 90.0, 0.0, 50.0, 25.0]})
    rows, summary = table(scores, per_task, table1)
    # normalised: A (80, 100, 90) / 100 -> mean 0.9; B (0, 50, 25) + 50 over 100 -> (0.5, 1, 0.75), mean 0.75
    assert summary["score"] == pytest.approx((0.9 + 0.75) / 2)
    assert summary["ci_low"] <= summary["score"] <= summary["ci_high"]
    assert (summary["table1_rank"], summary["rank"], summary["settings"]) == (2, 1, 3)  # 0.825 > 0.8 > 0.1
    a = rows.set_index("env").loc["A-v5"]
    assert (a["with_mean"], a["without_mean"], a["seeds"]) == (40.0, 90.0, 3)
    assert a["with_normalised"] == pytest.approx(0.4) and a["without_normalised"] == pytest.approx(0.9)
    b = rows.set_index("env").loc["B-v5"]
    assert b["with_normalised"] == pytest.approx(0.4) and b["without_normalised"] == pytest.approx(0.75)
    text = markdown(rows, summary)
    assert "| A-v5 | 40.0 ± 1.0 | 90.0 ± 10.0 | 0.40 → 0.90 |" in text
    assert "clip ε = 0.2 scores 0.40 with the value clip (rank 2 of 3) and 0.82 [" in text
    assert "which would rank 1 of 3 in its place (the other 2 settings as in Table 1; the best of them: kl_fixed1, " \
        "0.80)." in text
    with pytest.raises(SystemExit, match="table1_per_task.csv has no C-v5: rebuild it"):
        table(pd.DataFrame({"env": ["C-v5"], "raw": [1.0]}), per_task, table1)
