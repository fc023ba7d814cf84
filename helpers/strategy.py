"""A teaching trading backtest: would acting on the forecast's direction have beaten buying and holding?

Row ``i`` is one trading day: ``previous[i]`` is the close before it (known when deciding), ``forecast[i]``
the forecast of that day's close made then, ``actual[i]`` the close that came. The position held over day
``i`` is decided from ``sign(forecast[i] - previous[i])`` only, so no row uses information from its own
future. Costs are charged on every change of position, including the first entry.

A return on its own says nothing about skill: in a rising market any strategy that is often long makes money.
The yardstick is **random timing** (:func:`random_timing`): the strategy's own positions (the same days long,
the same trades, the same costs) dealt against the test days' market returns in many random orders. The share
of draws that did at least as well is the p-value of "the forecast's timing beat chance"
(:func:`chance_sentence` says it in words). Annualisation uses ``periods_per_year`` bars: 252 for a
business-day series, 365 for one that trades every day (:func:`trading_days_per_year`), the bars per year of the
series' own frequency otherwise (24 × 365 for hourly crypto, 52 for weekly bars: :func:`bars_per_year`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from helpers.calendar import infer_calendar
from helpers.frequency import bar_word, iso_stamp

__all__ = ["DISCLAIMER", "MODES", "TRADING_DAYS_PER_YEAR", "CHANCE_DRAWS", "CHANCE_ALPHA", "StrategyResult",
           "ChanceYardstick", "strategy_backtest", "performance_stats", "trading_days_per_year", "bars_per_year",
           "random_timing",
           "chance_sentence"]

DISCLAIMER = (
    "A teaching backtest on past prices, not investment advice: it assumes trades at the close at a flat "
    "cost, ignores slippage, taxes, borrowing and shorting fees, and the many strategies one could have "
    "tried before this one; a past edge, if any, says little about the future."
)
MODES = ("long_flat", "long_short")
MODE_NAMES = {"long_flat": "long/flat", "long_short": "long/short"}

# Trading days per year, by the series' calendar (helpers.calendar): what Sharpe, volatility and CAGR annualise by.
TRADING_DAYS_PER_YEAR = {"business": 252, "daily": 365}

# Random-timing draws: enough that a p-value near 0.05 is known to about +-0.005.
CHANCE_DRAWS = 2000
# A strategy "beat chance" when random timing did at least as well on fewer than this share of draws.
CHANCE_ALPHA = 0.05
# Draws simulated at once: bounds memory on long test periods.
_DRAW_CHUNK = 250


@dataclass
class ChanceYardstick:
    """The strategy's total return and Sharpe beside their distribution under random timing.

    ``total_return`` and ``sharpe`` hold one value per draw (``sharpe`` NaN where a draw's returns do not
    vary). ``p_total_return`` / ``p_sharpe``: share of draws at least as good as the strategy, counting the
    strategy itself, ``(1 + #{draw >= observed}) / (1 + n_draws)``; NaN when the strategy's Sharpe is undefined.
    """

    total_return: np.ndarray = field(repr=False)
    sharpe: np.ndarray = field(repr=False)
    observed_total_return: float
    observed_sharpe: float | None
    p_total_return: float
    p_sharpe: float
    n_draws: int
    seed: int
    alpha: float = CHANCE_ALPHA

    @property
    def beat_chance(self) -> bool:
        """True when random timing did at least as well on fewer than ``alpha`` of the draws (total return)."""
        return bool(self.p_total_return < self.alpha)

    def to_dict(self) -> dict:
        """JSON-ready: p-values, draws, seed and the 5/50/95% quantiles of each null distribution."""
        def quantiles(values: np.ndarray) -> dict[str, float | None]:
            finite = values[np.isfinite(values)]
            return {f"q{q}": (float(np.quantile(finite, q / 100)) if finite.size else None) for q in (5, 50, 95)}

        return {"method": "random timing: the strategy's positions against the test returns in random order",
                "n_draws": self.n_draws, "seed": self.seed, "alpha": self.alpha,
                "p_total_return": self.p_total_return,
                "p_sharpe": None if math.isnan(self.p_sharpe) else self.p_sharpe,
                "beat_chance": self.beat_chance,
                "total_return_quantiles": quantiles(self.total_return), "sharpe_quantiles": quantiles(self.sharpe)}


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
    chance: ChanceYardstick | None = None

    def to_dict(self) -> dict:
        """JSON-ready summary (no daily series; those are in ``equity``)."""
        dates = self.equity["date"]
        return {
            "mode": self.mode, "cost_bps": self.cost_bps, "periods_per_year": self.periods_per_year,
            "n_days": int(len(self.equity)),
            "start": iso_stamp(dates.iloc[0], dates),
            "end": iso_stamp(dates.iloc[-1], dates),
            "strategy": self.strategy, "buy_and_hold": self.buy_and_hold, "disclaimer": self.disclaimer,
            **({"against_chance": {**self.chance.to_dict(), "sentence": chance_sentence(self)}}
               if self.chance is not None else {}),
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


def trading_days_per_year(dates) -> int:
    """Trading days per year of a daily series: 365 when it trades at weekends (crypto), else 252."""
    return TRADING_DAYS_PER_YEAR["daily" if infer_calendar(dates) == "daily" else "business"]


def bars_per_year(dates) -> int:
    """Bars per year of the series' own frequency (:attr:`helpers.frequency.Frequency.bars_per_year`, rounded):
    252 or 365 for daily bars, 24 × 365 for hourly crypto, 52 for weekly bars. Dates too few or irregular to show
    a frequency count as daily (:func:`trading_days_per_year`)."""
    from helpers.frequency import FrequencyError, infer_frequency

    try:
        frequency = infer_frequency(dates)
    except FrequencyError:
        return trading_days_per_year(dates)
    if frequency.is_daily:
        return trading_days_per_year(dates)
    return max(1, int(round(frequency.bars_per_year)))


def strategy_backtest(dates, actual, previous, forecast, *, mode: str = "long_flat", cost_bps: float = 5.0,
                      periods_per_year: int | None = None, chance_draws: int = 0,
                      seed: int = 0) -> StrategyResult:
    """Trade the forecast's direction each day and compare with buy-and-hold on the same days.

    Position over day ``i``: +1 when ``forecast[i] > previous[i]``; otherwise 0 (``"long_flat"``) or -1
    (``"long_short"``; 0 when the forecast predicts no move). Daily return: ``position * (actual/previous -
    1) - cost_bps/1e4 * |position change|``. Buy-and-hold holds +1 throughout and pays the entry cost once.
    ``periods_per_year``: 252 for stocks, 365 for series that trade every day, the bars per year of other
    frequencies; None reads it from ``dates`` (:func:`bars_per_year`).
    ``chance_draws`` > 0 adds the random-timing yardstick (:func:`random_timing`, seeded by ``seed``).
    """
    if periods_per_year is None:
        periods_per_year = bars_per_year(dates)
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
    stats = performance_stats(strat, position, periods_per_year)
    chance = (random_timing(position, market, cost_bps, periods_per_year, n_draws=chance_draws, seed=seed)
              if chance_draws else None)
    return StrategyResult(
        mode=mode, cost_bps=float(cost_bps), periods_per_year=int(periods_per_year), positions=position,
        returns=returns, equity=equity, strategy=stats,
        buy_and_hold=performance_stats(hold, hold_position, periods_per_year), chance=chance,
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


# ---------------------------------------------------------------------- the yardstick: random timing
def random_timing(position, market, cost_bps: float, periods_per_year: int, *, n_draws: int = CHANCE_DRAWS,
                  seed: int = 0, alpha: float = CHANCE_ALPHA) -> ChanceYardstick:
    """The strategy's total return and Sharpe against ``n_draws`` strategies with the same positions dealt
    against the days' market returns in a random order (seeded).

    Shuffling the returns rather than the positions keeps everything but the timing: the same share of long
    (and short) days, so the same exposure to the market's drift, and the same trades, so the same costs. A
    forecast with no timing skill is one such draw, so its p-value is uniform: below ``alpha`` on about
    ``alpha`` of the periods. ``position`` and ``market`` (simple returns) are ``(days,)`` arrays.
    """
    if not isinstance(n_draws, (int, np.integer)) or isinstance(n_draws, bool) or n_draws < 1:
        raise ValueError(f"n_draws must be a whole number of random-timing draws >= 1, got {n_draws!r}")
    pos = _series("position", position, None)
    mkt = _series("market", market, pos.size)
    cost = cost_bps / 1e4 * np.abs(np.diff(pos, prepend=0.0))
    observed = pos * mkt - cost
    obs_total = float(np.expm1(np.sum(np.log1p(observed))))
    obs_sharpe = _sharpe(observed[None, :], periods_per_year)[0]
    rng = np.random.default_rng(seed)
    totals, sharpes = [], []
    for start in range(0, n_draws, _DRAW_CHUNK):
        size = min(_DRAW_CHUNK, n_draws - start)
        shuffled = rng.permuted(np.broadcast_to(mkt, (size, mkt.size)), axis=1)
        r = pos[None, :] * shuffled - cost[None, :]
        totals.append(np.expm1(np.sum(np.log1p(r), axis=1)))
        sharpes.append(_sharpe(r, periods_per_year))
    total, sharpe = np.concatenate(totals), np.concatenate(sharpes)
    return ChanceYardstick(
        total_return=total, sharpe=sharpe, observed_total_return=obs_total,
        observed_sharpe=None if math.isnan(obs_sharpe) else float(obs_sharpe),
        p_total_return=_p_at_least(total, obs_total),
        p_sharpe=math.nan if math.isnan(obs_sharpe) else _p_at_least(np.nan_to_num(sharpe, nan=-np.inf), obs_sharpe),
        n_draws=int(n_draws), seed=int(seed), alpha=float(alpha))


def _sharpe(returns: np.ndarray, periods_per_year: int) -> np.ndarray:
    """Annualised Sharpe ratio (rf = 0) of each row of ``(draws, days)`` returns; NaN where a row is constant."""
    sd = returns.std(axis=1, ddof=1) if returns.shape[1] > 1 else np.zeros(returns.shape[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        out = returns.mean(axis=1) / sd * math.sqrt(periods_per_year)
    return np.where(sd > 1e-15, out, np.nan)


def _p_at_least(null: np.ndarray, observed: float) -> float:
    """Monte Carlo p-value counting the observed value as one draw: never 0, which n draws cannot show."""
    # A tolerance so that draws equal to the observed value up to rounding count as "at least as good".
    return float((1 + np.sum(null >= observed - 1e-12)) / (1 + null.size))


def chance_sentence(result: StrategyResult) -> str:
    """One paragraph: the strategy's return and Sharpe with the costs charged, beside buy-and-hold, and
    whether it beat random timing (p-value below ``CHANCE_ALPHA``) in words."""
    chance = result.chance
    if chance is None:
        raise ValueError("this backtest has no random-timing yardstick: run strategy_backtest(..., chance_draws=2000)")
    s, bh = result.strategy, result.buy_and_hold
    costs = (f"costs of {result.cost_bps:g} bp per unit of position change (entering or leaving the market once "
             f"costs {result.cost_bps:g} bp)" if result.cost_bps > 0 else "no trading costs charged")
    sharpe = "undefined" if s["sharpe"] is None else f"{s['sharpe']:.2f}"
    unit = bar_word(result.equity["date"])
    trading = "trading " if unit == "day" else ""
    head = (f"With {costs}, the {MODE_NAMES[result.mode]} strategy returned {s['total_return']:+.1%} over "
            f"{len(result.equity)} test {unit}s (Sharpe {sharpe}, annualised with {result.periods_per_year} "
            f"{trading}{unit}s a year); buy-and-hold returned {bh['total_return']:+.1%}. ")
    odds = (f"Random timing (the same long {unit}s and trades, dealt against the {unit}s' returns in {chance.n_draws} "
            f"random orders) did at least as well on {chance.p_total_return:.1%} of draws "
            f"(p = {chance.p_total_return:.3f}")
    odds += ")" if math.isnan(chance.p_sharpe) else f"; for the Sharpe ratio p = {chance.p_sharpe:.3f})"
    if chance.beat_chance:
        verdict = (f": the strategy beat chance at the {chance.alpha:.0%} level. One test period and one of many "
                   "possible rules: treat it as a lead to re-test on new data, not as an edge.")
    else:
        verdict = (f": the strategy did not beat chance at the {chance.alpha:.0%} level. Its result is what "
                   "luck gives with the same time in the market; any gap to buy-and-hold comes from that exposure "
                   "and the costs, not from the forecast's timing.")
    return head + odds + verdict
