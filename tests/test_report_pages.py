"""Report pages worth sharing: plotly.js and JupyterLab's stylesheet once per folder, nothing from the network,
no TensorFlow start-up chatter; the index and batch pages with units, rounding alike and a plain sentence when a
naive forecast beats the network."""

from __future__ import annotations

import json

import nbformat
import plotly.graph_objects as go
import plotly.io as pio

from helpers.atomic import atomic_write_json
from helpers.plotlyjs import (PLOTLY_MIMETYPE, PLOTLYJS_FILE, RENDERER_NAME, carries_plotlyjs, figure_html,
                              register_renderer)
from helpers.report import baseline_beats_model, write_batch_summary, write_index
from helpers.runner import drop_startup_chatter, export_html
from tests.test_runner import quick_config

FIGURE = go.Figure(go.Scatter(x=[1, 2, 3], y=[1, 3, 2]))
TF_STARTUP = ("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
              "I0000 00:00:1796103055.460962    6071 port.cc:153] oneDNN custom operations are on. You may see "
              "slightly different numerical results.\n")
KEPT_WARNING = "W0000 00:00:1796103055.5    6071 something.cc:12] a real TensorFlow warning\n"


def report_renderer_output(figure: go.Figure) -> dict:
    """What ``figure.show()`` stores in a kernel the runner started."""
    register_renderer()
    return pio.renderers[RENDERER_NAME].to_mimebundle(figure.to_dict())


def notebook_with_a_figure_and_tf_chatter() -> nbformat.NotebookNode:
    """An executed-looking notebook: one figure from the report renderer, one stderr output of TF start-up."""
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("fig.show()")
    cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text=TF_STARTUP + KEPT_WARNING),
                    nbformat.v4.new_output("display_data", data=report_renderer_output(FIGURE))]
    quiet = nbformat.v4.new_code_cell("import tensorflow")
    quiet.outputs = [nbformat.v4.new_output("stream", name="stderr", text=TF_STARTUP)]
    nb.cells = [cell, quiet]
    return nb


def test_report_renderer_stores_the_figure_as_plotly_json_without_plotlyjs():
    bundle = report_renderer_output(FIGURE)
    assert list(bundle) == [PLOTLY_MIMETYPE]                 # JupyterLab and VS Code draw this mimetype natively
    text = json.dumps(bundle)
    assert bundle[PLOTLY_MIMETYPE]["data"][0]["type"] == "scatter"
    assert not carries_plotlyjs(text) and "src=" not in text and len(text) < 20_000


def test_figure_html_needs_the_page_to_load_plotlyjs_and_nothing_else():
    html = figure_html(FIGURE)
    assert "Plotly.newPlot" in html and not carries_plotlyjs(html) and "src=" not in html


def test_an_exported_page_loads_plotly_and_css_from_its_folder_and_nothing_from_the_network(tmp_path):
    source = tmp_path / "04_model.ipynb"
    nbformat.write(notebook_with_a_figure_and_tf_chatter(), source)
    page = export_html(source, tmp_path / "04_model.html").read_text()
    assert 'src="plotly.min.js"' in page and not carries_plotlyjs(page)
    assert carries_plotlyjs((tmp_path / PLOTLYJS_FILE).read_text())
    assert '<link rel="stylesheet" href="notebook.css">' in page and (tmp_path / "notebook.css").stat().st_size > 50_000
    assert 'src="http' not in page and "require.js" not in page and "mathjax" not in page.lower()
    assert page.index('src="plotly.min.js"') < page.index("Plotly.newPlot")    # loaded before any figure draws
    assert "oneDNN" not in page and "absl" not in page
    assert "a real TensorFlow warning" in page                                   # warnings stay visible
    assert len(page) < 60_000                                                    # no 4.8 MB bundle, no 250 kB CSS


def test_tf_startup_chatter_is_dropped_and_emptied_outputs_go(tmp_path):
    nb = notebook_with_a_figure_and_tf_chatter()
    assert drop_startup_chatter(nb) == 4
    assert nb.cells[0].outputs[0].text == KEPT_WARNING
    assert nb.cells[1].outputs == []


