"""Forecasts beyond the data: recursive and direct multi-step, uncertainty bands, predict on new data.

Two ways to forecast ``H`` trading days ahead:

- **recursive**: a one-step model is fed its own predictions. Each predicted close becomes a synthetic future
  bar (open = high = low = close = the predicted close; volume = the mean of the last 20 volumes, a
  "typical day", so volume indicators stay defined), the features are recomputed with
  :func:`helpers.features.build_features` on the extended history, scaled with the stored training scaler,
  and the next window is formed. Errors compound: step ``k`` stands on ``k-1`` guesses.
- **direct**: a model trained with ``horizon=H`` outputs all ``H`` steps from the last real window at once.

Bands come in two kinds (:mod:`helpers.predictive`). ``kind="dropout"``: Monte Carlo dropout alone, the
dropout layers kept on at predict time so each pass is a slightly different network; this measures the model's
uncertainty about its weights, not the market's noise, and holds the price far less often than its name says.
``kind="predictive"`` (the default): each dropout sample times ``exp`` of a residual bootstrapped from the
model's validation rows, the honest predictive distribution. For the recursive method each path is fed back on
its own and draws a fresh residual at every step, so the paths fan out as prices do. :func:`band_coverage`
says how often a band held the actual price on test rows.

Future dates follow the series' trading calendar (:mod:`helpers.calendar`): weekends are skipped for stocks,
not for crypto. A saved model on new data (``lstm-lab predict``) is :mod:`helpers.predict`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from helpers import metrics
from helpers.artifacts import TooFewRowsError, weights_fingerprint  # noqa: F401  (the ledger's model identity)
from helpers.atomic import atomic_write_csv
from helpers.calendar import future_timestamps
from helpers.config import RunConfig
from helpers.features import VOLUME_Z_LENGTH
from helpers.frequency import iso_stamp, stamp_format
from helpers.predictive import (  # noqa: F401  (MC dropout and residuals live there; re-exported for notebooks)
    KINDS,
    add_residuals,
    check_kind,
    check_residuals,
    mc_dropout_samples,
    model_outputs,
    reseed_dropout,
    residual_paths,
    validation_residuals,
)
from helpers.preprocess import Preprocessor
from helpers.windows import WindowGenerator

__all__ = [
    "recursive_forecast", "recursive_paths", "recursive_forecasts_at", "direct_forecast", "direct_samples",
    "mc_dropout_samples", "mc_price_samples", "band_name", "quantile_bands", "forecast_frame", "forecast_ahead",
    "fit_direct_model", "coverage_tables", "write_coverage", "write_forecast", "band_coverage", "coverage_sentence",
    "coverage_by_band", "error_by_horizon", "horizon_origins", "actual_paths", "weights_fingerprint",
    "synthetic_bar", "forecasts_as_of", "model_outputs", "reseed_dropout", "trading_dates_after",
    "validation_residuals", "FORECAST_COLUMNS", "KINDS",
]

FORECAST_COLUMNS = ("date", "forecast", "lower_80", "upper_80", "lower_95", "upper_95", "horizon", "method")

# Rows of history kept behind each recursive step. Recursive indicators (EMA, MACD, RSI, ATR) started this far
# back agree with full-history values to ~1e-10; a short tail keeps each step's feature rebuild cheap.
HISTORY_BURN_IN = 400

SENTIMENT_COLUMNS = ("sentiment_mean", "sentiment_count")


# ---------------------------------------------------------------------- what a model needs around it
# A model's preprocessing (features, scaling, windows, the way back to prices) is its Preprocessor
# (helpers.preprocess): built from the generator it was trained on (windows.preprocessor) or from a saved
# model's manifest (Preprocessor.from_manifest). Every function below takes the Keras model and that object
# (``network.model, network.preprocessor`` for a helpers.network.NetworkForecaster).


# ---------------------------------------------------------------------- the synthetic future bar
def synthetic_bar(prices: pd.DataFrame, date: pd.Timestamp, close: float) -> pd.DataFrame:
    """One future row with the columns of ``prices``: open = high = low = close = the predicted close, and
    volume = the mean volume of the last 20 rows (a typical day: the volume indicators stay defined)."""
    row: dict[str, float] = {}
    for column in prices.columns:
        if column == "volume":
            recent = prices["volume"].iloc[-VOLUME_Z_LENGTH:]
            row[column] = float(recent.mean()) if recent.notna().any() else np.nan
        else:
            row[column] = float(close)
    bar = pd.DataFrame(row, index=pd.DatetimeIndex([pd.Timestamp(date)], name=prices.index.name))
    return bar.astype(prices.dtypes.to_dict())


def _extend(history: pd.DataFrame, date: pd.Timestamp, close: float, keep_rows: int) -> pd.DataFrame:
    extended = pd.concat([history, synthetic_bar(history, date, close)])
    return extended.iloc[-keep_rows:]


# ---------------------------------------------------------------------- Monte Carlo dropout on a split
# model_outputs, mc_dropout_samples and reseed_dropout live in helpers.predictive, beside the residual bootstrap.
def mc_price_samples(model: Any, windows: WindowGenerator, split: str, n_samples: int, *,
                     seed: int | None = None) -> np.ndarray:
    """Monte Carlo dropout price forecasts of every sample of ``split``: ``(n_samples, samples, horizon)``."""
    scaled = mc_dropout_samples(model, windows.inputs(split), n_samples, seed=seed)
    return windows.to_price(scaled, split)


# ---------------------------------------------------------------------- recursive
def _history_rows(spec: Preprocessor, history_rows: int | None) -> int:
    return int(history_rows) if history_rows else spec.window + HISTORY_BURN_IN


def _features_with_future(spec: Preprocessor, tail: pd.DataFrame, synthetic_rows: int,
                          headlines: pd.DataFrame | None) -> pd.DataFrame:
    frame = spec.features(tail, headlines)
    if synthetic_rows and any(c in frame.columns for c in SENTIMENT_COLUMNS):
        # No news is known about future days; news after the as-of close must not reach the forecast.
        for column in SENTIMENT_COLUMNS:
            if column in frame.columns:
                frame.iloc[-synthetic_rows:, frame.columns.get_loc(column)] = 0.0
    return frame


def _stacked_windows(spec: Preprocessor, tails: Sequence[pd.DataFrame]) -> np.ndarray:
    """The last input window of each tail, ``(tails, window, features)``, from ONE feature rebuild.

    The tails are laid end to end, each shifted by a whole number of weeks so the dates stay sorted and every
    weekday is unchanged. Only each tail's last ``window`` rows are read; what leaks across a seam (a rolling
    window or recursive average started in the previous tail) sits in the next tail's burn-in rows and has
    decayed below 1e-9 by its end, exactly as when a history is cut to a tail. One rebuild of many tails costs
    about as much as one of a single tail: pandas' per-call overhead dominates.
    """
    parts, cursor = [], None
    for tail in tails:
        shift = 0
        if cursor is not None:
            needed = (cursor - tail.index[0]).days + 1
            shift = 7 * math.ceil(needed / 7)
        moved = tail.copy()
        moved.index = tail.index + pd.Timedelta(days=shift)
        cursor = moved.index[-1]
        parts.append(moved)
    stacked = pd.concat(parts)
    frame = spec.features(stacked)
    ends = np.cumsum([len(t) for t in tails]) - 1 - (len(stacked) - len(frame))
    if ends[0] - spec.window + 1 < 0:
        raise TooFewRowsError(f"a history of {len(tails[0])} rows leaves fewer than one window of {spec.window} "
                              f"rows after the indicators' warm-up of {len(stacked) - len(frame)} rows")
    return spec.windows_at(frame, ends)


# Tails per stacked feature rebuild: keeps the shifted dates far from pandas' year-2262 limit.
STACK_TAILS = 40


def _windows_of(spec: Preprocessor, tails: Sequence[pd.DataFrame], synthetic_rows: int,
                headlines: pd.DataFrame | None) -> np.ndarray:
    """The last scaled input window of each tail, ``(tails, window, features)``."""
    if headlines is not None or len(tails) == 1:
        # Sentiment maps headlines onto real dates, so those tails are rebuilt one by one.
        return np.stack([spec.last_window(_features_with_future(spec, t, synthetic_rows, headlines))
                         for t in tails])
    return np.concatenate([_stacked_windows(spec, tails[i: i + STACK_TAILS])
                           for i in range(0, len(tails), STACK_TAILS)])


def _recursive_engine(model: Any, spec: Preprocessor, histories: Sequence[pd.DataFrame], steps: int, *,
                      training: bool, headlines: pd.DataFrame | None, history_rows: int | None,
                      log_noise: np.ndarray | None = None) -> np.ndarray:
    """Feed each history's one-step forecast back ``steps`` times; ``(paths, steps)`` prices.

    All paths advance together: each step is one stacked feature rebuild and one batched model call.
    Identical starting histories (Monte Carlo paths) share their first window, computed once. ``log_noise``
    ``(paths, steps)``: log returns added to each step's forecast before it is recorded and fed back.
    """
    if not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a whole number of bars ahead (trading days for daily data) >= 1, "
                         f"got {steps!r}")
    if log_noise is not None and np.shape(log_noise) != (len(histories), int(steps)):
        raise ValueError(f"log_noise must be (paths, steps) = ({len(histories)}, {steps}), "
                         f"got {np.shape(log_noise)}")
    keep = _history_rows(spec, history_rows)
    tails = [h.iloc[-keep:] for h in histories]
    dates = [future_timestamps(t.index[-1], int(steps), spec.calendar, spec.frequency) for t in tails]
    shared_start = all(h is histories[0] for h in histories)
    out = np.empty((len(tails), int(steps)))
    for k in range(int(steps)):
        if k == 0 and shared_start:
            x = np.repeat(_windows_of(spec, tails[:1], 0, headlines), len(tails), axis=0)
        else:
            x = _windows_of(spec, tails, k, headlines)
        last_close = np.array([t["close"].iloc[-1] for t in tails])
        prices = spec.to_price(model_outputs(model, x, training), last_close)[:, 0]
        if log_noise is not None:
            prices = prices * np.exp(log_noise[:, k])
        out[:, k] = prices
        if k + 1 < steps:
            tails = [_extend(t, d[k], p, keep) for t, d, p in zip(tails, dates, prices)]
    return out


def recursive_forecast(model: Any, spec: Preprocessor, prices: pd.DataFrame, steps: int, *,
                       headlines: pd.DataFrame | None = None, history_rows: int | None = None) -> pd.Series:
    """The one-step model fed back ``steps`` times from the last row of ``prices``; dropout off.

    ``prices``: the canonical prices frame (the raw history the features are built from). Returns the
    predicted closes indexed by the next ``steps`` trading dates. Only the last ``history_rows`` rows
    (default window + 400) are kept behind each step, enough for the indicators to be exact.
    """
    path = _recursive_engine(model, spec, [prices], steps, training=False, headlines=headlines,
                             history_rows=history_rows)[0]
    dates = future_timestamps(prices.index[-1], int(steps), spec.calendar, spec.frequency)
    return pd.Series(path, index=dates, name="forecast")


def recursive_paths(model: Any, spec: Preprocessor, prices: pd.DataFrame, steps: int, n_samples: int, *,
                    seed: int | None = None, residuals: np.ndarray | None = None,
                    headlines: pd.DataFrame | None = None, history_rows: int | None = None) -> np.ndarray:
    """``n_samples`` Monte Carlo dropout paths, each fed back on itself: ``(n_samples, steps)`` prices.

    Every path draws new dropout masks at every step and continues from its own predictions, so the paths
    fan out with the horizon. With ``residuals`` (the model's validation residuals, ``(rows, horizon)`` log
    returns; column 0 is used) every step's price is also multiplied by ``exp`` of a fresh bootstrapped
    residual before it is fed back: the predictive paths, which fan out like the price itself. ``seed`` fixes
    the dropout masks and the residual draws. Costs ``n_samples * steps`` feature rebuilds (~20 ms each).
    """
    if not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ValueError(f"n_samples must be a whole number of paths >= 1, got {n_samples!r}")
    if seed is not None:
        reseed_dropout(model, seed)
    noise = None if residuals is None else residual_paths(residuals, int(n_samples), int(steps), seed)
    return _recursive_engine(model, spec, [prices] * int(n_samples), steps, training=True, headlines=headlines,
                             history_rows=history_rows, log_noise=noise)


def recursive_forecasts_at(model: Any, spec: Preprocessor, prices: pd.DataFrame,
                           origin_dates: Iterable[pd.Timestamp], steps: int, *,
                           headlines: pd.DataFrame | None = None, history_rows: int | None = None) -> np.ndarray:
    """Recursive point forecasts from each origin date, seeing only rows up to it: ``(origins, steps)``."""
    keep = _history_rows(spec, history_rows)
    histories = []
    for when in origin_dates:
        if pd.Timestamp(when) not in prices.index:
            raise ValueError(f"origin date {iso_stamp(when, prices.index)} is not a row of prices")
        end = prices.index.get_loc(pd.Timestamp(when))
        histories.append(prices.iloc[max(0, end + 1 - keep): end + 1])
    if not histories:
        raise ValueError("no origin dates given")
    return _recursive_engine(model, spec, histories, steps, training=False, headlines=headlines,
                             history_rows=history_rows)


# ---------------------------------------------------------------------- direct
def direct_forecast(model: Any, spec: Preprocessor, prices: pd.DataFrame, *,
                    headlines: pd.DataFrame | None = None) -> pd.Series:
    """A direct model's ``horizon`` step forecasts from the last window of ``prices``; dropout off."""
    frame = spec.features(prices, headlines)
    x = spec.last_window(frame)[None]
    path = spec.to_price(model_outputs(model, x, training=False), frame["close"].iloc[-1])[0]
    dates = future_timestamps(prices.index[-1], spec.horizon, spec.calendar, spec.frequency)
    return pd.Series(path, index=dates, name="forecast")


