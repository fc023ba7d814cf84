"""Notebook 05_tune runs under papermill with a 2-trial, 1-epoch budget after 01 and 03 on the embedded sample.

Each execution starts a Jupyter kernel and the search trains networks, so the test is marked slow.
"""

from __future__ import annotations

import json

import pytest

papermill = pytest.importorskip("papermill")

from helpers.config import RunConfig  # noqa: E402
from helpers.runfolder import RunPaths  # noqa: E402
from helpers.tune import OVERRIDE_FIELDS, apply_best, trials_table  # noqa: E402
from tests.notebook_runner import run_notebook  # noqa: E402

BEST_KEYS = {"overrides", "replaced", "val_loss", "default_val_loss", "trials", "tuner", "created_at"}

pytestmark = pytest.mark.slow




@pytest.fixture(scope="module")
def tuned_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("tune_run")
    run_dir = base / "run"
    run_notebook("01_collect", run_dir, {"mode": "quick", "source": "sample"}, base / "01.ipynb")
    run_notebook("03_featurize", run_dir, {}, base / "03.ipynb")
    budget = {"max_trials": 2, "tune_epochs": 1, "tune_time_limit_s": 900}   # a slow machine still runs both
    executed = run_notebook("05_tune", run_dir, budget, base / "05.ipynb")
    return {"paths": RunPaths(run_dir), "executed": executed}


def test_tune_notebook_writes_best_json_that_later_notebooks_can_apply(tuned_run):
    paths = tuned_run["paths"]
    best = json.loads(paths.best.read_text())
    assert BEST_KEYS <= set(best)
    assert set(best["overrides"]) == set(OVERRIDE_FIELDS)
    assert best["trials"] == 2 and best["tuner"] == "random"   # quick mode's tuner
    config = RunConfig.load(paths.config)
    tuned, replaced = apply_best(config, paths)
    assert tuned.window in config.tune_windows or best["chosen"] == "default"
    assert set(replaced) <= set(OVERRIDE_FIELDS)


def test_tune_notebook_keeps_a_resumable_search_of_the_budgeted_size(tuned_run):
    table = trials_table(tuned_run["paths"].tuning_dir)
    assert list(table["status"]) == ["COMPLETED", "COMPLETED"]


def test_tune_notebook_draws_the_loss_by_setting_chart(tuned_run):
    html = [str(out["data"]["text/html"]) for cell in tuned_run["executed"].cells if cell.cell_type == "code"
            for out in cell.get("outputs", []) if "text/html" in out.get("data", {})]
    assert any("Plotly.newPlot" in h and "lowest" in h and "val_loss by setting" in h for h in html)
