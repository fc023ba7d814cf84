"""Headline sentiment per trading day: VADER scores, counted only for news known before the close.

A headline published strictly before a trading day's close counts for that day (its closing price could
react to it); one published at or after the close counts for the next trading day, and weekend or holiday
news rolls forward to the next session. So the sentiment feature at day ``t`` uses only news a trader had
before ``C[t]`` was set: no look-ahead.

Scoring is VADER's compound score (vaderSentiment, offline, rule based), with a few finance words added to
its lexicon (see ``FINANCE_LEXICON``): plain VADER reads "Analysts downgrade Apple" as neutral.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

# Valences on VADER's -4..+4 scale, modest on purpose (VADER's own "profit" is +1.9, "loss" -1.3). Single
# tokens only: VADER's lexicon cannot hold phrases such as "price target". "share(s)" is neutral here: in
# VADER it is a friendly verb (+), in market news a noun ("shares fall").
FINANCE_LEXICON: dict[str, float] = {
    "share": 0.0, "shares": 0.0,
    "beat": 1.5, "beats": 1.5, "miss": -1.5, "misses": -1.5, "missed": -1.5,
    "upgrade": 1.8, "upgrades": 1.8, "upgraded": 1.8,
    "downgrade": -1.8, "downgrades": -1.8, "downgraded": -1.8,
    "outperform": 1.5, "outperforms": 1.5, "underperform": -1.5, "underperforms": -1.5,
    "bullish": 1.8, "bearish": -1.8,
    "surge": 1.5, "surges": 1.5, "soar": 1.8, "soars": 1.8, "rally": 1.5, "rallies": 1.5,
    "jump": 1.2, "jumps": 1.2, "rise": 1.0, "rises": 1.0, "climb": 1.0, "climbs": 1.0,
    "plunge": -2.0, "plunges": -2.0, "slump": -1.6, "slumps": -1.6, "tumble": -1.8, "tumbles": -1.8,
    "selloff": -1.5, "slide": -1.0, "slides": -1.0, "fall": -1.0, "falls": -1.0, "drops": -1.0,
    "dip": -0.8, "dips": -0.8, "decline": -1.2, "declines": -1.2, "stalls": -1.2, "delays": -1.0,
    "lawsuit": -1.8, "lawsuits": -1.8, "sues": -1.5, "sued": -1.5, "probe": -1.0, "fined": -1.5,
    "antitrust": -0.8, "recall": -1.2, "layoffs": -1.6,
}

HEADLINE_COLUMNS = ("timestamp", "text")
_OFFSET_SUFFIX = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE)


# ---------------------------------------------------------------------- loading
def load_headlines(path: str | Path) -> pd.DataFrame:
    """Read a ``timestamp,text`` CSV into a frame sorted by time.

    Timestamps with a UTC offset (``2017-05-02T13:05:00-04:00``, ``...Z``) become tz-aware UTC; timestamps
    without one are kept naive and read as exchange-local time by :func:`daily_sentiment`. A file mixing
    both is rejected, since the naive ones would be ambiguous.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no headlines file at {path}: give a CSV with columns timestamp,text "
                                "(see data/headlines/README.md) or leave headlines_path empty")
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    missing = [c for c in HEADLINE_COLUMNS if c not in raw.columns]
    if missing:
        raise ValueError(f"headlines file {path} lacks column(s) {', '.join(missing)}; found "
                         f"{list(raw.columns)}. Expected a header 'timestamp,text' with ISO timestamps such "
                         "as 2017-05-02T13:05:00-04:00")
    text = raw["text"].str.strip()
    blank = np.flatnonzero(text.eq("").to_numpy())
    if len(blank):
        raise ValueError(f"headlines file {path} has empty text on line(s) {_lines(blank)}: "
                         "fill or delete those rows")
    timestamps = _parse_timestamps(raw["timestamp"].str.strip(), str(path))
    frame = pd.DataFrame({"timestamp": timestamps, "text": text})
    return frame.sort_values("timestamp", kind="stable").reset_index(drop=True)


def _lines(rows: np.ndarray, limit: int = 5) -> str:
    # +2: the header is line 1 and rows count from 0.
    shown = ", ".join(str(r + 2) for r in rows[:limit])
    return shown + (f" and {len(rows) - limit} more" if len(rows) > limit else "")


def _parse_timestamps(values: pd.Series, source: str) -> pd.Series:
    has_offset = values.str.contains(_OFFSET_SUFFIX).to_numpy()
    if has_offset.any() and not has_offset.all():
        raise ValueError(
            f"headlines file {source} mixes timestamps with a UTC offset (line {_lines(np.flatnonzero(has_offset), 1)})"
            f" and without one (line {_lines(np.flatnonzero(~has_offset), 1)}): give every timestamp an "
            "offset, e.g. 2017-05-02T13:05:00-04:00, or none (then they are read as exchange-local time)")
    parsed = pd.to_datetime(values, utc=bool(has_offset.all()) and len(values) > 0, format="ISO8601",
                            errors="coerce")
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if len(bad):
        raise ValueError(f"headlines file {source}: cannot read timestamp {values.iloc[bad[0]]!r} on line(s) "
                         f"{_lines(bad)}; use ISO 8601 such as 2017-05-02T13:05:00-04:00")
    return parsed


