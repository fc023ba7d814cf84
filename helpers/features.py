"""Feature table for the network: returns, technical indicators (via pandas-ta), calendar and sentiment.

Every feature at row ``t`` uses rows ``<= t`` only (trailing windows, recursive averages started at the first
row); tests perturb the future and assert the past is unchanged. Price-level indicators are turned into
ratios to the close so they are stationary: a moving average in dollars drifts with the price, and a scaler
fitted on training rows would map test-period levels outside the range it has seen (the flat-forecast
failure). Groups that need high/low/volume are switched off, with a reason, for close-only series.

pandas-ta's stochastic and true range guard a zero high-low range by adding machine epsilon (~2e-16) to the
whole series when any range is zero; that can move past values in the last bit only, and is accepted.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

with warnings.catch_warnings():
    # pandas-ta 0.4.71b0 calls the deprecated Timestamp.dayofyear while importing; harmless, and noisy.
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.simplefilter("ignore", FutureWarning)
    import pandas_ta as ta

from helpers.config import FEATURE_GROUPS, OHLCV_FEATURE_GROUPS, RunConfig
from helpers.frequency import iso_stamp

log = logging.getLogger(__name__)

RSI_LENGTH = 14
MACD_FAST, MACD_SLOW, MACD_SIGNAL = 12, 26, 9
BBANDS_LENGTH, BBANDS_STD = 20, 2.0
ATR_LENGTH = 14
OBV_Z_LENGTH = 20
STOCH_K, STOCH_D, STOCH_SMOOTH_K = 14, 3, 3
REALIZED_VOL_LENGTHS = (10, 21)
VOLUME_Z_LENGTH = 20

# The price columns each OHLCV group needs besides close.
GROUP_NEEDS: dict[str, tuple[str, ...]] = {
    "atr": ("high", "low"),
    "obv": ("volume",),
    "stoch": ("high", "low"),
    "volume_z": ("volume",),
}
assert set(GROUP_NEEDS) == set(OHLCV_FEATURE_GROUPS)


@dataclass
class FeatureSet:
    """The feature table of one series and what it is made of.

    ``frame``: feature columns plus ``close`` (raw close, kept for targets and price conversion), indexed by
    date, float64, warm-up rows dropped. ``columns``: the model inputs in a stable order (``close`` is not
    one of them). ``warmup_rows``: leading rows dropped because an indicator's look-back was not yet full.
    ``switched_off``: requested group -> why it was left out. ``groups``: group -> its columns.
    """

    frame: pd.DataFrame
    columns: list[str]
    warmup_rows: int
    switched_off: dict[str, str]
    groups: dict[str, list[str]]

    def to_meta(self) -> dict[str, Any]:
        """JSON-ready description for ``data/features.json``."""
        index = self.frame.index
        return {
            "columns": list(self.columns),
            "groups": {g: list(cols) for g, cols in self.groups.items()},
            "warmup_rows": int(self.warmup_rows),
            "switched_off": dict(self.switched_off),
            "first_date": iso_stamp(index[0], index) if len(index) else None,
            "last_date": iso_stamp(index[-1], index) if len(index) else None,
            "rows": int(len(self.frame)),
        }


# ---------------------------------------------------------------------- public API
def build_features(prices: pd.DataFrame, config: RunConfig, headlines: pd.DataFrame | None = None, *,
                   close_time: str = "16:00", tz: str = "America/New_York") -> FeatureSet:
    """Compute the groups in ``config.features`` from a canonical prices frame.

    ``prices``: sorted unique DatetimeIndex, lower-case float columns, ``close`` required (open/high/low/volume
    optional). ``headlines``: a frame from :func:`helpers.sentiment.load_headlines`, used by the ``sentiment``
    group; ``close_time`` and ``tz`` are the exchange's close that decides which day a headline counts for
    (see :func:`helpers.sentiment.daily_sentiment`). Raises ValueError when a feature is NaN after the
    warm-up (naming the column and first date), when no feature is left, or when the series is too short.
    """
    _check_prices(prices)
    close = prices["close"].astype("float64")
    requested = [g for g in FEATURE_GROUPS if g in config.features]  # canonical order, not the config's
    switched_off: dict[str, str] = {}
    parts: dict[str, pd.DataFrame] = {}
    for group in requested:
        reason = _why_switched_off(group, prices, headlines)
        if reason:
            switched_off[group] = reason
            log.info("feature group %r switched off: %s", group, reason)
            continue
        if group == "sentiment":
            parts[group] = _sentiment_features(headlines, prices.index, close_time, tz)
        else:
            parts[group] = _BUILDERS[group](prices, config)
    if not parts:
        raise ValueError(
            f"no feature group left to build: requested {requested or list(config.features)}, switched off "
            f"{switched_off}; add groups that this series supports to `features` (e.g. log_return, rsi)")

    features = pd.concat(parts.values(), axis=1).astype("float64")
    features = features.replace([np.inf, -np.inf], np.nan)  # zero divisions become NaN, then warm-up or error
    columns = list(features.columns)
    warmup_rows = _count_warmup_rows(features)
    kept = features.iloc[warmup_rows:]
    if kept.empty:
        raise ValueError(
            f"the series has only {len(prices)} rows, all inside some indicator's warm-up (look-back not yet "
            f"full): load a longer history or use shorter indicator lengths (sma_lengths="
            f"{list(config.sma_lengths)}, ema_lengths={list(config.ema_lengths)})")
    _check_no_nan_after_warmup(kept)

    frame = kept.assign(close=close.iloc[warmup_rows:]).rename_axis("date")
    groups = {g: list(part.columns) for g, part in parts.items()}
    return FeatureSet(frame=frame, columns=columns, warmup_rows=warmup_rows,
                      switched_off=switched_off, groups=groups)


def reference_features(config: RunConfig, columns: Sequence[str] = ("open", "high", "low", "close", "volume")
                       ) -> FeatureSet:
    """Features of a seeded synthetic random walk that has ``columns``: which columns each group of ``config``
    makes and how many warm-up rows it drops, known before any real data is loaded (history checks, predict)."""
    n = 600 + max((*config.sma_lengths, *config.ema_lengths, 60))
    rng = np.random.default_rng(0)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    data = {"open": close * 1.001, "high": close * 1.01, "low": close * 0.99, "close": close,
            "volume": rng.uniform(1e6, 2e6, n)}
    dates = pd.bdate_range("2000-01-03", periods=n, name="date")
    frame = pd.DataFrame({c: data[c] for c in columns if c in data}, index=dates)
    groups = [g for g in config.features if g != "sentiment"] or ["log_return"]
    return build_features(frame, config.replace(features=groups))


def warmup_rows_for(config: RunConfig, columns: Sequence[str] = ("open", "high", "low", "close", "volume")) -> int:
    """Rows the indicators of ``config`` drop at the start of a series with price ``columns``."""
    return int(reference_features(config, columns).warmup_rows)


def feature_target_correlation(feature_set: FeatureSet, horizon: int = 1) -> pd.Series:
    """Spearman correlation of each feature at ``t`` with the log return from ``t`` to ``t + horizon``.

    The "honestly small" table: daily features rarely correlate with the next return beyond a few hundredths.
    The last ``horizon`` rows have no known future return and are left out.
    """
    if horizon < 1:
        raise ValueError(f"horizon must be a whole number >= 1, got {horizon!r}")
    close = feature_set.frame["close"]
    future_return = np.log(close.shift(-horizon) / close)
    rows = future_return.notna()
    inputs = feature_set.frame.loc[rows, feature_set.columns]
    correlation = inputs.corrwith(future_return[rows], method="spearman")
    correlation.name = f"spearman_vs_log_return_{horizon}d_ahead"
    return correlation


# ---------------------------------------------------------------------- checks
def _check_prices(prices: pd.DataFrame) -> None:
    if not isinstance(prices, pd.DataFrame) or "close" not in prices.columns:
        found = list(prices.columns) if isinstance(prices, pd.DataFrame) else type(prices).__name__
        raise ValueError(f"prices must be a frame with a lower-case 'close' column, got {found}: load it with "
                         "helpers.data.load_prices or rename the columns to open, high, low, close, volume")
    if not isinstance(prices.index, pd.DatetimeIndex):
        raise ValueError(f"prices must be indexed by dates (a DatetimeIndex), got {type(prices.index).__name__}")
    if not prices.index.is_monotonic_increasing or not prices.index.is_unique:
        raise ValueError("prices' dates must be sorted and unique: clean them with helpers.validation first")
    close = prices["close"]
    if close.isna().any() or (close <= 0).any():
        bad = prices.index[close.isna() | (close <= 0)][0]
        raise ValueError(f"close must be positive and present on every row; first bad row is "
                         f"{iso_stamp(bad, prices.index)}: "
                         "clean the prices with helpers.validation.clean_prices first")


def _has_data(prices: pd.DataFrame, column: str) -> bool:
    if column not in prices.columns:
        return False
    values = prices[column]
    if column == "volume":
        return not values.fillna(0).eq(0).all()
    return not values.isna().all()


def _why_switched_off(group: str, prices: pd.DataFrame, headlines: pd.DataFrame | None) -> str | None:
    if group == "sentiment" and headlines is None:
        return "no headlines given (set headlines_path to a CSV of timestamp,text)"
    needs = GROUP_NEEDS.get(group, ())
    missing = [c for c in needs if not _has_data(prices, c)]
    if not missing:
        return None
    if not any(_has_data(prices, c) for c in ("open", "high", "low", "volume")):
        return f"needs {'/'.join(needs)}; this series is close-only"
    if missing == ["volume"] and "volume" in prices.columns:
        return "needs volume; the volume column is all zero or missing"
    return f"needs {'/'.join(needs)}; this series has no {'/'.join(missing)}"


def _count_warmup_rows(features: pd.DataFrame) -> int:
    """Leading rows where any feature is still NaN because its look-back is not full."""
    complete = features.notna().all(axis=1).to_numpy()
    return int(np.argmax(complete)) if complete.any() else len(features)


def _check_no_nan_after_warmup(kept: pd.DataFrame) -> None:
    bad = kept.isna().any()
    if bad.any():
        details = ", ".join(f"{col} (first at {iso_stamp(kept.index[kept[col].isna().to_numpy()][0], kept.index)})"
                            for col in bad.index[bad])
        raise ValueError(
            f"features are NaN after the warm-up: {details}. Usual causes: a gap in the prices, or a "
            "zero range (flat high/low, constant volume) over a whole indicator window; clean the prices "
            "or switch that feature group off in `features`")


# ---------------------------------------------------------------------- one builder per group
def _series_or_nan(result: pd.Series | None, index: pd.Index) -> pd.Series:
    # pandas-ta returns None when the series is shorter than the indicator's length.
    return result.astype("float64") if result is not None else pd.Series(np.nan, index=index)


def _frame_or_nan(result: pd.DataFrame | None, index: pd.Index, prefixes: tuple[str, ...]) -> list[pd.Series]:
    if result is None:
        return [pd.Series(np.nan, index=index) for _ in prefixes]
    return [result[next(c for c in result.columns if c.startswith(p))].astype("float64") for p in prefixes]


def _mask_first(series: pd.Series, rows: int) -> pd.Series:
    """NaN for the first ``rows`` rows, where an indicator's look-back window is not yet full."""
    series = series.copy()
    series.iloc[:rows] = np.nan
    return series


