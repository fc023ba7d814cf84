"""Forecast accuracy, always beside a yardstick: point errors, Theil's U, direction, and significance tests.

All functions take price-unit arrays of the same rows. A forecast is only interesting relative to
persistence (yesterday's close), hence Theil's U, the Diebold-Mariano test and the lag diagnostic, which
catches the commonest failure of the field: a "prediction" that is the price shifted by one day.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Iterable

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "mse", "rmse", "mae", "mape", "mase", "theils_u", "DirectionalAccuracy", "directional_accuracy",
    "wilson_interval", "binomial_p_value", "mcnemar_exact", "coverage_test", "COVERAGE_VERDICTS", "DMResult", "diebold_mariano", "score_forecasts",
    "lag_diagnostic", "error_by_horizon",
]


# ---------------------------------------------------------------------- input checks
def _pair(actual, forecast, names: tuple[str, str] = ("actual", "forecast")) -> tuple[np.ndarray, np.ndarray]:
    """Two equally long, finite 1-D float arrays, or an error naming which one is wrong."""
    out = []
    for name, values in zip(names, (actual, forecast)):
        arr = np.asarray(values, dtype=np.float64)
        if arr.ndim != 1:
            raise ValueError(f"{name} must be 1-D (one value per row), got shape {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} has {int(np.sum(~np.isfinite(arr)))} NaN or infinite values: "
                             "score only rows where every forecaster has a value")
        out.append(arr)
    if out[0].shape != out[1].shape:
        raise ValueError(f"{names[0]} has {out[0].size} rows but {names[1]} has {out[1].size}: "
                         "metrics compare the same rows")
    if out[0].size == 0:
        raise ValueError("no rows to score")
    return out[0], out[1]


# ---------------------------------------------------------------------- point errors
def mse(actual, forecast) -> float:
    """Mean squared error, in squared price units."""
    a, f = _pair(actual, forecast)
    return float(np.mean((a - f) ** 2))


def rmse(actual, forecast) -> float:
    """Root mean squared error, in price units."""
    return math.sqrt(mse(actual, forecast))


def mae(actual, forecast) -> float:
    """Mean absolute error, in price units."""
    a, f = _pair(actual, forecast)
    return float(np.mean(np.abs(a - f)))


def mape(actual, forecast) -> float:
    """Mean absolute percentage error, in percent (scikit-learn's value times 100)."""
    a, f = _pair(actual, forecast)
    if np.any(a == 0):
        raise ValueError("MAPE is undefined when an actual value is 0: use mae or mase instead")
    return float(100.0 * np.mean(np.abs((a - f) / a)))


def mase(actual, forecast, train_close, season: int = 1) -> float:
    """Mean absolute scaled error: MAE over the in-sample MAE of the seasonal naive on the training rows.

    Below 1: better than the naive forecast was in training. ``season=1`` scales by persistence's
    one-day error. Only training rows are used so the scale is known before the test period.
    """
    a, f = _pair(actual, forecast)
    train = np.asarray(train_close, dtype=np.float64)
    if train.ndim != 1 or train.size <= season or not np.all(np.isfinite(train)):
        raise ValueError(f"train_close must be a finite 1-D series longer than season={season}, "
                         f"got {train.size} values")
    scale = float(np.mean(np.abs(train[season:] - train[:-season])))
    if scale == 0:
        raise ValueError("MASE is undefined: the training prices never change, so the naive error is 0")
    return float(np.mean(np.abs(a - f)) / scale)


def theils_u(actual, forecast, persistence) -> float:
    """Theil's U2: RMSE of ``forecast`` divided by RMSE of persistence on the same rows.

    Below 1 beats "tomorrow equals today"; about 1.00 is what a daily stock forecast honestly gets.
    """
    a, f = _pair(actual, forecast)
    _, p = _pair(actual, persistence, ("actual", "persistence"))
    yardstick = math.sqrt(float(np.mean((a - p) ** 2)))
    if yardstick == 0:
        raise ValueError("Theil's U is undefined: persistence has zero error on these rows")
    return math.sqrt(float(np.mean((a - f) ** 2))) / yardstick


# ---------------------------------------------------------------------- direction
@dataclass(frozen=True)
class DirectionalAccuracy:
    """Share of rows where the forecast called the day's direction right.

    ``n`` counts the rows scored; rows where the forecast predicts no move (``flat_forecast``) or the price
    did not move (``flat_actual``) have no direction to get right and are left out, but counted. ``value`` is
    NaN when no row is left (persistence never predicts a move).
    """

    value: float
    hits: int
    n: int
    flat_forecast: int
    flat_actual: int

    def to_dict(self) -> dict:
        out = asdict(self)
        out["value"] = None if math.isnan(self.value) else self.value
        return out


def directional_accuracy(actual, forecast, previous) -> DirectionalAccuracy:
    """Share of rows with ``sign(forecast - previous) == sign(actual - previous)``; see DirectionalAccuracy."""
    a, f = _pair(actual, forecast)
    _, prev = _pair(actual, previous, ("actual", "previous"))
    predicted = np.sign(f - prev)
    realised = np.sign(a - prev)
    flat_forecast = predicted == 0
    flat_actual = realised == 0
    scored = ~(flat_forecast | flat_actual)
    n = int(scored.sum())
    hits = int(np.sum(predicted[scored] == realised[scored]))
    return DirectionalAccuracy(value=hits / n if n else float("nan"), hits=hits, n=n,
                               flat_forecast=int(flat_forecast.sum()), flat_actual=int(flat_actual.sum()))


def _counts(hits: int, n: int) -> tuple[int, int]:
    if int(n) != n or int(hits) != hits or n < 0 or not 0 <= hits <= n:
        raise ValueError(f"need whole numbers 0 <= hits <= n, got hits={hits!r}, n={n!r}")
    return int(hits), int(n)


def wilson_interval(hits: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion ``hits / n``; ``(nan, nan)`` when ``n == 0``.

    Preferred over the normal (Wald) interval: it stays inside [0, 1] and keeps its coverage for small n.
    """
    hits, n = _counts(hits, n)
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence!r}")
    if n == 0:
        return float("nan"), float("nan")
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    p = hits / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def binomial_p_value(hits: int, n: int, p: float = 0.5) -> float:
    """Two-sided exact binomial p-value of ``hits`` out of ``n`` against a hit probability ``p`` (coin flip)."""
    hits, n = _counts(hits, n)
    if n == 0:
        return float("nan")
    return float(stats.binomtest(hits, n, p, alternative="two-sided").pvalue)


def mcnemar_exact(a_only: int, b_only: int) -> float:
    """Exact McNemar test of two forecasters' hit rates on the same days: two-sided p-value.

    Only the days where exactly one of the two is right carry information: ``a_only`` days only forecaster A
    was right, ``b_only`` days only B. If both are equally good, each such day is a coin flip, so the p-value
    is the exact binomial test of ``a_only`` out of ``a_only + b_only`` against 1/2 (1.0 when no day differs).
    """
    a_only, n = _counts(a_only, int(a_only) + int(b_only))
    if n == 0:
        return 1.0
    return float(stats.binomtest(a_only, n, 0.5, alternative="two-sided").pvalue)


# Wordings of coverage_test's verdict, for sentences about bands and VaR: chosen by the test, never by a gap.
COVERAGE_VERDICTS = {
    "holds": "consistent with its nominal level",
    "too_narrow": "too narrow: it held the price less often than promised (understates the risk)",
    "too_wide": "too wide: it held the price more often than promised (overstates the risk)",
}


def coverage_test(inside: int, n: int, nominal: float, alpha: float = 0.05) -> dict:
    """Does a band that should hold the actual value ``nominal`` of the time hold it that often?

    Exact two-sided binomial test of ``inside`` hits out of ``n`` days against ``nominal``. ``verdict`` is
    ``"holds"`` unless the test rejects at ``alpha``, then ``"too_narrow"`` (fewer hits than nominal) or
    ``"too_wide"``; ``wording`` is its phrase from COVERAGE_VERDICTS. The test treats days as independent:
    pass one-step coverage (overlapping multi-step hits are correlated and would make it reject too often).
    Returns inside, n, coverage, nominal, p_value, alpha, verdict, wording.
    """
    inside, n = _counts(inside, n)
    if not 0 < nominal < 1:
        raise ValueError(f"nominal must be the band's promised coverage strictly between 0 and 1, got {nominal!r}")
    if n == 0:
        raise ValueError("no day to judge the band on: coverage needs at least one day with an actual value")
    p_value = float(stats.binomtest(inside, n, nominal, alternative="two-sided").pvalue)
    verdict = "holds" if p_value >= alpha else ("too_narrow" if inside / n < nominal else "too_wide")
    return {"inside": inside, "n": n, "coverage": inside / n, "nominal": float(nominal), "p_value": p_value,
            "alpha": float(alpha), "verdict": verdict, "wording": COVERAGE_VERDICTS[verdict]}


# ---------------------------------------------------------------------- Diebold-Mariano
@dataclass(frozen=True)
class DMResult:
    """Modified Diebold-Mariano test; a negative ``statistic`` means forecast a has the smaller loss."""

    statistic: float
    p_value: float
    mean_loss_diff: float
    n: int
    horizon: int
    loss: str

    def to_dict(self) -> dict:
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(self).items()}


def diebold_mariano(actual, forecast_a, forecast_b, horizon: int = 1, loss: str = "squared") -> DMResult:
    """Test equal accuracy of two forecasts of the same rows (Diebold-Mariano with the HLN correction).

    Loss differential ``d = L(actual - a) - L(actual - b)``; its long-run variance uses autocovariances up to
    lag ``horizon - 1`` (h-step errors overlap). Harvey, Leybourne and Newbold (1997) scale the statistic by
    ``sqrt((n + 1 - 2h + h(h-1)/n) / n)`` and compare it with Student-t(n-1); the p-value is two-sided. If
    the variance estimate is not positive (possible for h > 1), the lag-0 variance alone is used.
    """
    a, fa = _pair(actual, forecast_a, ("actual", "forecast_a"))
    _, fb = _pair(actual, forecast_b, ("actual", "forecast_b"))
    if loss not in ("squared", "absolute"):
        raise ValueError(f"loss must be 'squared' or 'absolute', got {loss!r}")
    if not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise ValueError(f"horizon must be a whole number >= 1, got {horizon!r}")
    n = a.size
    if n < 2 or n <= 2 * horizon:
        raise ValueError(f"Diebold-Mariano needs more than {max(2, 2 * horizon)} rows for horizon "
                         f"{horizon}, got {n}")
    lossfn = np.square if loss == "squared" else np.abs
    d = lossfn(a - fa) - lossfn(a - fb)
    mean_d = float(d.mean())
    centred = d - mean_d
    gamma = [float(np.dot(centred[k:], centred[: n - k]) / n) for k in range(horizon)]
    long_run = gamma[0] + 2 * sum(gamma[1:])
    if long_run <= 0:
        long_run = gamma[0]
    if long_run <= 0:   # the two forecasts' losses differ by a constant (or not at all)
        statistic = 0.0 if mean_d == 0 else math.copysign(math.inf, mean_d)
        return DMResult(statistic, 1.0 if mean_d == 0 else 0.0, mean_d, n, int(horizon), loss)
    dm = mean_d / math.sqrt(long_run / n)
    statistic = dm * hln_correction(n, int(horizon))
    p_value = float(2 * stats.t.sf(abs(statistic), df=n - 1))
    return DMResult(float(statistic), p_value, mean_d, n, int(horizon), loss)


def hln_correction(n: int, horizon: int) -> float:
    """Harvey-Leybourne-Newbold factor ``sqrt((n + 1 - 2h + h(h-1)/n) / n)`` applied to the DM statistic."""
    return math.sqrt((n + 1 - 2 * horizon + horizon * (horizon - 1) / n) / n)


# ---------------------------------------------------------------------- all forecasters at once
def score_forecasts(actual, forecasts: dict[str, np.ndarray], previous, train_close,
                    season: int = 1) -> dict[str, dict[str, float | None]]:
    """Every forecaster's mse, rmse, mae, mape, mase and directional accuracy on the same rows.

    Raises if any forecaster has a different number of rows or a NaN: a score on fewer rows is not
    comparable. Directional accuracy is ``None`` where it is undefined (persistence).
    """
    a = np.asarray(actual, dtype=np.float64)
    if not forecasts:
        raise ValueError("no forecasts to score")
    _pair(a, previous, ("actual", "previous"))
    scores: dict[str, dict[str, float | None]] = {}
    for name, forecast in forecasts.items():
        _pair(a, forecast, ("actual", f"forecast {name!r}"))
        direction = directional_accuracy(a, forecast, previous)
        scores[name] = {
            "mse": mse(a, forecast),
            "rmse": rmse(a, forecast),
            "mae": mae(a, forecast),
            "mape": mape(a, forecast),
            "mase": mase(a, forecast, train_close, season=season),
            "directional_accuracy": None if math.isnan(direction.value) else direction.value,
        }
    return scores


# ---------------------------------------------------------------------- does the forecast trail the price?
def lag_diagnostic(actual: pd.Series, forecast: pd.Series, lags: Iterable[int] = range(-3, 4),
                   unit: str = "day") -> dict:
    """How well the forecast lines up with the actual series shifted by ``k`` rows, for each lag ``k``.

    For each ``k``: the RMSE between ``forecast[t]`` and ``actual[t-k]`` (``k=+1`` is the previous day's
    actual), and the correlation of the forecast's day-to-day changes with the actual's changes shifted by
    ``k``. Two Series are aligned on their index first (arrays by position); all lags are then computed on
    the same rows (those where every shift exists and the forecast is not NaN); ``unit`` names one row in the
    verdict (``day``, ``week``, ``bar`` for intraday series). ``trailing`` is True when
    the RMSE at ``k=+1`` is below the RMSE at ``k=0``: the forecast matches yesterday's price better than
    today's, the signature of a model that learned persistence. Returns a JSON-ready dict.
    """
    lags = [int(k) for k in lags]
    if 0 not in lags or 1 not in lags:
        raise ValueError(f"lags must include 0 and 1 to judge trailing, got {lags}")
    if isinstance(actual, pd.Series) and isinstance(forecast, pd.Series):
        actual, forecast = actual.align(forecast, join="inner")
    elif len(actual) != len(forecast):
        raise ValueError(f"actual has {len(actual)} rows but forecast has {len(forecast)}")
    # Shifts count rows (trading days), not calendar days.
    a = pd.Series(np.asarray(actual, dtype=np.float64))
    f = pd.Series(np.asarray(forecast, dtype=np.float64))
    levels = pd.DataFrame({"forecast": f, **{k: a.shift(k) for k in lags}}).dropna()
    changes = levels.diff().dropna()
    if len(changes) < 3:
        raise ValueError(f"lag diagnostic needs more rows than the largest shift; {len(levels)} common rows")
    by_lag = []
    for k in lags:
        err = levels["forecast"] - levels[k]
        corr = _correlation(changes["forecast"], changes[k])
        by_lag.append({"lag": k, "rmse": float(np.sqrt(np.mean(err ** 2))), "change_correlation": corr})
    rmse_at = {row["lag"]: row["rmse"] for row in by_lag}
    trailing = bool(rmse_at[1] < rmse_at[0])
    best = min(by_lag, key=lambda row: row["rmse"])["lag"]
    last = "yesterday's" if unit == "day" else f"the last {unit}'s"
    if trailing:
        verdict = (f"The forecast trails the price: it is closer to the previous {unit}'s actual "
                   f"(RMSE {rmse_at[1]:.4g}) than to the same {unit}'s (RMSE {rmse_at[0]:.4g}), "
                   f"so it mostly repeats {last} price.")
    else:
        verdict = (f"The forecast does not trail the price: it is closer to the same {unit}'s actual "
                   f"(RMSE {rmse_at[0]:.4g}) than to the previous {unit}'s (RMSE {rmse_at[1]:.4g}).")
    return {"by_lag": by_lag, "best_lag": best, "rmse_lag0": rmse_at[0], "rmse_lag1": rmse_at[1],
            "trailing": trailing, "n": int(len(levels)), "verdict": verdict}


def _correlation(x: pd.Series, y: pd.Series) -> float | None:
    """Pearson correlation, or None when either side is constant (no changes to correlate)."""
    if np.std(x) == 0 or np.std(y) == 0:
        return None
    return float(np.corrcoef(x, y)[0, 1])


def error_by_horizon(actual, forecasts: dict[str, np.ndarray]) -> pd.DataFrame:
    """RMSE per forecast step: rows ``step`` 1..h, one column per forecaster; inputs are ``(n, h)`` prices."""
    a = np.asarray(actual, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"actual must be (origins, horizon), got shape {a.shape}")
    columns = {}
    for name, forecast in forecasts.items():
        f = np.asarray(forecast, dtype=np.float64)
        if f.shape != a.shape:
            raise ValueError(f"forecast {name!r} has shape {f.shape}, actual has {a.shape}")
        if not (np.all(np.isfinite(f)) and np.all(np.isfinite(a))):
            raise ValueError(f"NaN in actual or forecast {name!r}: score complete origins only")
        columns[name] = np.sqrt(np.mean((a - f) ** 2, axis=0))
    return pd.DataFrame(columns, index=pd.RangeIndex(1, a.shape[1] + 1, name="step"))