def direct_samples(model: Any, spec: Preprocessor, prices: pd.DataFrame, n_samples: int, *,
                   seed: int | None = None, residuals: np.ndarray | None = None,
                   headlines: pd.DataFrame | None = None) -> np.ndarray:
    """Samples of a direct model's forecast, ``(n, horizon)`` prices: the ``n_samples`` Monte Carlo dropout
    passes, or with ``residuals`` (validation residuals ``(rows, horizon)``) the predictive samples, each pass
    times ``exp`` of whole residual rows (:func:`helpers.predictive.add_residuals`)."""
    frame = spec.features(prices, headlines)
    x = spec.last_window(frame)[None]
    scaled = mc_dropout_samples(model, x, n_samples, seed=seed)[:, 0, :]
    samples = spec.to_price(scaled, frame["close"].iloc[-1])
    return samples if residuals is None else add_residuals(samples, residuals, seed=seed)


# ---------------------------------------------------------------------- bands and the forecast table
def band_name(level: float) -> str:
    """'80' for 0.8, '97.5' for 0.975: the suffix of ``lower_XX`` / ``upper_XX``."""
    return f"{float(level) * 100:g}"


def quantile_bands(samples: np.ndarray, levels: Sequence[float]) -> dict[str, np.ndarray]:
    """Central bands from samples ``(n_samples, ...)``: ``lower_XX`` at quantile (1-level)/2 and ``upper_XX``
    at 1-(1-level)/2 for each level, each of shape ``samples.shape[1:]``."""
    s = np.asarray(samples, dtype=np.float64)
    if s.ndim < 1 or s.shape[0] < 2:
        raise ValueError(f"bands need at least 2 samples on the first axis, got shape {s.shape}")
    out: dict[str, np.ndarray] = {}
    for level in levels:
        if not 0.0 < float(level) < 1.0:
            raise ValueError(f"band level {level!r} must lie strictly between 0 and 1, e.g. 0.8")
        tail = (1.0 - float(level)) / 2.0
        lo, hi = np.quantile(s, [tail, 1.0 - tail], axis=0)
        out[f"lower_{band_name(level)}"] = lo
        out[f"upper_{band_name(level)}"] = hi
    return out


