"""How a CSV writes its fields, numbers and dates: detected from the whole file, or refused.

A price file read the wrong way is worse than a crash: ``"107,69"`` read as 10769 or ``02.09.2015`` read as
9 February give a run that finishes with wrong numbers. So every choice here is made from evidence in the
file, and where the file gives no evidence either way the reader is told what to set instead of a guess:

- **field delimiter**: ``,``, ``;`` or tab, the one that splits the header and the first rows into the same
  number (at least two) of fields;
- **decimal and thousands separators**, from every value of the numeric columns: ``1,234.56`` and ``107.69``
  prove a decimal point, ``1.234,56`` and ``107,69`` a decimal comma; values such as ``1,234`` prove nothing.
  Evidence for both is refused, showing examples of each, and so is a file whose only separators are of the
  ``1,234`` kind unless the decimal separator is stated (``decimal``);
- **date order**: ISO (``2024-03-01``, year first) is never ambiguous; in ``dd.mm.yyyy`` / ``mm/dd/yyyy``
  columns a first field above 12 proves day-first and a second field above 12 proves month-first. Both in
  one column is refused; neither is refused unless the order is stated (``dayfirst`` or an explicit
  ``date_format``). Times of day are kept as written (local wall-clock time; a UTC offset is dropped).

Each detector returns what it found together with a short description for the data report.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

DELIMITERS = (",", ";", "\t")
SNIFF_LINES = 50                     # lines read to detect the delimiter
EXAMPLES = 3                         # examples shown in a refusal

_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
_TIME = r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?\s*(?:Z|[+-]\d{2}:?\d{2}|UTC)?"
_YEAR_FIRST = r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})" + _TIME + "$"
_YEAR_LAST = r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4}|\d{2})" + _TIME + "$"
_UNIX = r"\d{9,13}"
_CURRENCY_AND_SPACE = r"[$€£¥\s\u00a0']"


class FormatRefusal(ValueError):
    """The file does not say how to read it; ``problem`` shows the evidence, ``hint`` what to set or fix."""

    def __init__(self, problem: str, hint: str):
        self.problem, self.hint = problem, hint
        super().__init__(f"{problem}. {hint}")


# ---------------------------------------------------------------------- delimiter
def detect_delimiter(path: str | Path) -> str:
    """The delimiter that splits the header and the first lines into one equal number (>= 2) of fields.

    Falls back to ``,`` when none does (pandas then reports the file's real problem).
    """
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as handle:
        lines = [line for _, line in zip(range(SNIFF_LINES), handle) if line.strip()]
    found: list[tuple[int, str]] = []
    for delimiter in DELIMITERS:
        widths = [len(row) for row in csv.reader(io.StringIO("".join(lines)), delimiter=delimiter) if row]
        if widths and widths[0] >= 2 and len(set(widths)) == 1:
            found.append((widths[0], delimiter))
    return max(found)[1] if found else ","


def delimiter_name(delimiter: str) -> str:
    return _DELIMITER_NAMES.get(delimiter, repr(delimiter))


# ---------------------------------------------------------------------- numbers
@dataclass(frozen=True)
class NumberFormat:
    """The decimal and thousands separators of a file's numbers, and how they were known."""

    decimal: str = "."
    thousands: str = ","
    how: str = "no value has a separator"

    def describe(self) -> str:
        return f"decimal {self.decimal!r}, thousands {self.thousands!r} ({self.how})"


def detect_number_format(columns: dict[str, pd.Series], decimal: str | None = None) -> NumberFormat:
    """Decimal point or decimal comma, decided from every value of ``columns`` (name -> text values), or
    ``decimal`` when stated.

    Raises :class:`FormatRefusal` with examples when some values prove a decimal point and others a comma,
    when ``decimal`` contradicts the values, or when values such as ``1,234`` (1234 or 1.234?) are all the
    file has and ``decimal`` is not stated.
    """
    found: dict[str, list[str]] = {"point": [], "comma": [], "either": []}
    for name, values in columns.items():
        for kind, rows in zip(found, _decimal_evidence(_bare_numbers(values))):
            found[kind] += [f"{name} row {i + 2}: {values.iloc[i]!r}" for i in np.flatnonzero(rows)[:EXAMPLES]]
    point, comma = found["point"][:EXAMPLES], found["comma"][:EXAMPLES]
    if point and comma:
        raise FormatRefusal(
            f"numbers mix decimal separators: a decimal point in {'; '.join(point)}, a decimal comma in "
            f"{'; '.join(comma)}", "Export the file again with one decimal separator throughout (e.g. 1234.56)")
    proven = "," if comma else "." if point else None
    if decimal is not None:
        if proven is not None and proven != decimal:
            raise FormatRefusal(f"csv_decimal={decimal!r} contradicts the numbers, which show a decimal {proven!r} "
                                f"({'; '.join(comma or point)})", f"Set csv_decimal={proven!r} or leave it unset")
        return NumberFormat(decimal, "." if decimal == "," else ",", "stated by csv_decimal")
    if proven is None and found["either"]:
        raise FormatRefusal(
            f"the numbers do not show their decimal separator: {'; '.join(found['either'][:EXAMPLES])} could be "
            "thousands or decimals", "State it: set csv_decimal='.' (1,234 means 1234) or csv_decimal=',' "
            "(1,234 means 1.234), e.g. `--set csv_decimal=,`")
    if proven == ",":
        return NumberFormat(",", ".", "detected")
    return NumberFormat(".", ",", "detected" if proven else "no value has a separator")


def parse_numbers(values: pd.Series, number_format: NumberFormat, missing_markers: set[str]) -> pd.Series:
    """Floats from text with currency signs, ``number_format``'s separators and missing-value markers;
    anything else becomes NaN."""
    raw = values.astype(str).str.strip()
    missing = raw.str.lower().isin(missing_markers)
    text = _bare_numbers(raw)
    text = text.str.replace(number_format.thousands, "", regex=False)
    if number_format.decimal != ".":
        text = text.str.replace(number_format.decimal, ".", regex=False)
    numbers = pd.to_numeric(text.where(~missing, None), errors="coerce")
    return numbers.astype("float64")


def _bare_numbers(values: pd.Series) -> pd.Series:
    """Text with currency signs, spaces and apostrophes (Swiss thousands) removed."""
    return values.astype(str).str.strip().str.replace(_CURRENCY_AND_SPACE, "", regex=True)


def _decimal_evidence(text: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per value: (proves a decimal point, proves a decimal comma, could be either). ``1,234.5`` and ``0.5``
    prove a point; ``1.234,5`` and ``0,5`` a comma; ``1,234`` and ``1.234`` (one separator, three digits
    after it) could be either; integers say nothing."""
    numeric = text.str.fullmatch(r"[+-]?[\d.,]*\d[\d.,]*(?:[eE][+-]?\d+)?").fillna(False).to_numpy(bool)
    dots, commas = text.str.count(r"\.").to_numpy(), text.str.count(",").to_numpy()
    last_dot, last_comma = text.str.rfind(".").to_numpy(), text.str.rfind(",").to_numpy()
    mantissa_end = text.str.replace(r"[eE][+-]?\d+$", "", regex=True).str.len().to_numpy()
    after_dot, after_comma = mantissa_end - last_dot - 1, mantissa_end - last_comma - 1
    both = (dots > 0) & (commas > 0)
    only_dot, only_comma = (dots > 0) & (commas == 0), (commas > 0) & (dots == 0)
    one_dot, one_comma = only_dot & (dots == 1), only_comma & (commas == 1)
    point = (both & (last_dot > last_comma)) | (one_dot & (after_dot != 3)) | (only_comma & (commas > 1))
    comma = (both & (last_comma > last_dot)) | (one_comma & (after_comma != 3)) | (only_dot & (dots > 1))
    either = (one_dot & (after_dot == 3)) | (one_comma & (after_comma == 3))
    return point & numeric, comma & numeric, either & numeric


# ---------------------------------------------------------------------- dates
def parse_dates(values: pd.Series, *, date_format: str | None = None,
                dayfirst: bool | None = None) -> tuple[pd.DatetimeIndex, str]:
    """Timestamps from a date column (unparseable rows become NaT) and a description of the order used.

    ``date_format`` (strftime, e.g. ``"%d.%m.%Y"``) is applied to every row when given. Otherwise: ISO rows
    as ISO; ``dd.mm.yyyy``-like rows in the order the column proves, or ``dayfirst`` when it proves none; Unix
    seconds or milliseconds; anything else (``Mar 1, 2024``) by pandas. Raises :class:`FormatRefusal` for a
    column that mixes both orders or proves neither without ``dayfirst``.
    """
    text = values.astype(str).str.strip()
    if date_format:
        parsed = pd.to_datetime(text, format=date_format, errors="coerce")
        return _naive(pd.DatetimeIndex(parsed)), f"dates as {date_format!r} (csv_date_format)"
    if len(text) and text.str.fullmatch(_UNIX).all():
        numbers = text.astype("int64")
        unit = "ms" if numbers.max() > 10**11 else "s"
        return pd.DatetimeIndex(pd.to_datetime(numbers, unit=unit)), f"dates as Unix time ({unit})"
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    iso = text.str.extract(_YEAR_FIRST)
    is_iso = iso[0].notna().to_numpy()
    parsed[is_iso] = _from_parts(iso[0], iso[1], iso[2], iso.iloc[:, 3:6])[is_iso]
    other = text.str.extract(_YEAR_LAST)
    is_other = other[0].notna().to_numpy() & ~is_iso
    kinds = ["ISO"] if is_iso.any() else []
    if is_other.any():
        order, how = _day_month_order(text[is_other], other[0][is_other].astype(int),
                                      other[1][is_other].astype(int), dayfirst)
        day, month = (other[0], other[1]) if order == "day-first" else (other[1], other[0])
        parsed[is_other] = _from_parts(_four_digit_year(other[2]), month, day, other.iloc[:, 3:6])[is_other]
        kinds.append(f"{order} ({how})")
    rest = ~is_iso & ~is_other
    if rest.any():
        parsed[rest] = _parse_other_dates(text[rest], dayfirst)
        kinds.append("other formats read by pandas")
    return pd.DatetimeIndex(parsed), "dates " + " and ".join(kinds)


def _day_month_order(text: pd.Series, first: pd.Series, second: pd.Series,
                     dayfirst: bool | None) -> tuple[str, str]:
    """('day-first' or 'month-first', how it was known): from the column's values, else from ``dayfirst``,
    else a refusal."""
    day_first_rows, month_first_rows = np.flatnonzero(first > 12), np.flatnonzero(second > 12)
    if len(day_first_rows) and len(month_first_rows):
        raise FormatRefusal(
            "the date column mixes day-first and month-first dates: first field above 12 in "
            f"{_examples(text, day_first_rows)}; second field above 12 in {_examples(text, month_first_rows)}",
            "Export the dates in one order (ISO 2024-03-01 is never ambiguous)")
    proven = "day-first" if len(day_first_rows) else "month-first" if len(month_first_rows) else None
    if proven is not None and dayfirst is not None and proven != ("day-first" if dayfirst else "month-first"):
        rows = day_first_rows if len(day_first_rows) else month_first_rows
        raise FormatRefusal(
            f"csv_dayfirst={str(dayfirst).lower()} contradicts the date column, which can only be {proven} "
            f"({_examples(text, rows)})", f"Set csv_dayfirst={str(not dayfirst).lower()} or leave it unset")
    if len(day_first_rows):
        return "day-first", "detected"
    if len(month_first_rows):
        return "month-first", "detected"
    if dayfirst is None:
        raise FormatRefusal(
            f"the date column is ambiguous: no value shows whether the day or the month comes first "
            f"({_examples(text, np.arange(len(text)))})",
            "State the order: set csv_dayfirst=true (31.12.2020) or false (12/31/2020), e.g. "
            "`--set csv_dayfirst=true`, or csv_date_format='%d.%m.%Y'; ISO dates (2020-12-31) need neither")
    return ("day-first" if dayfirst else "month-first"), "stated by csv_dayfirst"


def _examples(text: pd.Series, rows: np.ndarray) -> str:
    return ", ".join(f"row {text.index[r] + 2}: {text.iloc[r]!r}" for r in rows[:EXAMPLES])


def _four_digit_year(year: pd.Series) -> pd.Series:
    """Two-digit years as strptime's %y reads them: 69-99 -> 1900s, 00-68 -> 2000s."""
    short = year.str.len() == 2
    number = pd.to_numeric(year, errors="coerce")
    return year.where(~short, (number + np.where(number >= 69, 1900, 2000)).astype("Int64").astype(str))


def _from_parts(year: pd.Series, month: pd.Series, day: pd.Series, time: pd.DataFrame) -> pd.Series:
    """Timestamps from text parts; impossible dates (31.02.) become NaT."""
    hms = time.fillna("0").astype(str)
    stamp = (year.astype(str) + "-" + month.astype(str).str.zfill(2) + "-" + day.astype(str).str.zfill(2) + " "
             + hms.iloc[:, 0].str.zfill(2) + ":" + hms.iloc[:, 1].str.zfill(2) + ":" + hms.iloc[:, 2].str.zfill(2))
    return pd.to_datetime(stamp, format="%Y-%m-%d %H:%M:%S", errors="coerce").astype("datetime64[ns]")


def _parse_other_dates(text: pd.Series, dayfirst: bool | None) -> pd.Series:
    """Anything else pandas can read (e.g. 'Mar 1, 2024'), row by row; failures become NaT."""
    try:
        parsed = pd.to_datetime(text, format="mixed", errors="coerce", dayfirst=bool(dayfirst))
    except (ValueError, TypeError):
        return pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)
    return parsed.astype("datetime64[ns]")


def _naive(index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    return index.tz_localize(None) if index.tz is not None else index
