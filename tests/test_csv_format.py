"""Reading CSVs people actually have: delimiters, decimal commas and day-first dates, detected or refused."""

from __future__ import annotations

import textwrap

import pandas as pd
import pytest

from helpers.config import ConfigError, RunConfig
from helpers.data import load_prices
from helpers.providers import csvfile
from helpers.providers.base import CsvFormatError


def write_csv(path, text: str):
    path.write_text(textwrap.dedent(text).strip() + "\n", encoding="utf-8")
    return path


def read(path, **options) -> pd.DataFrame:
    return csvfile.read_price_csv(path, **options)


def day_first_rows(start: str = "2015-09-02", periods: int = 40, sep: str = ".") -> list[tuple[str, float]]:
    days = pd.bdate_range(start, periods=periods)
    return [(d.strftime(f"%d{sep}%m{sep}%Y"), 100.0 + i) for i, d in enumerate(days)]


# ---------------------------------------------------------------------- dates
def test_day_first_dates_are_detected_from_the_whole_column(tmp_path):
    rows = day_first_rows()          # 02.09.2015 ... : only later rows show a day above 12
    path = write_csv(tmp_path / "eu.csv", "Date,Close\n" + "\n".join(f"{d},{c}" for d, c in rows))
    frame = read(path)
    assert frame.index[0] == pd.Timestamp("2015-09-02") and frame.index[-1] == pd.Timestamp("2015-10-27")
    assert frame.index.is_monotonic_increasing and len(frame) == 40
    assert "day-first (detected)" in frame.attrs["csv_format"]["dates"]


def test_day_first_dates_mixed_with_iso_rows_read_each_correctly(tmp_path):
    path = write_csv(tmp_path / "mixed_iso.csv", """
        Date,Close
        2015-09-01,1
        02.09.2015,2
        25.09.2015,3
    """)
    assert list(read(path).index) == [pd.Timestamp("2015-09-01"), pd.Timestamp("2015-09-02"),
                                      pd.Timestamp("2015-09-25")]


def test_month_first_dates_are_detected_when_a_second_field_exceeds_12(tmp_path):
    path = write_csv(tmp_path / "us.csv", "Date,Close\n01/02/2024,1\n01/03/2024,2\n01/16/2024,3")
    assert read(path).index[1] == pd.Timestamp("2024-01-03")


def test_ambiguous_dates_read_as_stated_by_dayfirst_or_a_format(tmp_path):
    path = write_csv(tmp_path / "ambiguous.csv", "Date,Close\n01.02.2024,1\n02.02.2024,2\n05.03.2024,3")
    assert read(path, dayfirst=True).index[-1] == pd.Timestamp("2024-03-05")
    assert read(path, dayfirst=False).index[-1] == pd.Timestamp("2024-05-03")
    assert read(path, date_format="%d.%m.%Y").index[0] == pd.Timestamp("2024-02-01")


def test_iso_dates_are_never_ambiguous(tmp_path):
    path = write_csv(tmp_path / "iso.csv", "Date,Close\n2024-01-02,1\n2024-02-01,2\n2024-03-01,3")
    frame = read(path)
    assert list(frame.index.month) == [1, 2, 3] and frame.attrs["csv_format"]["dates"] == "dates ISO"


# ---------------------------------------------------------------------- numbers and delimiters
def test_quoted_comma_decimals_with_comma_delimiter(tmp_path):
    path = write_csv(tmp_path / "quoted.csv", '''
        Date,Open,Close
        2024-01-02,"107,00","107,69"
        2024-01-03,"1.123,40","1.120,05"
    ''')
    frame = read(path)
    assert frame["close"].tolist() == pytest.approx([107.69, 1120.05])
    assert frame["open"].tolist() == pytest.approx([107.0, 1123.40])
    assert frame.attrs["csv_format"]["decimal"] == ","


def test_semicolon_file_with_thousands_dots_and_decimal_commas(tmp_path):
    path = write_csv(tmp_path / "european.csv", """
        Date;Open;High;Low;Close;Volume
        02.01.2024;1.230,50;1.240,00;1.220,10;1.234,56;1.000.000
        15.01.2024;1.234,56;1.250,00;1.230,00;1.245,10;900.000
    """)
    frame = read(path)
    assert frame["close"].tolist() == pytest.approx([1234.56, 1245.10])
    assert frame["volume"].tolist() == [1_000_000.0, 900_000.0]
    assert frame.index[1] == pd.Timestamp("2024-01-15")
    fmt = frame.attrs["csv_format"]
    assert (fmt["delimiter"], fmt["decimal"], fmt["thousands"]) == (";", ",", ".")
    assert "semicolon-separated" in fmt["summary"] and "day-first" in fmt["summary"]


