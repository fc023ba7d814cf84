"""Every figure function returns a plotly Figure with the traces it promises, on tiny inputs, without files."""

from __future__ import annotations

import builtins
import inspect
import io
import pathlib

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from helpers import plots

RNG = np.random.default_rng(0)


def make_prices(n: int = 120, *, ohlc: bool = True, volume: bool = True) -> pd.DataFrame:
    """A random-walk prices frame in the canonical shape: business-day index named date, lower-case columns."""
    dates = pd.bdate_range("2020-01-01", periods=n, name="date")
    close = 100 * np.exp(np.cumsum(RNG.normal(0, 0.01, n)))
    frame = pd.DataFrame({"close": close}, index=dates)
    if ohlc:
        frame["open"] = close * (1 + RNG.normal(0, 0.002, n))
        frame["high"] = np.maximum(frame["open"], close) * 1.01
        frame["low"] = np.minimum(frame["open"], close) * 0.99
    if volume:
        frame["volume"] = RNG.integers(1_000, 5_000, n).astype(float)
    return frame


@pytest.fixture
def prices() -> pd.DataFrame:
    return make_prices()


@pytest.fixture
def returns(prices) -> pd.Series:
    return np.log(prices["close"]).diff().dropna()


def every_figure(prices: pd.DataFrame, returns: pd.Series) -> dict[str, go.Figure]:
    """Call every figure function once on tiny inputs: name -> figure."""
    dates = prices.index[-30:]
    actual = prices["close"].iloc[-30:].to_numpy()
    persistence = prices["close"].iloc[-31:-1].to_numpy()
    model = actual + RNG.normal(0, 0.5, 30)
    frame = prices.assign(sma_10=prices["close"].rolling(10).mean(), rsi_14=50 + RNG.normal(0, 10, len(prices)),
                          macd=RNG.normal(0, 1, len(prices)), macd_signal=RNG.normal(0, 1, len(prices)))
    future = pd.bdate_range(prices.index[-1] + pd.offsets.BDay(), periods=5)
    forecast = pd.DataFrame({"forecast": np.linspace(100, 101, 5), "lower_80": np.linspace(99, 97, 5),
                             "upper_80": np.linspace(101, 105, 5), "lower_95": np.linspace(98, 95, 5),
                             "upper_95": np.linspace(102, 107, 5)}, index=future)
    return {
        "candlestick": plots.candlestick(prices),
        "return_distribution": plots.return_distribution(returns),
        "rolling_volatility": plots.rolling_volatility(returns),
        "drawdown": plots.drawdown(prices["close"]),
        "acf_bars": plots.acf_bars(returns, nlags=10, title="Returns"),
        "price_with_indicators": plots.price_with_indicators(frame, ["sma_10"]),
        "indicator_panel": plots.indicator_panel(frame, ["rsi_14", ["macd", "macd_signal"]]),
        "correlation_bars": plots.correlation_bars(pd.Series({"rsi_14": 0.02, "sma_10": -0.05, "macd": 0.01})),
        "loss_curves": plots.loss_curves({"lstm": {"loss": [1.0, 0.5], "val_loss": [1.1, 0.9]},
                                          "gru": {"loss": [1.0, 0.6], "val_loss": [1.2, 1.0]}}),
        "predicted_vs_actual": plots.predicted_vs_actual(dates, actual, {"model": model,
                                                                         "persistence": persistence}),
        "residuals": plots.residuals(dates, actual - model),
        "rolling_error": plots.rolling_error(dates, {"model": np.abs(actual - model),
                                                     "persistence": np.abs(actual - persistence)}, window=5),
        "error_by_horizon": plots.error_by_horizon(pd.DataFrame({"model": [1.0, 1.4, 1.7],
                                                                 "persistence": [1.0, 1.4, 1.8]},
                                                                index=pd.Index([1, 2, 3], name="step"))),
        "equity_curve": plots.equity_curve(pd.DataFrame({"long_flat": np.linspace(1, 1.1, 30),
                                                         "buy_and_hold": np.linspace(1, 1.2, 30)}, index=dates)),
        "fan_chart": plots.fan_chart(prices["close"], forecast),
        "tuning_slices": plots.tuning_slices(pd.DataFrame(
            {"units": [16, 32, 64], "cell": ["lstm", "gru", "lstm"], "dropout": [0.1, 0.2, 0.3],
             "val_loss": [0.5, 0.4, 0.6]})),
        "seed_spread": plots.seed_spread({42: 1.01, 43: 0.99, 44: 1.02}),
        "lag_chart": plots.lag_chart({"lags": [-1, 0, 1], "rmse": [2.0, 1.5, 1.0],
                                      "change_correlation": [0.0, 0.1, 0.9]}),
        "importance_bars": plots.importance_bars(pd.DataFrame({"feature": ["a", "b"], "mean": [0.2, 0.01],
                                                               "lo": [0.1, -0.02], "hi": [0.3, 0.04]})),
        "chance_histogram": plots.chance_histogram(RNG.normal(0.05, 0.1, 500), 0.12, buy_and_hold=0.2),
        "var_backtest": plots.var_backtest(dates, returns.iloc[-30:].to_numpy(),
                                           {"historical": np.full(30, 0.01), "garch": np.full(30, 0.015)},
                                           level=0.95),
    }