def forecast_frame(point: pd.Series, samples: np.ndarray | None, levels: Sequence[float],
                   method: str) -> pd.DataFrame:
    """The forecast table: ``date, forecast, lower_XX, upper_XX (per level), horizon, method``.

    ``point``: forecasts indexed by future dates; ``samples``: ``(n_samples, steps)`` Monte Carlo prices or
    None (bands left empty). ``horizon`` counts trading days ahead (1 = the next session).
    """
    steps = len(point)
    frame = pd.DataFrame({"date": pd.DatetimeIndex(point.index), "forecast": point.to_numpy(dtype=np.float64)})
    if samples is not None:
        samples = np.asarray(samples, dtype=np.float64)
        if samples.ndim != 2 or samples.shape[1] != steps:
            raise ValueError(f"samples must be (n_samples, {steps}) prices, got shape {samples.shape}")
        for name, values in quantile_bands(samples, levels).items():
            frame[name] = values
    else:
        for level in levels:
            frame[f"lower_{band_name(level)}"] = np.nan
            frame[f"upper_{band_name(level)}"] = np.nan
    frame["horizon"] = np.arange(1, steps + 1)
    frame["method"] = method
    return frame


def _band_residuals(kind: str, residuals: np.ndarray | None, horizon: int) -> np.ndarray | None:
    """The residual pool a band of ``kind`` needs (None for dropout bands), or an error saying what to pass."""
    if check_kind(kind) == "dropout":
        return None
    if residuals is None:
        raise ValueError("predictive bands need the model's validation residuals: pass "
                         "residuals=validation_residuals(model, windows) (windows: the generator the model was "
                         "trained on), or kind='dropout' for Monte Carlo dropout bands alone")
    return check_residuals(residuals, horizon)


