"""Notebooks 07_forecast and 08_risk under papermill after what they read: 01, 03 and 06 (quick mode, embedded
sample, one 4-unit seed), run once for both (neither reads what the other writes). Asserts on the files each
writes, the overrides 08 applies, the sentences it shows, and its size as one lesson.

Each execution starts a Jupyter kernel, so the tests are slow. Source 'sample': no network.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

papermill = pytest.importorskip("papermill")

from helpers.forecast import FORECAST_COLUMNS  # noqa: E402
from helpers.ledger import Ledger  # noqa: E402
from helpers.predictive import RISK_FILE  # noqa: E402
from helpers.runfolder import READS, WRITTEN_BY, RunPaths  # noqa: E402
from tests.notebook_runner import run_after_collect, run_notebook  # noqa: E402

TINY = {"mode": "quick", "source": "sample", "start": "2012-01-01", "epochs": 1, "units": [4], "window": 10,
        "compare_cells": ["lstm"], "forecast_days": 4, "mc_samples": 8, "seeds": 1, "walk_forward_folds": 1}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return tmp_path_factory.mktemp("notebooks_07_08")


@pytest.fixture(scope="module")
def after_06(base):
    """One run folder through 06, then 07 (defaults); the folder's paths."""
    return RunPaths(run_after_collect(base, TINY, ["03_featurize", "06_evaluate", "07_forecast"]))


@pytest.fixture(scope="module")
def risk_page(after_06, base):
    """08 run in the same folder with its own override; its executed notebook."""
    return run_notebook("08_risk", after_06.root, {"mc_samples": 6}, base / "08_risk.ipynb")


def test_07_and_08_read_nothing_the_other_writes():
    """What lets one run folder serve both notebooks' tests, whatever order they ran in."""
    assert not {WRITTEN_BY[name] for name in READS["07_forecast"]} & {"08_risk"}
    assert not {WRITTEN_BY[name] for name in READS["08_risk"]} & {"07_forecast"}


def test_notebook_07_writes_the_forecast_ahead(after_06):
    forecast = pd.read_csv(after_06.forecast, parse_dates=["date"])
    last = pd.read_parquet(after_06.prices).index[-1]
    assert tuple(forecast.columns) == FORECAST_COLUMNS
    assert list(dict.fromkeys(forecast["method"])) == ["recursive", "direct"]
    assert (forecast.groupby("method").size() == 4).all()
    assert (forecast["date"] > last).all() and (forecast["date"].dt.day_of_week < 5).all()
    assert (forecast["lower_95"] <= forecast["upper_95"]).all()


def test_notebook_07_records_and_scores_the_ledger(after_06):
    ledger = Ledger(after_06.ledger)
    stored = ledger.forecasts()
    assert set(stored["kind"]) == {"live", "replay"}
    assert (stored.loc[stored["kind"] == "live", "target_date"] > pd.read_parquet(after_06.prices).index[-1]).all()
    report = ledger.report()
    assert len(report) > 0 and set(report["kind"]) == {"replay"}   # live forecasts wait for their day
    one_step = report[(report["method"] == "recursive") & (report["horizon"] == 1)]
    assert 15 <= len(one_step) <= 21


def test_notebook_08_writes_the_risk_backtest_into_metrics_and_risk_json(after_06, risk_page):
    paths = after_06
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


def test_notebook_08_applies_its_overrides_and_reads_the_tests_in_words(after_06, risk_page):
    paths, executed = after_06, risk_page
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
