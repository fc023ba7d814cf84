"""`lstm-lab panel` runs notebook 09_panel headless (papermill, the series' runner) into a run folder with the
contract files and its own index page; bad parameters stop it before anything is created; the single-ticker
series never picks 09_panel up."""

from __future__ import annotations

import json

import pandas as pd
import pytest

papermill = pytest.importorskip("papermill")

from helpers.cli import main  # noqa: E402
from helpers.panel_synthetic import synthetic_panel_closes  # noqa: E402
from helpers.runner import DEFAULT_NOTEBOOKS_DIR, existing_notebooks, select_notebooks  # noqa: E402

TINY = ["--set", "window=5", "--set", "train_days=100", "--set", "trade_days=120", "--set", "units=4",
        "--set", "epochs=1", "--set", "random_draws=30", "--set", "top_k=3"]


@pytest.fixture(scope="module")
def panel_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("panel")
    wide = base / "wide.csv"
    synthetic_panel_closes(300, 8, rho=0.1, seed=0, start="2009-01-01").rename_axis("Date").to_csv(wide)
    code = main(["panel", "--csv", str(wide), "--mode", "quick", *TINY, "--out", str(base / "out")])
    runs = list((base / "out").iterdir())
    return code, runs


@pytest.mark.slow
def test_panel_command_writes_metrics_predictions_and_index(panel_run):
    code, runs = panel_run
    assert code == 0 and len(runs) == 1
    run = runs[0]
    metrics = json.loads((run / "panel_metrics.json").read_text())
    for key in ("ic", "rank_ic", "accuracy"):
        assert set(metrics[key]) >= {"mean", "ci"} and len(metrics[key]["ci"]) == 2
    assert set(metrics["long_short"]) >= {"before_costs", "after_costs", "p_value_random"}
    assert set(metrics["baselines"]) >= {"reversal_1d", "reversal_5d", "momentum_12_1", "random"}
    assert set(metrics["baselines"]["reversal_1d"]["long_short"]) >= {"before_costs", "after_costs", "p_value_random"}
    assert metrics["by_period"] and set(metrics["by_era"]) == {"before_2010", "from_2010"}
    assert metrics["verdict"].endswith(".") and "Survivorship bias" in metrics["about"]["survivorship"]
    predictions = pd.read_csv(run / "panel_predictions.csv")
    assert list(predictions.columns[:4]) == ["date", "ticker", "score", "next_day_return"]
    assert len(predictions) == 8 * (300 - 100)   # every ticker, from the last training day to the day before the end
    index = (run / "index.html").read_text()
    assert "09_panel.html" in index and metrics["verdict"][:40] in index
    assert (run / "09_panel.html").exists()


def test_bad_panel_parameter_exits_2_before_creating_anything(tmp_path, capsys):
    wide = tmp_path / "wide.csv"
    synthetic_panel_closes(300, 4).rename_axis("Date").to_csv(wide)
    assert main(["panel", "--csv", str(wide), "--set", "top_k=0", "--out", str(tmp_path / "out")]) == 2
    assert "top_k" in capsys.readouterr().err
    assert main(["panel", "--csv", str(wide), "--out", str(tmp_path / "out")]) == 2   # full: 750 training days
    assert "train_days" in capsys.readouterr().err
    assert main(["panel", "--csv", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()


def test_series_runner_never_picks_up_the_panel_notebook():
    assert (DEFAULT_NOTEBOOKS_DIR / "09_panel.ipynb").exists()
    assert "09_panel" not in existing_notebooks() and "09_panel" not in select_notebooks(None)


def test_notebook_start_saves_the_config_and_later_overrides_apply_in_memory(tmp_path):
    from helpers.config import ConfigError
    from helpers.panel_config import PANEL_CONFIG_FILE, PanelConfig
    from helpers.panel_runner import start_panel_notebook

    config, paths = start_panel_notebook(tmp_path, {"mode": "quick", "csv_path": "x.csv", "top_k": 2})
    assert PanelConfig.load(paths.root / PANEL_CONFIG_FILE) == config and config.window == 60
    again, _ = start_panel_notebook(tmp_path, {"top_k": 3})
    assert again.top_k == 3 and PanelConfig.load(paths.root / PANEL_CONFIG_FILE).top_k == 2
    with pytest.raises(ConfigError, match="panel source"):
        start_panel_notebook(tmp_path / "empty", {})


def test_panel_check_pins_relative_paths_and_refuses_a_folder_with_one_csv(tmp_path, monkeypatch):
    from helpers.config import ConfigError
    from helpers.panel_config import PanelConfig
    from helpers.panel_runner import check_panel_config

    monkeypatch.chdir(tmp_path)
    synthetic_panel_closes(300, 3).rename_axis("Date").to_csv("wide.csv")
    checked = check_panel_config(PanelConfig.for_mode("quick", csv_path="wide.csv", train_days=150))
    assert checked.csv_path == str(tmp_path / "wide.csv")
    (tmp_path / "one").mkdir()
    synthetic_panel_closes(50, 1)["S000"].rename("Close").rename_axis("Date").to_csv(tmp_path / "one" / "A.csv")
    with pytest.raises(ConfigError, match="at least two"):
        check_panel_config(PanelConfig(csv_dir="one"))
