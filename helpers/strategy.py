"""A teaching trading backtest: would acting on the forecast's direction have beaten buying and holding?

Row ``i`` is one trading day: ``previous[i]`` is the close before it (known when deciding), ``forecast[i]``
the forecast of that day's close made then, ``actual[i]`` the close that came. The position held over day
``i`` is decided from ``sign(forecast[i] - previous[i])`` only, so no row uses information from its own
future. Costs are charged on every change of position, including the first entry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["DISCLAIMER", "MODES", "StrategyResult", "strategy_backtest", "performance_stats"]

DISCLAIMER = (
    "A teaching backtest on past prices, not investment advice: it assumes trades at the close at a flat "
    "cost, ignores slippage, taxes, borrowing and shorting fees, and the many strategies one could have "
    "tried before this one; a past edge, if any, says little about the future."
)
MODES = ("long_flat", "long_short")


@dataclass
class StrategyResult:
    """Daily returns, equity curves and statistics of the strategy and of buy-and-hold on the same rows.

    ``equity`` has columns ``date, strategy, buy_and_hold``: the value of 1.0 invested, after each day.
    """

    mode: str
    cost_bps: float
    periods_per_year: int
    positions: np.ndarray = field(repr=False)
    returns: pd.DataFrame = field(repr=False)
    equity: pd.DataFrame = field(repr=False)
    strategy: dict[str, float | int | None]
    buy_and_hold: dict[str, float | int | None]
    disclaimer: str = DISCLAIMER

    def to_dict(self) -> dict:
        """JSON-ready summary (no daily series; those are in ``equity``)."""
        dates = self.equity["date"]
        return {
            "mode": self.mode, "cost_bps": self.cost_bps, "periods_per_year": self.periods_per_year,
            "n_days": int(len(self.equity)),
            "start": pd.Timestamp(dates.iloc[0]).date().isoformat(),
            "end": pd.Timestamp(dates.iloc[-1]).date().isoformat(),
            "strategy": self.strategy, "buy_and_hold": self.buy_and_hold, "disclaimer": self.disclaimer,
        }


def _series(name: str, values, n: int | None) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one value per day), got shape {arr.shape}")
    if n is not None and arr.size != n:
        raise ValueError(f"{name} has {arr.size} rows, dates has {n}: pass the same rows")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} has NaN or infinite values: backtest complete rows only")
    return arr


def strategy_backtest(dates, actual, previous, forecast, *, mode: str = "long_flat", cost_bps: float = 5.0,
                      periods_per_year: int = 252) -> StrategyResult:
    """Trade the forecast's direction each day and compare with buy-and-hold on the same days.

    Position over day ``i``: +1 when ``forecast[i] > previous[i]``; otherwise 0 (``"long_flat"``) or -1
    (``"long_short"``; 0 when the forecast predicts no move). Daily return: ``position * (actual/previous -
    1) - cost_bps/1e4 * |position change|``. Buy-and-hold holds +1 throughout and pays the entry cost once.
    ``periods_per_year``: 252 for stocks, 365 for series that trade every day.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if not math.isfinite(cost_bps) or cost_bps < 0:
        raise ValueError(f"cost_bps must be a cost in basis points >= 0, got {cost_bps!r}")
    if isinstance(periods_per_year, bool) or not isinstance(periods_per_year, (int, np.integer)) \
            or periods_per_year < 1:
        raise ValueError(f"periods_per_year must be a whole number >= 1 (252 stocks, 365 crypto), "
                         f"got {periods_per_year!r}")
    index = pd.DatetimeIndex(dates)
    n = len(index)
    if n < 2:
        raise ValueError(f"a backtest needs at least 2 days, got {n}")
    actual = _series("actual", actual, n)
    previous = _series("previous", previous, n)
    forecast = _series("forecast", forecast, n)
    if np.any(previous <= 0):
        raise ValueError("previous closes must be positive to compute returns")

    market = actual / previous - 1.0
    signal = np.sign(forecast - previous)
    position = np.where(signal > 0, 1.0, 0.0) if mode == "long_flat" else signal
    strat = _net_returns(position, market, cost_bps)
    hold_position = np.ones(n)
    hold = _net_returns(hold_position, market, cost_bps)

    returns = pd.DataFrame({"date": index, "strategy": strat, "buy_and_hold": hold})
    equity = pd.DataFrame({"date": index, "strategy": np.cumprod(1 + strat), "buy_and_hold": np.cumprod(1 + hold)})
    return StrategyResult(
        mode=mode, cost_bps=float(cost_bps), periods_per_year=int(periods_per_year), positions=position,
        returns=returns, equity=equity,
        strategy=performance_stats(strat, position, periods_per_year),
        buy_and_hold=performance_stats(hold, hold_position, periods_per_year),
    )


def _net_returns(position: np.ndarray, market: np.ndarray, cost_bps: float) -> np.ndarray:
    """Position times market return, minus cost on each change of position (starting from flat)."""
    change = np.abs(np.diff(position, prepend=0.0))
    return position * market - cost_bps / 1e4 * change


def performance_stats(returns: np.ndarray, position: np.ndarray, periods_per_year: int) -> dict:
    """Total return, CAGR, annualised volatility, Sharpe and Sortino (rf = 0), maximum drawdown, hit rate,
    turnover and number of trades of a series of daily net returns.

    CAGR annualises by ``len(returns) / periods_per_year`` years. Maximum drawdown is the worst fall from a
    running peak of equity (starting at 1.0), as a negative fraction. Hit rate: share of days in the market
    (position != 0) with a positive net return. Turnover: mean |position change| per day; a trade is a day
    on which the position changes. Undefined ratios (no variation, no day in the market) are None.
    """
    r = np.asarray(returns, dtype=np.float64)
    pos = np.asarray(position, dtype=np.float64)
    n = r.size
    equity = np.cumprod(1 + r)
    total = float(equity[-1] - 1)
    years = n / periods_per_year
    cagr = float(equity[-1] ** (1 / years) - 1) if equity[-1] > 0 else -1.0
    sd = float(r.std(ddof=1)) if n > 1 else 0.0
    mean = float(r.mean())
    downside = float(np.sqrt(np.mean(np.minimum(r, 0.0) ** 2)))
    peaks = np.maximum.accumulate(np.concatenate([[1.0], equity]))[1:]
    drawdown = float(np.min(equity / peaks - 1))
    in_market = pos != 0
    change = np.abs(np.diff(pos, prepend=0.0))
    return {
        "total_return": total,
        "cagr": cagr,
        "annual_volatility": sd * math.sqrt(periods_per_year),
        "sharpe": mean / sd * math.sqrt(periods_per_year) if sd > 0 else None,
        "sortino": mean / downside * math.sqrt(periods_per_year) if downside > 0 else None,
        "max_drawdown": min(drawdown, 0.0),
        "hit_rate": float(np.mean(r[in_market] > 0)) if in_market.any() else None,
        "days_in_market": int(in_market.sum()),
        "turnover": float(change.mean()),
        "n_trades": int(np.count_nonzero(change)),
    }
