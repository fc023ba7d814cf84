"""Forecasting ahead: the trading calendar, recursive and direct forecasts, dropout and predictive bands, predict
on new data.

Models here are tiny and untrained (random weights): what is tested is the plumbing around them (feeding
predictions back, calendars, bands, refusing data a model cannot read), which does not need skill.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import forecast as fc
from helpers.artifacts import (
    DateGapError,
    MissingFeatureError,
    TargetMismatchError,
    TooFewRowsError,
    build_manifest,
    save_artifact,
    series_calendar,
)
from helpers.calendar import future_dates, infer_calendar
from helpers.config import RunConfig
from helpers.features import build_features
from helpers.models import build_stacked_rnn
from helpers.preprocess import Preprocessor
from helpers.predict import predict_from_artifact, residuals_from_prices
from helpers.providers.csvfile import read_price_csv
from helpers.runfolder import PROJECT_ROOT, RunPaths
from helpers.validation import clean_prices
from helpers.windows import WindowGenerator

SAMPLE_CSV = PROJECT_ROOT / "data" / "sample" / "AAPL.csv"

# Few, cheap feature groups, but ones that exercise the synthetic future bar: high/low (atr), volume (obv,
# volume_z), recursive averages (macd) and the calendar (day_of_week).
TINY = dict(features=("log_return", "rsi", "macd", "atr", "obv", "volume_z", "day_of_week"), window=10,
            units=(4,), dropout=0.3, epochs=1, mc_samples=20, forecast_days=5, seed=3)


def sample_prices(rows: int = 700) -> pd.DataFrame:
    """The last ``rows`` cleaned rows of the embedded AAPL sample."""
    prices, _ = clean_prices(read_price_csv(SAMPLE_CSV))
    return prices.iloc[-rows:]


def tiny_windows(prices: pd.DataFrame, config: RunConfig) -> tuple[WindowGenerator, list[str]]:
    feature_set = build_features(prices, config)
    return WindowGenerator(feature_set.frame, feature_set.columns, config), feature_set.columns


def tiny_model(windows: WindowGenerator, config: RunConfig):
    """An untrained stacked LSTM with dropout (seeded), the shape the windows need."""
    import keras

    keras.utils.set_random_seed(config.seed)
    return build_stacked_rnn(config.cell, config.units, config.dropout, windows.horizon, windows.window,
                             windows.n_features)


def save_tiny_run(run_dir: Path, prices: pd.DataFrame, config: RunConfig, model=None):
    """A run folder with config.json and model/ (model.keras + manifest.json) for ``prices``."""
    windows, columns = tiny_windows(prices, config)
    model = model or tiny_model(windows, config)
    paths = RunPaths(run_dir)
    config.save(paths.config)
    save_artifact(model, build_manifest(config, windows, columns), paths.model_dir)
    return paths, windows, model


def write_csv(prices: pd.DataFrame, path: Path) -> Path:
    prices.rename_axis("date").to_csv(path)
    return path


@pytest.fixture(scope="module")
def setup():
    config = RunConfig(**TINY)
    prices = sample_prices()
    windows, columns = tiny_windows(prices, config)
    model = tiny_model(windows, config)
    spec = windows.preprocessor
    return {"config": config, "prices": prices, "windows": windows, "model": model, "spec": spec}


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory, setup):
    run_dir = tmp_path_factory.mktemp("forecast_run") / "run"
    paths, _, _ = save_tiny_run(run_dir, setup["prices"], setup["config"], setup["model"])
    return paths


# ---------------------------------------------------------------------- calendar
def test_future_dates_skip_weekends_for_stocks():
    dates = future_dates("2024-01-04", 4, "business")   # a Thursday
    assert [d.day_name() for d in dates] == ["Friday", "Monday", "Tuesday", "Wednesday"]
    assert dates[0] == pd.Timestamp("2024-01-05")


def test_future_dates_keep_weekends_for_crypto():
    dates = future_dates("2024-01-05", 3, "daily")      # a Friday
    assert list(dates) == list(pd.date_range("2024-01-06", periods=3, freq="D"))


def test_infer_calendar_daily_only_when_weekends_are_traded():
    stock = pd.bdate_range("2024-01-01", periods=60)
    crypto = pd.date_range("2024-01-01", periods=60, freq="D")
    stray_weekend = stock.append(pd.DatetimeIndex(["2024-03-30"]))
    assert infer_calendar(stock) == "business"
    assert infer_calendar(crypto) == "daily"
    assert infer_calendar(stray_weekend) == "business"
    for dates in (stock, crypto, stray_weekend):
        assert infer_calendar(dates) == series_calendar(dates)["kind"]


def test_future_dates_refuse_an_unknown_calendar():
    with pytest.raises(ValueError, match="business, daily"):
        future_dates("2024-01-04", 2, "weekly")


# ---------------------------------------------------------------------- recursive
def hand_written_loop(model, windows: WindowGenerator, config: RunConfig, prices: pd.DataFrame, steps: int):
    """The recursive forecast spelled out: full-history features, stored scalers, one step, feed back."""
    history = prices.copy()
    scaler, target_scaler = windows.feature_scaler_, windows.target_scaler_
    out = []
    for _ in range(steps):
        frame = build_features(history, config).frame
        x = scaler.transform(frame[windows.input_columns].to_numpy()[-windows.window:])[None]
        r = target_scaler.inverse_transform(model.predict(x.astype("float32"), verbose=0))[0, 0]
        close = history["close"].iloc[-1] * np.exp(r)
        date = history.index[-1] + pd.offsets.BDay(1)
        bar = {"open": close, "high": close, "low": close, "close": close,
               "volume": history["volume"].iloc[-20:].mean()}
        history = pd.concat([history, pd.DataFrame(bar, index=pd.DatetimeIndex([date], name="date"))])
        out.append((date, close))
    return pd.Series([c for _, c in out], index=pd.DatetimeIndex([d for d, _ in out]))


def test_recursive_forecast_equals_hand_written_loop(setup):
    steps = 6
    expected = hand_written_loop(setup["model"], setup["windows"], setup["config"], setup["prices"], steps)
    got = fc.recursive_forecast(setup["model"], setup["spec"], setup["prices"], steps)
    assert list(got.index) == list(expected.index)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-6)
    assert np.ptp(got.to_numpy()) > 0   # the loop really moved the price


def test_stacked_paths_equal_paths_computed_one_by_one(setup):
    origins = setup["prices"].index[[-40, -25, -10]]
    together = fc.recursive_forecasts_at(setup["model"], setup["spec"], setup["prices"], origins, 4)
    alone = np.stack([fc.recursive_forecast(setup["model"], setup["spec"], setup["prices"].loc[:d], 4).to_numpy()
                      for d in origins])
    np.testing.assert_allclose(together, alone, rtol=1e-6)


def test_recursive_forecast_from_a_past_origin_ignores_later_prices(setup):
    prices = setup["prices"]
    origin = prices.index[-30]
    before = fc.recursive_forecasts_at(setup["model"], setup["spec"], prices, [origin], 3)
    changed = prices.copy()
    changed.loc[changed.index > origin, ["open", "high", "low", "close"]] *= 1.5
    after = fc.recursive_forecasts_at(setup["model"], setup["spec"], changed, [origin], 3)
    np.testing.assert_array_equal(before, after)


# ---------------------------------------------------------------------- Monte Carlo dropout
def test_mc_dropout_samples_shape_and_passes_differ(setup):
    x = setup["windows"].inputs("test")[:7]
    samples = fc.mc_dropout_samples(setup["model"], x, 12)
    assert samples.shape == (12, 7, 1)
    assert np.std(samples[:, 0, 0]) > 0


def test_mc_dropout_samples_repeat_with_a_seed_and_chunking_changes_nothing(setup):
    x = setup["windows"].inputs("test")[:7]
    one_batch = fc.mc_dropout_samples(setup["model"], x, 12, seed=5)
    again = fc.mc_dropout_samples(setup["model"], x, 12, seed=5)
    np.testing.assert_array_equal(one_batch, again)
    chunked = fc.mc_dropout_samples(setup["model"], x, 12, seed=5, chunk_rows=10 ** 6)
    np.testing.assert_allclose(one_batch, chunked, rtol=1e-6)


def test_recursive_bands_widen_with_horizon(setup):
    paths = fc.recursive_paths(setup["model"], setup["spec"], setup["prices"], 6, 40, seed=1)
    bands = fc.quantile_bands(paths, (0.8, 0.95))
    width = bands["upper_95"] - bands["lower_95"]
    assert paths.shape == (40, 6)
    assert width[-1] > 1.5 * width[0]
    assert np.all(bands["lower_80"] >= bands["lower_95"]) and np.all(bands["upper_80"] <= bands["upper_95"])


@pytest.fixture(scope="module")
def residuals(setup):
    return fc.validation_residuals(setup["model"], setup["windows"])


def test_predictive_recursive_paths_fan_out_wider_than_dropout_and_repeat_with_a_seed(setup, residuals):
    args = (setup["model"], setup["spec"], setup["prices"], 5, 30)
    dropout = fc.recursive_paths(*args, seed=1)
    predictive = fc.recursive_paths(*args, seed=1, residuals=residuals)
    again = fc.recursive_paths(*args, seed=1, residuals=residuals)
    np.testing.assert_array_equal(predictive, again)
    spread = np.std(np.log(predictive), axis=0)
    assert spread[-1] > 1.5 * spread[0]                     # the residuals compound step after step
    assert spread[0] > 3 * np.std(np.log(dropout[:, 0]))


def test_predictive_noise_is_fed_back_into_the_next_step(setup, residuals):
    """Each path's later steps start from its own noisy price: steps 1 and 2 move together across paths."""
    paths = fc.recursive_paths(setup["model"], setup["spec"], setup["prices"], 2, 40, seed=2, residuals=residuals)
    log_paths = np.log(paths)
    assert np.corrcoef(log_paths[:, 0], log_paths[:, 1])[0, 1] > 0.4


