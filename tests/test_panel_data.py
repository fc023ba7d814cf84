"""The panel loader's alignment and missing-data policy on crafted panels, universe files, the config."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.config import ConfigError
from helpers.panel_config import PanelConfig
from helpers.panel_data import align_panel, load_panel, read_universe, read_wide_csv

REAL_PANEL = "/work/shared/data/panel/US14-close.csv"


def _crafted() -> pd.DataFrame:
    """Three tickers on 10 business days: FULL complete, LATE lists on day 3, GAPPY misses days 4-5, GONE
    delists after day 6; plus a stray date only GONE has (a holiday row of one file)."""
    dates = pd.bdate_range("2020-01-06", periods=10)
    frame = pd.DataFrame({t: np.linspace(10, 20, 10) for t in ("FULL", "LATE", "GAPPY", "GONE")}, index=dates)
    frame.loc[dates[:3], "LATE"] = np.nan
    frame.loc[dates[4:6], "GAPPY"] = np.nan
    frame.loc[dates[7:], "GONE"] = np.nan
    stray = pd.DataFrame({"FULL": [np.nan], "LATE": [np.nan], "GAPPY": [np.nan], "GONE": [15.0]},
                         index=[pd.Timestamp("2020-01-11")])
    return pd.concat([frame, stray]).sort_index()


def test_alignment_reports_late_listing_gaps_and_delisting():
    panel = align_panel(_crafted())
    report = panel.report
    assert report.loc["LATE", "late_listing"] and report.loc["LATE", "first"] == "2020-01-09"
    assert report.loc["GAPPY", "gap_days"] == 2 and not report.loc["GAPPY", "delisted"]
    assert report.loc["GONE", "delisted"] and report.loc["GONE", "last"] == "2020-01-14"
    assert not report.loc["FULL", ["late_listing", "delisted"]].any() and report.loc["FULL", "gap_days"] == 0


def test_alignment_drops_a_date_few_listed_tickers_have_and_fills_nothing():
    panel = align_panel(_crafted())
    assert panel.meta["dropped_dates"] == ["2020-01-11"]
    assert len(panel.closes) == 10
    assert panel.closes["GAPPY"].isna().sum() == 2 and panel.closes["LATE"].isna().sum() == 3
    returns = panel.returns()
    # a missing price makes that day's and the next day's returns missing: no invented zero return
    assert returns["GAPPY"].iloc[4:7].isna().all() and returns["GAPPY"].iloc[7:].notna().all()


def test_non_positive_prices_are_missing_not_prices():
    frame = _crafted().dropna(how="all")
    frame.iloc[2, 0] = 0.0
    assert np.isnan(align_panel(frame).closes.iloc[2, 0])


def test_csv_folder_and_wide_csv_give_the_same_panel(tmp_path):
    closes = align_panel(_crafted()).closes
    wide_path = tmp_path / "wide.csv"
    closes.rename_axis("Date").to_csv(wide_path)
    folder = tmp_path / "dir"
    folder.mkdir()
    for ticker in closes.columns:
        closes[[ticker]].dropna().rename(columns={ticker: "Close"}).rename_axis("Date").to_csv(folder / f"{ticker}.csv")
    from_wide = load_panel(PanelConfig(csv_path=str(wide_path)))
    from_dir = load_panel(PanelConfig(csv_dir=str(folder)))
    pd.testing.assert_frame_equal(from_wide.closes, from_dir.closes[from_wide.closes.columns], check_freq=False,
                                  check_names=False)
    assert "Survivorship bias" in from_wide.meta["survivorship"]


def test_tickers_load_through_the_given_loader():
    closes = align_panel(_crafted()).closes
    panel = load_panel(PanelConfig(tickers=("FULL", "LATE")), load_ticker=lambda t: closes[t].dropna())
    assert panel.tickers == ["FULL", "LATE"] and panel.report.loc["LATE", "late_listing"]


def test_universe_file_needs_an_as_of_date_and_feeds_the_survivorship_sentence(tmp_path):
    good = tmp_path / "u.txt"
    good.write_text("# name: two banks\n# as_of: 2024-06-28\nJPM\nbac\n\n# a comment\n")
    universe = read_universe(good)
    assert universe.tickers == ("JPM", "BAC") and universe.as_of == "2024-06-28"
    closes = pd.DataFrame({"JPM": [1.0, 1.1, 1.2], "BAC": [2.0, 2.1, 2.0]}, index=pd.bdate_range("2001-01-01", periods=3))
    panel = load_panel(PanelConfig(universe_path=str(good)), load_ticker=lambda t: closes[t])
    assert "as of 2024-06-28" in panel.meta["survivorship"] and "2001-01-01" in panel.meta["survivorship"]
    bad = tmp_path / "bad.txt"
    bad.write_text("JPM\nBAC\n")
    with pytest.raises(ConfigError, match="as_of"):
        read_universe(bad)


def test_config_refuses_two_sources_and_too_short_training():
    with pytest.raises(ConfigError, match="one data source"):
        PanelConfig(csv_path="a.csv", tickers=("A", "B"))
    with pytest.raises(ConfigError, match="train_days"):
        PanelConfig(window=240, train_days=300)
    with pytest.raises(ConfigError, match="unknown parameter"):
        PanelConfig.from_overrides({"windw": 3})
    assert PanelConfig.for_mode("quick").window < PanelConfig.for_mode("full").window == 240


@pytest.mark.skipif(not pd.io.common.file_exists(REAL_PANEL), reason="../shared/data/panel is absent")
def test_real_14_ticker_panel_has_no_gaps():
    closes = read_wide_csv(REAL_PANEL)
    panel = align_panel(closes)
    assert panel.closes.shape == (8313, 14) and panel.report["gap_days"].sum() == 0


def test_network_fields_are_checked_like_run_config_fields():
    with pytest.raises(ConfigError, match="'units'"):
        PanelConfig(units=(0,))
    with pytest.raises(ConfigError, match="'cell'"):
        PanelConfig.from_overrides({"cell": "transformer"})
