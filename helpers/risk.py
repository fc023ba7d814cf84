"""One-day risk of holding the asset: Value-at-Risk and Expected Shortfall, and the backtests that judge them.

Everything is in log-return terms with **losses positive**: a 95% VaR of 0.021 says "on 95% of days the
next-day log return should not fall below -0.021"; the ES is the mean loss on the days that do. Three
forecasters answer the same question on the same rows so they can be compared like the point forecasts are:

- the network's predictive distribution (Monte Carlo dropout samples): :func:`var_es_from_samples`;
- rolling historical simulation: :func:`historical_var_es`;
- GARCH(1,1) fitted on training rows only: :func:`garch_var_es`.

A VaR forecast is judged by its exceedances (days the loss was larger than the VaR): Kupiec's test asks
whether there were as many as promised, Christoffersen's whether they arrive independently rather than in
clusters (:func:`backtest_var`, :func:`risk_table`).

Every forecast frame is indexed like the returns it was made for, one row per **target** day, NaN where no
forecast exists, with columns named by :func:`var_column` and :func:`es_column` (``var_95``, ``es_99``).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import xlogy

DEFAULT_LEVELS: tuple[float, ...] = (0.95, 0.99)
# Fewer training returns than this give GARCH estimates too noisy to be worth a backtest.
MIN_GARCH_TRAIN = 100
GARCH_DISTRIBUTIONS = ("normal", "t")
# arch's optimiser is tuned for returns in percent; daily log returns (~0.01) are scaled by this and back.
ARCH_SCALE = 100.0


# ---------------------------------------------------------------------- naming and checks
def var_column(level: float) -> str:
    """The column holding the VaR at ``level``: 0.95 -> ``var_95``, 0.975 -> ``var_97.5``."""
    return f"var_{_level_tag(level)}"


def es_column(level: float) -> str:
    """The column holding the Expected Shortfall at ``level``: 0.99 -> ``es_99``."""
    return f"es_{_level_tag(level)}"


def _level_tag(level: float) -> str:
    return f"{round(level * 100, 6):g}"


def _check_levels(levels: Sequence[float]) -> tuple[float, ...]:
    levels = tuple(float(level) for level in np.atleast_1d(levels))
    if not levels:
        raise ValueError("levels is empty: give confidence levels such as (0.95, 0.99)")
    for level in levels:
        if not 0.5 <= level < 1.0:
            raise ValueError(f"VaR level {level!r} is outside [0.5, 1): give a confidence level such as 0.95 or 0.99")
    return levels


def _check_returns(returns: pd.Series, name: str = "returns") -> pd.Series:
    if not isinstance(returns, pd.Series):
        raise TypeError(f"{name} must be a pandas Series of daily log returns indexed by date, "
                        f"got {type(returns).__name__}")
    missing = returns.index[returns.isna().to_numpy()]
    if len(missing):
        raise ValueError(f"{name} has {len(missing)} missing value(s), first at {missing[0]!r}: "
                         f"drop them first (the first log return of a price series is always NaN: use .dropna())")
    return returns.astype("float64")


# ---------------------------------------------------------------------- VaR/ES from a distribution
def var_es_from_samples(samples: np.ndarray, levels: Sequence[float] = DEFAULT_LEVELS,
                        index: pd.Index | None = None) -> pd.DataFrame:
    """VaR and ES per day and level from samples of that day's predicted next-day log return.

    ``samples`` is ``(days, n_samples)``, e.g. Monte Carlo dropout passes of the network. VaR at level a is
    minus the empirical (1 - a) quantile of the day's samples (numpy's default linear interpolation); ES is
    minus the mean of the samples at or below that quantile. A day with any NaN sample gets NaN. ``index``
    labels the rows (the target dates); by default 0..days-1.
    """
    levels = _check_levels(levels)
    samples = np.asarray(samples, dtype="float64")
    if samples.ndim != 2 or samples.shape[1] < 2:
        raise ValueError(f"samples must be (days, n_samples) with at least 2 samples per day, got shape "
                         f"{samples.shape}: stack the Monte Carlo passes as columns")
    if index is not None and len(index) != samples.shape[0]:
        raise ValueError(f"index has {len(index)} labels but samples has {samples.shape[0]} days")
    valid = ~np.isnan(samples).any(axis=1)
    ordered = np.sort(samples[valid], axis=1)
    out: dict[str, np.ndarray] = {}
    for level in levels:
        var = np.full(samples.shape[0], np.nan)
        es = np.full(samples.shape[0], np.nan)
        if ordered.shape[0]:
            quantile = np.quantile(ordered, 1.0 - level, axis=1)
            # The minimum is always <= the quantile, so every tail has at least one sample.
            tail = ordered <= quantile[:, None]
            var[valid] = -quantile
            es[valid] = -(ordered * tail).sum(axis=1) / tail.sum(axis=1)
        out[var_column(level)] = var
        out[es_column(level)] = es
    return pd.DataFrame(out, index=index)


def historical_var_es(returns: pd.Series, window: int = 250,
                      levels: Sequence[float] = DEFAULT_LEVELS) -> pd.DataFrame:
    """Rolling historical-simulation VaR and ES: the forecast for day t+1 uses returns t-window+1..t only.

    Row ``i`` of the result (indexed like ``returns``) holds the forecast *for* day ``i``, made from the
    ``window`` returns before it; the first ``window`` rows are NaN. ``returns``: daily log returns, no NaN.
    """
    returns = _check_returns(returns)
    if not isinstance(window, (int, np.integer)) or window < 2:
        raise ValueError(f"window must be a whole number of days >= 2, got {window!r}")
    levels = _check_levels(levels)
    values = returns.to_numpy()
    frame = pd.DataFrame(np.nan, index=returns.index,
                         columns=[c for level in levels for c in (var_column(level), es_column(level))])
    if len(values) <= window:
        return frame
    # windows[j] = values[j : j + window], which forecasts row j + window; the last window has no target row.
    windows = np.lib.stride_tricks.sliding_window_view(values, window)[:-1]
    frame.iloc[window:] = var_es_from_samples(windows, levels).to_numpy()
    return frame


def fit_garch(returns: pd.Series, train_end: int, dist: str = "normal"):
    """Fit a constant-mean GARCH(1,1) on the first ``train_end`` returns only, in percent units.

    Returns arch's result object; its ``params`` (mu, omega, alpha[1], beta[1], and nu for ``dist="t"``) are
    for returns times :data:`ARCH_SCALE`. The model never sees a row at or after ``train_end``.
    """
    from arch import arch_model

    returns = _check_returns(returns)
    if dist not in GARCH_DISTRIBUTIONS:
        raise ValueError(f"dist {dist!r} is not supported: use one of {', '.join(GARCH_DISTRIBUTIONS)}")
    if not isinstance(train_end, (int, np.integer)) or not MIN_GARCH_TRAIN <= train_end <= len(returns):
        raise ValueError(f"train_end = {train_end!r} must be a whole number of training rows between "
                         f"{MIN_GARCH_TRAIN} and len(returns) = {len(returns)}: GARCH needs at least "
                         f"{MIN_GARCH_TRAIN} training returns")
    model = arch_model(returns.iloc[:train_end] * ARCH_SCALE, mean="Constant", vol="GARCH", p=1, q=1,
                       dist=dist, rescale=False)
    result = model.fit(disp="off")
    if result.convergence_flag != 0:
        warnings.warn(f"GARCH(1,1) optimiser did not converge (flag {result.convergence_flag}); its VaR may be "
                      f"unreliable: check the training returns for outliers", RuntimeWarning, stacklevel=2)
    return result


def garch_var_es(returns: pd.Series, train_end: int, levels: Sequence[float] = DEFAULT_LEVELS,
                 dist: str = "normal") -> pd.DataFrame:
    """GARCH(1,1) VaR and ES for the test rows ``train_end..`` with parameters fitted on training rows only.

    Parameters come from :func:`fit_garch`; they are then held fixed while the conditional variance is
    filtered through the whole series, so the forecast for day t uses returns up to t-1 and the fitted
    parameters, nothing later. VaR and ES come from the fitted distribution (normal, or Student-t scaled to
    unit variance). The result is indexed like ``returns``, NaN before ``train_end``, with extra columns
    ``mean`` and ``volatility`` (the one-step conditional mean and standard deviation, in log-return units);
    ``frame.attrs["garch_params"]`` holds the fitted parameters (percent units) as plain floats.
    """
    from arch import arch_model

    levels = _check_levels(levels)
    returns = _check_returns(returns)
    fitted = fit_garch(returns, train_end, dist)
    full = arch_model(returns * ARCH_SCALE, mean="Constant", vol="GARCH", p=1, q=1, dist=dist, rescale=False)
    fixed = full.fix(fitted.params)
    # Origins train_end-1 .. n-1; the forecast from the last origin is for a day beyond the data.
    forecast = fixed.forecast(start=train_end - 1, horizon=1, reindex=False)
    mean = forecast.mean.to_numpy()[:-1, 0] / ARCH_SCALE
    volatility = np.sqrt(forecast.variance.to_numpy()[:-1, 0]) / ARCH_SCALE
    nu = float(fitted.params["nu"]) if dist == "t" else None

    frame = pd.DataFrame(np.nan, index=returns.index, columns=["mean", "volatility"], dtype="float64")
    frame.iloc[train_end:, 0] = mean
    frame.iloc[train_end:, 1] = volatility
    for level in levels:
        z, tail_mean = _standardised_tail(1.0 - level, nu)
        frame[var_column(level)] = -(frame["mean"] + frame["volatility"] * z)
        frame[es_column(level)] = -(frame["mean"] + frame["volatility"] * tail_mean)
    frame.attrs["garch_params"] = {name: float(value) for name, value in fitted.params.items()}
    frame.attrs["garch_dist"] = dist
    return frame


def _standardised_tail(p: float, nu: float | None) -> tuple[float, float]:
    """Quantile z_p and tail mean E[Z | Z <= z_p] of a zero-mean, unit-variance normal or Student-t(nu)."""
    if nu is None:
        z = stats.norm.ppf(p)
        return float(z), float(-stats.norm.pdf(z) / p)
    scale = np.sqrt((nu - 2.0) / nu)  # a standard t has variance nu/(nu-2); arch's t has variance 1
    t = stats.t.ppf(p, nu)
    tail_mean_t = -(nu + t**2) / (nu - 1.0) * stats.t.pdf(t, nu) / p
    return float(t * scale), float(tail_mean_t * scale)


# ---------------------------------------------------------------------- backtests
def _check_exceedances(exceedances) -> np.ndarray:
    hits = np.asarray(exceedances)
    if hits.ndim != 1:
        raise ValueError(f"exceedances must be one flag per day (1-D), got shape {hits.shape}")
    if hits.size == 0:
        raise ValueError("exceedances is empty: there are no days with both a VaR forecast and a realized return")
    if hits.dtype != bool:
        if not np.isin(hits, (0, 1)).all():
            raise ValueError("exceedances must be True/False (or 1/0) per day; found other values such as NaN")
        hits = hits.astype(bool)
    return hits


def kupiec_pof(exceedances, level: float) -> dict:
    """Kupiec's proportion-of-failures likelihood-ratio test: were there as many exceedances as promised?

    LR = -2 ln[(1-p)^(n-x) p^x] + 2 ln[(1-x/n)^(n-x) (x/n)^x] with p = 1 - level, chi-squared(1) under the
    null of correct coverage. 0^0 is taken as 1, so x = 0 and x = n are handled. Returns statistic,
    p_value, n (days), x (exceedances) and expected (n * p).
    """
    (level,) = _check_levels([level])
    hits = _check_exceedances(exceedances)
    n, x = hits.size, int(hits.sum())
    p, observed = 1.0 - level, x / n
    log_null = xlogy(n - x, 1 - p) + xlogy(x, p)
    log_alt = xlogy(n - x, 1 - observed) + xlogy(x, observed)
    statistic = max(float(-2.0 * (log_null - log_alt)), 0.0)
    return {"statistic": statistic, "p_value": float(stats.chi2.sf(statistic, 1)),
            "n": n, "x": x, "expected": n * p}


def christoffersen_independence(exceedances) -> dict:
    """Christoffersen's independence test: is an exceedance more likely the day after an exceedance?

    Counts transitions n_ij from day t-1 in state i to day t in state j (1 = exceedance), and compares a
    first-order Markov chain against independence: LR = -2 ln[(1-pi)^(n00+n10) pi^(n01+n11)] +
    2 ln[(1-pi01)^n00 pi01^n01 (1-pi11)^n10 pi11^n11], chi-squared(1). Zero counts contribute nothing.
    """
    hits = _check_exceedances(exceedances)
    before, after = hits[:-1], hits[1:]
    n00 = int(np.sum(~before & ~after))
    n01 = int(np.sum(~before & after))
    n10 = int(np.sum(before & ~after))
    n11 = int(np.sum(before & after))
    pi01 = n01 / (n00 + n01) if n00 + n01 else 0.0
    pi11 = n11 / (n10 + n11) if n10 + n11 else 0.0
    transitions = n00 + n01 + n10 + n11
    pi = (n01 + n11) / transitions if transitions else 0.0
    log_null = xlogy(n00 + n10, 1 - pi) + xlogy(n01 + n11, pi)
    log_alt = xlogy(n00, 1 - pi01) + xlogy(n01, pi01) + xlogy(n10, 1 - pi11) + xlogy(n11, pi11)
    statistic = max(float(-2.0 * (log_null - log_alt)), 0.0)
    return {"statistic": statistic, "p_value": float(stats.chi2.sf(statistic, 1)),
            "n00": n00, "n01": n01, "n10": n10, "n11": n11}


def christoffersen_conditional_coverage(exceedances, level: float) -> dict:
    """Conditional coverage: Kupiec's LR plus Christoffersen's independence LR, chi-squared(2).

    Rejects a VaR whose exceedances are too many, too few, or clustered.
    """
    statistic = kupiec_pof(exceedances, level)["statistic"] + christoffersen_independence(exceedances)["statistic"]
    return {"statistic": statistic, "p_value": float(stats.chi2.sf(statistic, 2))}


def backtest_var(realized_returns: pd.Series, var: pd.Series, level: float) -> dict:
    """Count exceedances (realized log return < -VaR) on the days that have both a forecast and a return.

    Rows where either side is missing (training rows without a forecast, warm-up rows) are left out, so
    only test rows are judged. Returns exceedances (count), n (days judged), rate, expected_rate, kupiec,
    christoffersen (independence), conditional_coverage and exceedance_dates (ISO dates when the index is
    dates).
    """
    if not isinstance(realized_returns, pd.Series) or not isinstance(var, pd.Series):
        raise TypeError("realized_returns and var must both be pandas Series indexed by date")
    (level,) = _check_levels([level])
    common = realized_returns.index.intersection(var.index)
    if len(common) == 0:
        raise ValueError("realized_returns and var share no index labels: index both by the target date")
    pair = pd.DataFrame({"realized": realized_returns.reindex(common), "var": var.reindex(common)}).dropna()
    if pair.empty:
        raise ValueError("no day has both a VaR forecast and a realized return: check that the VaR covers the "
                         "test rows")
    pair = pair.sort_index()
    hits = (pair["realized"] < -pair["var"]).to_numpy()
    dates = pair.index[hits]
    if isinstance(dates, pd.DatetimeIndex):
        from helpers.frequency import iso_stamp   # with the time of day of intraday bars

        exceedance_dates = [iso_stamp(d, pair.index) for d in dates]
    else:
        exceedance_dates = [d.item() if hasattr(d, "item") else d for d in dates]
    return {
        "exceedances": int(hits.sum()),
        "n": int(hits.size),
        "rate": float(hits.mean()),
        "expected_rate": 1.0 - level,
        "kupiec": kupiec_pof(hits, level),
        "christoffersen": christoffersen_independence(hits),
        "conditional_coverage": christoffersen_conditional_coverage(hits, level),
        "exceedance_dates": exceedance_dates,
    }


def risk_table(realized: pd.Series, forecasts: Mapping[str, pd.DataFrame],
               levels: Sequence[float] = DEFAULT_LEVELS, *, common_rows: bool = True,
               significance: float = 0.05) -> pd.DataFrame:
    """One row per method and level: exceedances, rates, Kupiec / Christoffersen / conditional coverage.

    ``forecasts`` maps a method name to its forecast frame (columns from :func:`var_column`, and
    :func:`es_column` when available). With ``common_rows`` (the default) every method is judged on the
    same days, those where all methods have a VaR at that level, as the point forecasts are. ``passes`` is
    True when neither Kupiec's nor the conditional-coverage test rejects at ``significance``.
    """
    levels = _check_levels(levels)
    if not forecasts:
        raise ValueError("forecasts is empty: give at least one method's VaR frame")
    rows = []
    for level in levels:
        column = var_column(level)
        for name, frame in forecasts.items():
            if column not in frame.columns:
                raise KeyError(f"forecast {name!r} has no column {column!r} for level {level}; it has "
                               f"{', '.join(map(str, frame.columns))}")
        if common_rows:
            shared = pd.concat({name: frame[column] for name, frame in forecasts.items()}, axis=1).dropna().index
        for name, frame in forecasts.items():
            var = frame[column].reindex(shared) if common_rows else frame[column]
            result = backtest_var(realized, var, level)
            judged = var.dropna().index.intersection(realized.dropna().index)
            es_name = es_column(level)
            rows.append({
                "method": name, "level": level, "n": result["n"],
                "exceedances": result["exceedances"], "rate": result["rate"],
                "expected_rate": result["expected_rate"],
                "kupiec_statistic": result["kupiec"]["statistic"], "kupiec_p": result["kupiec"]["p_value"],
                "christoffersen_statistic": result["christoffersen"]["statistic"],
                "christoffersen_p": result["christoffersen"]["p_value"],
                "cc_statistic": result["conditional_coverage"]["statistic"],
                "cc_p": result["conditional_coverage"]["p_value"],
                "mean_var": float(var.reindex(judged).mean()),
                "mean_es": float(frame[es_name].reindex(judged).mean()) if es_name in frame else np.nan,
                "passes": bool(result["kupiec"]["p_value"] >= significance
                               and result["conditional_coverage"]["p_value"] >= significance),
            })
    return pd.DataFrame(rows)
