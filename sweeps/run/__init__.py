"""A :class:`sweeps.spec.SweepSpec` → Ray Tune: the runner, W&B runs, the progress output, and replay of
recorded learning curves through the same searcher and scheduler."""
