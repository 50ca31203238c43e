"""finesweep's sweep side, one subpackage per step of the data path, each importing only those below it:
``core`` → ``spec`` → ``config`` → (``trainer``) → ``run`` → ``results`` → (``cluster``, ``dashboard``) → ``cli``."""
