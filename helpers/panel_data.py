"""A panel of daily closes: many tickers aligned on one calendar, with what each ticker lacks, and why.

Sources: one wide CSV (a date column, one close column per ticker), a folder of per-ticker CSVs (each read by
the series' CSV provider, ticker = file name), or tickers through the price cache and yfinance
(:func:`helpers.data.load_prices`), optionally listed in a *universe file* with its as-of date.

Alignment policy (stated in every report, :data:`ALIGNMENT_POLICY`):

- the calendar is the union of every ticker's dates; a date on which fewer than half of the tickers listed
  then have a price (a stray holiday row of one file) is dropped and counted;
- nothing is filled: a ticker's days before its first price (late listing), after its last (delisting or
  the end of its file) and inside its history (gaps) stay missing. A missing price makes that day's and the
  next day's returns missing, and a (day, ticker) sample is used only when its whole input window and its
  next-day return exist. No return is invented for a delisting: the ticker leaves the cross-section on its
  last day, which flatters any portfolio that would have held it.

Survivorship: a list of tickers chosen today and used for the past holds only survivors; every panel's
``meta['survivorship']`` says so in one sentence, which reports print.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from helpers.config import ConfigError
from helpers.panel_config import PanelConfig

log = logging.getLogger(__name__)

ALIGNMENT_POLICY = (
    "Dates are the union of every ticker's dates; a date on which fewer than half of the tickers listed then "
    "have a price is dropped. Nothing is filled: days before a ticker's first price (late listing), after its "
    "last (delisting) and inside its history (gaps) stay missing; a sample is used only when its whole input "
    "window and its next-day return exist. No delisting return is invented: a ticker leaves the cross-section "
    "on its last day.")
MIN_SHARE_LISTED = 0.5


@dataclass(frozen=True)
class Universe:
    """A list of tickers as it stood on ``as_of`` (read from a universe file)."""

    tickers: tuple[str, ...]
    as_of: str
    name: str = ""
    source: str = ""


@dataclass
class PanelData:
    """Wide daily closes ``(dates, tickers)`` (NaN where a ticker has no price), and what each ticker lacks."""

    closes: pd.DataFrame
    report: pd.DataFrame                       # one row per ticker: first, last, prices, gaps, late, delisted
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def tickers(self) -> list[str]:
        return [str(c) for c in self.closes.columns]

    def returns(self) -> pd.DataFrame:
        """Simple daily returns ``close[t] / close[t-1] - 1``; missing where either price is missing."""
        return self.closes / self.closes.shift(1) - 1.0


# ---------------------------------------------------------------------- universe files
def read_universe(path: str | Path) -> Universe:
    """Read a universe file: ``# key: value`` header lines (``as_of`` required; ``name``, ``source``
    optional), then one ticker per line (blank lines and ``#`` comments ignored)::

        # name: large US banks
        # as_of: 2024-06-28
        # source: index provider's list of that day
        JPM
        BAC
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError("universe_path", str(path), "an existing universe file (tickers, one per line, and "
                                                      "a '# as_of: YYYY-MM-DD' line)")
    header: dict[str, str] = {}
    tickers: list[str] = []
    for line in path.read_text().splitlines():
        text = line.strip()
        if text.startswith("#"):
            key, sep, value = text.lstrip("#").partition(":")
            if sep:
                header[key.strip().lower()] = value.strip()
        elif text:
            tickers.append(text.split(",")[0].strip().upper())
    as_of = header.get("as_of", "")
    try:
        dt.date.fromisoformat(as_of)
    except ValueError:
        raise ConfigError("universe_path", str(path), f"a '# as_of: YYYY-MM-DD' line saying when the list was "
                                                      f"drawn up (found {as_of!r})") from None
    if not tickers:
        raise ConfigError("universe_path", str(path), "at least one ticker, one per line")
    duplicates = sorted({t for t in tickers if tickers.count(t) > 1})
    if duplicates:
        raise ConfigError("universe_path", str(path), f"each ticker once; repeated: {', '.join(duplicates)}")
    return Universe(tuple(tickers), as_of, header.get("name", ""), header.get("source", ""))


def survivorship_sentence(start: Any, as_of: str | None = None) -> str:
    """The one sentence every report on a hand-picked or current list of tickers must carry."""
    when = f"the list as of {as_of}" if as_of else "a list of tickers chosen today"
    return (f"Survivorship bias: this panel is {when}, used for dates from {pd.Timestamp(start).date()}; "
            f"companies that were delisted, merged or dropped from the index before then are missing, so any "
            f"result here is likely better than a point-in-time universe would give.")


# ---------------------------------------------------------------------- loading
def load_panel(config: PanelConfig, *, load_ticker: Callable[[str], pd.Series] | None = None) -> PanelData:
    """The panel ``config`` describes, aligned with :data:`ALIGNMENT_POLICY` and cut to start/end.

    ``load_ticker`` (tickers and universe sources): a function ticker -> close series; default the series'
    source chain (cache, then yfinance) through :func:`helpers.data.load_prices`.
    """
    source = config.data_source
    as_of = None
    if source == "csv":
        closes, provenance = read_wide_csv(config.csv_path), f"wide CSV {config.csv_path}"
    elif source == "csv_dir":
        closes, provenance = read_csv_folder(config.csv_dir), f"folder of per-ticker CSVs {config.csv_dir}"
    elif source in ("tickers", "universe"):
        tickers = list(config.tickers)
        if source == "universe":
            universe = read_universe(config.universe_path)
            tickers, as_of = list(universe.tickers), universe.as_of
        closes = closes_from_tickers(tickers, config, load_ticker)
        provenance = f"{len(tickers)} tickers through the price cache and yfinance"
    else:
        raise ConfigError("csv_path", None, "a panel source: csv_path (a wide CSV), csv_dir (a folder of CSVs), "
                                            "tickers, or universe_path")
    if config.start:
        closes = closes.loc[closes.index >= pd.Timestamp(config.start)]
    if config.end:
        closes = closes.loc[closes.index <= pd.Timestamp(config.end)]
    panel = align_panel(closes)
    if panel.closes.empty:
        raise ConfigError("start", config.start, f"a date range holding prices; the {provenance} has none in it")
    panel.meta.update(source=source, provenance=provenance, as_of=as_of,
                      survivorship=survivorship_sentence(panel.closes.index[0], as_of))
    return panel


def read_wide_csv(path: str | Path) -> pd.DataFrame:
    """A wide CSV (a date column first or named date/Date, then one close column per ticker) as closes."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError("csv_path", str(path), "an existing wide CSV: a date column, then one close column "
                                                 "per ticker")
    raw = pd.read_csv(path)
    names = {str(c).strip().lower(): c for c in raw.columns}
    date_col = names.get("date", raw.columns[0])
    dates = pd.to_datetime(raw[date_col], errors="coerce", format="mixed")
    if dates.isna().mean() > 0.5:
        raise ConfigError("csv_path", str(path), f"a first column of dates; column {date_col!r} does not parse "
                                                 f"as dates")
    closes = raw.drop(columns=[date_col]).apply(pd.to_numeric, errors="coerce")
    closes.index = pd.DatetimeIndex(dates, name="date").normalize()
    closes = closes.loc[closes.index.notna()]
    closes.columns = [str(c).strip() for c in closes.columns]
    if closes.shape[1] < 2:
        raise ConfigError("csv_path", str(path), "at least two ticker columns (a panel needs a cross-section)")
    return closes.astype("float64")


def read_csv_folder(folder: str | Path) -> pd.DataFrame:
    """Every ``*.csv`` of ``folder`` read by the series' CSV provider; ticker = the file name without .csv."""
    from helpers.providers.csvfile import read_price_csv

    folder = Path(folder)
    files = sorted(folder.glob("*.csv")) if folder.is_dir() else []
    if len(files) < 2:
        raise ConfigError("csv_dir", str(folder), "a folder holding at least two per-ticker CSV files")
    series = {}
    for file in files:
        frame = read_price_csv(file)
        series[file.stem] = frame["close"].groupby(level=0).last()   # a repeated date keeps its last row
    return pd.DataFrame(series)


def closes_from_tickers(tickers: list[str], config: PanelConfig,
                        load_ticker: Callable[[str], pd.Series] | None = None) -> pd.DataFrame:
    """Closes of ``tickers`` side by side, each from ``load_ticker`` (default: cache, then yfinance)."""
    if len(tickers) < 2:
        raise ConfigError("tickers", tickers, "at least two symbols (a panel needs a cross-section)")
    load_ticker = load_ticker or (lambda t: _close_from_source_chain(t, config))
    return pd.DataFrame({t: load_ticker(t) for t in tickers})


def _close_from_source_chain(ticker: str, config: PanelConfig) -> pd.Series:
    from helpers.config import RunConfig
    from helpers.data import load_prices

    run = RunConfig(ticker=ticker, source="auto", start=config.start, end=config.end)
    return load_prices(run).prices["close"]


def align_panel(closes: pd.DataFrame) -> PanelData:
    """Apply :data:`ALIGNMENT_POLICY` to wide closes; return the panel with its per-ticker report."""
    closes = closes.sort_index()
    closes.index = pd.DatetimeIndex(closes.index, name="date").normalize().as_unit("ns")
    closes = closes.loc[~closes.index.duplicated(keep="last")]
    closes = closes.where(closes > 0)             # a non-positive price is not a price
    present = closes.notna().to_numpy()
    first = present.argmax(axis=0)
    last = len(closes) - 1 - present[::-1].argmax(axis=0)
    rows = np.arange(len(closes))[:, None]
    listed = (rows >= first) & (rows <= last) & present.any(axis=0)
    share = present.sum(axis=1) / np.maximum(listed.sum(axis=1), 1)
    keep = share >= MIN_SHARE_LISTED
    dropped = closes.index[~keep]
    closes = closes.loc[keep]
    report = ticker_report(closes)
    meta = {"policy": ALIGNMENT_POLICY, "dropped_dates": [str(d.date()) for d in dropped],
            "days": int(len(closes)), "tickers": int(closes.shape[1])}
    return PanelData(closes=closes, report=report, meta=meta)


def ticker_report(closes: pd.DataFrame) -> pd.DataFrame:
    """Per ticker: first and last date with a price, prices held, gap days inside its history, and whether
    it listed after the panel's first day or ended before its last."""
    out = []
    start, end = closes.index[0], closes.index[-1]
    for ticker in closes.columns:
        series = closes[ticker]
        valid = series.dropna()
        if valid.empty:
            out.append({"ticker": ticker, "first": None, "last": None, "prices": 0, "gap_days": 0,
                        "late_listing": True, "delisted": True})
            continue
        inside = series.loc[valid.index[0]:valid.index[-1]]
        out.append({"ticker": str(ticker), "first": str(valid.index[0].date()), "last": str(valid.index[-1].date()),
                    "prices": int(valid.size), "gap_days": int(inside.isna().sum()),
                    "late_listing": bool(valid.index[0] > start), "delisted": bool(valid.index[-1] < end)})
    return pd.DataFrame(out).set_index("ticker")
