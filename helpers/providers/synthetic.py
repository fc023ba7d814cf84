"""SYNTHETIC prices: seeded geometric Brownian motion whose drift and volatility switch between regimes.

For runs without any real data, and for tests that need a known process. Nothing here is a real market, and
every frame is labelled so: ``PriceData.meta['synthetic']`` is True and the provenance says so.

The process: a hidden regime follows a Markov chain over :data:`REGIMES` (on each day it switches with
probability ``1 / mean_regime_days`` to one of the other regimes); the close follows GBM with the regime's
annual drift and volatility. Open is the previous close times a small overnight gap; high and low extend past
max(open, close) and min(open, close) by a random fraction of the day's volatility, so high >= max(open, close)
and low <= min(open, close) always hold. Volume is log-normal and rises on large moves. The same seed and
dates give the same frame, bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers.providers.base import EmptyDownloadError

SOURCE = "synthetic"
TRADING_DAYS_PER_YEAR = 252
DEFAULT_LAST_DAY = "2023-12-29"   # fixed so an unbounded request gives the same dates on every machine and day


@dataclass(frozen=True)
class Regime:
    """One market state: annual drift and annual volatility of log prices."""

    name: str
    drift: float
    volatility: float


REGIMES: tuple[Regime, ...] = (
    Regime("calm rise", drift=0.15, volatility=0.12),
    Regime("sideways", drift=0.0, volatility=0.22),
    Regime("volatile fall", drift=-0.35, volatility=0.45),
)


def fetch(ticker: str, *, start: str | None, end: str | None, auto_adjust: bool = True, seed: int = 0,
          n_days: int = 1500, start_price: float = 100.0, mean_regime_days: float = 120.0) -> pd.DataFrame:
    """A synthetic OHLCV frame on business days (``ticker`` and ``auto_adjust`` only label / are ignored).

    Dates: ``start``..``end`` when both are given; otherwise ``n_days`` business days from ``start``, or ending
    at ``end``, or ending at :data:`DEFAULT_LAST_DAY`.
    """
    dates = synthetic_dates(start=start, end=end, n_days=n_days)
    if len(dates) == 0:
        raise EmptyDownloadError(ticker, SOURCE, start, end)
    frame = simulate(dates, seed=seed, start_price=start_price, mean_regime_days=mean_regime_days)
    return frame.drop(columns="regime")


def provenance(seed: int) -> str:
    """The label every synthetic frame carries."""
    return f"SYNTHETIC data (GBM with regime changes, seed={seed}) — not a real market"


def synthetic_dates(*, start: str | None, end: str | None, n_days: int = 1500) -> pd.DatetimeIndex:
    """Business days (Mon-Fri; no holidays) for the request."""
    if n_days < 1:
        raise ValueError(f"n_days = {n_days}: ask for at least 1 day of synthetic data")
    if start is not None and end is not None:
        dates = pd.bdate_range(start, end)
    elif start is not None:
        dates = pd.bdate_range(start=start, periods=n_days)
    else:
        dates = pd.bdate_range(end=end or DEFAULT_LAST_DAY, periods=n_days)
    return pd.DatetimeIndex(dates, name="date").as_unit("ns")


def simulate(dates: pd.DatetimeIndex, *, seed: int = 0, start_price: float = 100.0,
             mean_regime_days: float = 120.0) -> pd.DataFrame:
    """OHLCV plus a ``regime`` column (index into :data:`REGIMES`) on ``dates``, from one seeded generator."""
    rng = np.random.default_rng(seed)
    n = len(dates)
    regime = _regime_path(rng, n, mean_regime_days)
    drift = np.array([r.drift for r in REGIMES])[regime] / TRADING_DAYS_PER_YEAR
    vol = np.array([r.volatility for r in REGIMES])[regime] / np.sqrt(TRADING_DAYS_PER_YEAR)
    log_return = drift - 0.5 * vol**2 + vol * rng.standard_normal(n)
    log_return[0] = 0.0
    close = start_price * np.exp(np.cumsum(log_return))
    previous_close = np.concatenate([[start_price], close[:-1]])
    gap = 0.25 * vol * rng.standard_normal(n)
    open_ = previous_close * np.exp(gap)
    top, bottom = np.maximum(open_, close), np.minimum(open_, close)
    high = top * np.exp(0.5 * vol * np.abs(rng.standard_normal(n)))
    low = bottom * np.exp(-0.5 * vol * np.abs(rng.standard_normal(n)))
    move = np.abs(np.log(close / previous_close)) / vol
    volume = np.round(1_000_000 * np.exp(0.3 * rng.standard_normal(n)) * (1.0 + 0.5 * move))
    frame = pd.DataFrame({"open": open_, "high": high, "low": low, "close": close, "volume": volume,
                          "regime": regime}, index=pd.DatetimeIndex(dates, name="date"))
    return frame.astype({c: "float64" for c in ("open", "high", "low", "close", "volume")})


def _regime_path(rng: np.random.Generator, n: int, mean_regime_days: float) -> np.ndarray:
    """A Markov chain over the regimes: stay with probability 1 - 1/mean_regime_days, else jump to another."""
    switch = rng.random(n) < 1.0 / max(mean_regime_days, 1.0)
    jump = rng.integers(1, len(REGIMES), size=n)
    path = np.empty(n, dtype=np.int64)
    current = int(rng.integers(0, len(REGIMES)))
    for t in range(n):
        if t > 0 and switch[t]:
            current = (current + int(jump[t])) % len(REGIMES)
        path[t] = current
    return path