def forecast_ahead(model: Any, spec: Preprocessor, prices: pd.DataFrame, *, steps: int | None = None,
                   n_samples: int | None = None, levels: Sequence[float] | None = None, method: str | None = None,
                   seed: int | None = None, kind: str = "predictive", residuals: np.ndarray | None = None,
                   headlines: pd.DataFrame | None = None) -> pd.DataFrame:
    """The forecast table from the last row of ``prices``: recursive for a one-step model, direct otherwise.

    ``steps`` defaults to ``config.forecast_days`` (recursive) or the model's horizon (direct; fewer steps
    keep the first ones); ``n_samples`` to ``config.mc_samples`` (0: no bands); ``levels`` to
    ``config.band_levels``. ``kind="predictive"`` (default) bands add the model's validation ``residuals``
    (:func:`helpers.predictive.validation_residuals`) to the Monte Carlo dropout samples; ``kind="dropout"``
    bands are dropout alone.
    """
    config = spec.config
    levels = tuple(config.band_levels if levels is None else levels)
    n_samples = config.mc_samples if n_samples is None else int(n_samples)
    method = method or ("recursive" if spec.horizon == 1 else "direct")
    pool = _band_residuals(kind, residuals, 1 if method == "recursive" else spec.horizon) if n_samples >= 2 else None
    if method == "recursive":
        steps = int(steps or config.forecast_days)
        point = recursive_forecast(model, spec, prices, steps, headlines=headlines)
        samples = (recursive_paths(model, spec, prices, steps, n_samples, seed=seed, residuals=pool,
                                   headlines=headlines)
                   if n_samples >= 2 else None)
    elif method == "direct":
        steps = int(steps or spec.horizon)
        if steps > spec.horizon:
            raise ValueError(f"this direct model forecasts {spec.horizon} steps; {steps} were asked for. Ask for "
                             f"at most {spec.horizon}, or use a one-step model recursively")
        point = direct_forecast(model, spec, prices, headlines=headlines).iloc[:steps]
        samples = (direct_samples(model, spec, prices, n_samples, seed=seed, residuals=pool,
                                  headlines=headlines)[:, :steps]
                   if n_samples >= 2 else None)
    else:
        raise ValueError(f"unknown method {method!r}: use 'recursive' or 'direct'")
    return forecast_frame(point, samples, levels, method)


