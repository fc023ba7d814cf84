"""08_risk under papermill with tiny settings (quick mode, embedded sample, one 4-unit seed): the files it writes,
the overrides it applies, the sentences it shows, and its size as one lesson."""

from __future__ import annotations

import json

import pandas as pd
import pytest

papermill = pytest.importorskip("papermill")

from helpers.predictive import RISK_FILE  # noqa: E402
from helpers.runfolder import RunPaths  # noqa: E402
from tests.notebook_runner import run_after_collect, run_notebook  # noqa: E402

TINY = {"mode": "quick", "source": "sample", "start": "2012-01-01", "epochs": 1, "units": [4], "window": 10,
        "compare_cells": ["lstm"], "mc_samples": 8, "seeds": 1, "walk_forward_folds": 1}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def risk_run(tmp_path_factory):
    """08 after what it reads: 01, 03 and 06 (model/ is the run's model, which 06 saves)."""
    base = tmp_path_factory.mktemp("notebook_08")
    run_dir = run_after_collect(base, TINY, ["03_featurize", "06_evaluate"])
    return RunPaths(run_dir), run_notebook("08_risk", run_dir, {"mc_samples": 6}, base / "08_risk.ipynb")


def test_notebook_08_writes_the_risk_backtest_into_metrics_and_risk_json(risk_run):
    paths, _ = risk_run
    metrics = json.loads(paths.metrics.read_text())
    risk = metrics["risk"]
    assert risk == json.loads((paths.root / RISK_FILE).read_text())
    assert "test" in metrics and "verdict" in metrics          # 06's results are kept beside the risk entry
    table = pd.DataFrame(risk["table"])
    assert sorted(set(table["method"])) == ["garch", "historical", "model"]
    assert sorted(set(table["level"])) == [0.95, 0.99]
    assert table["n"].nunique() == 1 and table["n"].iloc[0] == risk["about"]["test_days"]
    assert {"kupiec_p", "christoffersen_p", "exceedances"} <= set(table.columns)
    first_test_day = pd.Timestamp(risk["about"]["first_test_day"])
    for by_level in risk["exceedance_dates"].values():
        assert all(pd.Timestamp(day) >= first_test_day for days in by_level.values() for day in days)


def test_notebook_08_applies_its_overrides_and_reads_the_tests_in_words(risk_run):
    paths, executed = risk_run
    risk = json.loads((paths.root / RISK_FILE).read_text())
    assert risk["about"]["model"]["dropout_passes"] == 6
    assert risk["reading"].startswith("**VaR 95%**") and len(risk["shortfall"]) == 6
    shown = "".join(str(output.get("data", {}).get("text/markdown", "")) for cell in executed.cells
                    for output in cell.get("outputs", []))
    assert "Kupiec p =" in shown


def test_notebook_08_is_one_lesson_of_short_cells():
    import nbformat
    from tests.notebook_runner import NOTEBOOKS

    notebook = nbformat.read(NOTEBOOKS / "08_risk.ipynb", as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert len(code) <= 25 and max(len(cell.source.splitlines()) for cell in code) <= 12
    assert all(not cell.get("outputs") for cell in code)
