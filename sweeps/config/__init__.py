"""A sweep file and its overrides → one validated :class:`sweeps.spec.SweepSpec`: loading, the messages of
every problem at once, the checks across sections and against this machine, and the generated reference."""
