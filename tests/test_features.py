"""Tests for helpers.features: causality, warm-up, stable columns, close-only series, correlation alignment."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import features as features_module
from helpers.config import FEATURE_GROUPS, OHLCV_FEATURE_GROUPS, RunConfig
from helpers.features import FeatureSet, build_features, feature_target_correlation
from helpers.runfolder import PROJECT_ROOT
from helpers.sentiment import load_headlines

SAMPLE = PROJECT_ROOT / "data" / "sample" / "AAPL.csv"
HEADLINES = PROJECT_ROOT / "data" / "headlines" / "illustrative_AAPL.csv"
WTI = Path("/work/shared/data/WTI.csv")

DEFAULT_COLUMNS = [
    "log_return", "close_to_sma_10", "close_to_sma_20", "close_to_sma_50", "close_to_ema_10",
    "close_to_ema_20", "rsi_14", "macd_line", "macd_signal", "macd_hist", "bb_percent_b", "bb_bandwidth",
    "atr_14_to_close", "obv_z_20", "stoch_k", "stoch_d", "realized_vol_10", "realized_vol_21",
    "volume_z_20", "dow_sin", "dow_cos",
]


def sample_prices() -> pd.DataFrame:
    """The embedded AAPL sample as a canonical prices frame (lower-case columns, Adj Close ignored)."""
    raw = pd.read_csv(SAMPLE, index_col="Date", parse_dates=True)
    prices = raw.rename(columns=str.lower).drop(columns="adj close").astype("float64")
    prices.index.name = "date"
    return prices


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return sample_prices()


@pytest.fixture(scope="module")
def headlines() -> pd.DataFrame:
    return load_headlines(HEADLINES)


@pytest.fixture(scope="module")
def default_set(prices) -> FeatureSet:
    return build_features(prices, RunConfig())


# ---------------------------------------------------------------------- causality
def perturb_after(prices: pd.DataFrame, cut: pd.Timestamp, seed: int = 0) -> pd.DataFrame:
    """Prices whose rows after ``cut`` are scrambled (OHLC by one factor per row, volume by another)."""
    rng = np.random.default_rng(seed)
    future = prices.index > cut
    changed = prices.copy()
    price_factor = rng.uniform(0.7, 1.3, future.sum())
    for column in ("open", "high", "low", "close"):
        changed.loc[future, column] *= price_factor
    changed.loc[future, "volume"] *= rng.uniform(0.2, 5.0, future.sum())
    return changed


def perturb_headlines_after(headlines: pd.DataFrame, cut: pd.Timestamp) -> pd.DataFrame:
    """Headlines with the future rewritten, plus new ones published at and after ``cut``'s 16:00 close."""
    close = (cut + pd.Timedelta(hours=16)).tz_localize("America/New_York").tz_convert("UTC")
    changed = headlines.copy()
    future = changed["timestamp"] >= close
    changed.loc[future, "text"] = "Apple plunges after disastrous lawsuit and terrible downgrade"
    extra = pd.DataFrame({
        "timestamp": [close, close + pd.Timedelta(hours=3), close + pd.Timedelta(days=2)],
        "text": ["Apple soars on wonderful news"] * 3,
    })
    return pd.concat([changed, extra], ignore_index=True)


def past_is_unchanged(prices: pd.DataFrame, headlines: pd.DataFrame, config: RunConfig,
                      cut: pd.Timestamp) -> bool:
    before = build_features(prices, config, headlines)
    after = build_features(perturb_after(prices, cut), config, perturb_headlines_after(headlines, cut))
    past_before = before.frame.loc[:cut]
    past_after = after.frame.loc[:cut]
    # the perturbation must reach the features (the calendar has nothing to perturb), or this proves nothing
    data_driven = [c for c in before.columns if c not in before.groups.get("day_of_week", [])]
    future = before.frame.index > cut
    assert (before.frame.loc[future, data_driven] != after.frame.loc[future, data_driven]).any().all()
    return before.warmup_rows == after.warmup_rows and past_before.equals(past_after)


@pytest.mark.parametrize("group", FEATURE_GROUPS)
def test_features_at_t_unchanged_when_rows_after_t_change(prices, headlines, group):
    cut = pd.Timestamp("2016-06-15")  # sentiment: inside the illustrative headlines' range
    assert past_is_unchanged(prices, headlines, RunConfig(features=(group,)), cut)


def test_all_groups_together_unchanged_when_the_future_changes(prices, headlines):
    assert past_is_unchanged(prices, headlines, RunConfig(features=FEATURE_GROUPS), pd.Timestamp("2017-03-01"))


def test_causality_check_catches_a_centred_window(prices, headlines, monkeypatch):
    def centred_sma(prices, config):
        close = prices["close"]
        return pd.DataFrame({"close_to_sma_10": close / close.rolling(10, center=True, min_periods=1).mean() - 1})

    monkeypatch.setitem(features_module._BUILDERS, "sma", centred_sma)
    assert not past_is_unchanged(prices, headlines, RunConfig(features=("sma",)), pd.Timestamp("2016-06-15"))