# ---------------------------------------------------------------------- scoring
@functools.lru_cache(maxsize=2)
def _analyzer(finance_terms: bool):
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    if finance_terms:
        analyzer.lexicon.update(FINANCE_LEXICON)  # this instance's copy only
    return analyzer


def score_headlines(texts: Iterable[str], *, finance_terms: bool = True) -> np.ndarray:
    """VADER compound score of each text, float64 in [-1, 1] (positive = good news), shape ``(n,)``.

    ``finance_terms`` adds ``FINANCE_LEXICON`` (beats, misses, downgrade, lawsuit, ...) to VADER's lexicon.
    """
    analyzer = _analyzer(bool(finance_terms))
    return np.array([analyzer.polarity_scores(str(t))["compound"] for t in texts], dtype="float64")


# ---------------------------------------------------------------------- per trading day
def daily_sentiment(headlines: pd.DataFrame, trading_dates: pd.DatetimeIndex, *, close_time: str = "16:00",
                    tz: str = "America/New_York") -> pd.DataFrame:
    """Mean VADER score and number of headlines per trading day, counted before that day's close.

    A headline counts for the first trading day whose close (``close_time`` in ``tz``) is strictly later
    than its publication: before the close -> that day; at or after the close, or on a non-trading day ->
    the next trading day. Days without news get ``sentiment_mean`` 0 and ``sentiment_count`` 0. Headlines
    before the first trading date (no earlier close to measure from) or after the last close (their day
    is not in ``trading_dates``) are left out. Tz-aware timestamps are converted to ``tz``; naive ones are
    taken as already in ``tz``.

    Intraday bars (timestamps with a time of day) have no daily close: a headline counts for the first bar
    stamped strictly after its publication. Bars are usually stamped at their start, so this is one bar late
    rather than ever early: no bar sees a headline published after it was stamped.

    Returns a frame indexed by ``trading_dates`` with float64 ``sentiment_mean`` and int64 ``sentiment_count``.
    """
    dates = _check_trading_dates(trading_dates)
    missing = [c for c in HEADLINE_COLUMNS if c not in headlines.columns]
    if missing:
        raise ValueError(f"headlines frame lacks column(s) {', '.join(missing)}; found {list(headlines.columns)};"
                         " load it with helpers.sentiment.load_headlines")
    local = _exchange_local_times(headlines["timestamp"], tz)
    intraday = bool((dates != dates.normalize()).any())
    closes = (dates if intraday else dates.normalize() + _parse_close_time(close_time)).as_unit("ns")
    day = closes.searchsorted(local.to_numpy(), side="right")  # first close strictly after publication
    counted = (local >= dates[0].normalize()).to_numpy() & (day < len(dates))

    out = pd.DataFrame({"sentiment_mean": 0.0, "sentiment_count": 0}, index=trading_dates)
    if counted.any():
        scores = pd.Series(score_headlines(headlines["text"].to_numpy()[counted]))
        per_day = scores.groupby(day[counted]).agg(["mean", "count"])
        out.iloc[per_day.index, 0] = per_day["mean"].to_numpy()
        out.iloc[per_day.index, 1] = per_day["count"].to_numpy()
    return out.astype({"sentiment_mean": "float64", "sentiment_count": "int64"})


def _check_trading_dates(trading_dates: pd.DatetimeIndex) -> pd.DatetimeIndex:
    if not isinstance(trading_dates, pd.DatetimeIndex):
        raise ValueError(f"trading_dates must be a DatetimeIndex, got {type(trading_dates).__name__}")
    if trading_dates.tz is not None:
        raise ValueError("trading_dates must be tz-naive calendar dates (the prices frame's index), "
                         f"got tz {trading_dates.tz}")
    if len(trading_dates) == 0:
        raise ValueError("trading_dates is empty: there is no trading day to count headlines for")
    if not trading_dates.is_monotonic_increasing or not trading_dates.is_unique:
        raise ValueError("trading_dates must be sorted and unique")
    return trading_dates


def _parse_close_time(close_time: str) -> pd.Timedelta:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", str(close_time).strip())
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError(f"close_time must be HH:MM in exchange-local time, e.g. '16:00', got {close_time!r}")
    return pd.Timedelta(hours=int(match[1]), minutes=int(match[2]))


def _exchange_local_times(timestamps: pd.Series, tz: str) -> pd.Series:
    """Publication times as naive wall-clock times of the exchange, nanosecond unit."""
    stamps = pd.to_datetime(timestamps)
    if stamps.isna().any():
        raise ValueError("headline timestamps contain missing values: drop those rows or load the file "
                         "with helpers.sentiment.load_headlines, which names them")
    if stamps.dt.tz is not None:
        stamps = stamps.dt.tz_convert(tz).dt.tz_localize(None)
    return stamps.dt.as_unit("ns")


def run_headlines(config: Any) -> pd.DataFrame | None:
    """The headlines a run's features read (``config.headlines_path`` when sentiment is among its features),
    else None."""
    if "sentiment" not in config.features or not config.headlines_path:
        return None
    return load_headlines(config.headlines_path)
