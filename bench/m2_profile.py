"""The profile behind M2's scheduler defaults: how well a run's rank early in its own schedule predicts a
near-best end. For each curve set, the share of the runs that come within the target of the best value in the
file which sit below the median (and below the top third) of all runs at a given share of their schedule.

    python -m bench.m2_profile
"""

from __future__ import annotations

import statistics

from bench.common import save
from bench.m2_arms import SETS

SHARES = (1 / 16, 1 / 9, 1 / 4, 1 / 3, 1 / 2)


def value_at(run, share: float) -> float | None:
    """The run's last value at or before ``share`` of its planned steps (None: no point yet)."""
    points = [value for step, value in run.curve if step / run.planned() <= share + 1e-9]
    return points[-1] if points else None


def profile(set_name: str) -> dict:
    from sweeps.run.curves import read_curves

    curves = read_curves(SETS[set_name].curves_file)
    finished = [run for run in curves.runs if run.finished]
    target = curves.best_value() - SETS[set_name].target_gap
    good = [run for run in finished if max(value for _, value in run.curve) >= target]
    rows = {}
    for share in SHARES:
        values = sorted(value for run in finished if (value := value_at(run, share)) is not None)
        median, top_third = statistics.median(values), values[int(len(values) * 2 / 3)]
        at = [value_at(run, share) for run in good]
        rows[f"{share:.3f}"] = {"below_median": sum(v is not None and v < median for v in at) / len(good),
                                "below_top_third": sum(v is not None and v < top_third for v in at) / len(good),
                                "no_point_yet": sum(v is None for v in at) / len(good)}
    return {"runs": len(curves.runs), "finished": len(finished), "near_best": len(good), "at_share": rows}


def main() -> None:
    figures = {set_name: profile(set_name) for set_name in SETS}
    save("m2_profile", figures)
    for set_name, figure in figures.items():
        print(f"{set_name}: {figure['near_best']} of {figure['finished']} finished runs end near the best")
        for share, row in figure["at_share"].items():
            print(f"  at {float(share):.3f} of their schedule: {100 * row['below_median']:.0f}% below the median, "
                  f"{100 * row['below_top_third']:.0f}% below the top third, {100 * row['no_point_yet']:.0f}% no point")


if __name__ == "__main__":
    main()