def test_predictive_bands_need_residuals_and_say_how_to_get_them(setup):
    with pytest.raises(ValueError, match=r"validation_residuals\(model, windows\).*kind='dropout'"):
        fc.forecast_ahead(setup["model"], setup["spec"], setup["prices"], steps=2, n_samples=4)


def test_forecast_ahead_predictive_bands_are_wider_than_dropout_bands(setup, residuals):
    kwargs = dict(steps=3, n_samples=12, seed=0)
    dropout = fc.forecast_ahead(setup["model"], setup["spec"], setup["prices"], kind="dropout", **kwargs)
    predictive = fc.forecast_ahead(setup["model"], setup["spec"], setup["prices"], residuals=residuals, **kwargs)
    np.testing.assert_allclose(dropout["forecast"], predictive["forecast"])
    assert ((predictive["upper_80"] - predictive["lower_80"]) > (dropout["upper_80"] - dropout["lower_80"])).all()


def test_direct_predictive_samples_add_whole_residual_rows():
    config = RunConfig(**{**TINY, "horizon": 3})
    prices = sample_prices()
    windows, _ = tiny_windows(prices, config)
    model = tiny_model(windows, config)
    spec = windows.preprocessor
    pool = fc.validation_residuals(model, windows)
    assert pool.shape == (windows.n_samples("val"), 3)
    samples = fc.direct_samples(model, spec, prices, 5, seed=0, residuals=pool)
    assert samples.shape[0] >= 1000 and samples.shape[1] == 3
    dropout = fc.direct_samples(model, spec, prices, 5, seed=0)
    assert np.std(np.log(samples[:, 2])) > 3 * np.std(np.log(dropout[:, 2]))


