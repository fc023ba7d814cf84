"""The forecaster surface, and the naive and classical forecasters every network is measured against.

Every forecaster answers the same two calls, so each error in the report is computed on identical rows:

* ``fit(close, train_end)`` may read ``close.iloc[:train_end]`` only (rows ``0..train_end-1``);
* ``predict(close, origins, horizon)`` returns ``(len(origins), horizon)`` price forecasts where row ``i``
  forecasts the close at rows ``origins[i]+1 .. origins[i]+horizon`` from ``close.iloc[:origins[i]+1]`` only.

An origin may be the last row of ``close`` (a forecast beyond the data). The network offers the same surface
(:class:`helpers.network.NetworkForecaster`); nothing here imports TensorFlow.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from helpers.config import RunConfig

__all__ = [
    "Forecaster", "Persistence", "Drift", "MovingAverage", "SeasonalNaive", "ArimaForecaster",
    "season_length", "default_baselines",
]


@runtime_checkable
class Forecaster(Protocol):
    """What every forecaster offers; see the module docstring for the no-look-ahead contract."""

    name: str

    def fit(self, close: pd.Series, train_end: int) -> "Forecaster":
        ...

    def predict(self, close: pd.Series, origins: np.ndarray, horizon: int) -> np.ndarray:
        ...


# ---------------------------------------------------------------------- input checks shared by all
def _prices(close: pd.Series | np.ndarray) -> np.ndarray:
    """``close`` as a 1-D float64 array, refusing NaNs (a gap would silently poison every forecast after it)."""
    values = np.asarray(close, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"close must be one series of prices (1-D), got shape {values.shape}")
    if values.size == 0:
        raise ValueError("close is empty: load prices before forecasting")
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise ValueError(f"close has {bad.size} missing or infinite values (first at row {bad[0]}): "
                         "clean the prices (helpers.validation.clean_prices) before forecasting")
    return values


def _training_prices(close: pd.Series | np.ndarray, train_end: int, minimum: int = 1) -> np.ndarray:
    """The training rows ``close[:train_end]``, checked; later rows are never read, not even for checks."""
    if not isinstance(train_end, (int, np.integer)) or isinstance(train_end, bool):
        raise TypeError(f"train_end must be a whole number of rows, got {train_end!r}")
    n = len(close)
    if not minimum <= train_end <= n:
        raise ValueError(f"train_end={train_end} is outside {minimum}..{n} (rows of close): this forecaster "
                         f"needs at least {minimum} training rows")
    head = close.iloc[:train_end] if isinstance(close, pd.Series) else np.asarray(close)[:train_end]
    return _prices(head)


def _origins(origins: np.ndarray | list[int], n: int, first_allowed: int, who: str) -> np.ndarray:
    """Origins as an int array inside ``first_allowed..n-1``, with an error naming the offending origin."""
    out = np.asarray(origins)
    if out.ndim != 1:
        raise ValueError(f"origins must be a 1-D array of row positions, got shape {out.shape}")
    if out.size and not np.issubdtype(out.dtype, np.integer):
        if not np.all(np.equal(np.mod(out, 1), 0)):
            raise ValueError("origins must be whole row positions (integers)")
    out = out.astype(np.int64)
    if out.size:
        lo, hi = int(out.min()), int(out.max())
        if lo < first_allowed:
            raise ValueError(f"{who} needs origins >= {first_allowed} (enough past rows), got origin {lo}")
        if hi >= n:
            raise ValueError(f"origin {hi} is beyond the last row of close ({n - 1})")
    return out


def _horizon(horizon: int) -> int:
    if not isinstance(horizon, (int, np.integer)) or isinstance(horizon, bool) or horizon < 1:
        raise ValueError(f"horizon must be a whole number of steps >= 1, got {horizon!r}")
    return int(horizon)


# ---------------------------------------------------------------------- naive forecasters
class Persistence:
    """The naive forecast: every step of the horizon is the last known close ``C[t]``.

    On daily prices it is the yardstick to beat (a random walk's best forecast): Theil's U is relative to it.
    """

    name = "persistence"

    def fit(self, close: pd.Series, train_end: int) -> "Persistence":
        """Nothing to learn; checks the arguments so misuse fails the same way for every forecaster."""
        _training_prices(close, train_end)
        return self

    def predict(self, close: pd.Series, origins: np.ndarray, horizon: int) -> np.ndarray:
        values = _prices(close)
        at = _origins(origins, len(values), 0, "persistence")
        return np.repeat(values[at][:, None], _horizon(horizon), axis=1)

    def __repr__(self) -> str:
        return "Persistence()"


class Drift:
    """Persistence plus a straight trend: step ``k`` forecasts ``C[t] + k * slope_``.

    ``slope_`` is the mean daily change over the training rows, ``(C[train_end-1] - C[0]) / (train_end-1)``.
    It is a fitted parameter like any model's weights, so it is estimated on training rows only and then
    frozen: re-estimating it on test rows would let the evaluation period shape the forecaster judged on it.
    """

    name = "drift"

    def __init__(self) -> None:
        self.slope_: float | None = None

    def fit(self, close: pd.Series, train_end: int) -> "Drift":
        train = _training_prices(close, train_end, minimum=2)
        self.slope_ = float((train[-1] - train[0]) / (train.size - 1))
        return self

    def predict(self, close: pd.Series, origins: np.ndarray, horizon: int) -> np.ndarray:
        if self.slope_ is None:
            raise RuntimeError("Drift is not fitted: call fit(close, train_end) before predict")
        values = _prices(close)
        at = _origins(origins, len(values), 0, "drift")
        steps = np.arange(1, _horizon(horizon) + 1, dtype=np.float64)
        return values[at][:, None] + self.slope_ * steps[None, :]

    def __repr__(self) -> str:
        return f"Drift(slope_={self.slope_!r})"


class MovingAverage:
    """Every step forecasts the mean of the last ``n`` closes ``C[t-n+1..t]`` (a smoothed persistence)."""

    name = "moving_average"

    def __init__(self, n: int = 5) -> None:
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"MovingAverage n must be a whole number of days >= 1, got {n!r}")
        self.n = int(n)

    def fit(self, close: pd.Series, train_end: int) -> "MovingAverage":
        _training_prices(close, train_end)
        return self

    def predict(self, close: pd.Series, origins: np.ndarray, horizon: int) -> np.ndarray:
        values = _prices(close)
        at = _origins(origins, len(values), self.n - 1, f"MovingAverage(n={self.n})")
        csum = np.concatenate([[0.0], np.cumsum(values)])
        means = (csum[at + 1] - csum[at + 1 - self.n]) / self.n
        return np.repeat(means[:, None], _horizon(horizon), axis=1)

    def __repr__(self) -> str:
        return f"MovingAverage(n={self.n})"


class SeasonalNaive:
    """Step ``k`` repeats the close one season earlier: ``C[t + k - season*ceil(k/season)]``.

    With ``season=5`` on business days that is "same weekday last week"; ``season=7`` for series that trade
    every day (crypto), 24 for hourly bars around the clock ("same hour yesterday"); :func:`season_length`
    picks it from the dates.
    """

    name = "seasonal_naive"

    def __init__(self, season: int = 5) -> None:
        if not isinstance(season, (int, np.integer)) or season < 1:
            raise ValueError(f"SeasonalNaive season must be a whole number of rows >= 1, got {season!r}")
        self.season = int(season)

    def fit(self, close: pd.Series, train_end: int) -> "SeasonalNaive":
        _training_prices(close, train_end)
        return self

    def predict(self, close: pd.Series, origins: np.ndarray, horizon: int) -> np.ndarray:
        values = _prices(close)
        at = _origins(origins, len(values), self.season - 1, f"SeasonalNaive(season={self.season})")
        k = np.arange(1, _horizon(horizon) + 1)
        back = k - self.season * np.ceil(k / self.season).astype(np.int64)   # in -(season-1)..0
        return values[at[:, None] + back[None, :]]

    def __repr__(self) -> str:
        return f"SeasonalNaive(season={self.season})"


# ---------------------------------------------------------------------- ARIMA
class ArimaForecaster:
    """ARIMA on log prices: parameters estimated once on training rows, state rolled forward without refit.

    ``fit`` estimates the parameters (statsmodels ``ARIMA``, state-space maximum likelihood) on
    ``log(close[:train_end])`` only. ``predict`` runs one Kalman-filter pass over the log prices up to the
    last origin with those parameters frozen (``results.apply(..., refit=False)``); the filter is causal, so
    the predicted state for ``t+1`` uses rows ``<= t`` only. Step ``k`` from origin ``t`` follows the state
    recursion ``a[t+k] = T a[t+k-1] + c`` from that state, which is exactly statsmodels' ``forecast``. Thousands
    of origins take one filtering pass. Forecasts are returned as prices, ``exp`` of the log forecast (the
    median, not the mean, of a log-normal forecast: the usual choice for price paths).
    """

    name = "arima"

    def __init__(self, order: tuple[int, int, int] = (1, 1, 1)) -> None:
        order = tuple(int(v) for v in order)
        if len(order) != 3 or min(order) < 0:
            raise ValueError(f"ARIMA order must be three whole numbers (p, d, q) >= 0, got {order!r}")
        self.order = order
        self.params_: dict[str, float] | None = None
        self.converged_: bool | None = None
        self.results_ = None   # statsmodels ARIMAResults fitted on the training rows

    def fit(self, close: pd.Series, train_end: int) -> "ArimaForecaster":
        from statsmodels.tsa.arima.model import ARIMA

        train = _training_prices(close, train_end, minimum=max(10, 2 * sum(self.order) + 2))
        log_train = _log_prices(train)
        with warnings.catch_warnings():
            # Starting-value and convergence chatter; convergence is recorded in converged_ instead.
            warnings.simplefilter("ignore")
            results = ARIMA(log_train, order=self.order).fit()
        self.results_ = results
        self.params_ = {name: float(v) for name, v in zip(results.param_names, results.params)}
        retvals = getattr(results, "mle_retvals", None) or {}
        self.converged_ = bool(retvals.get("converged", True))
        return self

    def predict(self, close: pd.Series, origins: np.ndarray, horizon: int) -> np.ndarray:
        if self.results_ is None:
            raise RuntimeError("ArimaForecaster is not fitted: call fit(close, train_end) before predict")
        values = _prices(close)
        at = _origins(origins, len(values), 0, f"ARIMA{self.order}")
        steps = _horizon(horizon)
        if at.size == 0:
            return np.empty((0, steps))
        # Filter only up to the last origin: nothing after it can reach any forecast.
        log_known = _log_prices(values[: int(at.max()) + 1])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rolled = self.results_.apply(log_known, refit=False)
        ssm = rolled.model.ssm
        # A constant (the default trend when d = 0) arrives as an intercept repeated for every row; any
        # other time-varying system would need its future matrices, which this recursion does not have.
        matrices = (ssm.transition, ssm.design, ssm.state_intercept, ssm.obs_intercept)
        if any(np.ptp(m, axis=-1).any() for m in matrices):
            raise NotImplementedError(f"ARIMA{self.order} has time-varying system matrices (a time trend); "
                                      "ArimaForecaster supports constant-parameter ARIMA models only")
        transition, design = ssm.transition[:, :, 0], ssm.design[:, :, 0]
        state_c, obs_d = ssm.state_intercept[:, 0], ssm.obs_intercept[:, 0]
        # predicted_state[:, t+1] is the state for row t+1 given rows 0..t: the state at origin t.
        state = np.asarray(rolled.predicted_state)[:, at + 1]          # (k_states, n_origins)
        log_forecast = np.empty((at.size, steps))
        for k in range(steps):
            log_forecast[:, k] = (design @ state)[0] + obs_d[0]
            state = transition @ state + state_c[:, None]
        return np.exp(log_forecast)

    def __repr__(self) -> str:
        return f"ArimaForecaster(order={self.order}, params_={self.params_!r})"


def _log_prices(values: np.ndarray) -> np.ndarray:
    if np.any(values <= 0):
        row = int(np.flatnonzero(values <= 0)[0])
        raise ValueError(f"ARIMA works on log prices and needs positive closes; row {row} is {values[row]!r}")
    return np.log(values)


# ---------------------------------------------------------------------- the default set
def season_length(dates: pd.DatetimeIndex | pd.Series | np.ndarray) -> int:
    """Bars in one cycle of the series (:attr:`helpers.frequency.Frequency.season`): a week of daily bars (7 when
    it trades at weekends, e.g. crypto, else 5), 52 weekly or 12 monthly bars, a day of intraday bars (24 hourly
    bars around the clock, one exchange session's bars).

    Too few or irregular dates to show a frequency count as daily bars; a series counts as every-day when more
    than 10% of its dates fall on a Saturday or Sunday, so a few stray weekend rows in stock data do not flip it.
    """
    from helpers.calendar import trades_weekends
    from helpers.frequency import FrequencyError, infer_frequency

    if len(pd.DatetimeIndex(dates)) == 0:
        raise ValueError("season_length needs at least one date")
    try:
        return infer_frequency(dates).season
    except FrequencyError:
        return 7 if trades_weekends(dates) else 5


def default_baselines(dates: pd.DatetimeIndex, config: "RunConfig") -> list[Forecaster]:
    """The baselines every run reports beside the network, unfitted.

    Persistence, drift, a moving average and a seasonal naive over one cycle of the series (a week of daily
    bars, a day of intraday bars, a year of weekly bars: :func:`season_length`) and ARIMA of
    ``config.arima_order`` on log prices.
    """
    season = season_length(dates)
    return [
        Persistence(),
        Drift(),
        MovingAverage(n=season),
        SeasonalNaive(season=season),
        ArimaForecaster(order=tuple(config.arima_order)),
    ]
