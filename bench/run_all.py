"""``make bench``: every benchmark in its own process (each starts and stops its own Ray), M2 before M4 (M4
reads M2's simulated sweeps), with the wall time of each and the machine's load. Results: bench/out/*.json,
plots: bench/plots/*.png, figures summarised in BENCHMARKS.md.

    python -m bench.run_all [m1_overhead m3_bookkeeping ...]
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from bench.common import save

SCRIPTS = ("m1_overhead", "m3_bookkeeping", "m5_checkpoints", "m2_search", "m4_utilisation")
# make bench gives M2 a 2-seed subset of its grid (under a minute on 2 cores); the 20-seed grid is
# `python -m bench.m2_search` (BENCHMARKS.md, M2).
ARGUMENTS = {"m2_search": ["--seeds", "2"]}


def main() -> None:
    chosen = sys.argv[1:] or SCRIPTS
    seconds = {}
    for script in chosen:
        started = time.monotonic()
        print(f"== {script} (load average {os.getloadavg()[0]:.1f})", flush=True)
        subprocess.run([sys.executable, "-m", f"bench.{script}", *ARGUMENTS.get(script, [])], check=True)
        seconds[script] = time.monotonic() - started
        print(f"== {script}: {seconds[script] / 60:.1f} min", flush=True)
    save("run_all", {"minutes": {script: s / 60 for script, s in seconds.items()},
                     "total_minutes": sum(seconds.values()) / 60})
    print(f"all benchmarks: {sum(seconds.values()) / 60:.1f} min")


if __name__ == "__main__":
    main()