def test_forecasts_as_of_with_predictive_bands(setup, residuals):
    features = build_features(setup["prices"], setup["config"]).frame
    as_of = features.index[[-30, -12]]
    kwargs = dict(n_samples=8, levels=(0.8,), seed=0)
    dropout = fc.forecasts_as_of(setup["model"], setup["spec"], features, as_of, kind="dropout", **kwargs)
    predictive = fc.forecasts_as_of(setup["model"], setup["spec"], features, as_of, residuals=residuals, **kwargs)
    assert ((predictive["upper_80"] - predictive["lower_80"]) > (dropout["upper_80"] - dropout["lower_80"])).all()


def test_quantile_bands_name_levels_in_percent():
    samples = np.arange(101, dtype=float)[:, None]
    bands = fc.quantile_bands(samples, (0.8, 0.975))
    assert set(bands) == {"lower_80", "upper_80", "lower_97.5", "upper_97.5"}
    assert bands["lower_80"][0] == pytest.approx(10.0) and bands["upper_80"][0] == pytest.approx(90.0)


def test_band_coverage_counts_actuals_inside_per_step():
    actual = np.array([[1.0, 5.0], [2.0, 9.0], [3.0, np.nan], [10.0, 0.0]])
    bands = {"lower_80": np.zeros((4, 2)), "upper_80": np.full((4, 2), 4.0)}
    table = fc.band_coverage(actual, bands)
    assert list(table["step"]) == [1, 2]
    assert table["coverage"].tolist() == pytest.approx([0.75, 1 / 3])
    assert table["n"].tolist() == [4, 3]
    assert "80% band" in fc.coverage_sentence(table)