def _log_return(close: pd.Series) -> pd.Series:
    return np.log(close / close.shift(1))


def log_return_features(prices: pd.DataFrame, config: RunConfig) -> pd.DataFrame:
    """``log_return``: log(C[t] / C[t-1])."""
    return pd.DataFrame({"log_return": _log_return(prices["close"])})


def sma_features(prices: pd.DataFrame, config: RunConfig) -> pd.DataFrame:
    """``close_to_sma_<n>``: close / SMA(n) - 1, a scale-free distance from the trend."""
    close = prices["close"]
    return pd.DataFrame({f"close_to_sma_{n}": close / _series_or_nan(ta.sma(close, length=n), close.index) - 1
                         for n in sorted(set(config.sma_lengths))})


def ema_features(prices: pd.DataFrame, config: RunConfig) -> pd.DataFrame:
    """``close_to_ema_<n>``: close / EMA(n) - 1 (EMA seeded with the SMA of its first n closes)."""
    close = prices["close"]
    return pd.DataFrame({f"close_to_ema_{n}": close / _series_or_nan(ta.ema(close, length=n), close.index) - 1
                         for n in sorted(set(config.ema_lengths))})


def rsi_features(prices: pd.DataFrame, config: RunConfig) -> pd.DataFrame:
    """``rsi_14`` in 0..100. pandas-ta's RSI starts from the second row; its first 14 rows are masked."""
    close = prices["close"]
    rsi = _series_or_nan(ta.rsi(close, length=RSI_LENGTH), close.index)
    return pd.DataFrame({f"rsi_{RSI_LENGTH}": _mask_first(rsi, RSI_LENGTH)})


