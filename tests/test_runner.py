"""The papermill runner and the index page, on tiny fake notebooks that follow the series' contract.

The fake-notebook builders at the top are shared with test_cli, test_batch and test_browser. Tests that start
a kernel are marked slow (kernel start-up costs a few seconds per notebook).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from helpers.atomic import atomic_write_json
from helpers.config import ConfigError, RunConfig
from helpers.plotlyjs import carries_plotlyjs
from helpers.report import NotebookStatus, write_index
from helpers.runner import (NOTEBOOKS, NotebookFailed, export_html, existing_notebooks, preflight, run_series,
                            select_notebooks, with_absolute_paths)

# ---------------------------------------------------------------------------------------------- fake notebooks

START = "from helpers.notebook import start_notebook\nctx = start_notebook(run_dir, overrides, creates_config=True)"
PLOT = ("import plotly.graph_objects as go\n"
        "fake_figure = go.Figure(go.Scatter(x=[1, 2, 3], y=[1, 3, 2], name='fake'))\n"
        "fake_figure.show()")
RECORD_CONFIG = ("import json, os\n"
                 "with open(os.path.join(run_dir, 'seen.json'), 'w') as fh:\n"
                 "    json.dump({'ticker': ctx.config.ticker, 'mode': ctx.config.mode,\n"
                 "               'renderer': __import__('plotly.io').io.renderers.default}, fh)")
# A metrics.json shaped like 06_evaluate's, with numbers that depend on the ticker (so batch rows differ).
WRITE_METRICS = """\
from helpers.atomic import atomic_write_json
u = round(0.95 + len(ctx.config.ticker) / 100, 4)
scores = lambda rmse: {"mse": rmse ** 2, "rmse": rmse, "mae": rmse * 0.8, "mape": 1.2, "mase": 1.01,
                       "directional_accuracy": 0.51}
atomic_write_json(ctx.paths.metrics, {
    "test": {"model": scores(u), "persistence": scores(1.0), "drift": scores(1.02)},
    "theils_u": u, "directional_accuracy_ci": [0.47, 0.55],
    "diebold_mariano": {"statistic": 0.4, "p_value": 0.69},
    "verdict": f"FAKE VERDICT for {ctx.config.ticker}: no skill beyond persistence."})"""
WRITE_FORECAST = """\
import pandas as pd
from helpers.atomic import atomic_write_csv, atomic_write_parquet
days = pd.bdate_range("2024-01-01", periods=60, name="date")
atomic_write_parquet(ctx.paths.prices, pd.DataFrame({"close": [100.0 + i for i in range(60)]}, index=days))
ahead = pd.bdate_range(days[-1] + pd.Timedelta(days=1), periods=5)
frame = pd.DataFrame({"date": ahead, "forecast": [160.0] * 5, "lower_80": [155.0] * 5, "upper_80": [165.0] * 5,
                      "lower_95": [150.0] * 5, "upper_95": [170.0] * 5, "horizon": range(1, 6),
                      "method": "recursive"})
