"""Notebook 04's orchestration: price-unit validation scores beside persistence, the cell comparison, and the
deliberately leaky tutorial model of the price-level pitfall."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("keras")

from helpers import modelling, plots  # noqa: E402
from helpers.config import RunConfig  # noqa: E402
from helpers.metrics import lag_diagnostic  # noqa: E402
from helpers.windows import WindowGenerator  # noqa: E402

FEATURES = ["log_return", "ma_ratio"]


def feature_frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """A GBM close on business days with two causal features (log return, close over its lagged 10-day mean)."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2020-01-01", periods=n, name="date")
    close = pd.Series(100.0 * np.exp(np.cumsum(rng.normal(0.0005, 0.012, n))), index=dates, name="close")
    frame = pd.DataFrame({"close": close, "log_return": np.log(close).diff(),
                          "ma_ratio": close / close.rolling(10).mean().shift(1)})
    return frame.dropna()


def tiny_config(**changes) -> RunConfig:
    base = dict(window=10, horizon=1, units=(8,), epochs=2, patience=2, batch_size=32, seed=7,
                compare_cells=("lstm", "gru"))
    base.update(changes)
    return RunConfig(**base)


class FixedModel:
    """Stands in for a Keras model: ``predict`` returns fixed scaled outputs for the validation windows."""

    def __init__(self, outputs: np.ndarray):
        self.outputs = np.asarray(outputs, dtype=np.float32)

    def predict(self, x, batch_size=None, verbose=0):
        assert len(x) == len(self.outputs), "FixedModel only answers for the split it was made for"
        return self.outputs


def zero_return_model(windows: WindowGenerator, split: str = "val") -> FixedModel:
    """Predicts a log return of 0 (in scaled units) for every sample: exactly persistence in prices."""
    zeros = np.zeros((windows.n_samples(split), windows.horizon))
    return FixedModel(windows.target_scaler_.transform(zeros))


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return feature_frame()


@pytest.fixture(scope="module")
def windows(frame) -> WindowGenerator:
    return WindowGenerator(frame, FEATURES, tiny_config())


# ---------------------------------------------------------------------- validation_scores
def test_persistence_rmse_is_in_price_units_on_the_validation_rows(frame, windows):
    scores = modelling.validation_scores(windows, zero_return_model(windows))
    close = frame["close"]
    origins = close.index.get_indexer(windows.origin_dates("val"))
    by_hand = np.sqrt(np.mean((close.to_numpy()[origins + 1] - close.to_numpy()[origins]) ** 2))
    assert scores["persistence_rmse"] == pytest.approx(by_hand)
    assert scores["samples"] == len(origins)
    assert scores["first_date"] == close.index[origins[0] + 1].date().isoformat()


def test_a_model_predicting_no_change_scores_exactly_like_persistence(windows):
    scores = modelling.validation_scores(windows, zero_return_model(windows))
    assert scores["rmse"] == pytest.approx(scores["persistence_rmse"])
    assert scores["theils_u"] == pytest.approx(1.0)


def test_a_model_predicting_the_true_labels_has_zero_price_error(windows):
    scores = modelling.validation_scores(windows, FixedModel(windows.labels("val")))
    assert scores["rmse"] == pytest.approx(0.0, abs=1e-3)
    assert scores["theils_u"] == pytest.approx(0.0, abs=1e-3)
    assert scores["directional_accuracy"] == pytest.approx(1.0)


def test_validation_scores_give_one_rmse_per_step_and_are_plain_json(frame):
    windows = WindowGenerator(frame, FEATURES, tiny_config(horizon=3))
    scores = modelling.validation_scores(windows, zero_return_model(windows))
    assert len(scores["rmse_by_step"]) == len(scores["persistence_rmse_by_step"]) == 3
    assert json.loads(json.dumps(scores)) == scores


def test_a_coin_flip_direction_model_is_scored_in_prices_as_persistence(frame):
    windows = WindowGenerator(frame, FEATURES, tiny_config(target="direction"))
    half = FixedModel(np.full((windows.n_samples("val"), 1), 0.5))
    assert modelling.validation_scores(windows, half)["theils_u"] == pytest.approx(1.0)


def test_validation_table_puts_model_beside_persistence(windows):
    table = modelling.validation_table(modelling.validation_scores(windows, zero_return_model(windows)))
    assert list(table.columns) == ["model", "persistence"]
    np.testing.assert_allclose(table["model"], table["persistence"], rtol=1e-6)