def test_the_coverage_sentence_is_chosen_by_a_binomial_test_of_the_one_step_hits():
    from helpers.metrics import COVERAGE_VERDICTS

    def table(hits: int, n: int):
        return pd.DataFrame({"band": ["80"], "nominal": [0.8], "step": [1], "coverage": [hits / n], "n": [n],
                             "gap": [hits / n - 0.8]})

    assert COVERAGE_VERDICTS["holds"] in fc.coverage_sentence(table(160, 200))       # exactly nominal
    assert COVERAGE_VERDICTS["too_narrow"] in fc.coverage_sentence(table(120, 200))  # 60%: rejected, too narrow
    assert COVERAGE_VERDICTS["holds"] in fc.coverage_sentence(table(7, 10))          # 70% of 10: not evidence


def test_forecast_frame_has_the_contract_columns(setup):
    point = fc.recursive_forecast(setup["model"], setup["spec"], setup["prices"], 3)
    frame = fc.forecast_frame(point, np.random.default_rng(0).normal(100, 1, (10, 3)), (0.8, 0.95), "recursive")
    assert tuple(frame.columns) == fc.FORECAST_COLUMNS
    assert frame["horizon"].tolist() == [1, 2, 3]


# ---------------------------------------------------------------------- direct and by horizon
def test_direct_forecast_gives_one_value_per_horizon_step():
    config = RunConfig(**{**TINY, "horizon": 4})
    prices = sample_prices()
    windows, _ = tiny_windows(prices, config)
    model = tiny_model(windows, config)
    spec = windows.preprocessor
    point = fc.direct_forecast(model, spec, prices)
    samples = fc.direct_samples(model, spec, prices, 8, seed=0)
    assert len(point) == 4 and point.index[0] > prices.index[-1]
    assert samples.shape == (8, 4)
    frame = fc.forecast_ahead(model, spec, prices, n_samples=8, kind="dropout")
    assert (frame["method"] == "direct").all() and len(frame) == 4


def test_error_by_horizon_puts_each_method_beside_persistence():
    actual = np.array([[10.0, 11.0], [12.0, 13.0]])
    persistence = np.array([[9.0, 9.0], [11.0, 11.0]])
    table = fc.error_by_horizon(actual, {"recursive": persistence, "direct": actual}, persistence)
    assert table.loc[1, "recursive_u"] == pytest.approx(1.0)
    assert table.loc[2, "direct_u"] == pytest.approx(0.0)
    assert table.loc[2, "persistence"] == pytest.approx(2.0)


