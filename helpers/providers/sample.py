"""The embedded sample: Apple's daily prices shipped in ``data/sample/AAPL.csv``, for offline runs and tests.

Apple Inc. (AAPL), daily 2004-08-19 .. 2018-01-19, 3379 rows, columns Date,Open,High,Low,Close,Adj Close,Volume:
a Yahoo Finance export as published in mplfinance's example data (see ``data/README.md``). Read through
:mod:`helpers.providers.csvfile`, so Adj Close is used when ``auto_adjust`` is on.
"""

from __future__ import annotations

import pandas as pd

from helpers.providers import csvfile
from helpers.providers.base import EmptyDownloadError, UnknownTickerError
from helpers.runfolder import PROJECT_ROOT

SOURCE = "sample"
SAMPLE_TICKER = "AAPL"
SAMPLE_PATH = PROJECT_ROOT / "data" / "sample" / "AAPL.csv"
SAMPLE_FIRST, SAMPLE_LAST = "2004-08-19", "2018-01-19"
PROVENANCE = ("embedded sample data/sample/AAPL.csv: Apple Inc. daily prices 2004-08-19..2018-01-19, "
              "a Yahoo Finance export as published in mplfinance's example data")


def fetch(ticker: str, *, start: str | None, end: str | None, auto_adjust: bool = True) -> pd.DataFrame:
    """The sample's rows between ``start`` and ``end`` (inclusive); only ticker AAPL is available."""
    if ticker.strip().upper() != SAMPLE_TICKER:
        raise UnknownTickerError(ticker, SOURCE, f"the embedded sample holds only {SAMPLE_TICKER}")
    frame = csvfile.read_price_csv(SAMPLE_PATH, auto_adjust=auto_adjust)
    if start is not None:
        frame = frame.loc[frame.index >= pd.Timestamp(start)]
    if end is not None:
        frame = frame.loc[frame.index <= pd.Timestamp(end)]
    if frame.empty:
        raise EmptyDownloadError(ticker, f"the embedded sample ({SAMPLE_FIRST}..{SAMPLE_LAST})", start, end)
    return frame


def provenance(auto_adjust: bool = True) -> str:
    """Where the sample comes from, and whether Adj Close was used."""
    adjusted = " (close from Adj Close, open/high/low scaled)" if auto_adjust else " (prices as traded)"
    return PROVENANCE + adjusted