TABLES = {"data_report_table"}    # HTML tables (pandas Stylers), not plotly figures
EXPECTED_TRACES = {
    "candlestick": 4,             # candles, two moving averages, volume
    "return_distribution": 2,     # histogram, normal curve
    "rolling_volatility": 2,      # one per window
    "drawdown": 1,
    "acf_bars": 3,                # bars, upper and lower band
    "price_with_indicators": 2,   # close, one overlay
    "indicator_panel": 3,         # rsi; macd and signal together
    "correlation_bars": 1,
    "loss_curves": 4,             # train and validation per model
    "predicted_vs_actual": 3,     # actual, two forecasters
    "residuals": 1,
    "rolling_error": 2,
    "error_by_horizon": 2,
    "equity_curve": 2,
    "fan_chart": 6,               # history, two bands of two edges, forecast
    "tuning_slices": 6,           # per setting: the trials, the best ringed
    "seed_spread": 2,             # dots, reference line
    "lag_chart": 2,               # one per panel
    "importance_bars": 1,
    "var_backtest": 5,            # returns, then a VaR line and exceedances per method
    "chance_histogram": 3,        # draws, strategy line, buy-and-hold line
}


def test_every_public_figure_function_is_covered():
    public = {name for name, obj in inspect.getmembers(plots, inspect.isfunction)
              if obj.__module__ == plots.__name__ and not name.startswith("_")}
    assert public == set(EXPECTED_TRACES) | TABLES


@pytest.fixture(scope="module")
def figures() -> dict[str, go.Figure]:
    prices = make_prices()
    return every_figure(prices, np.log(prices["close"]).diff().dropna())


@pytest.mark.parametrize("name", sorted(EXPECTED_TRACES))
def test_figure_has_expected_traces(name, figures):
    fig = figures[name]
    assert isinstance(fig, go.Figure)
    assert len(fig.data) == EXPECTED_TRACES[name]
    assert fig.layout.title.text


def test_no_figure_function_reads_files(prices, returns, monkeypatch):
    every_figure(prices, returns)  # warm up: plotly loads its templates from package files once

    def refuse(*args, **kwargs):
        raise AssertionError(f"a figure function tried to read a file: {args[:1]}")

    for owner, attribute in [(builtins, "open"), (io, "open"), (pathlib.Path, "open"),
                             (pathlib.Path, "read_text"), (pathlib.Path, "read_bytes"), (pd, "read_csv"),
                             (pd, "read_parquet"), (pd, "read_json")]:
        monkeypatch.setattr(owner, attribute, refuse)
    figures = every_figure(prices, returns)
    assert len(figures) == len(EXPECTED_TRACES)


