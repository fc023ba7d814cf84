"""The predictive distribution (dropout + validation residual bootstrap) and the one-day risk backtest.

The calibration tests use a market whose truth is known: a geometric random walk (log returns i.i.d. normal),
and a network whose head is set to output exactly zero return. The best possible forecaster there is "no
change", and the right 80% band is the central 80% of the daily return distribution, which the validation
residuals (= the validation returns) estimate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers import predictive as pr
from helpers import risk
from helpers.artifacts import build_manifest, save_artifact
from helpers.atomic import atomic_write_json, atomic_write_parquet, read_json
from helpers.config import RunConfig
from helpers.features import build_features
from helpers.forecast import band_coverage, quantile_bands
from helpers.models import build_stacked_rnn
from helpers.runfolder import RunPaths
from helpers.windows import WindowGenerator

CONFIG = RunConfig(features=("log_return",), window=10, units=(4,), dropout=0.3, seed=7, mc_samples=10)
DAILY_VOL = 0.012


def random_walk_prices(rows: int = 2000, seed: int = 0, vol: float = DAILY_VOL) -> pd.DataFrame:
    """A close-only geometric random walk on business days: log returns i.i.d. N(0, vol^2)."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, vol, rows)))
    return pd.DataFrame({"close": close}, index=pd.bdate_range("2005-01-03", periods=rows, name="date"))


def windows_of(prices: pd.DataFrame, config: RunConfig = CONFIG) -> tuple[WindowGenerator, list[str]]:
    feature_set = build_features(prices, config)
    return WindowGenerator(feature_set.frame, feature_set.columns, config), feature_set.columns


def zero_return_model(windows: WindowGenerator, config: RunConfig = CONFIG):
    """A stacked LSTM with dropout whose head outputs exactly log return 0 (price forecast = last close)."""
    import keras

    keras.utils.set_random_seed(config.seed)
    model = build_stacked_rnn(config.cell, config.units, config.dropout, windows.horizon, windows.window,
                              windows.n_features)
    head = model.get_layer("head")
    kernel, _ = head.get_weights()
    scaler = windows.target_scaler_
    # Scaled output b unscales to b * scale + mean = 0.
    head.set_weights([np.zeros_like(kernel), (-scaler.mean_ / scaler.scale_).astype(kernel.dtype)])
    return model


def write_run(run_dir, prices: pd.DataFrame, config: RunConfig = CONFIG) -> tuple[RunPaths, WindowGenerator]:
    """A run folder as 01, 03 and 04 leave it: config, prices, features, model/ with its manifest."""
    paths = RunPaths(run_dir)
    feature_set = build_features(prices, config)
    windows = WindowGenerator(feature_set.frame, feature_set.columns, config)
    config.save(paths.config)
    atomic_write_parquet(paths.prices, prices)
    atomic_write_parquet(paths.features, feature_set.frame)
    atomic_write_json(paths.features_meta, {"columns": feature_set.columns})
    save_artifact(zero_return_model(windows, config), build_manifest(config, windows, feature_set.columns),
                  paths.model_dir)
    return paths, windows


@pytest.fixture(scope="module")
def walk():
    prices = random_walk_prices()
    windows, _ = windows_of(prices)
    return {"prices": prices, "windows": windows, "model": zero_return_model(windows)}


# ---------------------------------------------------------------------- calibration
def test_predictive_bands_hold_near_nominal_on_a_random_walk(walk):
    windows = walk["windows"]
    samples = pr.predictive_price_samples(walk["model"], windows, "test", 10, seed=1)
    coverage = band_coverage(windows.actual_price("test"), quantile_bands(samples, (0.8, 0.95)))
    got = dict(zip(coverage["band"], coverage["coverage"]))
    assert coverage["n"].iloc[0] == windows.n_samples("test") > 250
    assert got["80"] == pytest.approx(0.80, abs=0.05)
    assert got["95"] == pytest.approx(0.95, abs=0.03)


def test_dropout_only_bands_miss_the_market_noise(walk):
    windows = walk["windows"]
    samples = pr.predictive_price_samples(walk["model"], windows, "test", 10, kind="dropout", seed=1)
    coverage = band_coverage(windows.actual_price("test"), quantile_bands(samples, (0.8, 0.95)))
    assert samples.shape == (10, windows.n_samples("test"), 1)
    assert coverage["coverage"].max() < 0.2