def test_horizon_origins_keep_every_future_step_inside_the_data(setup):
    windows = setup["windows"]
    origins = fc.horizon_origins(windows, 5, max_origins=8)
    assert len(origins) == 8
    assert np.isfinite(fc.actual_paths(windows.frame["close"], origins, 5)).all()


# ---------------------------------------------------------------------- predict on new data
def test_predict_from_artifact_writes_forecast_csv(saved_run, setup, tmp_path):
    csv = write_csv(setup["prices"], tmp_path / "new.csv")
    out = tmp_path / "forecast.csv"
    forecast = predict_from_artifact(saved_run.model_dir, csv, out_path=out, steps=3, n_samples=6, seed=0)
    written = pd.read_csv(out, parse_dates=["date"])
    assert tuple(written.columns) == fc.FORECAST_COLUMNS
    assert len(written) == len(forecast) == 3
    assert written["date"].iloc[0] > setup["prices"].index[-1]
    assert (written["date"].dt.day_of_week < 5).all()
    assert (written["lower_95"] <= written["upper_95"]).all()


def test_residuals_from_new_prices_equal_the_training_windows_residuals(saved_run, setup, residuals):
    from helpers.artifacts import load_artifact

    model, manifest = load_artifact(saved_run.model_dir)
    spec = Preprocessor.from_manifest(manifest)
    features = spec.features(setup["prices"])
    np.testing.assert_allclose(residuals_from_prices(model, spec, manifest, features), residuals, rtol=1e-6)


def test_predict_uses_a_residual_pool_stored_in_the_manifest(saved_run, setup):
    from helpers.artifacts import load_artifact

    model, manifest = load_artifact(saved_run.model_dir)
    spec = Preprocessor.from_manifest(manifest)
    stored = {**manifest, "validation_residuals": [[0.01 * (i % 5 - 2)] for i in range(30)]}
    pool = residuals_from_prices(model, spec, stored, spec.features(setup["prices"].iloc[-100:]))
    assert pool.shape == (30, 1) and pool.max() == pytest.approx(0.02)


def test_predict_on_prices_after_the_validation_period_asks_for_them_or_dropout_bands(saved_run, setup, tmp_path):
    recent = write_csv(setup["prices"].iloc[-100:], tmp_path / "recent.csv")
    with pytest.raises(ValueError, match=r"validation days .* kind='dropout'"):
        predict_from_artifact(saved_run.model_dir, recent, tmp_path / "f.csv", steps=2, n_samples=4)
    frame = predict_from_artifact(saved_run.model_dir, recent, tmp_path / "f.csv", steps=2, n_samples=4,
                                     kind="dropout", seed=0)
    assert len(frame) == 2 and frame["lower_80"].notna().all()


def test_predict_refuses_a_different_target(saved_run, setup, tmp_path):
    csv = write_csv(setup["prices"], tmp_path / "new.csv")
    with pytest.raises(TargetMismatchError, match="predicts target 'log_return'"):
        predict_from_artifact(saved_run.model_dir, csv, tmp_path / "f.csv", target="price")


def test_predict_refuses_missing_price_columns(saved_run, setup, tmp_path):
    csv = write_csv(setup["prices"][["close"]], tmp_path / "close_only.csv")
    with pytest.raises(MissingFeatureError, match=r"lacks price column\(s\) \['high', 'low'\]"):
        predict_from_artifact(saved_run.model_dir, csv, tmp_path / "f.csv")


def test_predict_refuses_too_few_rows_counting_warm_up(saved_run, setup, tmp_path):
    csv = write_csv(setup["prices"].iloc[-30:], tmp_path / "short.csv")
    with pytest.raises(TooFewRowsError, match=r"has 30 rows .* warm-up plus one window of 10 rows"):
        predict_from_artifact(saved_run.model_dir, csv, tmp_path / "f.csv")