# ---------------------------------------------------------------------- warm-up, columns, values
def test_warmup_rows_dropped_and_counted(prices, default_set):
    # the longest look-back of the default set is SMA(50): its first value needs 50 closes
    assert default_set.warmup_rows == 49
    assert default_set.frame.index[0] == prices.index[49]
    assert len(default_set.frame) == len(prices) - 49


def test_warmup_follows_the_longest_lookback_requested(prices):
    feature_set = build_features(prices, RunConfig(features=("log_return", "rsi")))
    assert feature_set.warmup_rows == 14  # RSI(14) needs 14 price changes


def test_no_nan_or_inf_left_and_all_float64(default_set):
    values = default_set.frame.to_numpy()
    assert np.isfinite(values).all()
    assert (default_set.frame.dtypes == "float64").all()


def test_column_names_are_stable(default_set):
    assert default_set.columns == DEFAULT_COLUMNS
    assert list(default_set.frame.columns) == DEFAULT_COLUMNS + ["close"]


def test_column_order_does_not_depend_on_config_order(prices, default_set):
    reversed_config = RunConfig(features=tuple(reversed(RunConfig().features)), sma_lengths=(50, 20, 10))
    assert build_features(prices, reversed_config).columns == default_set.columns


def test_groups_map_each_group_to_its_columns(default_set):
    assert default_set.groups["sma"] == ["close_to_sma_10", "close_to_sma_20", "close_to_sma_50"]
    assert default_set.groups["macd"] == ["macd_line", "macd_signal", "macd_hist"]
    assert sum(default_set.groups.values(), []) == default_set.columns


def test_close_column_is_the_raw_close(prices, default_set):
    pd.testing.assert_series_equal(default_set.frame["close"], prices["close"].loc[default_set.frame.index])
    assert "close" not in default_set.columns


def test_sma_ratio_is_close_over_rolling_mean_minus_one(prices, default_set):
    expected = prices["close"] / prices["close"].rolling(20).mean() - 1
    np.testing.assert_allclose(default_set.frame["close_to_sma_20"],
                               expected.loc[default_set.frame.index], rtol=1e-9)


def test_features_do_not_depend_on_the_price_level(prices, default_set):
    scaled = prices.copy()
    scaled[["open", "high", "low", "close"]] *= 37.0
    rescaled = build_features(scaled, RunConfig())
    pd.testing.assert_frame_equal(rescaled.frame[DEFAULT_COLUMNS], default_set.frame[DEFAULT_COLUMNS],
                                  rtol=1e-7, atol=1e-9)


def test_day_of_week_is_a_point_on_the_unit_circle_per_weekday(default_set):
    frame = default_set.frame
    np.testing.assert_allclose(frame["dow_sin"] ** 2 + frame["dow_cos"] ** 2, 1.0)
    per_day = frame.groupby(frame.index.day_of_week)[["dow_sin", "dow_cos"]].nunique()
    assert (per_day == 1).all().all() and len(frame[["dow_sin", "dow_cos"]].drop_duplicates()) == 5


def test_to_meta_is_json_ready(default_set):
    meta = json.loads(json.dumps(default_set.to_meta()))
    assert meta["columns"] == DEFAULT_COLUMNS
    assert meta["warmup_rows"] == 49
    assert meta["rows"] == len(default_set.frame)
    assert meta["first_date"] == default_set.frame.index[0].date().isoformat()
    assert meta["last_date"] == "2018-01-19"
    assert meta["switched_off"] == {}
    assert meta["groups"]["bbands"] == ["bb_percent_b", "bb_bandwidth"]


# ---------------------------------------------------------------------- switched-off groups
def test_close_only_series_switches_off_ohlcv_groups_with_reasons(prices):
    feature_set = build_features(prices[["close"]], RunConfig())
    assert set(feature_set.switched_off) == set(OHLCV_FEATURE_GROUPS)
    assert all("close-only" in reason for reason in feature_set.switched_off.values())
    assert "high/low" in feature_set.switched_off["atr"] and "volume" in feature_set.switched_off["obv"]
    assert not set(feature_set.groups) & set(OHLCV_FEATURE_GROUPS)
    assert "rsi_14" in feature_set.columns and np.isfinite(feature_set.frame.to_numpy()).all()


@pytest.mark.skipif(not WTI.exists(), reason="needs /work/shared/data/WTI.csv")
def test_wti_close_only_series_builds_features():
    wti = pd.read_csv(WTI, index_col="Date", parse_dates=True, na_values=".").dropna()
    wti = wti.rename(columns=str.lower).astype("float64")
    feature_set = build_features(wti, RunConfig())
    assert set(feature_set.switched_off) == set(OHLCV_FEATURE_GROUPS)
    assert len(feature_set.frame) == len(wti) - feature_set.warmup_rows


def test_all_zero_volume_switches_off_only_the_volume_groups(prices):
    no_volume = prices.assign(volume=0.0)
    feature_set = build_features(no_volume, RunConfig())
    assert set(feature_set.switched_off) == {"obv", "volume_z"}
    assert "volume" in feature_set.switched_off["volume_z"]
    assert "atr" in feature_set.groups and "stoch" in feature_set.groups