def macd_features(prices: pd.DataFrame, config: RunConfig) -> pd.DataFrame:
    """``macd_line``, ``macd_signal``, ``macd_hist`` (12, 26, 9) divided by close, so they do not grow with the price."""
    close = prices["close"]
    line, hist, signal = _frame_or_nan(ta.macd(close, fast=MACD_FAST, slow=MACD_SLOW, signal=MACD_SIGNAL),
                                       close.index, ("MACD_", "MACDh_", "MACDs_"))
    return pd.DataFrame({"macd_line": line / close, "macd_signal": signal / close, "macd_hist": hist / close})


def bbands_features(prices: pd.DataFrame, config: RunConfig) -> pd.DataFrame:
    """``bb_percent_b`` (where close sits in the bands, 0 = lower, 1 = upper) and ``bb_bandwidth`` ((upper -
    lower) / middle), from 20-day bands at 2 population standard deviations.

    Computed here from pandas-ta's bands rather than its BBP/BBB columns, which guard a zero band width by
    adding machine epsilon to the whole series (so a flat stretch in the future nudges the past, and a
    zero-width band reads as %B = 1). Here a zero width is undefined: NaN, hence warm-up or a clear error.
    """
    close = prices["close"]
    lower, middle, upper = _frame_or_nan(
        ta.bbands(close, length=BBANDS_LENGTH, lower_std=BBANDS_STD, upper_std=BBANDS_STD, ddof=0),
        close.index, ("BBL_", "BBM_", "BBU_"))
    width = upper - lower
    return pd.DataFrame({"bb_percent_b": (close - lower) / width, "bb_bandwidth": width / middle})