def forecasts_as_of(model: Any, spec: Preprocessor, features: pd.DataFrame, as_of_dates: Iterable[pd.Timestamp],
                    *, n_samples: int = 0, levels: Sequence[float] = (), seed: int | None = None,
                    method: str | None = None, kind: str = "predictive",
                    residuals: np.ndarray | None = None) -> pd.DataFrame:
    """Each model output step from the windows ending at past dates: what the model would have said then.

    ``features``: the feature frame (every row uses past rows only, so the window ending at ``t`` is what
    was known at ``t``'s close). No feeding back: a one-step model gives step 1, a direct model its
    ``horizon`` steps. Step ``k`` is the ``k``-th trading session after the as-of date: the frame's own later
    dates where it has them (exchange holidays are published in advance, not price information), the trading
    calendar beyond its end. Returns a long table
    ``as_of_date, as_of_close, date, forecast, lower_XX, upper_XX, horizon, method`` (bands when
    ``n_samples`` >= 2, of ``kind`` as in :func:`forecast_ahead`: ``"predictive"`` needs ``residuals``),
    ready for :func:`helpers.ledger.forecast_rows`.
    """
    as_of = pd.DatetimeIndex(list(as_of_dates))
    at = features.index.get_indexer(as_of)
    if np.any(at < 0):
        raise ValueError(f"as-of date {iso_stamp(as_of[at < 0][0], features.index)} is not a row of the feature frame")
    if np.any(at < spec.window - 1):
        raise TooFewRowsError(f"an as-of date leaves fewer than one window of {spec.window} feature rows before it")
    x = spec.windows_at(features, at)
    last_close = features["close"].to_numpy(dtype=np.float64)[at]
    point = spec.to_price(model_outputs(model, x, False), last_close)
    bands = {}
    if n_samples >= 2:
        pool = _band_residuals(kind, residuals, spec.horizon)
        samples = spec.to_price(mc_dropout_samples(model, x, n_samples, seed=seed), last_close)
        if pool is not None:
            samples = add_residuals(samples, pool, seed=seed)
        bands = quantile_bands(samples, levels)
    method = method or ("recursive" if spec.horizon == 1 else "direct")
    frames = []
    for i, when in enumerate(as_of):
        part = pd.DataFrame({"as_of_date": when, "as_of_close": last_close[i],
                             "date": trading_dates_after(features.index, at[i], spec.horizon, spec.calendar,
                                                         spec.frequency),
                             "forecast": point[i]})
        for name, values in bands.items():
            part[name] = values[i]
        part["horizon"] = np.arange(1, spec.horizon + 1)
        part["method"] = method
        frames.append(part)
    return pd.concat(frames, ignore_index=True)