def test_sentiment_requested_without_headlines_is_switched_off_with_reason(prices):
    feature_set = build_features(prices, RunConfig(features=("log_return", "sentiment")))
    assert "headlines" in feature_set.switched_off["sentiment"]
    assert feature_set.columns == ["log_return"]


def test_sentiment_columns_come_from_headlines(prices, headlines):
    feature_set = build_features(prices, RunConfig(features=("log_return", "sentiment")), headlines)
    assert feature_set.groups["sentiment"] == ["sentiment_mean", "sentiment_count"]
    assert feature_set.frame["sentiment_count"].sum() == len(headlines)
    assert (feature_set.frame.loc[feature_set.frame["sentiment_count"] == 0, "sentiment_mean"] == 0).all()


# ---------------------------------------------------------------------- errors
def test_nan_after_warmup_is_an_error_naming_the_column(prices):
    flat = prices.copy()
    flat.iloc[1000:1030, flat.columns.get_loc("volume")] = 1e8  # constant volume: its z-score is 0/0
    with pytest.raises(ValueError, match="volume_z_20"):
        build_features(flat, RunConfig())


def test_series_shorter_than_warmup_is_an_error(prices):
    with pytest.raises(ValueError, match="warm-up"):
        build_features(prices.iloc[:40], RunConfig())


def test_missing_close_column_is_an_error(prices):
    with pytest.raises(ValueError, match="'close'"):
        build_features(prices.rename(columns={"close": "Close"}), RunConfig())


def test_no_supported_group_left_is_an_error(prices):
    with pytest.raises(ValueError, match="no feature group left"):
        build_features(prices[["close"]], RunConfig(features=("atr", "stoch")))


# ---------------------------------------------------------------------- feature_target_correlation
def random_walk_set(rows: int = 300, seed: int = 1) -> FeatureSet:
    """A hand-made FeatureSet on a random-walk close with a perfect and a stale 'feature'."""
    rng = np.random.default_rng(seed)
    index = pd.bdate_range("2020-01-01", periods=rows, name="date")
    close = pd.Series(100 * np.exp(np.cumsum(rng.normal(0, 0.01, rows))), index=index)
    returns = np.log(close / close.shift(1))
    frame = pd.DataFrame({
        "next_return": returns.shift(-1),       # the target itself: known only with hindsight
        "two_day_return": np.log(close.shift(-2) / close),
        "same_day_return": returns,
        "close": close,
    }).fillna(0.0)
    columns = ["next_return", "two_day_return", "same_day_return"]
    return FeatureSet(frame=frame, columns=columns, warmup_rows=0, switched_off={},
                      groups={"test": columns})


def test_correlation_pairs_features_at_t_with_the_return_from_t_to_t_plus_1():
    correlation = feature_target_correlation(random_walk_set())
    assert correlation["next_return"] == pytest.approx(1.0)
    assert abs(correlation["same_day_return"]) < 0.2


def test_correlation_horizon_sets_the_return_span():
    correlation = feature_target_correlation(random_walk_set(), horizon=2)
    assert correlation["two_day_return"] == pytest.approx(1.0)
    assert correlation["next_return"] < 0.9


def test_last_close_changes_the_correlation_but_last_features_do_not():
    base = random_walk_set()
    reference = feature_target_correlation(base)

    new_close = base.frame.copy()
    new_close.iloc[-1, new_close.columns.get_loc("close")] *= 1.5
    changed = feature_target_correlation(FeatureSet(new_close, base.columns, 0, {}, base.groups))
    assert (changed != reference).all()

    new_features = base.frame.copy()
    new_features.iloc[-1, :3] = [9.0, -9.0, 9.0]
    same = feature_target_correlation(FeatureSet(new_features, base.columns, 0, {}, base.groups))
    pd.testing.assert_series_equal(same, reference)


def test_correlation_on_real_features_is_honestly_small(default_set):
    correlation = feature_target_correlation(default_set)
    assert list(correlation.index) == default_set.columns
    assert correlation.abs().max() < 0.2


def test_input_prices_are_left_untouched(prices, headlines):
    original = prices.copy()
    build_features(prices, RunConfig(features=FEATURE_GROUPS), headlines)
    pd.testing.assert_frame_equal(prices, original)


def test_intraday_bars_get_the_time_of_day_as_a_calendar_feature_and_daily_bars_do_not():
    from helpers.features import day_of_week_features

    hourly = pd.DataFrame({"close": 1.0}, index=pd.date_range("2024-01-01", periods=48, freq="h"))
    features = day_of_week_features(hourly, RunConfig())
    assert list(features.columns) == ["dow_sin", "dow_cos", "tod_sin", "tod_cos"]
    assert features.loc["2024-01-01 06:00", "tod_sin"] == pytest.approx(1.0)
    assert features.loc["2024-01-01 12:00", "tod_cos"] == pytest.approx(-1.0)
    daily = pd.DataFrame({"close": 1.0}, index=pd.bdate_range("2024-01-01", periods=10))
    assert list(day_of_week_features(daily, RunConfig()).columns) == ["dow_sin", "dow_cos"]
