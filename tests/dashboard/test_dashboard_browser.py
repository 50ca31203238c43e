"""The dashboard as a user meets it: ``finesweep dashboard`` on a copy of the finished tiny sweep, clicked
through in headless Chromium; a screenshot of each page is saved under the session's temporary folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sweeps.config.loading import read_spec
from sweeps.core.layout import CHOSEN_FILE
from sweeps.results.reading import trial_summaries
from tests.helpers.checkpoints import LOGIT_TOLERANCE, merged_vs_peft
from tests.helpers.serving import CANVAS_PIXELS_JS, chromium_page, running_dashboard, screenshot

EXPORT_TIMEOUT_MS = 600_000  # merging on a busy 2-core machine


@pytest.fixture(scope="module")
def storage(finished_sweep: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy: choosing and exporting write into the sweep, which other tests read as it was left."""
    runs = tmp_path_factory.mktemp("browser") / "runs"
    shutil.copytree(finished_sweep, runs / "tiny")
    return runs


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.getbasetemp() / "screenshots"


@pytest.mark.slow
def test_pages_rank_best_first_draw_plots_and_export_a_loadable_model(storage: Path, screenshots: Path,
                                                                        tmp_path: Path):
    sweep_dir = storage / "tiny"
    expected = [trial.trial_id for trial in trial_summaries(sweep_dir, read_spec(sweep_dir))]
    with running_dashboard(storage, log_path=tmp_path / "dashboard.log") as url, chromium_page() as page:
        page.goto(f"{url}/")
        page.wait_for_selector('#sweeps tr[data-sweep="tiny"] td.state.finished', timeout=120_000)
        screenshot(page, screenshots, "1-sweeps")

        page.click('#sweeps a:text("tiny")')
        page.wait_for_function("document.querySelectorAll('#leaderboard tbody tr').length === 4", timeout=120_000)
        rows = page.eval_on_selector_all("#leaderboard tbody tr", "rows => rows.map(row => row.dataset.trialId)")
        assert rows == expected  # best first, as `finesweep best` ranks them
        # Importance bars need two completed trials; trials the scheduler stopped are pruned in the study.
        page.wait_for_function("document.getElementById('importance-note').textContent.length > 0",
                               timeout=120_000)
        lines = page.eval_on_selector_all("#curves .scatterlayer .trace", "traces => traces.length")
        drawn = page.evaluate(CANVAS_PIXELS_JS, "#parallel")
        assert lines == 4 and drawn and max(drawn) > 1000, (lines, drawn)
        assert "(best)" in page.text_content("#curves .legend")  # an SVG group: text, not innerText
        # The optimisation history: dots and the best-so-far line, by trial and by compute.
        history = page.eval_on_selector_all("#history .scatterlayer .trace", "traces => traces.length")
        assert history == 4 and "best so far" in page.text_content("#history .legend")
        assert "CPU-hours" in page.text_content("#history")
        best_cell = page.get_attribute(f'#leaderboard tr[data-trial-id="{expected[0]}"] td[data-col="best"]', "title")
        assert float(best_cell) == trial_summaries(sweep_dir, read_spec(sweep_dir))[0].best_value  # exact on hover

        runner_up = expected[1]
        page.click(f'#leaderboard tr[data-trial-id="{runner_up}"] button:text("choose")')
        # The first choice loads transformers in the server (to read checkpoints): slow on a busy machine.
        page.wait_for_function(f"document.getElementById('chosen').textContent.includes('{runner_up}')",
                               timeout=180_000)
        chosen = json.loads((sweep_dir / CHOSEN_FILE).read_text())
        assert chosen["trial_id"] == runner_up
        page.wait_for_selector("#choice-warning:not([hidden])", timeout=60_000)
        assert f"trial {expected[0]} reached" in page.inner_text("#choice-warning")

        page.click("#export-merged")
        page.wait_for_selector("#export-result[data-path]", timeout=EXPORT_TIMEOUT_MS)
        exported = Path(page.get_attribute("#export-result", "data-path"))
        screenshot(page, screenshots, "2-sweep")
        assert exported.parent == sweep_dir / "exports" and f"{runner_up}-step" in exported.name
        difference, adapter_effect = merged_vs_peft(exported, checkpoint_dir=Path(chosen["checkpoint_path"]))
        print(f"\nexported merged model {exported}: max |Δlogit| vs base + adapter = {difference:.3g} "
              f"(the adapter moves logits by up to {adapter_effect:.3g})")
        assert difference < LOGIT_TOLERANCE < adapter_effect

        page.click("#clear-choice")  # back to the best: export takes it again
        page.wait_for_function("document.getElementById('chosen').textContent.startsWith('none')", timeout=60_000)
        assert not (sweep_dir / CHOSEN_FILE).exists()
        assert page.is_hidden("#choice-warning") and page.is_hidden("#clear-choice")
        screenshot(page, screenshots, "2b-sweep-choice-cleared")

        page.click(f'#leaderboard a:text("{expected[0]}")')
        page.wait_for_selector("#checkpoints tbody tr", timeout=120_000)
        page.wait_for_selector("#trial-curves .scatterlayer .trace", timeout=60_000)
        assert "(best)" in page.inner_text("#checkpoints")
        screenshot(page, screenshots, "3-trial")