def test_a_page_without_figures_does_not_load_plotly(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1")]
    nbformat.write(nb, tmp_path / "01_collect.ipynb")
    page = export_html(tmp_path / "01_collect.ipynb", tmp_path / "01_collect.html").read_text()
    assert "plotly.min.js" not in page and not (tmp_path / PLOTLYJS_FILE).exists()


def scores(rmse: float, mape: float = 1.2) -> dict:
    return {"rmse": rmse, "mae": rmse * 0.8, "mape": mape, "mase": 1.01, "directional_accuracy": 0.5123}


def test_a_baseline_with_a_lower_u_gets_one_plain_sentence():
    sentence = baseline_beats_model({"model": 1.002, "persistence": 1.0, "drift": 0.99881, "arima": 1.01})
    assert sentence == ("Drift (0.9988) and persistence (1.0000) score a lower Theil's U than the model's 1.0020: "
                        "a naive forecast beats the network here.")
    assert baseline_beats_model({"model": 0.97, "persistence": 1.0, "drift": 0.99}) is None


def test_index_price_columns_share_their_decimals_even_for_tiny_prices(tmp_path):
    atomic_write_json(tmp_path / "metrics.json", {
        "test": {"model": scores(0.004512), "persistence": scores(0.0045), "drift": scores(0.0123)},
        "theils_u": 1.0027, "verdict": "No skill."})
    index = write_index(tmp_path, quick_config(), notebooks_status={}).read_text()
    # A column's smallest value (RMSE 0.0045, MAE 0.0036) sets 6 decimals for every row of that column.
    assert "<th scope='row'>model</th><td>0.004512</td><td>0.003610</td><td>1.200</td><td>1.0100</td><td>51.2%</td>" \
           "<td>1.0027</td>" in index
    assert "<th scope='row'>drift</th><td>0.012300</td>" in index


def test_batch_summary_shows_the_index_columns_and_verdict_for_fifty_tickers(tmp_path):
    rows = []
    for i in range(50):
        run = tmp_path / f"T{i:02d}-run"
        u = 0.99 + i / 1000
        atomic_write_json(run / "metrics.json", {
            "test": {"model": scores(2.0 * u), "persistence": scores(2.0), "drift": scores(1.999)},
            "theils_u": u, "verdict": f"verdict of T{i:02d}."})
        rows.append({"ticker": f"T{i:02d}", "status": "ok", "run_dir": str(run), "verdict": f"verdict of T{i:02d}.",
                     "theils_u": u, "directional_accuracy": 0.5123, "error": None})
    rows.append({"ticker": "BAD", "status": "failed", "run_dir": None, "verdict": None, "theils_u": None,
                 "directional_accuracy": None, "error": "ValueError: no prices"})
    html_path, _ = write_batch_summary(rows, tmp_path)
    page = html_path.read_text()
    for title in ("RMSE (price units)", "MAPE (%)", "Theil&#x27;s U (unitless)", "best baseline (U)", "verdict"):
        assert f"<th>{title}</th>" in page, title
    assert page.count("<tr>") == 52                     # header + 50 tickers + the failed one
    assert page.count("href='T") == 50 and "verdict of T49." in page
    assert "<td class='num'>1.0390</td>" in page and "drift (0.9995)" in page
    # Drift's U is 0.9995 everywhere: T10 (U 1.000) to T49 are beaten by it, T00-T09 are not.
    assert page.count("a naive forecast beats the network here") == 40
    assert "ValueError: no prices" in page and 'src="http' not in page
    assert len(page) < 200_000


def test_daily_dates_are_written_short_and_intraday_times_kept():
    import numpy as np
    import pandas as pd

    from helpers.plotlyjs import compact_dates

    days = pd.bdate_range("2024-01-01", periods=3).to_numpy()
    hours = pd.date_range("2024-01-01 09:30", periods=3, freq="h").to_numpy()
    trace = compact_dates({"x": days, "y": np.arange(3.0), "customdata": hours})
    assert list(trace["x"]) == ["2024-01-01", "2024-01-02", "2024-01-03"]
    assert trace["customdata"] is hours and trace["y"].dtype == float
    assert '"2024-01-01"' in figure_html(go.Figure(go.Scatter(x=days, y=[1, 2, 3])))


def test_the_baseline_sentence_prints_enough_decimals_to_show_the_difference_it_claims():
    from helpers.report import baseline_beats_model

    sentence = baseline_beats_model({"model": 0.998512, "arima": 0.998471, "persistence": 1.0})
    assert "Arima (0.99847)" in sentence and "model's 0.99851" in sentence
