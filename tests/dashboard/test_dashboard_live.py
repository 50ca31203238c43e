"""A sweep still running: the open sweep page shows a trial's results change without a reload.

The sweep is real (``finesweep run`` in a subprocess: tiny model, 2 trials, 6 reports each), so the page
reads what Tune really writes while it runs, including its lagging trial states, not a scripted imitation.
Reports are 300 steps apart (~5 s of the tiny model on an idle machine) so that the page, polling every 2 s,
can see a trial between two of them; at 3 or 80 steps apart a whole trial could pass between two polls.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.serving import chromium_page, running_dashboard, screenshot
from tests.helpers.sweeps import write_tiny_sweep

SWEEP_TIMEOUT_S = 900
# Each leaderboard change is logged as "trial reports best"; a reload would lose the log and the marker.
WATCH_LEADERBOARD_JS = """() => {
  window.noReloadMarker = true;
  window.seenRows = [];
  const record = () => document.querySelectorAll('#leaderboard tbody tr').forEach(row => {
    const cell = name => row.querySelector(`td[data-col=${name}]`).textContent;
    const seen = `${row.dataset.trialId} ${cell('iterations')} ${cell('best')}`;
    if (!window.seenRows.includes(seen)) window.seenRows.push(seen);
  });
  new MutationObserver(record).observe(document.querySelector('#leaderboard tbody'),
                                       {childList: true, subtree: true, characterData: true});
  record();
}"""
# True once some trial was shown with results, then with more results (more reports, same page).
A_TRIAL_CHANGED_JS = """() => {
  const reports = {};
  for (const seen of window.seenRows) {
    const [trial, iterations, best] = seen.split(' ');
    if (Number(iterations) > 0 && best !== '–') (reports[trial] ||= new Set()).add(Number(iterations));
  }
  return Object.values(reports).some(counts => counts.size >= 2);
}"""


def _wait_for_file(path: Path, *, sweep: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not path.is_file():
        assert sweep.poll() is None, f"the sweep exited with {sweep.returncode} before writing {path}"
        assert time.monotonic() < deadline, f"no {path} after {timeout} s"
        time.sleep(1)


@pytest.mark.slow
def test_the_sweep_page_follows_a_running_sweep_without_reload(tmp_path: Path, tiny_model_dir: Path,
                                                               qa_data_path: Path,
                                                               tmp_path_factory: pytest.TempPathFactory):
    spec_path = write_tiny_sweep(
        tmp_path / "live.yaml", model_dir=tiny_model_dir, data_path=qa_data_path,
        training={"max_steps": 1800, "eval_every_steps": 300, "batch_size": 8},
        search={"num_trials": 2, "seed": 0, "max_concurrent_trials": 1},
        search_space={"training.learning_rate": {"type": "loguniform", "low": 1e-4, "high": 3e-2}},
        scheduler={"name": "none"})
    storage = tmp_path / "runs"
    storage.mkdir()
    screenshots = tmp_path_factory.getbasetemp() / "screenshots"
    with (tmp_path / "sweep.log").open("w") as log:
        sweep = subprocess.Popen([sys.executable, "-m", "sweeps", "run", str(spec_path)], stdout=log,
                                 stderr=subprocess.STDOUT)
    try:
        _wait_for_file(storage / "tiny" / "sweep.yaml", sweep=sweep, timeout=300)
        with running_dashboard(storage, log_path=tmp_path / "dashboard.log") as url, chromium_page() as page:
            page.goto(f"{url}/sweeps/tiny")
            page.wait_for_selector("#leaderboard tbody", state="attached")  # empty, so not visible, at first
            page.evaluate(WATCH_LEADERBOARD_JS)
            page.wait_for_function(A_TRIAL_CHANGED_JS, timeout=SWEEP_TIMEOUT_S * 1000, polling=500)
            screenshot(page, screenshots, "4-sweep-running")
            page.wait_for_selector("#state.finished", timeout=SWEEP_TIMEOUT_S * 1000)
            page.wait_for_selector("#importance .bars path", timeout=60_000)  # redone as the last trial ended
            assert page.evaluate("window.noReloadMarker === true"), "the page was reloaded"
            print(f"\nrows seen without reload: {page.evaluate('window.seenRows')}")
            screenshot(page, screenshots, "5-sweep-finished-live")
        assert sweep.wait(timeout=SWEEP_TIMEOUT_S) == 0, (tmp_path / "sweep.log").read_text()[-3000:]
    finally:
        if sweep.poll() is None:  # a failed assertion above: stop the sweep this test started
            sweep.terminate()
            sweep.wait(timeout=120)
