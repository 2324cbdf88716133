"""Replays a trained policy: the returns of N deterministic episodes and, where MuJoCo can render offscreen (EGL,
e.g. Debian's libegl1 and libegl-mesa0), a GIF of the first episode, optionally logged to the run's wandb run.

    python -m ppo_bench.replay RUN_FOLDER [--episodes 10] [--seed S] [--video replay.gif] [--log-video]
    python -m ppo_bench.replay ENTITY/PROJECT/policy-RUNID:latest ...   (the policy artifact a run logged)

By default the episodes use the run's own evaluation seeds, so a run folder's replay repeats its final evaluation
(eval.csv) exactly.
"""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")  # before MuJoCo is imported: offscreen rendering without a display

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import yaml  # noqa: E402

from ppo_bench.loop import eval_seed  # noqa: E402
from ppo_bench.policy import SavedPolicy, evaluate  # noqa: E402


def policy_file(source: str) -> Path:
    """policy.pt of a run folder, a policy file, or a wandb artifact (entity/project/name:alias, downloaded)."""
    path = Path(source)
    if path.is_dir() and (path / "policy.pt").exists():
        return path / "policy.pt"
    if path.is_file():
        return path
    if path.is_dir():
        raise FileNotFoundError(f"{source}: no policy.pt (the run has not finished, or save_policy=false)")
    import wandb

    return Path(wandb.Api().artifact(source, type="model").download()) / "policy.pt"


def run_seed(policy_path: Path) -> int | None:
    """The run's training seed, when the policy sits in its run folder."""
    config = policy_path.parent / "config.yaml"
    return yaml.safe_load(config.read_text())["seed"] if config.exists() else None


def save_gif(frames: list[np.ndarray], path: Path, fps: int = 30) -> None:
    from PIL import Image

    images = [Image.fromarray(frame) for frame in frames]
    images[0].save(path, save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)


def log_video(run_dir: Path, video: Path) -> str:
    """Logs the video to the run's own wandb run (offline runs: into the same offline run, synced later)."""
    import wandb

    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    offline = sorted((run_dir / "wandb").glob("offline-run-*"))
    run_id = offline[-1].name.rsplit("-", 1)[1] if offline else None
    run = wandb.init(project=config["logger"]["project"], entity=config["logger"]["entity"], id=run_id,
                     resume="allow", dir=str(run_dir), mode="offline" if offline else "online",
                     settings=wandb.Settings(silent=True, console="off", init_timeout=30))
    run.log({"replay/video": wandb.Video(str(video), format="gif")})
    run.finish()
    return run.id


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Returns (and a video) of a trained policy's deterministic episodes")
    parser.add_argument("source", help="a run folder, a policy.pt, or a wandb artifact entity/project/name:alias")
    parser.add_argument("--episodes", type=int, default=10, help="deterministic episodes (default 10)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the first episode (default: the run's "
                                                                "evaluation seed, else 0)")
    parser.add_argument("--video", type=Path, default=None, help="write the first episode as a GIF here")
    parser.add_argument("--log-video", action="store_true", help="log the video to the run's wandb run")
    args = parser.parse_args(argv)
    try:
        path = policy_file(args.source)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    policy = SavedPolicy.load(path)
    seed = args.seed if args.seed is not None else (0 if run_seed(path) is None else eval_seed(run_seed(path)))
    video = args.video or (path.parent / "replay.gif" if args.log_video else None)
    frames: list[np.ndarray] | None = [] if video else None
    try:
        results = evaluate(policy, args.episodes, seed, frames)
    except Exception as error:  # noqa: BLE001 - no offscreen OpenGL here: say so, in one line
        if frames is None:
            raise
        print(f"error: cannot render {policy.env_id} offscreen ({type(error).__name__}: {error}); install EGL "
              "(Debian: libegl1 libegl-mesa0) or run without --video", file=sys.stderr)
        return 2
    returns = np.array([r for r, _ in results])
    print(f"{policy.env_id}: {len(results)} deterministic episodes from seed {seed}: return {returns.mean():.2f} ± "
          f"{returns.std():.2f} (min {returns.min():.2f}, max {returns.max():.2f}); lengths "
          f"{[n for _, n in results]}")
    if video:
        save_gif(frames, video)
        print(f"video: {video} ({len(frames)} frames)")
        if args.log_video:
            print(f"logged to wandb run {log_video(path.parent, video)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
