from ppo_bench.train import cli

cli()
