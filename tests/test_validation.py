"""The cleaning policy (each rule with its count and dates in the report) and the history-length check."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from helpers.config import RunConfig
from helpers.providers import csvfile
from helpers.validation import (
    CleaningReport,
    InsufficientHistoryError,
    check_history,
    clean_prices,
    required_rows,
)


def prices(n: int = 20, start: str = "2024-01-01", seed: int = 0) -> pd.DataFrame:
    """A clean OHLCV frame on business days."""
    rng = np.random.default_rng(seed)
    index = pd.bdate_range(start, periods=n, name="date")
    close = 100 * np.exp(np.cumsum(0.01 * rng.standard_normal(n)))
    open_ = close * (1 + 0.002 * rng.standard_normal(n))
    return pd.DataFrame({"open": open_, "high": np.maximum(open_, close) * 1.01,
                         "low": np.minimum(open_, close) * 0.99, "close": close,
                         "volume": rng.integers(1000, 2000, n).astype(float)}, index=index)


def day(frame: pd.DataFrame, i: int) -> str:
    return frame.index[i].date().isoformat()


# ---------------------------------------------------------------------- each rule
def test_clean_input_passes_unchanged_with_no_fixes():
    frame = prices()
    cleaned, report = clean_prices(frame)
    pd.testing.assert_frame_equal(cleaned, frame, check_freq=False)
    assert report.fixes == [] and report.rows_in == report.rows_out == 20
    assert "No fixes were needed" in report.summary()


def test_input_is_never_mutated():
    frame = prices()
    frame.iloc[3, 3] = np.nan
    frame.iloc[5, 1] = -1.0
    frame = pd.concat([frame, frame.iloc[[2]]])
    before = frame.copy()
    clean_prices(frame)
    pd.testing.assert_frame_equal(frame, before)


def test_unsorted_rows_are_sorted_and_reported():
    frame = prices(10)
    shuffled = frame.iloc[[0, 1, 5, 2, 3, 4, 6, 7, 8, 9]]
    cleaned, report = clean_prices(shuffled)
    assert cleaned.index.is_monotonic_increasing
    assert report.count("unsorted_dates") == 3
    assert report.step("unsorted_dates").dates == (day(frame, 2), day(frame, 3), day(frame, 4))


def test_duplicate_dates_keep_the_last_row_and_are_reported():
    frame = prices(10)
    correction = frame.iloc[[4]].assign(close=frame["close"].iloc[4] * 1.001)
    with_dup = pd.concat([frame.iloc[:5], correction, frame.iloc[5:]])
    cleaned, report = clean_prices(with_dup)
    assert len(cleaned) == 10 and cleaned.index.is_unique
    assert cleaned["close"].iloc[4] == correction["close"].iloc[0]
    assert report.count("duplicate_dates") == 1 and report.step("duplicate_dates").dates == (day(frame, 4),)


def test_leading_missing_rows_are_dropped():
    frame = prices(10)
    frame.iloc[0, 3] = np.nan
    frame.iloc[1, 4] = np.nan
    cleaned, report = clean_prices(frame)
    assert cleaned.index[0] == frame.index[2]
    assert report.count("leading_missing_rows") == 2
    assert report.step("leading_missing_rows").dates == (day(frame, 0), day(frame, 1))


def test_short_gap_is_forward_filled_from_the_previous_day():
    frame = prices(10)
    frame.iloc[4:6, 3] = np.nan  # two missing closes
    cleaned, report = clean_prices(frame, max_ffill=3)
    assert len(cleaned) == 10
    assert cleaned["close"].iloc[4] == cleaned["close"].iloc[5] == frame["close"].iloc[3]
    assert report.count("short_gaps") == 2
    assert report.step("short_gaps").dates == (day(frame, 4), day(frame, 5))


def test_gap_of_exactly_max_ffill_is_filled_and_one_more_row_is_dropped():
    frame = prices(12)
    frame.iloc[3:7, 3] = np.nan  # four missing closes, max_ffill 3
    cleaned, report = clean_prices(frame, max_ffill=3)
    assert frame.index[6] not in cleaned.index
    assert all(frame.index[i] in cleaned.index for i in (3, 4, 5))
    assert report.count("short_gaps") == 3 and report.count("long_gaps") == 1
    assert report.step("long_gaps").dates == (day(frame, 6),)


def test_long_gap_rows_beyond_max_ffill_are_dropped():
    frame = prices(20)
    frame.iloc[5:13, 3] = np.nan  # eight missing closes
    cleaned, report = clean_prices(frame, max_ffill=2)
    assert len(cleaned) == 20 - 6
    assert report.count("long_gaps") == 6
    assert report.step("long_gaps").dates[0] == day(frame, 7)
    assert not cleaned.isna().any().any()


def test_non_positive_prices_become_missing_then_follow_the_gap_rules():
    frame = prices(10)
    frame.iloc[3, 3] = 0.0
    frame.iloc[6, 0] = -5.0
    cleaned, report = clean_prices(frame)
    assert report.count("non_positive_prices") == 2
    assert report.step("non_positive_prices").dates == (day(frame, 3), day(frame, 6))
    assert "close: 1" in report.step("non_positive_prices").detail
    assert cleaned["close"].iloc[3] == frame["close"].iloc[2]
    assert (cleaned[["open", "high", "low", "close"]] > 0).all().all()


def test_negative_volume_is_treated_as_missing():
    frame = prices(10)
    frame.iloc[4, 4] = -100.0
    cleaned, report = clean_prices(frame)
    assert report.count("negative_volume") == 1
    assert cleaned["volume"].iloc[4] == frame["volume"].iloc[3]


def test_ohlc_inconsistencies_are_repaired_and_reported():
    frame = prices(10)
    frame.iloc[2, 1] = frame.iloc[2, 3] * 0.9   # high below close
    frame.iloc[7, 2] = frame.iloc[7, 0] * 1.05  # low above open
    cleaned, report = clean_prices(frame)
    assert report.count("ohlc_inconsistent") == 2
    assert report.step("ohlc_inconsistent").dates == (day(frame, 2), day(frame, 7))
    ohlc = cleaned[["open", "high", "low", "close"]]
    assert (cleaned["high"] >= ohlc.max(axis=1)).all() and (cleaned["low"] <= ohlc.min(axis=1)).all()
    assert cleaned["high"].iloc[2] == frame.iloc[2][["open", "high", "low", "close"]].max()
    pd.testing.assert_frame_equal(cleaned.drop(cleaned.index[[2, 7]]), frame.drop(frame.index[[2, 7]]),
                                  check_freq=False)


def test_rounding_noise_from_adjustment_is_not_an_ohlc_fix():
    frame = prices(5)
    frame.iloc[1, 1] = max(frame.iloc[1, 0], frame.iloc[1, 3]) * (1 - 1e-15)  # high a hair under the top
    _, report = clean_prices(frame)
    assert report.count("ohlc_inconsistent") == 0


def test_zero_volume_days_are_flagged_not_dropped():
    frame = prices(10)
    frame.iloc[[3, 8], 4] = 0.0
    cleaned, report = clean_prices(frame)
    assert len(cleaned) == 10
    assert report.count("zero_volume") == 2 and report.step("zero_volume").dates == (day(frame, 3), day(frame, 8))
    assert report.fixes == []


def test_stale_runs_of_five_identical_closes_are_flagged_not_dropped():
    frame = prices(20)
    frame.iloc[4:9, 3] = 50.0   # five identical closes: flagged
    frame.iloc[12:16, 3] = 60.0  # four: not flagged
    frame[["high", "low"]] = frame[["high", "low"]].assign(high=frame[["open", "close"]].max(axis=1) * 1.01,
                                                             low=frame[["open", "close"]].min(axis=1) * 0.99)
    cleaned, report = clean_prices(frame)
    assert len(cleaned) == 20
    assert report.count("stale_prices") == 1 and report.step("stale_prices").dates == (day(frame, 4),)
    assert "5" in report.step("stale_prices").detail


def test_extreme_returns_are_flagged_with_their_dates():
    frame = prices(10)
    frame.iloc[6:, :4] *= 1.5   # log return 0.405 on day 6
    cleaned, report = clean_prices(frame, extreme_return=0.25)
    pd.testing.assert_frame_equal(cleaned, frame, check_freq=False)
    assert report.count("extreme_returns") == 1
    assert report.step("extreme_returns").dates == (day(frame, 6),)
    assert report.step("extreme_returns").detail.startswith(f"{day(frame, 6)}: +0.4")


def test_close_only_frames_are_cleaned_too():
    frame = prices(10)[["close"]]
    frame.iloc[4, 0] = np.nan
    cleaned, report = clean_prices(frame)
    assert list(cleaned.columns) == ["close"] and report.count("short_gaps") == 1


def test_cleaning_never_looks_ahead():
    """Cleaning a prefix gives the prefix of the cleaned series, whatever the future holds."""
    frame = prices(60)
    frame.iloc[10:12, 3] = np.nan
    frame.iloc[20:26, 0] = np.nan
    frame.iloc[29, 3] = np.nan      # a gap running into the cut...
    cut = frame.index[29]
    future = frame.copy()
    future.iloc[30:33, 3] = np.nan  # ...continued in the perturbed future
    future.iloc[35:, :4] *= np.random.default_rng(1).uniform(0.2, 3.0, size=(25, 4))
    future.iloc[40, 1] = -1.0
    cleaned_original, _ = clean_prices(frame, max_ffill=3)
    cleaned_future, _ = clean_prices(future, max_ffill=3)
    cleaned_prefix, _ = clean_prices(frame.loc[:cut], max_ffill=3)
    pd.testing.assert_frame_equal(cleaned_future.loc[:cut], cleaned_original.loc[:cut], check_freq=False)
    pd.testing.assert_frame_equal(cleaned_prefix, cleaned_original.loc[:cut], check_freq=False)


# ---------------------------------------------------------------------- through a CSV file
def test_messy_csv_is_cleaned_with_every_fix_reported(tmp_path):
    path = tmp_path / "messy.csv"
    path.write_text(
        "Date,Open,High,Low,Close,Volume\n"
        "2024-01-02,.,10.5,9.5,10,100\n"       # leading row with a missing open: dropped
        "2024-01-03,10,10.6,9.8,10.2,120\n"
        "2024-01-05,10.4,10.9,10.1,10.8,110\n"
        "2024-01-04,10.2,10.5,10.0,10.3,90\n"  # out of order (the CSV reader sorts by date)
        "2024-01-05,10.4,10.9,10.1,10.7,115\n"  # duplicate date: kept (last)
        "2024-01-08,10.7,10.2,10.4,10.6,0\n"    # high below open and close; zero volume
        "2024-01-09,10.6,11.0,10.5,null,100\n"  # missing close: filled
        "2024-01-10,10.6,11.0,10.5,-1,100\n"    # non-positive close: filled
        "2024-01-11,10.6,11.0,10.5,10.9,100\n", encoding="utf-8")
    raw = csvfile.fetch("X", start=None, end=None, path=path)
    cleaned, report = clean_prices(raw)
    assert report.rows_in == 9 and report.rows_out == 7 == len(cleaned)
    assert report.step("duplicate_dates").dates == ("2024-01-05",)
    assert cleaned.loc["2024-01-05", "close"] == 10.7
    assert report.step("leading_missing_rows").dates == ("2024-01-02",)
    assert report.step("non_positive_prices").dates == ("2024-01-10",)
    assert report.step("short_gaps").dates == ("2024-01-09", "2024-01-10")
    assert cleaned.loc["2024-01-10", "close"] == 10.6
    assert report.step("ohlc_inconsistent").dates == ("2024-01-08",)
    assert cleaned.loc["2024-01-08", "high"] == 10.7
    assert report.step("zero_volume").dates == ("2024-01-08",)


# ---------------------------------------------------------------------- the report
def test_report_round_trips_as_json_and_reads_as_a_table():
    frame = prices(10)
    frame.iloc[4, 3] = np.nan
    frame.iloc[7, 4] = 0.0
    _, report = clean_prices(frame)
    as_dict = json.loads(json.dumps(report.to_dict()))
    assert as_dict["fixes"][0]["rule"] == "short_gaps" and as_dict["fixes"][0]["dates"] == [day(frame, 4)]
    assert as_dict["policy"] == {"max_ffill": 3, "extreme_return": 0.25, "stale_run": 5}
    table = report.to_frame()
    assert list(table["kind"]) == ["fix", "flag"] and list(table["rows"]) == [1, 1]
    assert "short gaps" in report.summary() and "zero volume" in report.summary()


def test_report_shows_only_the_first_dates_but_the_full_count():
    frame = prices(30)
    frame.iloc[2:20, 4] = 0.0
    _, report = clean_prices(frame)
    step = report.step("zero_volume")
    assert step.count == 18 and len(step.dates) == 5
    assert "…" in report.to_frame()["first dates"].iloc[0]


def test_empty_report_is_a_cleaning_report():
    assert isinstance(CleaningReport(rows_in=0), CleaningReport)


# ---------------------------------------------------------------------- bad input
def test_frame_without_close_is_rejected_with_its_columns():
    with pytest.raises(ValueError, match=r"no 'close' column.*\['price'\]"):
        clean_prices(pd.DataFrame({"price": [1.0]}, index=pd.DatetimeIndex(["2024-01-02"])))


def test_frame_without_a_date_index_is_rejected():
    with pytest.raises(TypeError, match="DatetimeIndex"):
        clean_prices(pd.DataFrame({"close": [1.0, 2.0]}))


def test_all_rows_missing_is_an_error_not_an_empty_frame():
    frame = prices(5)
    frame["close"] = np.nan
    with pytest.raises(ValueError, match="no rows left after cleaning 5 rows"):
        clean_prices(frame)


# ---------------------------------------------------------------------- history length
def test_required_rows_grow_with_window_horizon_and_warmup():
    cfg = RunConfig(window=30, horizon=1, val_frac=0.15, test_frac=0.15, tune_windows=(30,), forecast_days=1)
    base = required_rows(cfg, warmup_rows=0)
    assert required_rows(cfg, warmup_rows=50) == base + 50
    assert required_rows(cfg.replace(horizon=5), warmup_rows=0) > base
    assert required_rows(cfg.replace(window=60, tune_windows=(60,)), warmup_rows=0) > base


def test_required_rows_cover_the_largest_window_the_search_may_pick():
    cfg = RunConfig(window=20, tune_windows=(20,))
    assert required_rows(cfg.replace(tune_windows=(20, 120)), 0) > required_rows(cfg, 0)


def test_enough_history_passes_and_returns_the_rows_needed():
    cfg = RunConfig()
    assert check_history(5000, cfg) == required_rows(cfg)


def test_history_shorter_than_needed_names_both_numbers_the_shortfall_and_what_to_do():
    cfg = RunConfig(window=30, start="2024-01-02")
    with pytest.raises(InsufficientHistoryError) as info:
        check_history(50, cfg, warmup_rows=10)
    message = str(info.value)
    assert "50 rows available" in message and f"{required_rows(cfg, 10)} needed" in message
    assert "First shortfall" in message and "split" in message
    assert "earlier start" in message and "smaller window" in message and "longer history" in message
    assert info.value.available == 50 and info.value.needed == required_rows(cfg, 10)
    assert isinstance(info.value, ValueError)


def test_warmup_is_estimated_from_the_config_when_not_given():
    cfg = RunConfig()
    assert required_rows(cfg) > required_rows(cfg, warmup_rows=0)
    close_only = required_rows(cfg, columns=("close",))
    assert required_rows(cfg, warmup_rows=0) < close_only <= required_rows(cfg)


def test_a_date_split_is_checked_on_the_real_dates():
    cfg = RunConfig(window=10, horizon=1, val_start="2020-06-01", test_start="2021-01-01", tune_windows=(10,),
                    walk_forward_folds=1, forecast_days=1)
    dates = pd.bdate_range("2019-01-01", "2021-12-31")
    assert check_history(len(dates), cfg, warmup_rows=0, dates=dates) == len(dates)
    late = pd.bdate_range("2020-05-20", "2021-12-31")
    with pytest.raises(InsufficientHistoryError, match="train split"):
        check_history(len(late), cfg, warmup_rows=0, dates=late)
    with pytest.raises(ValueError, match="pass dates="):
        check_history(len(dates), cfg, warmup_rows=0)
