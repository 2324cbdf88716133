"""A trained policy leaves the run as a wandb artifact and replays: from its run folder the replay repeats the run's
final evaluation exactly; where MuJoCo renders offscreen, a GIF of an episode is written and logged to the run."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from ppo_bench.loop import train
from ppo_bench.settings import LoggerSettings
from tests.conftest import tiny, with_
from tests.test_cli import ROOT
from tests.wandb_records import read_records


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("replay") / "run"
    train(with_(tiny.__wrapped__(), total_timesteps=1024, eval_every=1024, eval_episodes=3,
                logger=LoggerSettings(mode="offline")), run)
    return run


def replay(*args):
    return subprocess.run([sys.executable, "-m", "ppo_bench.replay", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_the_policy_is_logged_as_a_model_artifact(finished_run):
    run_file = sorted(finished_run.glob("wandb/offline-run-*/run-*.wandb"))[0]  # the training run's own
    run_id = run_file.parent.name.rsplit("-", 1)[1]
    artifacts = [r.artifact for r in read_records(run_file) if r.WhichOneof("record_type") == "artifact"]
    assert [(a.type, a.name) for a in artifacts] == [("model", f"policy-{run_id}")]
    assert [f.path for f in artifacts[0].manifest.contents] == ["policy.pt"]


def test_replaying_the_run_folder_repeats_its_final_evaluation(finished_run):
    out = replay(finished_run, "--episodes", 3)
    assert out.returncode == 0, out.stderr[-2000:]
    evals = pd.read_csv(finished_run / "eval.csv")
    final = evals.tail(3)  # the evaluation at the end of training
    expected = f"return {final['return'].mean():.2f} ± {np.std(final['return']):.2f}"
    assert expected in out.stdout, (expected, out.stdout)
    assert f"lengths {final['length'].tolist()}" in out.stdout


def test_a_missing_policy_is_one_line(tmp_path):
    out = replay(tmp_path, "--episodes", 1)
    assert out.returncode == 2 and out.stderr.strip().startswith("error:") and len(out.stderr.splitlines()) == 1


def test_a_video_is_written_and_logged_to_the_run(finished_run):
    out = replay(finished_run, "--episodes", 1, "--log-video")
    if out.returncode == 2 and "cannot render" in out.stderr:
        pytest.skip(f"no offscreen rendering here: {out.stderr.strip()}")
    assert out.returncode == 0, out.stderr[-2000:]
    gif = finished_run / "replay.gif"
    assert gif.read_bytes()[:6] == b"GIF89a"
    from PIL import Image

    with Image.open(gif) as image:
        assert image.n_frames > 1
    run_files = sorted(finished_run.glob("wandb/offline-run-*/run-*.wandb"))
    assert len({f.parent.name.rsplit("-", 1)[1] for f in run_files}) == 1  # the same wandb run, continued
    keys = {item.key or "/".join(item.nested_key) for f in run_files for r in read_records(f)
            if r.WhichOneof("record_type") == "history" for item in r.history.item}
    assert "replay/video/_type" in keys