def test_no_figure_function_takes_a_path_argument():
    for name, function in inspect.getmembers(plots, inspect.isfunction):
        if function.__module__ == plots.__name__ and not name.startswith("_"):
            parameters = inspect.signature(function).parameters
            assert not any("path" in p or "file" in p for p in parameters), name


def test_long_candlestick_is_resampled_to_weekly_bars():
    daily = make_prices(3000)
    fig = plots.candlestick(daily, max_points=1500)
    candles = fig.data[0]
    assert len(candles.x) <= 1500
    assert "weekly" in fig.layout.title.text


def test_weekly_bars_keep_the_weeks_extremes_and_last_close():
    daily = make_prices(40)
    fig = plots.candlestick(daily, ma_lengths=(), max_points=10)
    candles = fig.data[0]
    first_week = daily.loc[: pd.Timestamp(candles.x[0])]
    first_week = first_week[first_week.index.to_period("W") == first_week.index[-1].to_period("W")]
    assert candles.high[0] == pytest.approx(first_week["high"].max())
    assert candles.low[0] == pytest.approx(first_week["low"].min())
    assert candles.close[0] == pytest.approx(first_week["close"].iloc[-1])
    assert candles.open[0] == pytest.approx(first_week["open"].iloc[0])


def test_very_long_candlestick_falls_back_to_monthly_bars():
    fig = plots.candlestick(make_prices(9000), max_points=1500)
    assert len(fig.data[0].x) <= 1500
    assert "monthly" in fig.layout.title.text


def test_short_candlestick_keeps_daily_bars(prices):
    fig = plots.candlestick(prices)
    assert len(fig.data[0].x) == len(prices)
    assert "resampled" not in fig.layout.title.text


def test_close_only_prices_give_a_line_without_volume_panel():
    fig = plots.candlestick(make_prices(100, ohlc=False, volume=False))
    assert isinstance(fig.data[0], go.Scatter)
    assert not any(isinstance(trace, go.Bar) for trace in fig.data)


def test_all_zero_volume_skips_the_volume_panel():
    fig = plots.candlestick(make_prices(100).assign(volume=0.0))
    assert isinstance(fig.data[0], go.Candlestick)
    assert not any(isinstance(trace, go.Bar) for trace in fig.data)


def test_long_line_charts_are_thinned_and_say_so():
    daily = make_prices(4000)
    returns = np.log(daily["close"]).diff().dropna()
    fig = plots.rolling_volatility(returns, max_points=1500)
    assert all(len(trace.x) <= 1501 for trace in fig.data)
    assert "1 row in" in fig.layout.title.text


def test_thinned_drawdown_keeps_the_trough():
    daily = make_prices(4000)
    underwater = daily["close"] / daily["close"].cummax() - 1
    fig = plots.drawdown(daily["close"], max_points=500)
    assert min(fig.data[0].y) == pytest.approx(underwater.min())


def test_return_distribution_title_reports_excess_kurtosis(returns):
    fig = plots.return_distribution(returns)
    assert f"{returns.kurt():.1f}" in fig.layout.title.text


def test_acf_band_is_1_96_over_root_n(returns):
    fig = plots.acf_bars(returns, nlags=5)
    assert fig.data[1].y[0] == pytest.approx(1.96 / np.sqrt(len(returns)))
    assert len(fig.data[0].x) == 5


def test_persistence_is_drawn_dashed(prices):
    dates = prices.index[-10:]
    values = prices["close"].iloc[-10:].to_numpy()
    fig = plots.predicted_vs_actual(dates, values, {"model": values, "persistence": values})
    styles = {trace.name: trace.line.dash for trace in fig.data}
    assert styles["persistence"] == "dash"
    assert styles["model"] != "dash"