def trading_dates_after(index: pd.DatetimeIndex, row: int, n: int, calendar: str,
                        frequency: dict[str, Any] | None = None) -> pd.DatetimeIndex:
    """The ``n`` bars after ``index[row]``: the index's later timestamps, then the calendar (at the series'
    ``frequency``, see :func:`helpers.calendar.future_timestamps`) past its end."""
    known = pd.DatetimeIndex(index[row + 1: row + 1 + n])
    if len(known) == n:
        return pd.DatetimeIndex(known, name="date", freq=None)
    last = known[-1] if len(known) else index[row]
    later = future_timestamps(last, n - len(known), calendar, frequency)
    return pd.DatetimeIndex(known.append(later), name="date", freq=None)


def write_forecast(frames: pd.DataFrame | Sequence[pd.DataFrame], path: str | Path) -> Path:
    """Write one or more forecast tables (stacked, first method first) atomically as CSV, dates ISO."""
    frame = frames if isinstance(frames, pd.DataFrame) else pd.concat(list(frames), ignore_index=True)
    stamps = [frame[c] for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c])]
    return atomic_write_csv(path, frame, index=False, date_format=stamp_format(*stamps))


# ---------------------------------------------------------------------- the direct model
def fit_direct_model(features: pd.DataFrame, feature_columns: Sequence[str], config: RunConfig, steps: int, *,
                     verbose: int = 0):
    """A direct ``steps``-step model for comparison with the recursive use of the run's one-step model: the
    same forecaster (one seed, started at persistence) with ``horizon = steps``, on the run's split.
    Returns the fitted :class:`helpers.network.NetworkForecaster` and its WindowGenerator."""
    from helpers.network import NetworkForecaster

    direct_config = config.replace(horizon=int(steps))
    windows = WindowGenerator(features, feature_columns, direct_config)
    network = NetworkForecaster(features, feature_columns, direct_config, seeds=[config.seed])
    return network.fit_windows(windows, verbose=verbose), windows


