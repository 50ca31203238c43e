"""A :class:`sweeps.spec.SweepSpec` → Ray Tune: the runner, W&B runs, the live table, and replay of
recorded learning curves through the same searcher and scheduler."""
