"""A :class:`sweeps.spec.SweepSpec` → Ray Tune: the runner, W&B runs, the progress output, compute budgets, and
replay of recorded learning curves through the same searcher and scheduler; what keeps a sweep resumable after a
fault (the driver's record, the result log, the storage check, Tune's state mended)."""
