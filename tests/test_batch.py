"""Batch runs: one broken ticker never stops the others, and Dask gives the same summary as local processes."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers import fanout
from helpers.batch import BatchRow, configs_from_csv_dir, configs_from_tickers, run_batch
from helpers.config import ConfigError, RunConfig
from tests.test_runner import FAIL_FOR_BAD_TICKER, WRITE_METRICS, fake_series, quick_config


@pytest.fixture(scope="module")
def batch_setup(tmp_path_factory):
    """Three tickers: one fine, one whose notebook raises (BAD), one whose CSV is missing (never starts)."""
    base = tmp_path_factory.mktemp("batch")
    notebooks = fake_series(base / "notebooks", {"01_collect": [FAIL_FOR_BAD_TICKER, WRITE_METRICS]})
    configs = [quick_config("GOOD"), quick_config("BAD"),
               RunConfig.for_mode("quick", ticker="MISSING", source="csv", csv_path=str(base / "missing.csv"))]
    return base, notebooks, configs


@pytest.fixture(scope="module")
def local_rows(batch_setup):
    base, notebooks, configs = batch_setup
    return run_batch(configs, workers=2, out_dir=base / "local", notebooks_dir=notebooks, progress=False)


def _comparable(rows: list[BatchRow]) -> list[tuple]:
    """What must not depend on where a batch ran: everything but the run folder and the error's wording."""
    return [(r.ticker, r.status, r.verdict, r.theils_u, r.directional_accuracy, r.error is None) for r in rows]


@pytest.mark.slow
def test_one_failing_ticker_does_not_stop_the_others(local_rows):
    assert [(r.ticker, r.status) for r in local_rows] == [("GOOD", "ok"), ("BAD", "failed"), ("MISSING", "failed")]
    good = local_rows[0]
    assert good.verdict == "FAKE VERDICT for GOOD: no skill beyond persistence." and good.theils_u == 0.99
    assert good.directional_accuracy == 0.51 and good.error is None


@pytest.mark.slow
def test_failed_rows_say_why(local_rows):
    bad, missing = local_rows[1], local_rows[2]
    assert "01_collect" in bad.error and "cell 3" in bad.error and "fake failure for ticker BAD" in bad.error
    assert bad.run_dir is not None                     # the partial folder of a notebook failure is kept
    assert "csv_path" in missing.error and missing.run_dir is None


@pytest.mark.slow
def test_summary_html_and_csv_list_every_ticker(local_rows):
    table = pd.read_csv(local_rows.csv_path)
    assert list(table["ticker"]) == ["GOOD", "BAD", "MISSING"]
    assert list(table["status"]) == ["ok", "failed", "failed"]
    page = local_rows.html_path.read_text()
    assert local_rows.html_path.name.startswith("batch-") and "1 ok, 2 failed" in page
    assert "GOOD" in page and "fake failure for ticker BAD" in page and "index.html" in page


@pytest.mark.slow
def test_dask_cluster_gives_the_same_summary_as_local_processes(batch_setup, local_rows):
    distributed = pytest.importorskip("dask.distributed")
    base, notebooks, configs = batch_setup
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        rows = run_batch(configs, dask_address=cluster.scheduler_address, out_dir=base / "dask",
                         notebooks_dir=notebooks, progress=False)
    assert _comparable(rows) == _comparable(local_rows)
    assert pd.read_csv(rows.csv_path).drop(columns=["run_dir", "error"]).equals(
        pd.read_csv(local_rows.csv_path).drop(columns=["run_dir", "error"]))


def test_an_unreachable_dask_scheduler_is_a_parameter_error(tmp_path, monkeypatch):
    pytest.importorskip("dask.distributed")
    monkeypatch.setattr(fanout, "DASK_CONNECT_TIMEOUT_S", 1.0)
    with pytest.raises(ConfigError) as caught:
        run_batch([quick_config()], dask_address="tcp://127.0.0.1:9", out_dir=tmp_path, progress=False)
    assert caught.value.field == "dask"


def test_configs_from_csv_dir_make_one_csv_run_per_file(tmp_path):
    for name in ("SPY", "AAPL"):
        (tmp_path / f"{name}.csv").write_text("date,close\n2024-01-02,1.0\n")
    (tmp_path / "notes.txt").write_text("not prices")
    configs = configs_from_csv_dir(tmp_path, "quick", {"epochs": "3"})
    assert [c.ticker for c in configs] == ["AAPL", "SPY"]
    assert all(c.source == "csv" and c.mode == "quick" and c.epochs == 3 for c in configs)
    assert configs[0].csv_path == str((tmp_path / "AAPL.csv").resolve())


def test_configs_from_csv_dir_refuse_a_folder_without_csvs(tmp_path):
    with pytest.raises(ConfigError) as caught:
        configs_from_csv_dir(tmp_path)
    assert caught.value.field == "csv_dir"


def test_configs_from_tickers_drop_blanks_and_duplicates():
    configs = configs_from_tickers(["AAPL", " MSFT", "", "AAPL"], "quick", {"source": "sample"})
    assert [c.ticker for c in configs] == ["AAPL", "MSFT"] and configs[0].source == "sample"


def test_tickers_side_by_side_start_no_second_process_in_their_notebooks(monkeypatch):
    """With tickers side by side (one notebook at a time each), a ticker's kernels get
    LSTM_LAB_SECOND_PROCESS=off by default; one ticker at a time leaves the choice to each fit."""
    import helpers.batch as batch
    from helpers.fanout import SECOND_PROCESS_ENV

    seen = {}

    def fake_run_series(config, **kwargs):
        seen[kwargs["workers"]] = kwargs["kernel_env_defaults"]
        raise RuntimeError("stop here")

    monkeypatch.setattr(batch, "run_series", fake_run_series)
    job = dict(out_dir="out", notebooks_dir=None, notebooks=None, no_code=False, kernel_name="python3")
    for workers in (1, None):
        assert batch.run_one(RunConfig(ticker="AAA"), **job, notebook_workers=workers).status == "failed"
    assert seen == {1: {SECOND_PROCESS_ENV: "off"}, None: None}