# ---------------------------------------------------------------------- comparing cells
def test_train_cells_reuses_results_it_is_given_instead_of_training(windows):
    given = {"lstm": object(), "gru": object()}
    results = modelling.train_cells(windows, tiny_config(), trained=given)
    assert results["lstm"] is given["lstm"] and results["gru"] is given["gru"]


def test_train_cells_refuses_an_empty_list(windows):
    with pytest.raises(ValueError, match="compare_cells"):
        modelling.train_cells(windows, tiny_config(compare_cells=()), cells=[])


@pytest.mark.slow
def test_compare_cells_scores_every_cell_on_the_same_rows_with_the_same_budget(windows):
    config = tiny_config()
    table = modelling.compare_cells(windows, config)
    assert list(table.index) == ["LSTM", "GRU"]
    assert table["persistence_rmse"].nunique() == 1
    np.testing.assert_allclose(table["theils_u"], table["rmse"] / table["persistence_rmse"])
    assert (table["epochs"] <= config.epochs).all()
    assert (table["parameters"] > 0).all()
    record = json.loads(json.dumps(modelling.comparison_record(table, windows, config)))
    assert record["best"] in {"LSTM", "GRU"}
    assert [m["model"] for m in record["models"]] == ["LSTM", "GRU"]
    assert record["budget"]["epochs"] == config.epochs and record["budget"]["units"] == list(config.units)
    assert record["samples"] == windows.n_samples("val")


# ---------------------------------------------------------------------- the price-level pitfall
def test_tutorial_scaler_is_fitted_on_future_rows_and_the_careful_one_is_not(frame):
    config = tiny_config()
    future = frame.copy()
    future.iloc[-20:, future.columns.get_loc("close")] *= 3.0   # only test rows change
    leaky = [modelling.tutorial_windows_with_leaky_scaler(f, FEATURES, config) for f in (frame, future)]
    careful = [WindowGenerator(f, FEATURES, config.replace(target="price")) for f in (frame, future)]
    assert leaky[0].scaler_params()["feature_scaler"] != leaky[1].scaler_params()["feature_scaler"]
    assert leaky[0].scaler_params()["target_scaler"] != leaky[1].scaler_params()["target_scaler"]
    assert careful[0].scaler_params() == careful[1].scaler_params()


def test_tutorial_windows_predict_price_with_close_as_input_and_the_usual_split(frame, windows):
    leaky = modelling.tutorial_windows_with_leaky_scaler(frame, FEATURES, tiny_config())
    assert leaky.target == "price" and "close" in leaky.input_columns
    assert leaky.feature_scaler_.kind == "minmax"
    assert leaky.origin_dates("val").equals(windows.origin_dates("val"))


def test_lag_chart_data_is_what_plots_lag_chart_draws():
    dates = pd.bdate_range("2021-01-01", periods=40)
    actual = pd.Series(100 + np.cumsum(np.random.default_rng(1).normal(0, 1, 40)), index=dates)
    diagnostic = lag_diagnostic(actual, actual.shift(1).bfill())
    data = modelling.lag_chart_data(diagnostic)
    assert data["lags"] == list(range(-3, 4))
    assert len(data["rmse"]) == len(data["change_correlation"]) == 7
    assert len(plots.lag_chart(data).data) == 2


@pytest.mark.slow
def test_price_level_pitfall_scores_both_models_on_the_same_validation_rows(frame, windows):
    careful_model = zero_return_model(windows)
    pitfall = modelling.price_level_pitfall(frame, FEATURES, tiny_config(), careful=(windows, careful_model),
                                            budget={"units": (8,), "epochs": 2, "patience": 2})
    assert pitfall.dates.equals(pd.DatetimeIndex(windows.target_dates("val")))
    np.testing.assert_allclose(pitfall.persistence, windows.last_close("val"))
    # The careful side reused the given model (a no-change forecast): exactly persistence.
    np.testing.assert_allclose(pitfall.forecasts[modelling.CAREFUL_LABEL], pitfall.persistence, rtol=1e-6)
    assert pitfall.scores[modelling.CAREFUL_LABEL]["theils_u"] == pytest.approx(1.0, abs=1e-6)
    table = pitfall.table()
    assert list(table.index) == [modelling.TUTORIAL_LABEL, modelling.CAREFUL_LABEL]
    assert {"theils_u", "best_lag", "trails_the_price"} <= set(table.columns)
    assert set(pitfall.chart_forecasts()) == {"persistence", modelling.TUTORIAL_LABEL, modelling.CAREFUL_LABEL}
    json.dumps(pitfall.to_dict())
    assert modelling.TUTORIAL_LABEL in pitfall.summary() and "Theil's U" in pitfall.summary()
    # The no-change model IS persistence: no difference to claim, and it lines up with yesterday's price.
    careful = pitfall.checks[modelling.CAREFUL_LABEL]
    assert careful["hugs"] and "cannot be told apart from persistence" in pitfall.summary()


