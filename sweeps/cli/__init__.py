"""The ``finesweep`` command: thin typer commands over the library, the only layer that imports
:mod:`cluster` and :mod:`dashboard`."""