def test_forecast_length_mismatch_names_the_forecaster(prices):
    dates = prices.index[-10:]
    with pytest.raises(ValueError, match="model"):
        plots.predicted_vs_actual(dates, np.ones(10), {"model": np.ones(9)})


def test_fan_chart_shows_only_recent_history(prices):
    forecast = pd.DataFrame({"forecast": [1.0, 2.0], "lower_80": [0.5, 1.0], "upper_80": [1.5, 3.0]},
                            index=pd.bdate_range(prices.index[-1] + pd.offsets.BDay(), periods=2))
    fig = plots.fan_chart(prices["close"], forecast, history_days=20)
    assert len(fig.data[0].x) == 20


def test_fan_chart_without_matching_upper_band_names_the_column(prices):
    forecast = pd.DataFrame({"forecast": [1.0], "lower_80": [0.5]},
                            index=pd.bdate_range("2030-01-01", periods=1))
    with pytest.raises(KeyError, match="upper_80"):
        plots.fan_chart(prices["close"], forecast)


def test_var_backtest_marks_exactly_the_exceedances():
    dates = pd.bdate_range("2021-01-01", periods=5)
    returns = np.array([0.0, -0.03, 0.01, -0.02, -0.005])
    fig = plots.var_backtest(dates, returns, {"hs": np.full(5, 0.015)}, level=0.95)
    hits = fig.data[2]
    assert list(hits.y) == [-0.03, -0.02]


def test_var_level_as_percent_is_rejected():
    dates = pd.bdate_range("2021-01-01", periods=2)
    with pytest.raises(ValueError, match="0.95"):
        plots.var_backtest(dates, np.zeros(2), {"hs": np.ones(2)}, level=95)


def test_missing_indicator_column_is_named(prices):
    with pytest.raises(KeyError, match="rsi_14"):
        plots.indicator_panel(prices, ["rsi_14"])


def test_empty_cleaning_report_says_nothing_needed_fixing():
    table = plots.data_report_table(pd.DataFrame(columns=["rule", "count"]))
    assert "no fixes were needed" in table.to_html()


def test_cleaning_report_is_an_html_table_with_its_title_and_every_cell():
    html = plots.data_report_table(pd.DataFrame({"rule": ["duplicate dates"], "count": [2],
                                                 "dates": [[pd.Timestamp("2024-01-02"), pd.Timestamp("2024-01-03")]]}),
                                   title="AAPL cleaning").to_html()
    assert "<table" in html and "AAPL cleaning" in html and "Plotly" not in html
    for cell in ("duplicate dates", ">2<", "2024-01-02, 2024-01-03"):
        assert cell in html, cell


def test_correlation_bars_put_the_strongest_feature_on_top():
    fig = plots.correlation_bars(pd.Series({"weak": 0.01, "strong": -0.2, "middle": 0.05}))
    assert list(fig.data[0].y)[-1] == "strong"  # horizontal bars draw bottom-up


def test_failed_trials_without_objective_are_left_out():
    trials = pd.DataFrame({"units": [16, 32, 64], "val_loss": [0.5, None, 0.6]})
    fig = plots.tuning_slices(trials)
    assert list(fig.data[0].x) == [16.0, 64.0] and list(fig.data[0].y) == [0.5, 0.6]


def test_tuning_slices_ring_the_lowest_loss_in_every_panel_and_keep_text_settings_categorical():
    trials = pd.DataFrame({"cell": ["lstm", "gru", "lstm"], "units": [16, 32, 64], "val_loss": [0.5, 0.4, 0.6]})
    fig = plots.tuning_slices(trials)
    rings = [t for t in fig.data if t.name == "best"]
    assert [(r.x[0], r.y[0]) for r in rings] == [("gru", 0.4), (32.0, 0.4)]
    assert fig.layout.xaxis.type == "category" and fig.layout.xaxis2.type != "category"


