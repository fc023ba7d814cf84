"""Prices from any reasonable CSV file: Yahoo and Nasdaq exports, pandas dumps, FRED series, European exports.

What is understood:

- column names in any case, with spaces, underscores or punctuation: ``Adj Close``, ``adj_close``,
  ``Close/Last``, ``Close*``; the date in a ``date``/``Date``/``timestamp``/``Datetime``/``time``/``day`` column,
  or in an unnamed leading (index) column; a leading integer counter column (a pandas index) is ignored;
- fields separated by commas, semicolons or tabs (detected from the header and first lines);
- dates as ISO ``YYYY-MM-DD`` (a time after it is kept as written, a UTC offset dropped: the local time is the
  bar's time), day-first ``DD.MM.YYYY`` or month-first ``MM/DD/YYYY`` (the order is detected from the whole
  column, or stated with ``dayfirst``/``date_format`` when no value shows it), or Unix seconds/milliseconds;
- numbers with currency signs and thousands separators, with a decimal point (``$1,234.50``) or a decimal
  comma (``1.234,56``, ``"107,69"``), detected from every value of the numeric columns;
- missing values written as empty, ``.`` (FRED), ``null``, ``-``, ``NaN``, ``N/A``;
- close-only files (open/high/low/volume are optional).

A file that does not show how to read it (both decimal separators, both date orders, or an order no value
proves) is refused with examples and the option to set (:mod:`helpers.providers.csvformat`), never guessed.
With ``auto_adjust`` and an ``Adj Close`` column, close is taken from it and open/high/low are scaled by the
same ``Adj Close / Close`` ratio (volume unchanged). Rows are returned in time order as found: duplicates and
gaps are kept so :func:`helpers.validation.clean_prices` can repair and report them.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.providers.base import CsvFormatError, EmptyDownloadError
from helpers.providers.csvformat import (
    FormatRefusal,
    NumberFormat,
    delimiter_name,
    detect_delimiter,
    detect_number_format,
    parse_numbers,
    parse_dates,
)

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
          auto_adjust: bool = True, date_format: str | None = None, dayfirst: bool | None = None,
          decimal: str | None = None) -> pd.DataFrame:
    """Prices from the CSV at ``path`` between ``start`` and ``end`` (inclusive ISO dates; None = unbounded).

    ``ticker`` only labels the data (a CSV holds one series). ``date_format``/``dayfirst``/``decimal`` state how
    dates and numbers are written when the file cannot show it. Returns the canonical prices frame in date order; its
    ``attrs['csv_format']`` says what was detected. Raises :class:`CsvFormatError` naming the file, the
    problem and what to do, or :class:`EmptyDownloadError` when no row falls in the range.
    """
    frame = read_price_csv(path, auto_adjust=auto_adjust, date_format=date_format, dayfirst=dayfirst,
                           decimal=decimal)
    if start is not None:
        frame = frame.loc[frame.index >= pd.Timestamp(start)]
    if end is not None:
        frame = frame.loc[frame.index < pd.Timestamp(end) + pd.Timedelta(days=1)]
    if frame.empty:
        raise EmptyDownloadError(ticker, f"CSV {path}", start, end)
    return frame


def provenance(path: str | Path, auto_adjust: bool = True, columns: list[str] | None = None,
               csv_format: dict | None = None) -> str:
    """One line naming the file (and whether Adj Close was used when ``columns`` tells) and, given
    ``csv_format`` (a frame's ``attrs['csv_format']``), how it was read."""
    text = f"CSV file {Path(path)}"
    if columns is not None and auto_adjust and any(_key(c) in _ADJ_CLOSE_KEYS for c in columns):
        text += " (close from Adj Close, open/high/low scaled by Adj Close / Close)"
    if csv_format:
        text += f"; read as {csv_format['summary']}"
    return text


def read_price_csv(path: str | Path, *, auto_adjust: bool = True, date_format: str | None = None,
                   dayfirst: bool | None = None, decimal: str | None = None) -> pd.DataFrame:
    """The whole file as the canonical prices frame (sorted by time, duplicates kept).

    Daily or longer bars are dated at midnight; intraday bars keep their time of day. ``attrs['csv_format']``
    holds the detected delimiter, number format and date order (``summary`` is one readable line).
    """
    path = Path(path)
    if not path.is_file():
        problem = "file not found" if not path.exists() else ("is a directory, not a file" if path.is_dir()
                                                              else "not a regular file")
        raise CsvFormatError(str(path), problem, "Pass csv_path pointing at a daily price CSV with " + _NEEDED + ".")
    delimiter = detect_delimiter(path)
    try:
        raw = pd.read_csv(path, sep=delimiter, dtype=str, keep_default_na=False, na_filter=False,
                          skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise CsvFormatError(str(path), f"cannot be read as CSV ({type(exc).__name__}: {exc})",
                             "Save it as comma-, semicolon- or tab-separated text with a header row.") from None
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
    fields = {name: _find_column(raw, keys, exclude={date_col}) for name, keys in _FIELD_KEYS.items()}
    fields["close"] = close_col if close_col is not None else adj_col
    numeric = {col: raw[col] for col in [*fields.values(), adj_col] if col is not None}
    try:
        number_format = detect_number_format(numeric, decimal)
        dates, date_text = parse_dates(raw[date_col], date_format=date_format, dayfirst=dayfirst)
    except FormatRefusal as refusal:
        raise CsvFormatError(str(path), refusal.problem, refusal.hint + ".") from None
    _refuse_unparseable_dates(dates, raw[date_col], path, date_col)
    frame = pd.DataFrame(index=pd.DatetimeIndex(dates, name="date"))
    for name in ("open", "high", "low", "volume", "close"):
        if fields[name] is not None:
            frame[name] = _parse_numbers(raw[fields[name]], number_format).to_numpy()
    if adj_col is not None and auto_adjust:
        adj = _parse_numbers(raw[adj_col], number_format).to_numpy()
        ratio = adj / frame["close"].to_numpy()
        ratio = np.where(np.isfinite(ratio), ratio, np.nan)
        # close * ratio equals Adj Close up to rounding; scaling all four alike keeps high == close exact.
        for name in ("open", "high", "low", "close"):
            if name in frame.columns:
                frame[name] = frame[name].to_numpy() * ratio
    if frame["close"].notna().sum() == 0:
        raise CsvFormatError(str(path), f"column {fields['close']!r} holds no numbers",
                             "Numbers may use '$' and thousands separators; missing values '.', 'null', '-' or "
                             "empty.")
    order = [c for c in ("open", "high", "low", "close", "volume") if c in frame.columns]
    frame = frame[order].astype("float64")
    frame.index = _dated_at_midnight_unless_intraday(frame.index).as_unit("ns")
    frame = frame.sort_index(kind="stable")
    frame.attrs["csv_format"] = {
        "delimiter": delimiter, "decimal": number_format.decimal, "thousands": number_format.thousands,
        "numbers": number_format.how, "dates": date_text, "columns": columns,
        "summary": f"{delimiter_name(delimiter)}-separated, {number_format.describe()}, {date_text}",
    }
    return frame


def _dated_at_midnight_unless_intraday(index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Bars one day or more apart are dated at midnight (a daily close stamped 16:00 or 05:00 UTC is still
    that day's bar); bars less than a day apart keep their time of day, so distinct bars stay distinct."""
    stamps = index.sort_values().as_unit("ns")
    steps = np.diff(stamps.asi8)
    steps = steps[steps > 0]
    if len(steps) and pd.Timedelta(int(np.median(steps)), unit="ns") < pd.Timedelta(hours=20):
        return index
    return index.normalize()


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
    return bool(sample.str.match(r"^(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4})").mean() > 0.9)


# ---------------------------------------------------------------------- values
def _refuse_unparseable_dates(dates: pd.DatetimeIndex, values: pd.Series, path: Path, column: str) -> None:
    bad = dates.isna()
    if bad.any():
        text = values.astype(str).str.strip()
        rows = np.flatnonzero(bad)
        examples = ", ".join(f"row {r + 2}: {text.iloc[r]!r}" for r in rows[:3])
        raise CsvFormatError(str(path), f"{int(bad.sum())} unparseable date(s) in column {column!r} ({examples})",
                             "Dates must be ISO (2024-03-01), day- or month-first (01.03.2024, 03/01/2024: set "
                             "csv_date_format for anything else); fix or delete those rows.")


def _parse_numbers(values: pd.Series, number_format: NumberFormat) -> pd.Series:
    """Floats from text; see :func:`helpers.providers.csvformat.parse_numbers`."""
    return parse_numbers(values, number_format, _MISSING_MARKERS)