def test_comma_thousands_with_decimal_point_stay_as_before(tmp_path):
    path = write_csv(tmp_path / "us_numbers.csv", 'Date,Close\n2024-01-02,"1,234.56"\n2024-01-03,"1,240"')
    frame = read(path)
    assert frame["close"].tolist() == [1234.56, 1240.0] and frame.attrs["csv_format"]["decimal"] == "."


def test_tab_separated_file(tmp_path):
    path = write_csv(tmp_path / "tabs.csv", "Date\tClose\n2024-01-02\t10.5\n2024-01-03\t11")
    assert read(path)["close"].tolist() == [10.5, 11.0]


def test_a_directory_is_not_called_missing(tmp_path):
    with pytest.raises(CsvFormatError, match="is a directory"):
        read(tmp_path)


@pytest.mark.parametrize("rows, options, refusal", [
    ("01.02.2024,1\n02.02.2024,2\n05.03.2024,3", {},
     r"ambiguous.*row 2: '01\.02\.2024'.*csv_dayfirst"),                       # no day above 12
    ("25/01/2024,1\n01/26/2024,2\n01/02/2024,3", {},
     r"mixes day-first and month-first.*'25/01/2024'.*'01/26/2024'"),           # both orders
    ("01/02/2024,1\n01/16/2024,2\n01/17/2024,3", {"dayfirst": True},
     r"csv_dayfirst=true contradicts.*month-first"),                            # the option against the data
    ('2024-01-02,107.69\n2024-01-03,"107,70"\n2024-01-04,108', {},
     r"mix decimal separators.*'107\.69'.*'107,70'"),                           # both decimal separators
])
def test_a_file_that_does_not_show_how_to_read_it_is_refused_with_examples(tmp_path, rows, options, refusal):
    path = write_csv(tmp_path / "refused.csv", "Date,Close\n" + rows)
    with pytest.raises(CsvFormatError, match=refusal):
        read(path, **options)


# ---------------------------------------------------------------------- through the run's data loading
def test_data_report_says_how_the_csv_was_read(tmp_path):
    rows = day_first_rows(periods=30, sep="/")
    path = write_csv(tmp_path / "eu.csv", "Date;Close\n" + "\n".join(f"{d};{str(c).replace('.', ',')}"
                                                                    for d, c in rows))
    data = load_prices(RunConfig(ticker="EU", source="csv", csv_path=str(path)))
    steps = " ".join(data.meta["steps"])
    assert "semicolon-separated" in steps and "decimal ','" in steps and "day-first (detected)" in steps
    assert data.prices["close"].iloc[1] == 101.0


def test_config_passes_the_date_options_to_the_csv_reader(tmp_path):
    path = write_csv(tmp_path / "ambiguous.csv", "Date,Close\n01.02.2024,1\n02.02.2024,2\n05.02.2024,3")
    data = load_prices(RunConfig(ticker="X", source="csv", csv_path=str(path), csv_dayfirst=True))
    assert data.prices.index[-1] == pd.Timestamp("2024-02-05")
    data = load_prices(RunConfig(ticker="X", source="csv", csv_path=str(path), csv_date_format="%m.%d.%Y"))
    assert data.prices.index[-1] == pd.Timestamp("2024-05-02")


@pytest.mark.parametrize("values, field", [
    ({"csv_date_format": "%Y"}, "csv_date_format"),
    ({"csv_date_format": "%d.%m.%Y", "csv_dayfirst": True}, "csv_dayfirst"),
    ({"tune_time_limit_s": "inf"}, "tune_time_limit_s"),
    ({"dropout": float("nan")}, "dropout"),
    ({"band_levels": [0.8, float("inf")]}, "band_levels"),
    ({"csv_decimal": ";"}, "csv_decimal"),
])
def test_bad_csv_options_and_non_finite_numbers_are_refused_by_name(values, field):
    with pytest.raises(ConfigError, match=repr(field)):
        RunConfig.from_overrides(values)


def test_numbers_that_never_show_their_decimal_separator_are_refused_unless_stated(tmp_path):
    path = write_csv(tmp_path / "thousands.csv", 'Date,Close\n2024-01-02,"1,234"\n2024-01-03,"1,240"\n2024-01-04,980')
    with pytest.raises(CsvFormatError, match=r"do not show their decimal separator.*'1,234'.*csv_decimal"):
        read(path)
    assert read(path, decimal=".")["close"].tolist() == [1234.0, 1240.0, 980.0]
    assert read(path, decimal=",")["close"].tolist() == [1.234, 1.24, 980.0]
    with pytest.raises(CsvFormatError, match=r"csv_decimal=',' contradicts"):
        read(write_csv(tmp_path / "point.csv", "Date,Close\n2024-01-02,1.5\n2024-01-03,1.25"), decimal=",")