def test_chance_histogram_title_says_the_share_of_draws_at_least_as_good():
    fig = plots.chance_histogram(np.arange(100) / 100, 0.9)
    assert "10.0% of draws did at least as well" in fig.layout.title.text
    assert len(fig.data) == 2


@pytest.mark.parametrize("frequency, windows, unit, per_year", [
    (None, (21, 63), "day", 252),
    ({"name": "hourly", "step_seconds": 3600.0, "calendar": "24/7", "bars_per_year": 8760.0}, (24, 168), "bar", 8760),
    ({"name": "weekly", "step_seconds": 604800.0, "calendar": "periodic", "bars_per_year": 52.18}, (13, 52), "week",
     52.18),
])
def test_rolling_volatility_follows_the_series_frequency(frequency, windows, unit, per_year):
    from helpers.frequency import volatility_windows

    found = volatility_windows(frequency)
    assert found == (windows, unit, pytest.approx(per_year))
    returns = pd.Series(np.random.default_rng(0).normal(0, 0.01, 400),
                        index=pd.date_range("2024-01-01", periods=400, freq="h"))
    fig = plots.rolling_volatility(returns, windows=windows, periods_per_year=per_year, unit=unit)
    assert [trace.name for trace in fig.data] == [f"{w}-{unit}" for w in windows]
    expected = returns.rolling(windows[0]).std().iloc[-1] * np.sqrt(per_year)
    assert fig.data[0].y[-1] == pytest.approx(expected)


def test_titles_legends_and_axes_name_the_series_bars_not_days():
    hourly = pd.date_range("2024-01-01", periods=200, freq="h", name="date")
    daily = pd.bdate_range("2024-01-01", periods=200, name="date")
    close = pd.Series(100 * np.exp(np.cumsum(RNG.normal(0, 0.01, 200))))
    r_hourly = np.log(close.set_axis(hourly)).diff().dropna()
    r_daily = np.log(close.set_axis(daily)).diff().dropna()
    assert plots.return_distribution(r_hourly).layout.title.text.startswith("Hourly returns against a normal curve")
    assert plots.return_distribution(r_daily).layout.title.text.startswith("Daily returns against a normal curve")
    names = [t.name for t in plots.candlestick(pd.DataFrame({"close": close.to_numpy()}, index=hourly)).data]
    assert "20-bar average" in names and not any("day" in str(n) for n in names)
    assert "20-day average" in [t.name for t in plots.candlestick(pd.DataFrame({"close": close.to_numpy()},
                                                                               index=daily)).data]
    lags = {"lags": [-1, 0, 1], "rmse": [1.0, 0.5, 0.6], "change_correlation": [0.1, 0.2, 0.3]}
    assert plots.lag_chart({**lags, "unit": "bar"}).layout.xaxis.title.text == \
        "shift k (bars; +1 = the previous bar's actual)"
    assert plots.lag_chart(lags).layout.xaxis.title.text == "shift k (days; +1 = yesterday's actual)"
    assert plots.rolling_error(hourly, {"model": np.ones(200)}).layout.title.text == \
        "Rolling 21-bar mean absolute error"
    var = plots.var_backtest(hourly, r_hourly.reindex(hourly).fillna(0).to_numpy(), {"model": np.full(200, 0.01)}, 0.95)
    assert any(" bars (expected " in str(t.name) for t in var.data)
    assert plots.correlation_bars(pd.Series({"rsi": 0.1}), unit="bar").layout.title.text == \
        "Correlation with the next bar's return"


def test_the_drawdown_of_intraday_bars_names_its_peak_and_trough_with_their_time():
    hourly = pd.date_range("2024-01-01", periods=48, freq="h", name="date")
    close = pd.Series(np.r_[np.linspace(100, 110, 24), np.linspace(109, 90, 24)], index=hourly)
    text = plots.drawdown(close).layout.annotations[0].text
    assert "peak 2024-01-01 23:00:00" in text and "trough 2024-01-02 23:00:00" in text
