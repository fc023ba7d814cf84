"""Notebooks 03_featurize and 04_model run under papermill with tiny parameters; asserts on the files they wrote.

One run folder is built once (01 on the embedded sample from 2015, quick mode, a one-layer 8-unit network, two
epochs, LSTM and GRU compared), then 03 and 04 run on it. A second folder re-runs 03 with headline sentiment
switched on exactly as the notebook tells readers to. Every test here starts Jupyter kernels: marked slow.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

papermill = pytest.importorskip("papermill")


from helpers.runfolder import RunPaths  # noqa: E402
from tests.notebook_runner import run_notebook  # noqa: E402

TINY = {"mode": "quick", "source": "sample", "start": "2015-01-01", "window": 10, "epochs": 2, "patience": 1,
        "units": [8], "compare_cells": ["lstm", "gru"]}

pytestmark = pytest.mark.slow




@pytest.fixture(scope="module")
def run(tmp_path_factory) -> RunPaths:
    base = tmp_path_factory.mktemp("nb0304")
    run_dir = base / "run"
    run_notebook("01_collect", run_dir, TINY, base / "01.ipynb")
    run_notebook("03_featurize", run_dir, {}, base / "03.ipynb")
    run_notebook("04_model", run_dir, {}, base / "04.ipynb")
    return RunPaths(run_dir)


def read(path: Path):
    return json.loads(path.read_text())


def test_featurize_writes_the_feature_table_without_warmup_gaps(run):
    features = pd.read_parquet(run.features)
    meta = read(run.features_meta)
    prices = pd.read_parquet(run.prices)
    assert list(features.columns) == meta["columns"] + ["close"]
    assert meta["rows"] == len(features) == len(prices) - meta["warmup_rows"]
    assert meta["warmup_rows"] > 0 and meta["switched_off"] == {}
    assert features.index[0].date().isoformat() == meta["first_date"]
    assert np.isfinite(features.to_numpy()).all()


def test_model_notebook_teaches_but_leaves_the_run_model_to_06(run):
    """04's network is for teaching: the run's model/ is written by 06 only (one model per run)."""
    assert not run.model_dir.exists()
    assert run.history.exists()


def test_history_holds_one_loss_per_epoch_run(run):
    history = read(run.history)
    losses = history["history"]["loss"]
    assert len(losses) == len(history["history"]["val_loss"]) == history["epochs_run"] <= TINY["epochs"]
    assert 1 <= history["best_epoch"] <= history["epochs_run"]
    assert all(math.isfinite(v) for v in losses)


def test_model_comparison_scores_each_cell_beside_the_same_persistence(run):
    comparison = read(run.model_comparison)
    assert [m["model"] for m in comparison["models"]] == ["LSTM", "GRU"]
    assert comparison["split"] == "val" and comparison["samples"] > 0
    for entry in comparison["models"]:
        assert entry["persistence_rmse"] == comparison["persistence_rmse"] > 0
        assert entry["theils_u"] == pytest.approx(entry["rmse"] / entry["persistence_rmse"])
        assert 1 <= entry["epochs"] <= TINY["epochs"]
    assert comparison["budget"]["units"] == TINY["units"]
    assert comparison["best"] in {"LSTM", "GRU"}


def test_featurize_switches_sentiment_on_with_the_illustrative_headlines(run, tmp_path):
    copy = RunPaths(tmp_path / "run")
    copy.data_dir.mkdir(parents=True)
    for path in (run.config, run.prices, run.data_report):
        shutil.copy(path, copy.root / path.relative_to(run.root))
    features = read(run.config)["features"]
    overrides = {"features": [*features, "sentiment"], "headlines_path": "../data/headlines/illustrative_AAPL.csv"}
    run_notebook("03_featurize", copy.root, overrides, tmp_path / "03.ipynb")
    meta = read(copy.features_meta)
    assert meta["groups"]["sentiment"] == ["sentiment_mean", "sentiment_count"]
    counts = pd.read_parquet(copy.features)["sentiment_count"]
    assert counts.sum() > 0


def test_model_notebook_states_the_pitfall_in_sentences_chosen_by_its_tests(run):
    """Section 9 displays the generated bullets (hugs or not, against persistence, trails or not) for both models."""
    executed = json.loads((run.root.parent / "04.ipynb").read_text())
    shown = "".join("".join(output.get("data", {}).get("text/markdown", "")) for cell in executed["cells"]
                    for output in cell.get("outputs", []))
    assert "price target, scaler fitted on all rows (tutorial)" in shown
    assert shown.count("hug the actual price") + shown.count("hugs the actual price") == 2
    assert shown.count("Diebold-Mariano p =") == 2