def atr_features(prices: pd.DataFrame, config: RunConfig) -> pd.DataFrame:
    """``atr_14_to_close``: average true range (14, Wilder) as a fraction of close."""
    close = prices["close"]
    atr = _series_or_nan(ta.atr(prices["high"], prices["low"], close, length=ATR_LENGTH), close.index)
    return pd.DataFrame({f"atr_{ATR_LENGTH}_to_close": atr / close})


def obv_features(prices: pd.DataFrame, config: RunConfig) -> pd.DataFrame:
    """``obv_z_20``: on-balance volume as a 20-day z-score.

    Raw OBV is a running sum whose level depends on where the data starts; the z-score is unchanged by that
    arbitrary origin and says whether volume has lately flowed in or out relative to the past month.
    """
    close = prices["close"]
    obv = _series_or_nan(ta.obv(close, prices["volume"]), close.index)
    return pd.DataFrame({f"obv_z_{OBV_Z_LENGTH}": _rolling_z(obv, OBV_Z_LENGTH)})


def stoch_features(prices: pd.DataFrame, config: RunConfig) -> pd.DataFrame:
    """``stoch_k``, ``stoch_d``: slow stochastic oscillator (14, 3, 3) in 0..100."""
    close = prices["close"]
    k, d = _frame_or_nan(ta.stoch(prices["high"], prices["low"], close, k=STOCH_K, d=STOCH_D,
                                  smooth_k=STOCH_SMOOTH_K), close.index, ("STOCHk_", "STOCHd_"))
    return pd.DataFrame({"stoch_k": k, "stoch_d": d})


