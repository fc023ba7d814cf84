"""Daily prices from any reasonable CSV file: Yahoo and Nasdaq exports, pandas dumps, FRED series.

What is understood:

- column names in any case, with spaces, underscores or punctuation: ``Adj Close``, ``adj_close``,
  ``Close/Last``, ``Close*``; the date in a ``date``/``Date``/``timestamp``/``Datetime``/``time``/``day`` column,
  or in an unnamed leading (index) column; a leading integer counter column (a pandas index) is ignored;
- dates as ISO ``YYYY-MM-DD`` (a time and UTC offset after it are ignored: the local date is the bar's date),
  US ``MM/DD/YYYY``, or Unix timestamps in seconds or milliseconds;
- numbers with dollar signs and thousands separators (``$1,234.50``);
- missing values written as empty, ``.`` (FRED), ``null``, ``-``, ``NaN``, ``N/A``;
- close-only files (open/high/low/volume are optional).

With ``auto_adjust`` and an ``Adj Close`` column, close is taken from it and open/high/low are scaled by the
same ``Adj Close / Close`` ratio (volume unchanged). Rows are returned in date order as found: duplicates and
gaps are kept so :func:`helpers.validation.clean_prices` can repair and report them.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.providers.base import CsvFormatError, EmptyDownloadError

SOURCE = "csv"

_DATE_KEYS = ("date", "datetime", "timestamp", "time", "day", "tradedate", "tradingday")
_CLOSE_KEYS = ("close", "closelast", "closeprice", "last", "lastprice", "price")
_ADJ_CLOSE_KEYS = ("adjclose", "adjustedclose", "adjclosing", "adjustedclosingprice")
_FIELD_KEYS = {
    "open": ("open", "openprice"),
    "high": ("high", "highprice"),
    "low": ("low", "lowprice"),
    "volume": ("volume", "vol"),
}
_MISSING_MARKERS = {"", ".", "-", "--", "null", "none", "nan", "n/a", "na", "#n/a", "nil"}
_NEEDED = ("a date column (date, Date, timestamp, Datetime) or a date index, and a close column "
           "(Close, Adj Close, close, Close/Last)")


def fetch(ticker: str, *, start: str | None, end: str | None, path: str | Path,
          auto_adjust: bool = True) -> pd.DataFrame:
    """Prices from the CSV at ``path`` between ``start`` and ``end`` (inclusive ISO dates; None = unbounded).

    ``ticker`` only labels the data (a CSV holds one series). Returns the canonical prices frame in date order.
    Raises :class:`CsvFormatError` naming the file, the columns found and what is needed, or
    :class:`EmptyDownloadError` when no row falls in the range.
    """
    frame = read_price_csv(path, auto_adjust=auto_adjust)
    if start is not None:
        frame = frame.loc[frame.index >= pd.Timestamp(start)]
    if end is not None:
        frame = frame.loc[frame.index <= pd.Timestamp(end)]
    if frame.empty:
        raise EmptyDownloadError(ticker, f"CSV {path}", start, end)
    return frame


def provenance(path: str | Path, auto_adjust: bool = True, columns: list[str] | None = None) -> str:
    """One line naming the file (and whether Adj Close was used when ``columns`` tells)."""
    text = f"CSV file {Path(path)}"
    if columns is not None and auto_adjust and any(_key(c) in _ADJ_CLOSE_KEYS for c in columns):
        text += " (close from Adj Close, open/high/low scaled by Adj Close / Close)"
    return text


def read_price_csv(path: str | Path, *, auto_adjust: bool = True) -> pd.DataFrame:
    """The whole file as the canonical prices frame (sorted by date, duplicates kept)."""
    path = Path(path)
    if not path.is_file():
        raise CsvFormatError(str(path), "file not found" if not path.exists() else "not a file",
                             "Pass csv_path pointing at a daily price CSV with " + _NEEDED + ".")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise CsvFormatError(str(path), f"cannot be read as CSV ({type(exc).__name__}: {exc})",
                             "Save it as comma-separated text with a header row.") from None
    columns = [str(c) for c in raw.columns]
    date_col = _find_date_column(raw)
    if date_col is None:
        raise CsvFormatError(str(path), f"no date column among the columns found {columns}",
                             f"Needed: {_NEEDED}.")
    close_col = _find_column(raw, _CLOSE_KEYS, exclude={date_col})
    adj_col = _find_column(raw, _ADJ_CLOSE_KEYS, exclude={date_col})
    if close_col is None and adj_col is None:
        raise CsvFormatError(str(path), f"no close column among the columns found {columns}",
                             f"Needed: {_NEEDED}.")
    dates = _parse_dates(raw[date_col], path, date_col)
    frame = pd.DataFrame(index=pd.DatetimeIndex(dates, name="date"))
    for name, keys in _FIELD_KEYS.items():
        col = _find_column(raw, keys, exclude={date_col})
        if col is not None:
            frame[name] = _parse_numbers(raw[col]).to_numpy()
    frame["close"] = _parse_numbers(raw[close_col if close_col is not None else adj_col]).to_numpy()
    if adj_col is not None and auto_adjust:
        adj = _parse_numbers(raw[adj_col]).to_numpy()
        ratio = adj / frame["close"].to_numpy()
        ratio = np.where(np.isfinite(ratio), ratio, np.nan)
        # close * ratio equals Adj Close up to rounding; scaling all four alike keeps high == close exact.
        for name in ("open", "high", "low", "close"):
            if name in frame.columns:
                frame[name] = frame[name].to_numpy() * ratio
    if frame["close"].notna().sum() == 0:
        raise CsvFormatError(str(path), f"column {close_col or adj_col!r} holds no numbers",
                             "Numbers may use '$' and thousands separators; missing values '.', 'null', '-' or "
                             "empty.")
    order = [c for c in ("open", "high", "low", "close", "volume") if c in frame.columns]
    frame = frame[order].astype("float64")
    frame.index = frame.index.normalize().as_unit("ns")
    return frame.sort_index(kind="stable")


# ---------------------------------------------------------------------- columns
def _key(name: str) -> str:
    """A column name reduced to lower-case letters and digits: 'Adj Close' -> 'adjclose'."""
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def _find_column(raw: pd.DataFrame, keys: tuple[str, ...], exclude: set[str]) -> str | None:
    """The first column whose reduced name is one of ``keys`` (in the order of ``keys``)."""
    by_key: dict[str, str] = {}
    for col in raw.columns:
        if col not in exclude:
            by_key.setdefault(_key(col), col)
    for key in keys:
        if key in by_key:
            return by_key[key]
    return None


def _find_date_column(raw: pd.DataFrame) -> str | None:
    """A named date column, else an unnamed leading column (a written-out index) holding dates."""
    named = _find_column(raw, _DATE_KEYS, exclude=set())
    if named is not None:
        return named
    for col in list(raw.columns[:1]) + [c for c in raw.columns if str(c).startswith("Unnamed:")]:
        values = raw[col].astype(str).str.strip()
        values = values[values != ""]
        if len(values) and _looks_like_dates(values):
            return col
    return None


def _looks_like_dates(values: pd.Series) -> bool:
    sample = values.head(50)
    return bool(sample.str.match(r"^(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{4})").mean() > 0.9)


# ---------------------------------------------------------------------- values
def _parse_dates(values: pd.Series, path: Path, column: str) -> pd.DatetimeIndex:
    """ISO (time and offset ignored: the local date), US MM/DD/YYYY, or Unix seconds/milliseconds."""
    text = values.astype(str).str.strip()
    if text.str.match(r"^\d{4}-\d{1,2}-\d{1,2}").all():
        parsed = pd.to_datetime(text.str.extract(r"^(\d{4}-\d{1,2}-\d{1,2})")[0], format="%Y-%m-%d",
                                errors="coerce")
    elif text.str.match(r"^\d{1,2}/\d{1,2}/\d{4}").all():
        parsed = pd.to_datetime(text.str.extract(r"^(\d{1,2}/\d{1,2}/\d{4})")[0], format="%m/%d/%Y",
                                errors="coerce")
    elif len(text) and text.str.fullmatch(r"\d{9,13}").all():
        numbers = text.astype("int64")
        unit = "ms" if numbers.max() > 10**11 else "s"
        parsed = pd.to_datetime(numbers, unit=unit)
    else:
        parsed = _parse_other_dates(text)
    bad = parsed.isna().to_numpy()
    if bad.any():
        rows = np.flatnonzero(bad)
        examples = ", ".join(f"row {r + 2}: {text.iloc[r]!r}" for r in rows[:3])
        raise CsvFormatError(str(path), f"{int(bad.sum())} unparseable date(s) in column {column!r} ({examples})",
                             "Dates must be ISO (2024-03-01) or US (03/01/2024); fix or delete those rows.")
    return pd.DatetimeIndex(parsed)


def _parse_other_dates(text: pd.Series) -> pd.Series:
    """Anything else pandas can read (e.g. 'Mar 1, 2024'), row by row; failures become NaT."""
    try:
        parsed = pd.to_datetime(text, format="mixed", errors="coerce")
    except (ValueError, TypeError):
        return pd.Series(pd.NaT, index=text.index)
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)
    return parsed


def _parse_numbers(values: pd.Series) -> pd.Series:
    """Floats from text with '$', thousands separators and missing-value markers; anything else becomes NaN."""
    text = values.astype(str).str.strip()
    missing = text.str.lower().isin(_MISSING_MARKERS)
    cleaned = text.str.replace(r"[$,\s]", "", regex=True)
    numbers = pd.to_numeric(cleaned.where(~missing, None), errors="coerce")
    return numbers.astype("float64")