# ---------------------------------------------------------------------- the pitfall's sentences and budget
def test_the_tutorial_model_gets_its_own_budget_in_quick_mode():
    quick = RunConfig.for_mode("quick")
    budgeted = modelling.pitfall_config(quick)
    assert budgeted.units == modelling.PITFALL_BUDGET["units"]
    assert budgeted.epochs == modelling.PITFALL_BUDGET["epochs"] > quick.epochs
    assert modelling.pitfall_config(RunConfig()).units == modelling.PITFALL_BUDGET["units"]


def line(actual: np.ndarray, forecast: np.ndarray) -> str:
    """describe_line of ``forecast`` against ``actual``, persistence being the previous actual."""
    persistence = np.r_[actual[0], actual[:-1]]
    scores = modelling.score_against_persistence(actual[1:], forecast[1:], persistence[1:])
    lag = lag_diagnostic(pd.Series(actual[1:]), pd.Series(forecast[1:]))
    return modelling.describe_line(scores, lag, modelling.line_checks(actual[1:], forecast[1:], persistence[1:]))


PRICE = 100 * np.exp(np.cumsum(np.random.default_rng(11).normal(0.001, 0.012, 300)))


def test_a_late_copy_of_the_price_hugs_it_and_trails_it():
    yesterday = np.r_[PRICE[0], PRICE[:-1]] * (1 + np.random.default_rng(1).normal(0, 0.004, 300))
    sentence = line(PRICE, yesterday)
    assert "Its line hugs the actual price" in sentence
    assert "It trails the price" in sentence and "best shift +1" in sentence


def test_a_line_far_below_the_price_is_not_said_to_hug_it():
    """The quick-mode failure of the issue: a line about 10% below the price must not be called hugging."""
    low = np.r_[PRICE[0], PRICE[:-1]] * 0.9
    sentence = line(PRICE, low)
    assert "does not hug the actual price" in sentence and "it sits 10.1% below it" in sentence
    assert "worse than persistence" in sentence


def test_a_line_that_matches_the_same_day_does_not_trail_and_beats_persistence():
    sentence = line(PRICE, PRICE * (1 + np.random.default_rng(2).normal(0, 0.001, 300)))
    assert "It does not trail the price" in sentence and "It beats persistence" in sentence


def test_notebook_04_prose_around_the_pitfall_asserts_nothing_the_numbers_may_contradict():
    """The issue's contradiction: static markdown said the price-level line "hugs the actual price" while the
    quick-mode line sat far below it. Such claims now live only in the generated sentences."""
    from pathlib import Path

    notebook = json.loads((Path(__file__).resolve().parent.parent / "notebooks" / "04_model.ipynb").read_text())
    cells = notebook["cells"]
    start = next(i for i, c in enumerate(cells) if "".join(c["source"]).startswith("## 9 · The pitfall"))
    prose = " ".join("".join(c["source"]) for c in cells[start:] if c["cell_type"] == "markdown")
    for claim in ("hugs the actual price", "line hugs", "Theil's U is above 1", "its U is about 1"):
        assert claim not in prose, claim


def test_a_best_shift_at_the_edge_of_the_shifts_tried_is_reported_as_a_lower_bound():
    lag = {"best_lag": 2, "by_lag": [{"lag": k} for k in (-1, 0, 1, 2)]}
    assert "2 or more day(s) earlier" in modelling._lag_clause(lag)
    assert "1 day(s) earlier" in modelling._lag_clause({**lag, "best_lag": 1})
    assert "1 bar(s) earlier" in modelling._lag_clause({**lag, "best_lag": 1}, unit="bar")
    assert "same bar's actual price" in modelling._lag_clause({**lag, "best_lag": 0}, unit="bar")
    assert "LATER" in modelling._lag_clause({**lag, "best_lag": -1})