atomic_write_csv(ctx.paths.forecast, frame, index=False)"""
FAIL_FOR_BAD_TICKER = "if ctx.config.ticker == 'BAD':\n    raise ValueError('fake failure for ticker BAD')"
RAISE = "raise ValueError('boom in cell 3')"


def write_notebook(path: Path, cells: list[str], *, title: str | None = None) -> Path:
    """A notebook following the series' contract: a ``parameters`` cell (``run_dir = ""``, ``overrides = {}``),
    then ``ctx = start_notebook(...)``, then ``cells`` (code; a string starting with "# " is markdown).

    With the contract cells first, ``cells[0]`` is the notebook's cell 3 (counting from 1).
    """
    nb = nbformat.v4.new_notebook()
    parameters = nbformat.v4.new_code_cell('run_dir = ""\noverrides = {}')
    parameters.metadata["tags"] = ["parameters"]
    nb.cells = [parameters, nbformat.v4.new_code_cell(START)]
    nb.cells += [nbformat.v4.new_markdown_cell(c) if c.startswith("# ") else nbformat.v4.new_code_cell(c)
                 for c in cells]
    if title:
        nb.cells.append(nbformat.v4.new_markdown_cell(f"# {title}"))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def fake_series(folder: Path, notebooks: dict[str, list[str]]) -> Path:
    """Write ``{stem: cells}`` as notebooks into ``folder``; return the folder (pass it as notebooks_dir)."""
    for stem, cells in notebooks.items():
        write_notebook(folder / f"{stem}.ipynb", cells)
    return folder


def quick_config(ticker: str = "FAKE", **overrides) -> RunConfig:
    return RunConfig.for_mode("quick", ticker=ticker, source="synthetic", **overrides)


# ---------------------------------------------------------------------------------------------- a whole (fake) run


@pytest.fixture(scope="module")
def ok_run(tmp_path_factory):
    """Two fake notebooks run to completion: 01 draws a figure and writes metrics and a forecast, 02 records."""
    base = tmp_path_factory.mktemp("ok_run")
    notebooks = fake_series(base / "notebooks", {
        "01_collect": ["# Collect", PLOT, WRITE_METRICS, WRITE_FORECAST],
        "02_explore": [RECORD_CONFIG],
    })
    run_dir = run_series(quick_config(), out_dir=base / "reports", run_id="FAKE-run", notebooks_dir=notebooks,
                         progress=False)
    return run_dir, notebooks


@pytest.mark.slow
def test_notebooks_read_the_config_the_runner_wrote(ok_run):
    run_dir, _ = ok_run
    seen = json.loads((run_dir / "seen.json").read_text())
    assert seen["ticker"] == "FAKE" and seen["mode"] == "quick"
    assert RunConfig.load(run_dir / "config.json") == quick_config()


@pytest.mark.slow
def test_kernels_draw_figures_with_the_report_renderer(ok_run):
    run_dir, _ = ok_run
    assert json.loads((run_dir / "seen.json").read_text())["renderer"] == "lstm_lab_report"


@pytest.mark.slow
def test_every_notebook_is_saved_executed_and_exported_beside_the_index(ok_run):
    run_dir, _ = ok_run
    for stem in ("01_collect", "02_explore"):
        assert (run_dir / f"{stem}.ipynb").exists()
        assert (run_dir / f"{stem}.html").exists()
    assert (run_dir / "index.html").exists()
    executed = nbformat.read(run_dir / "02_explore.ipynb", as_version=4)
    assert any(str(run_dir) in c.source for c in executed.cells)   # papermill injected run_dir


@pytest.mark.slow
def test_exported_html_draws_plotly_offline(ok_run):
    run_dir, _ = ok_run
    page = (run_dir / "01_collect.html").read_text()
    assert "Plotly.newPlot" in page
    assert 'src="plotly.min.js"' in page and not carries_plotlyjs(page)   # loaded from the folder
    assert carries_plotlyjs((run_dir / "plotly.min.js").read_text())
    executed = (run_dir / "01_collect.ipynb").read_text()
    assert not carries_plotlyjs(executed)                                          # the notebook keeps no copy...
    assert '"application/vnd.plotly.v1+json"' in executed                         # ...but a figure Lab can draw
    assert 'src="http' not in page and '<link rel="stylesheet" href="notebook.css">' in page
    assert "jp-Notebook" in (run_dir / "notebook.css").read_text()


@pytest.mark.slow
def test_code_cells_are_foldable_and_shown(ok_run):
    run_dir, _ = ok_run
    page = (run_dir / "01_collect.html").read_text()
    assert page.count('<details class="lab-code" open') >= 3
    assert "fake_figure" in page
    assert 'id="lab-toggle-code"' in page


@pytest.mark.slow
def test_index_lists_notebooks_with_status_and_the_headline_results(ok_run):
    run_dir, _ = ok_run
    index = (run_dir / "index.html").read_text()
    assert "href='01_collect.html'" in index and "href='02_explore.html'" in index
    assert index.count("class='status ok'") == 2
    assert "<strong>FAKE VERDICT for FAKE: no skill beyond persistence.</strong>" in index
    assert "class='headline'" in index
    assert "Plotly.newPlot" in index      # the forecast chart


@pytest.mark.slow
def test_no_code_export_leaves_inputs_out_and_a_second_run_never_overwrites(ok_run):
    first_run, notebooks = ok_run
    first_html = (first_run / "01_collect.html").read_text()
    run_dir = run_series(quick_config(), out_dir=first_run.parent, run_id="FAKE-run", notebooks_dir=notebooks,
                         notebooks=["01"], no_code=True, progress=False)
    assert run_dir != first_run and run_dir.name == "FAKE-run-2"
    assert (first_run / "01_collect.html").read_text() == first_html
    page = (run_dir / "01_collect.html").read_text()
    assert "Plotly.newPlot" in page
    assert "fake_figure" not in page and "start_notebook" not in page and "<details" not in page
    assert not (run_dir / "02_explore.ipynb").exists()     # only the selected notebook ran


@pytest.mark.slow
def test_a_failing_notebook_names_notebook_and_cell_and_keeps_the_partial_folder(tmp_path):
    """03 fails in a separate kernel process (two at a time): the failure crosses back whole, 04 (which reads
    03's features) never starts, and 02 (which does not) still finishes."""
    notebooks = fake_series(tmp_path / "notebooks", {
        "01_collect": ["print('collected')"],
        "02_explore": ["print('explored')"],
        "03_featurize": [RAISE, "print('never runs')"],
        "04_model": ["print('never runs')"],
    })
    with pytest.raises(NotebookFailed) as caught:
        run_series(quick_config(), out_dir=tmp_path / "reports", notebooks_dir=notebooks, progress=False,
                   workers=2)
    failure = caught.value
    assert (failure.notebook, failure.cell_number, failure.ename) == ("03_featurize", 3, "ValueError")
    assert "boom in cell 3" in failure.evalue
    assert "03_featurize" in str(failure) and "cell 3" in str(failure) and str(failure.run_dir) in str(failure)
    run_dir = failure.run_dir
    assert (run_dir / "config.json").exists() and (run_dir / "01_collect.html").exists()
    assert (run_dir / "02_explore.html").exists()
    assert "boom in cell 3" in (run_dir / "03_featurize.html").read_text()    # the traceback is in the report
    assert not (run_dir / "04_model.ipynb").exists()
    index = (run_dir / "index.html").read_text()
    assert "failed at cell 3" in index and "not run" in index
    assert "This run is incomplete" in index


# ---------------------------------------------------------------------------------------------- checks before a run


def test_bad_parameter_stops_the_run_before_any_folder_exists(tmp_path):
    notebooks = fake_series(tmp_path / "notebooks", {"01_collect": ["print(1)"]})
    config = RunConfig.for_mode("quick", ticker="X", source="csv", csv_path=str(tmp_path / "missing.csv"))
    with pytest.raises(ConfigError) as caught:
        run_series(config, out_dir=tmp_path / "reports", notebooks_dir=notebooks, progress=False)
    assert caught.value.field == "csv_path" and "missing.csv" in str(caught.value)
    assert not (tmp_path / "reports").exists()


def test_zero_kernels_at_a_time_is_refused_before_any_folder_exists(tmp_path):
    notebooks = fake_series(tmp_path / "notebooks", {"01_collect": ["print(1)"]})
    with pytest.raises(ConfigError) as caught:
        run_series(quick_config(), out_dir=tmp_path / "reports", notebooks_dir=notebooks, progress=False, workers=0)
    assert caught.value.field == "workers"
    assert not (tmp_path / "reports").exists()


def test_a_series_too_short_for_the_whole_run_is_refused_before_any_notebook(tmp_path):
    """Pre-flight: the prices are loaded and checked against every split the series makes, in seconds."""
    import numpy as np

    from helpers.validation import InsufficientHistoryError

    notebooks = fake_series(tmp_path / "notebooks", {"01_collect": ["raise SystemExit('must not run')"]})
    dates = pd.bdate_range("2020-01-01", periods=200)
    close = 100 * np.exp(np.cumsum(np.random.default_rng(0).normal(0, 0.01, len(dates))))
    csv = tmp_path / "short.csv"
    pd.DataFrame({"Date": dates.strftime("%Y-%m-%d"), "Close": close}).to_csv(csv, index=False)
    config = RunConfig.for_mode("full", ticker="SHORT", source="csv", csv_path=str(csv))
    with pytest.raises(InsufficientHistoryError) as caught:
        run_series(config, out_dir=tmp_path / "reports", notebooks_dir=notebooks, progress=False)
    assert "200 rows available" in str(caught.value) and "First shortfall" in str(caught.value)
    assert caught.value.needed > 200
    assert not (tmp_path / "reports").exists()


def test_kernels_start_without_ipykernels_unencrypted_tcp_warning(tmp_path, capfd):
    """ipykernel 7 logs a warning on every start; the runner starts kernels logging errors only."""
    from helpers.runner import execute_notebook, kernel_arguments
    from helpers.runfolder import RunPaths

    assert kernel_arguments("python3") == ["--IPKernelApp.log_level=ERROR"]
    assert kernel_arguments("no-such-kernel") == []
    source = write_notebook(tmp_path / "nb" / "01_collect.ipynb", ["print('ran')"])
    (tmp_path / "run").mkdir()
    capfd.readouterr()
    execute_notebook(source, RunPaths(tmp_path / "run"))
    err = capfd.readouterr().err
    assert "without encryption" not in err
    assert "ran" in (tmp_path / "run" / "01_collect.ipynb").read_text()


def test_tensorflow_startup_lines_a_kernel_writes_to_its_stderr_stay_off_the_terminal(tmp_path, capfd):
    """TensorFlow's C++ start-up lines go to the kernel's own stderr, which ipykernel echoes to the terminal of
    `lstm-lab run`; the runner drops them there, and passes everything else (a real warning) through."""
    from helpers.runner import execute_notebook
    from helpers.runfolder import RunPaths

    startup = ("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
               "I0000 00:00:1796113658.024889   32687 port.cc:153] oneDNN custom operations are on.\n")
    warning = "W0000 00:00:1796113658.5   32687 something.cc:12] a real TensorFlow warning\n"
    cell = f"import os, time\nos.write(2, {(startup + warning).encode()!r})\ntime.sleep(0.5)\nprint('ran')"
    source = write_notebook(tmp_path / "nb" / "04_model.ipynb", [cell])
    (tmp_path / "run").mkdir()
    capfd.readouterr()
    execute_notebook(source, RunPaths(tmp_path / "run"))
    err = capfd.readouterr().err
    assert "oneDNN" not in err and "absl::InitializeLog" not in err
    assert "a real TensorFlow warning" in err
    assert "ran" in (tmp_path / "run" / "04_model.ipynb").read_text()


def test_preflight_accepts_an_existing_csv(tmp_path):
    csv = tmp_path / "prices.csv"
    csv.write_text("date,close\n2024-01-02,1.0\n")
    preflight(RunConfig(source="csv", csv_path=str(csv)))


def test_preflight_names_a_missing_headlines_file(tmp_path):
    with pytest.raises(ConfigError) as caught:
        preflight(RunConfig(source="sample", headlines_path=str(tmp_path / "news.csv")))
    assert caught.value.field == "headlines_path"


def test_preflight_says_how_to_set_the_alphavantage_key(monkeypatch):
    monkeypatch.delenv("ALPHAVANTAGE_API_KEY", raising=False)
    with pytest.raises(ConfigError) as caught:
        preflight(RunConfig(source="alphavantage", ticker="IBM"))
    assert "export ALPHAVANTAGE_API_KEY=" in str(caught.value)
    monkeypatch.setenv("ALPHAVANTAGE_API_KEY", "demo-key")
    preflight(RunConfig(source="alphavantage", ticker="IBM"))


def test_preflight_names_an_unknown_kernel():
    with pytest.raises(ConfigError) as caught:
        preflight(RunConfig(source="sample"), kernel_name="no-such-kernel")
    assert caught.value.field == "kernel_name" and "python3" in str(caught.value)


def test_relative_input_paths_are_pinned_to_where_the_user_stands(tmp_path):
    config = with_absolute_paths(RunConfig(source="csv", csv_path="data/x.csv"), base=tmp_path)
    assert config.csv_path == str(tmp_path / "data" / "x.csv")


def test_notebook_selection_accepts_numbers_and_keeps_series_order(tmp_path):
    notebooks = fake_series(tmp_path, {stem: ["print(1)"] for stem in ("01_collect", "04_model", "06_evaluate")})
    assert existing_notebooks(notebooks) == ["01_collect", "04_model", "06_evaluate"]
    assert select_notebooks(["6", "01_collect"], notebooks) == ["01_collect", "06_evaluate"]
    with pytest.raises(ConfigError, match="05_tune|present"):
        select_notebooks(["05"], notebooks)


def test_an_empty_notebooks_folder_is_a_parameter_error(tmp_path):
    with pytest.raises(ConfigError) as caught:
        select_notebooks(None, tmp_path)
    assert caught.value.field == "notebooks_dir" and NOTEBOOKS[0] in str(caught.value)


# ---------------------------------------------------------------------------------------------- the index page


def _write_metrics(run_dir: Path) -> None:
    atomic_write_json(run_dir / "metrics.json", {
        "test": {"model": {"rmse": 2.02, "mae": 1.5, "mape": 1.1, "mase": 1.003, "directional_accuracy": 0.512},
                 "persistence": {"rmse": 2.0, "mae": 1.49, "mape": 1.09, "mase": 1.0, "directional_accuracy": 0.5}},
        "theils_u": 1.01, "directional_accuracy_ci": [0.47, 0.55],
        "verdict": "The model does not beat persistence on these test rows."})


def test_index_shows_the_headline_table_from_metrics_json(tmp_path):
    _write_metrics(tmp_path)
    index = write_index(tmp_path, quick_config(), notebooks_status={"06_evaluate": "ok"}).read_text()
    assert "<strong>The model does not beat persistence on these test rows.</strong>" in index
    # Each column rounded alike: prices to 4 significant digits of the column's smallest value (1.49 -> 3
    # decimals), MAPE already in percent, directional accuracy as a percentage, ratios to 4 decimals.
    assert ("<th scope='row'>model</th><td>2.020</td><td>1.500</td><td>1.100</td><td>1.0030</td><td>51.2%</td>"
            "<td>1.0100</td>") in index
    assert "<th scope='row'>persistence</th><td>2.000</td><td>1.490</td>" in index
    for title in ("RMSE (price units)", "MAE (price units)", "MAPE (%)", "MASE (unitless)",
                  "directional accuracy (%)", "Theil&#x27;s U (unitless)"):
        assert f"<th>{title}</th>" in index, title
    assert "95% CI 47.0% to 55.0%" in index
    assert ("Persistence (1.0000) scores a lower Theil&#x27;s U than the model&#x27;s 1.0100: a naive forecast "
            "beats the network here.") in index


def test_index_degrades_gracefully_when_files_are_missing(tmp_path):
    index = write_index(tmp_path, quick_config(), notebooks_status={"01_collect": "not run"}).read_text()
    assert "No metrics.json yet: notebook 06_evaluate writes it." in index
    assert "No forecast.csv yet" in index and "No data/data_report.json yet" in index
    assert "Plotly" not in index                      # no chart, no 4 MB of plotly.js
    assert "href='01_collect.html'" not in index      # no link to a page that does not exist


def test_index_warns_in_a_banner_when_the_data_is_synthetic(tmp_path):
    atomic_write_json(tmp_path / "data" / "data_report.json", {
        "meta": {"source": "synthetic", "synthetic": True}, "cleaning": {"fixes": [{"rule": "gap", "count": 2}]},
        "rows": 1500, "first_date": "2020-01-01", "last_date": "2025-12-31", "synthetic": True})
    index = write_index(tmp_path, quick_config(), notebooks_status={}).read_text()
    assert "SYNTHETIC DATA" in index
    assert "2020-01-01 to 2025-12-31" in index and "1 rule(s) applied, 2 row(s) affected" in index


def test_index_without_a_synthetic_flag_has_no_banner(tmp_path):
    atomic_write_json(tmp_path / "data" / "data_report.json", {"meta": {"source": "csv"}, "synthetic": False})
    assert "SYNTHETIC DATA" not in write_index(tmp_path, quick_config(), notebooks_status={}).read_text()


def test_index_marks_the_failed_notebook_and_its_cell(tmp_path):
    (tmp_path / "02_explore.html").write_text("<html></html>")
    statuses = {"01_collect": "ok", "02_explore": NotebookStatus("failed", 4, "KeyError: 'close'"),
                "03_featurize": "not run"}
    index = write_index(tmp_path, quick_config(), notebooks_status=statuses).read_text()
    assert "failed at cell 4" in index and "KeyError: &#x27;close&#x27;" in index
    assert "href='02_explore.html'" in index


def test_index_draws_the_forecast_chart_with_the_folders_one_plotly_js(tmp_path):
    days = pd.bdate_range("2024-01-01", periods=30, name="date")
    pd.DataFrame({"close": range(30)}, index=days, dtype=float).to_parquet(tmp_path / "data.parquet")
    (tmp_path / "data").mkdir()
    (tmp_path / "data.parquet").rename(tmp_path / "data" / "prices.parquet")
    pd.DataFrame({"date": pd.bdate_range("2024-02-12", periods=3), "forecast": [30.0, 31.0, 32.0],
                  "lower_80": [29.0] * 3, "upper_80": [33.0] * 3}).to_csv(tmp_path / "forecast.csv", index=False)
    index = write_index(tmp_path, quick_config(), notebooks_status={}).read_text()
    assert index.count("Plotly.newPlot") == 1 and not carries_plotlyjs(index)
    assert '<script src="plotly.min.js"' in index                   # loaded by relative path...
    assert carries_plotlyjs((tmp_path / "plotly.min.js").read_text())  # ...from the one copy in the run folder
    assert 'src="http' not in index


def test_a_broken_forecast_file_costs_only_its_chart(tmp_path):
    (tmp_path / "forecast.csv").write_text("not,a,forecast\n1,2,3\n")
    _write_metrics(tmp_path)
    index = write_index(tmp_path, quick_config(), notebooks_status={}).read_text()
    assert "could not be drawn" in index and "does not beat persistence" in index


def test_export_html_of_a_notebook_without_outputs_works(tmp_path):
    path = write_notebook(tmp_path / "01_collect.ipynb", ["x = 1"])
    html = export_html(path, tmp_path / "out.html").read_text()
    assert "lab-code" in html and "start_notebook" in html


_CLOSED_STREAM_BLOCK = """--- Logging error ---
Traceback (most recent call last):
  File "/usr/lib/python3.12/logging/__init__.py", line 1163, in emit
    stream.write(msg + self.terminator)
  File "/venv/lib/python3.12/site-packages/ipykernel/iostream.py", line 769, in write
    raise ValueError(msg)
ValueError: I/O operation on closed file
Call stack:
  File "/usr/lib/python3.12/asyncio/base_events.py", line 1805, in default_exception_handler
    logger.error('\\n'.join(log_lines), exc_info=exc_info)
Message: "Task was destroyed but it is pending!\\ntask: <Task pending name='Task-39' coro=<Kernel.dispatch_control()>>"
Arguments: ()
"""


def test_a_kernels_shutdown_chatter_stays_off_the_terminal_and_other_errors_pass():
    """Seen at the end of notebooks in `make report`: the interrupt jupyter_client sends before shutting a
    kernel down, and asyncio logging into the kernel's closed output stream."""
    from helpers.runner import kernel_stderr_kept

    other_block = _CLOSED_STREAM_BLOCK.replace("ValueError: I/O operation on closed file", "KeyError: 'x'")
    lines = ("[IPKernelApp] ERROR | KeyboardInterrupt caught in kernel.\n" + _CLOSED_STREAM_BLOCK
             + "W0000 00:00:1796113658.5   32687 something.cc:12] a real TensorFlow warning\n"
             + other_block + "--- Logging error ---\nTraceback (most recent call last):\n").splitlines(keepends=True)
    kept = "".join(kernel_stderr_kept(lines))
    assert "KeyboardInterrupt caught" not in kept
    assert kept.startswith("W0000 00:00:1796113658.5   32687 something.cc:12] a real TensorFlow warning\n--- Logg")
    assert other_block in kept                                        # another logging error, whole
    assert kept.endswith("--- Logging error ---\nTraceback (most recent call last):\n")   # cut short: kept


def test_the_kernels_environment_defaults_keep_a_users_own_setting_and_are_restored(monkeypatch):
    from helpers.runner import _kernel_environment

    monkeypatch.delenv("LSTM_LAB_SECOND_PROCESS", raising=False)
    with _kernel_environment({"LSTM_LAB_SECOND_PROCESS": "off"}):
        assert os.environ["LSTM_LAB_SECOND_PROCESS"] == "off"
    assert "LSTM_LAB_SECOND_PROCESS" not in os.environ
    monkeypatch.setenv("LSTM_LAB_SECOND_PROCESS", "auto")
    with _kernel_environment({"LSTM_LAB_SECOND_PROCESS": "off"}):
        assert os.environ["LSTM_LAB_SECOND_PROCESS"] == "auto"
    assert os.environ["LSTM_LAB_SECOND_PROCESS"] == "auto"