def realized_vol_features(prices: pd.DataFrame, config: RunConfig) -> pd.DataFrame:
    """``realized_vol_<n>``: rolling standard deviation of daily log returns (daily units, not annualised)."""
    returns = _log_return(prices["close"])
    return pd.DataFrame({f"realized_vol_{n}": returns.rolling(n).std() for n in REALIZED_VOL_LENGTHS})


def volume_z_features(prices: pd.DataFrame, config: RunConfig) -> pd.DataFrame:
    """``volume_z_20``: today's volume as a z-score over the last 20 days (today included)."""
    return pd.DataFrame({f"volume_z_{VOLUME_Z_LENGTH}": _rolling_z(prices["volume"].astype("float64"),
                                                                   VOLUME_Z_LENGTH)})


def day_of_week_features(prices: pd.DataFrame, config: RunConfig) -> pd.DataFrame:
    """``dow_sin``, ``dow_cos``: the weekday on a 7-day circle; intraday bars also the time of day.

    Cyclic rather than one-hot: two inputs instead of five to seven, Friday sits next to Monday instead of
    four units away, and no constant all-zero column appears for weekdays a market never trades (a scaler
    cannot standardise a constant). A 7-day period also fits series that trade at weekends (crypto).
    Intraday bars add ``tod_sin``, ``tod_cos``: the time of day on a 24-hour circle (the open and the close of
    a session behave differently; daily bars, all at midnight, get no such constant columns).
    """
    index = pd.DatetimeIndex(prices.index)
    angle = 2 * np.pi * index.day_of_week.to_numpy() / 7
    columns = {"dow_sin": np.sin(angle), "dow_cos": np.cos(angle)}
    seconds = (index - index.normalize()).total_seconds().to_numpy()
    if (seconds != 0).any():
        clock = 2 * np.pi * seconds / 86400
        columns.update(tod_sin=np.sin(clock), tod_cos=np.cos(clock))
    return pd.DataFrame(columns, index=prices.index)


def _sentiment_features(headlines: pd.DataFrame, dates: pd.DatetimeIndex, close_time: str,
                        tz: str) -> pd.DataFrame:
    """``sentiment_mean``, ``sentiment_count`` per trading day, counted before that day's close."""
    from helpers.sentiment import daily_sentiment

    daily = daily_sentiment(headlines, dates, close_time=close_time, tz=tz)
    return daily[["sentiment_mean", "sentiment_count"]].astype("float64")


def _rolling_z(series: pd.Series, length: int) -> pd.Series:
    mean = series.rolling(length).mean()
    std = series.rolling(length).std()
    return (series - mean) / std


_BUILDERS: dict[str, Callable[[pd.DataFrame, RunConfig], pd.DataFrame]] = {
    "log_return": log_return_features,
    "sma": sma_features,
    "ema": ema_features,
    "rsi": rsi_features,
    "macd": macd_features,
    "bbands": bbands_features,
    "atr": atr_features,
    "obv": obv_features,
    "stoch": stoch_features,
    "realized_vol": realized_vol_features,
    "volume_z": volume_z_features,
    "day_of_week": day_of_week_features,
}
assert set(_BUILDERS) | {"sentiment"} == set(FEATURE_GROUPS)