# ---------------------------------------------------------------------- judging bands and horizons
def coverage_tables(model: Any, windows: WindowGenerator, n_samples: int, levels: Sequence[float], *,
                    residuals: np.ndarray | None, seed: int | None,
                    kinds: Sequence[str] = KINDS) -> dict[str, pd.DataFrame]:
    """How often each kind of band held the actual price on the test rows: ``{kind: band_coverage table}``."""
    from helpers.predictive import price_samples_by_kind

    samples = price_samples_by_kind(model, windows, "test", n_samples, kinds=kinds, residuals=residuals, seed=seed)
    return {kind: band_coverage(windows.actual_price("test"), quantile_bands(s, levels))
            for kind, s in samples.items()}



def band_coverage(actual: np.ndarray, bands: dict[str, np.ndarray]) -> pd.DataFrame:
    """Empirical coverage of each band: the share of rows whose actual price lies inside it.

    ``actual``: ``(samples,)`` or ``(samples, horizon)`` prices (NaN rows are skipped); ``bands``: the
    ``lower_XX`` / ``upper_XX`` arrays of :func:`quantile_bands`, same shape. Returns one row per band and
    step: ``band`` ('80'), ``nominal`` (0.8), ``step``, ``coverage``, ``n``, ``gap`` (coverage - nominal).
    """
    a = np.asarray(actual, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    rows = []
    names = [k[len("lower_"):] for k in bands if k.startswith("lower_")]
    if not names:
        raise ValueError(f"no lower_XX band among {list(bands)}: pass quantile_bands(...) output")
    for name in names:
        lo = np.asarray(bands[f"lower_{name}"], dtype=np.float64).reshape(a.shape)
        hi = np.asarray(bands[f"upper_{name}"], dtype=np.float64).reshape(a.shape)
        for step in range(a.shape[1]):
            known = np.isfinite(a[:, step])
            inside = (a[known, step] >= lo[known, step]) & (a[known, step] <= hi[known, step])
            nominal = float(name) / 100.0
            coverage = float(inside.mean()) if inside.size else math.nan
            rows.append({"band": name, "nominal": nominal, "step": step + 1, "coverage": coverage,
                         "n": int(inside.size), "gap": coverage - nominal})
    return pd.DataFrame(rows, columns=["band", "nominal", "step", "coverage", "n", "gap"])


def coverage_sentence(coverage: pd.DataFrame, alpha: float = 0.05) -> str:
    """One sentence per band: how often it held the actual price, and whether that is consistent with its
    nominal level, chosen by an exact binomial test of the one-step hits (:func:`helpers.metrics.coverage_test`;
    later steps' hits overlap and are not independent, so they are shown averaged but not tested)."""
    parts = []
    for name, rows in coverage.groupby("band", sort=False):
        nominal = float(rows["nominal"].iloc[0])
        test = one_step_coverage_test(rows, alpha)
        n = test["n"]
        cov = float(np.average(rows["coverage"], weights=rows["n"])) if rows["n"].sum() else math.nan
        where = (f"one step ahead ({cov:.0%} averaged over steps 1-{int(rows['step'].max())})" if len(rows) > 1
                 else "one step ahead")
        parts.append(f"The {nominal:.0%} band held the actual price on {test['coverage']:.0%} of {n} test rows {where}: "
                     f"{test['wording']} (exact binomial test against {nominal:.0%}, p = {test['p_value']:.2g}).")
    return " ".join(parts)


def one_step_coverage_test(rows: pd.DataFrame, alpha: float = 0.05) -> dict:
    """The exact binomial test (:func:`helpers.metrics.coverage_test`) of one band's step-1 hits, from its rows
    of a :func:`band_coverage` table (later steps' hits overlap and are not independent, so they are not tested)."""
    first = rows.sort_values("step").iloc[0]
    n = int(first["n"])
    return metrics.coverage_test(int(round(float(first["coverage"]) * n)), n, float(first["nominal"]), alpha=alpha)


def write_coverage(paths: Any, tables: dict[str, dict[str, pd.DataFrame]]) -> Path:
    """``coverage.json`` of the run: for each model (``{"one-step": {kind: table}, ...}``) and band kind, each
    band's coverage over its steps and the one-step test (:func:`helpers.metrics.coverage_test`)."""
    from helpers.atomic import atomic_write_json

    payload: dict[str, Any] = {}
    for model, kinds in tables.items():
        for kind, table in kinds.items():
            entry: dict[str, Any] = {"coverage": coverage_by_band(table), "tests": {}}
            for name, rows in table.groupby("band", sort=False):
                entry["tests"][str(name)] = one_step_coverage_test(rows)
            payload[f"{model} model, {kind} bands"] = entry
    return atomic_write_json(paths.coverage, payload)


def coverage_by_band(coverage: pd.DataFrame) -> dict[str, float]:
    """Each band's coverage over all its steps (weighted by rows): ``{"80": 0.78, "95": 0.93}``."""
    return {str(name): float(np.average(rows["coverage"], weights=rows["n"])) if rows["n"].sum() else math.nan
            for name, rows in coverage.groupby("band", sort=False)}


def horizon_origins(windows: WindowGenerator, steps: int, max_origins: int | None = None) -> pd.DatetimeIndex:
    """Test origins whose next ``steps`` targets are all known, evenly thinned to ``max_origins``."""
    r = windows.origins("test")
    last_ok = len(windows.dates) - 1 - int(steps)
    rows = np.arange(r.start, min(r.stop, last_ok + 1))
    if rows.size == 0:
        raise ValueError(f"no test origin has {steps} known future rows: use fewer steps")
    if max_origins and rows.size > max_origins:
        rows = rows[np.unique(np.linspace(0, rows.size - 1, int(max_origins)).round().astype(int))]
    return windows.dates[rows]


def actual_paths(close: pd.Series, origin_dates: Iterable[pd.Timestamp], steps: int) -> np.ndarray:
    """The closes at rows ``t+1..t+steps`` after each origin date: ``(origins, steps)``, NaN past the data."""
    values = close.to_numpy(dtype=np.float64)
    at = close.index.get_indexer(pd.DatetimeIndex(list(origin_dates)))
    if np.any(at < 0):
        raise ValueError("an origin date is not in the close series' index")
    out = np.full((len(at), int(steps)), np.nan)
    for k in range(1, int(steps) + 1):
        ok = at + k < len(values)
        out[ok, k - 1] = values[at[ok] + k]
    return out


def error_by_horizon(actual: np.ndarray, forecasts: dict[str, np.ndarray],
                     persistence: np.ndarray) -> pd.DataFrame:
    """RMSE per step of each forecaster beside persistence, and its Theil's U per step.

    ``actual``, each forecast and ``persistence``: ``(origins, steps)`` prices on the same origins. Rows
    ``step`` 1..steps; columns ``<name>`` (RMSE, price units), ``persistence``, ``<name>_u`` (RMSE over
    persistence's RMSE at that step: below 1 beats "the price stays where it is").
    """
    table = metrics.error_by_horizon(actual, {**forecasts, "persistence": persistence})
    for name in forecasts:
        table[f"{name}_u"] = table[name] / table["persistence"]
    return table