def test_validation_residuals_of_a_no_change_model_are_the_validation_returns(walk):
    windows = walk["windows"]
    residuals = pr.validation_residuals(walk["model"], windows)
    close = walk["prices"]["close"]
    returns = np.log(close / close.shift(1)).reindex(windows.target_dates("val")).to_numpy()
    np.testing.assert_allclose(residuals[:, 0], returns, rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------------- no test row reaches the residual pool
def test_residual_pool_never_sees_test_rows(walk):
    prices = walk["prices"]
    windows = walk["windows"]
    before = pr.validation_residuals(walk["model"], windows)
    first_test_target = windows.target_dates("test")[0]
    changed = prices.copy()
    changed.loc[changed.index >= first_test_target, "close"] *= np.exp(
        np.random.default_rng(9).normal(0, 0.2, int((changed.index >= first_test_target).sum())))
    changed_windows, _ = windows_of(changed)
    assert not np.allclose(changed_windows.actual_price("test"), windows.actual_price("test"))
    after = pr.validation_residuals(walk["model"], changed_windows)
    np.testing.assert_array_equal(before, after)


def test_validation_residuals_refuse_a_generator_without_a_split(walk):
    windows = walk["windows"]
    fitted = WindowGenerator.from_fitted(windows.frame, windows.feature_columns, windows.scaler_params(),
                                         windows.target, windows.window, windows.horizon)
    with pytest.raises(ValueError, match="no validation split"):
        pr.validation_residuals(walk["model"], fitted)


# ---------------------------------------------------------------------- the bootstrap
def test_add_residuals_draws_enough_samples_and_repeats_with_a_seed():
    samples = np.full((10, 7, 1), 100.0)
    residuals = np.linspace(-0.05, 0.05, 40)[:, None]
    one = pr.add_residuals(samples, residuals, seed=3)
    again = pr.add_residuals(samples, residuals, seed=3)
    other = pr.add_residuals(samples, residuals, seed=4)
    assert one.shape == (pr.MIN_PREDICTIVE_SAMPLES, 7, 1)
    np.testing.assert_array_equal(one, again)
    assert not np.array_equal(one, other)
    assert set(np.round(np.log(one / 100.0), 12).ravel()) <= set(np.round(residuals[:, 0], 12))


def test_add_residuals_keeps_each_dropout_pass_and_draws_whole_step_rows():
    passes = np.array([[[100.0, 100.0]], [[200.0, 200.0]]])           # (2 passes, 1 row, 2 steps)
    base = np.linspace(-0.03, 0.03, 30)
    residuals = np.stack([base, 2 * base], axis=1)                     # step 2 always twice step 1
    out = pr.add_residuals(passes, residuals, seed=0, draws=50)
    assert out.shape == (100, 1, 2)
    shift = np.log(out / np.repeat(passes, 50, axis=0))
    np.testing.assert_allclose(shift[..., 1], 2 * shift[..., 0])
    assert np.all(np.abs(np.log(out[:50] / 100.0)) < 0.07) and np.all(np.abs(np.log(out[50:] / 200.0)) < 0.07)


def test_residual_paths_draw_a_fresh_one_step_residual_at_every_step():
    residuals = np.stack([np.linspace(-0.02, 0.02, 25), np.full(25, 9.0)], axis=1)
    paths = pr.residual_paths(residuals, 6, 4, seed=2)
    assert paths.shape == (6, 4)
    assert np.all(np.abs(paths) <= 0.02)                              # the step-2 column is never used
    assert len(np.unique(paths)) > 6


def test_too_few_residuals_are_refused_with_what_to_do():
    with pytest.raises(ValueError, match=r"only 5 validation residuals.*kind='dropout'"):
        pr.check_residuals(np.zeros((5, 1)))


def test_unknown_band_kind_is_refused(walk):
    with pytest.raises(ValueError, match="'predictive'.*'dropout'"):
        pr.predictive_price_samples(walk["model"], walk["windows"], "test", 2, kind="epistemic")


def test_next_day_log_returns_are_days_by_samples():
    samples = np.array([[[110.0], [50.0]], [[90.0], [55.0]], [[100.0], [45.0]]])   # 3 samples, 2 days
    out = pr.next_day_log_returns(samples, np.array([100.0, 50.0]))
    assert out.shape == (2, 3)
    np.testing.assert_allclose(out[0], np.log([1.1, 0.9, 1.0]))


# ---------------------------------------------------------------------- one-day risk on a run folder
@pytest.fixture(scope="module")
def crash_run(tmp_path_factory):
    """A run folder whose validation period holds a one-day crash of -30%, on a random walk of 1500 days."""
    prices = random_walk_prices(1500, seed=5)
    paths, windows = write_run(tmp_path_factory.mktemp("risk") / "run", prices)
    crash_day = windows.target_dates("val")[len(windows.target_dates("val")) // 2]
    prices.loc[prices.index >= crash_day, "close"] *= 0.7
    paths, windows = write_run(paths.root, prices)
    return {"paths": paths, "windows": windows, "crash_day": crash_day}


@pytest.fixture(scope="module")
def crash_risk(crash_run):
    return pr.risk_from_run(crash_run["paths"], n_samples=6, seed=0)


def test_risk_from_run_backtests_three_methods_at_two_levels_on_the_test_days(crash_run, crash_risk):
    table = crash_risk.table
    test_days = crash_run["windows"].target_dates("test")
    assert list(table["method"]) == ["model", "historical", "garch"] * 2
    assert list(table["level"]) == [0.95] * 3 + [0.99] * 3
    assert (table["n"] == len(test_days)).all()
    assert list(crash_risk.realized.index) == list(test_days)
    for frame in crash_risk.forecasts.values():
        assert frame.index.equals(test_days) and frame["var_99"].notna().all()
    assert {"kupiec_p", "christoffersen_p", "cc_p", "exceedances"} <= set(table.columns)
    assert crash_risk.about["model"]["dropout_passes"] == 6
    assert crash_risk.about["model"]["samples_per_day"] >= pr.MIN_PREDICTIVE_SAMPLES


def test_exceedances_are_counted_on_test_days_only(crash_run, crash_risk):
    test_days = set(crash_run["windows"].target_dates("test").strftime("%Y-%m-%d"))
    dates = crash_risk.exceedance_dates()
    for method, by_level in dates.items():
        for column, days in by_level.items():
            assert set(days) <= test_days
            assert crash_run["crash_day"].strftime("%Y-%m-%d") not in days
            row = crash_risk.table[(crash_risk.table["method"] == method)
                                   & (crash_risk.table["level"] == (0.95 if column == "var_95" else 0.99))]
            realized, var = crash_risk.realized, crash_risk.forecasts[method][column]
            assert int(row["exceedances"].iloc[0]) == len(days) == int((realized < -var).sum())


def test_garch_is_fitted_on_training_returns_only(crash_run, crash_risk):
    windows = crash_run["windows"]
    returns = pr.daily_log_returns(pd.read_parquet(crash_run["paths"].prices)["close"])
    train_end = int((returns.index <= pr.last_training_target(windows)).sum())
    assert crash_risk.about["garch"]["train_returns"] == train_end
    assert returns.index[train_end - 1] < windows.target_dates("val")[0] <= returns.index[train_end]
    assert pd.Timestamp(crash_risk.about["garch"]["train_end"]) < crash_run["crash_day"]


def test_model_var_comes_from_the_predictive_distribution(crash_run, crash_risk):
    # A no-change model's predictive returns are the validation returns (crash included): its 99% VaR is,
    # up to the bootstrap's noise, that pool's 1% loss.
    from helpers.artifacts import load_artifact

    model, _ = load_artifact(crash_run["paths"].model_dir)
    pool = pr.validation_residuals(model, crash_run["windows"])[:, 0]
    assert pool.min() < -0.3                                   # the crash day is in the pool
    model_var = crash_risk.forecasts["model"]["var_99"]
    assert model_var.median() == pytest.approx(-np.quantile(pool, 0.01), rel=0.15)


def test_write_risk_keeps_other_metrics_and_writes_risk_json(crash_run, crash_risk, tmp_path):
    paths = RunPaths(tmp_path / "copy")
    atomic_write_json(paths.metrics, {"test": {"model": {"rmse": 1.5}}, "verdict": "no skill"})
    payload = pr.risk_payload(crash_risk, source="test")
    out = pr.write_risk(paths, payload)
    metrics = read_json(paths.metrics)
    assert out == paths.root / pr.RISK_FILE
    assert metrics["test"] == {"model": {"rmse": 1.5}} and metrics["verdict"] == "no skill"
    assert metrics["risk"] == read_json(out)
    assert len(metrics["risk"]["table"]) == 6 and metrics["risk"]["about"]["source"] == "test"
    assert set(metrics["risk"]["exceedance_dates"]) == {"model", "historical", "garch"}


def test_write_risk_starts_metrics_when_06_has_not_run(crash_risk, tmp_path):
    paths = RunPaths(tmp_path / "fresh")
    pr.write_risk(paths, pr.risk_payload(crash_risk))
    assert list(read_json(paths.metrics)) == ["risk"]


def test_risk_sentence_names_each_level_and_the_expected_count(crash_risk):
    text = pr.risk_sentence(crash_risk.table)
    n = int(crash_risk.table["n"].iloc[0])
    assert "At 95%" in text and "At 99%" in text
    assert f"about {n * 0.05:.0f} exceedances" in text


def test_one_day_risk_refuses_samples_for_other_days(crash_run):
    prices = pd.read_parquet(crash_run["paths"].prices)
    days = crash_run["windows"].target_dates("test")
    with pytest.raises(ValueError, match="model_log_returns must be"):
        pr.one_day_risk(prices["close"], days, np.zeros((len(days) - 1, 50)), days[0] - pd.Timedelta(days=400))


def test_var_es_columns_are_risk_module_names(crash_risk):
    for frame in crash_risk.forecasts.values():
        assert {risk.var_column(0.95), risk.es_column(0.99)} <= set(frame.columns)


def test_both_kinds_from_one_set_of_passes_equal_their_own_calls(walk):
    """The predictive samples are the dropout samples times residuals: computing the passes once for both
    kinds gives exactly what two calls give, on a network whose dropout makes every pass differ."""
    from helpers.models import build_stacked_rnn

    windows = walk["windows"]
    model = build_stacked_rnn("lstm", (4,), 0.5, windows.horizon, windows.window, windows.n_features, seed=3)
    both = pr.price_samples_by_kind(model, windows, "test", 6, seed=5)
    assert list(both) == ["dropout", "predictive"]
    for kind in ("dropout", "predictive"):
        alone = pr.predictive_price_samples(model, windows, "test", 6, kind=kind, seed=5)
        np.testing.assert_array_equal(both[kind], alone)
    assert np.std(both["dropout"][:, 0, 0]) > 0          # the passes differ: dropout is live