def test_predict_refuses_a_gap_in_the_dates(saved_run, setup, tmp_path):
    prices = setup["prices"]
    holed = prices.drop(prices.index[-100:-88])
    csv = write_csv(holed, tmp_path / "holed.csv")
    with pytest.raises(DateGapError, match="gap"):
        predict_from_artifact(saved_run.model_dir, csv, tmp_path / "f.csv")


def test_each_refusal_has_its_own_message(saved_run, setup, tmp_path):
    prices = setup["prices"]
    cases = {
        "target": (write_csv(prices, tmp_path / "a.csv"), {"target": "price"}),
        "columns": (write_csv(prices[["close"]], tmp_path / "b.csv"), {}),
        "rows": (write_csv(prices.iloc[-30:], tmp_path / "c.csv"), {}),
        "gap": (write_csv(prices.drop(prices.index[-100:-88]), tmp_path / "d.csv"), {}),
    }
    messages = {}
    for name, (csv, kwargs) in cases.items():
        with pytest.raises(Exception) as caught:
            predict_from_artifact(saved_run.model_dir, csv, tmp_path / "f.csv", **kwargs)
        messages[name] = (type(caught.value), str(caught.value))
    assert len({cls for cls, _ in messages.values()}) == 4
    assert len({text for _, text in messages.values()}) == 4


def test_cli_predict_writes_the_forecast_and_prints_its_path(saved_run, setup, tmp_path, capsys):
    from helpers.cli import main

    csv = write_csv(setup["prices"], tmp_path / "new.csv")
    out = tmp_path / "out.csv"
    code = main(["predict", "--model", str(saved_run.model_dir), "--csv", str(csv), "--steps", "2",
                 "--samples", "4", "--out", str(out), "--ledger", str(tmp_path / "ledger.sqlite")])
    assert code == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(out)
    assert len(pd.read_csv(out)) == 2
    from helpers.ledger import Ledger

    assert len(Ledger(tmp_path / "ledger.sqlite")) == 2


def test_cli_predict_names_the_mismatch_and_exits_2_as_bad_input(saved_run, setup, tmp_path, capsys):
    from helpers.cli import main

    csv = write_csv(setup["prices"][["close"]], tmp_path / "close_only.csv")
    code = main(["predict", "--model", str(saved_run.model_dir), "--csv", str(csv)])
    assert code == 2          # prices the model cannot read are bad input (helpers.cli.exit_code_for)
    assert "MissingFeatureError" in capsys.readouterr().err


def test_forecasts_as_of_a_past_date_match_a_forecast_made_then(setup):
    prices, spec = setup["prices"], setup["spec"]
    features = build_features(prices, setup["config"]).frame
    as_of = features.index[[-30, -12]]
    table = fc.forecasts_as_of(setup["model"], spec, features, as_of, n_samples=8, levels=(0.8,), seed=0,
                               kind="dropout")
    then = [fc.recursive_forecast(setup["model"], spec, prices.loc[:d], 1).iloc[0] for d in as_of]
    np.testing.assert_allclose(table["forecast"], then, rtol=1e-6)
    assert table["as_of_close"].tolist() == prices["close"].loc[as_of].tolist()
    assert (table["date"] > table["as_of_date"]).all()
    assert {"lower_80", "upper_80"} <= set(table.columns)


def test_replayed_targets_are_the_next_sessions_in_the_data_then_the_calendar():
    index = pd.DatetimeIndex(["2017-12-21", "2017-12-22", "2017-12-26", "2017-12-27"])   # Christmas closed
    assert list(fc.trading_dates_after(index, 1, 2, "business")) == [pd.Timestamp("2017-12-26"),
                                                                     pd.Timestamp("2017-12-27")]
    assert list(fc.trading_dates_after(index, 2, 3, "business")) == [pd.Timestamp("2017-12-27"),
                                                                     pd.Timestamp("2017-12-28"),
                                                                     pd.Timestamp("2017-12-29")]


def test_the_same_predict_call_twice_writes_the_same_file(saved_run, setup, tmp_path):
    """Bands draw from a seed (default: the manifest's), so a repeated call reproduces its forecast exactly."""
    csv = write_csv(setup["prices"], tmp_path / "new.csv")
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    predict_from_artifact(saved_run.model_dir, csv, out_path=first, steps=3, n_samples=6)
    predict_from_artifact(saved_run.model_dir, csv, out_path=second, steps=3, n_samples=6)
    assert first.read_bytes() == second.read_bytes()
    other = tmp_path / "c.csv"
    predict_from_artifact(saved_run.model_dir, csv, out_path=other, steps=3, n_samples=6, seed=123)
    assert other.read_bytes() != first.read_bytes()


# ---------------------------------------------------------------------- the model's bar frequency
def test_the_manifest_records_the_bar_frequency_the_model_was_trained_on(saved_run):
    import json

    frequency = json.loads(saved_run.manifest.read_text())["frequency"]
    assert (frequency["name"], frequency["step"], frequency["calendar"]) == ("business-daily", "1d", "weekdays")


@pytest.mark.parametrize("resample, words", [
    ("W-FRI", r"weekly.csv has weekly bars \([\d,]+ bars, step 7d\), but the model was trained on business-daily "
              r"bars, weekdays \(step 1d\)"),
    ("D", r"daily.csv has daily bars, 24/7 \([\d,]+ bars, step 1d\), but the model was trained on business-daily"),
])
def test_predict_refuses_weekly_or_seven_day_data_into_a_business_day_model(saved_run, setup, tmp_path, resample,
                                                                           words):
    prices = setup["prices"]
    bars = prices.resample(resample).agg({"open": "first", "high": "max", "low": "min", "close": "last",
                                          "volume": "sum"}).ffill()
    name = "weekly.csv" if resample == "W-FRI" else "daily.csv"
    csv = write_csv(bars, tmp_path / name)
    with pytest.raises(DateGapError, match=words):
        predict_from_artifact(saved_run.model_dir, csv, tmp_path / "f.csv", steps=2, n_samples=0)
    assert not (tmp_path / "f.csv").exists()


def test_an_hourly_model_forecasts_the_next_hours_and_writes_their_times(tmp_path):
    index = pd.date_range("2024-01-01", periods=700, freq="h", name="date")      # 24/7, ends 2024-01-30 03:00
    close = 100 * np.exp(np.cumsum(np.random.default_rng(2).normal(0, 0.003, len(index))))
    volume = np.random.default_rng(3).integers(1000, 5000, len(index)).astype(float)
    prices = pd.DataFrame({"open": close, "high": close * 1.001, "low": close * 0.999, "close": close,
                           "volume": volume}, index=index)
    config = RunConfig(**TINY)
    paths, windows, _ = save_tiny_run(tmp_path / "run", prices, config)
    assert windows.preprocessor.frequency["name"] == "hourly"
    frame = predict_from_artifact(paths.model_dir, write_csv(prices, tmp_path / "new.csv"), tmp_path / "f.csv",
                                  steps=3, n_samples=0)
    expected = list(pd.date_range("2024-01-30 04:00", periods=3, freq="h"))
    assert list(pd.to_datetime(frame["date"])) == expected
    written = pd.read_csv(tmp_path / "f.csv")
    assert list(written["date"]) == ["2024-01-30 04:00:00", "2024-01-30 05:00:00", "2024-01-30 06:00:00"]
    daily = prices.resample("D").last()
    with pytest.raises(DateGapError, match=r"daily bars, 24/7.*trained on hourly bars, 24/7 \(step 1h\)"):
        predict_from_artifact(paths.model_dir, write_csv(daily, tmp_path / "d.csv"), tmp_path / "g.csv", steps=1,
                              n_samples=0)
