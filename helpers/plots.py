"""Every plotly figure of the series, one function each, each returning a ``go.Figure`` (the cleaning report is
an HTML table). Figures use only the traces of plotly.js's finance bundle (scatter, bar, histogram,
candlestick, ...), the partial plotly.js the report pages load (``helpers/plotlyjs.py``; a test checks).

Inputs are plain pandas / numpy objects with the shapes given in each docstring, never files: the notebooks
read the run folder and hand the data over. Figures are kept light because the HTML export embeds plotly.js
and every trace's data in the page: series of the whole history longer than ``max_points`` are thinned (and
candlesticks resampled to weekly, monthly, ... bars), and the title says so.

Conventions: dates on the x axis; ``actual`` drawn in black, ``persistence`` (the yardstick of every error)
grey and dashed; returns, volatility and drawdown formatted as percentages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

TEMPLATE = "plotly_white"
HEIGHT = 450
ACTUAL_COLOR = "#111111"
PERSISTENCE_COLOR = "#7f7f7f"
# plotly's default colour cycle, minus its grey, so "persistence" keeps grey to itself.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf")
# Resampling rules tried in order when a candlestick has too many bars: pandas period alias, reader's word.
RESAMPLE_RULES = (("W", "weekly"), ("M", "monthly"), ("Q", "quarterly"), ("Y", "yearly"))


# ---------------------------------------------------------------------------------------------- data


def candlestick(prices: pd.DataFrame, ma_lengths: Sequence[int] = (20, 50), max_points: int = 1500,
                title: str = "Price") -> go.Figure:
    """Daily prices as candlesticks with moving averages of the close and a volume panel below.

    ``prices`` is the canonical prices frame (date index; ``close`` required, ``open, high, low, volume``
    optional). Without open/high/low the close is drawn as a line; without volume (missing, all zero or NaN)
    the volume panel is left out. Moving averages are over ``ma_lengths`` trading days of the daily close;
    lengths longer than the series are skipped. More than ``max_points`` rows are resampled to weekly (or
    coarser) OHLC bars, the averages sampled at each bar's last day, and the title says so.
    """
    _require_columns(prices, ["close"], "prices")
    frame = prices.sort_index()
    word = _bar_word(frame.index)
    averages = {f"{n}-{word} average": frame["close"].rolling(int(n)).mean()
                for n in ma_lengths if 0 < int(n) <= len(frame)}
    frame = frame.assign(**averages)
    has_ohlc = all(c in frame.columns for c in ("open", "high", "low"))
    has_volume = "volume" in frame.columns and bool((frame["volume"].fillna(0) != 0).any())
    frame, bar_word = _resample_ohlc(frame, max_points)

    rows = 2 if has_volume else 1
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.03,
                        row_heights=[0.75, 0.25] if has_volume else [1.0])
    if has_ohlc:
        fig.add_trace(go.Candlestick(x=frame.index, open=frame["open"], high=frame["high"], low=frame["low"],
                                     close=frame["close"], name="price"), row=1, col=1)
    else:
        fig.add_trace(go.Scatter(x=frame.index, y=frame["close"], mode="lines", name="close",
                                 line=dict(color=ACTUAL_COLOR, width=1.2)), row=1, col=1)
    for i, name in enumerate(averages):
        fig.add_trace(go.Scatter(x=frame.index, y=frame[name], mode="lines", name=name,
                                 line=dict(color=PALETTE[(i + 1) % len(PALETTE)], width=1.2)), row=1, col=1)
    if has_volume:
        fig.add_trace(go.Bar(x=frame.index, y=frame["volume"], name="volume", marker_color="#9db4d0",
                             marker_line_width=0, showlegend=False), row=2, col=1)
        fig.update_yaxes(title_text="volume", row=2, col=1)
    note = (f" ({bar_word} bars: {len(prices)} rows resampled to keep the page light)"
            if bar_word != "daily" else "")
    fig.update_yaxes(title_text="price", row=1, col=1)
    fig.update_xaxes(rangeslider_visible=False)
    return _finish(fig, title + note, height=HEIGHT + (150 if has_volume else 0))


def return_distribution(returns: pd.Series | np.ndarray, bins: int = 80,
                        title: str | None = None) -> go.Figure:
    """Histogram (as a density) of returns with the normal curve of the same mean and standard deviation.

    The default title names the returns by the series' bars (``Daily returns``, ``Hourly returns``...).

    ``returns``: 1-D returns (e.g. daily log returns; NaN dropped). The title gives the excess kurtosis (0 for
    a normal): far above 0 means fat tails, i.e. big moves are much more frequent than a normal model says.
    """
    values = _finite_1d(returns, "returns", minimum=4)
    mean, sd = float(values.mean()), float(values.std(ddof=1))
    kurtosis = float(pd.Series(values).kurt())
    grid = np.linspace(values.min(), values.max(), 300)
    normal = np.exp(-0.5 * ((grid - mean) / sd) ** 2) / (sd * np.sqrt(2 * np.pi)) if sd > 0 else np.zeros_like(grid)
    fig = go.Figure()
    fig.add_trace(go.Histogram(x=values, nbinsx=bins, histnorm="probability density", name="observed",
                               marker_color=PALETTE[0], opacity=0.75))
    fig.add_trace(go.Scatter(x=grid, y=normal, mode="lines", name=f"normal (mean {mean:.2%}, sd {sd:.2%})",
                             line=dict(color=PALETTE[3], width=2)))
    fig.update_xaxes(title_text="return", tickformat=".0%")
    fig.update_yaxes(title_text="density")
    if title is None:
        from helpers.frequency import bar_kind   # "daily", "hourly"...: the returns are named by their bars

        title = f"{bar_kind(getattr(returns, 'index', None))} returns".strip().capitalize() + " against a normal curve"
    return _finish(fig, f"{title}: excess kurtosis {kurtosis:.1f} (normal = 0; larger = fatter tails)")


def rolling_volatility(returns: pd.Series, windows: Sequence[int] = (21, 63), periods_per_year: float = 252,
                       max_points: int = 1500, title: str = "Rolling volatility, annualised",
                       unit: str = "day") -> go.Figure:
    """Annualised rolling standard deviation of returns, one line per window (in ``unit``: trading days, or the
    bars of the series' frequency, see :func:`helpers.frequency.volatility_windows`).

    ``returns``: a Series of periodic returns with a date index. Volatility ``sd * sqrt(periods_per_year)``;
    calm and stormy stretches that follow each other are volatility clustering.
    """
    series = _as_series(returns, "returns")
    fig = go.Figure()
    frame = pd.DataFrame({f"{w}-{unit}": series.rolling(int(w)).std() * np.sqrt(periods_per_year) for w in windows})
    frame, note = _thin(frame, max_points)
    for i, column in enumerate(frame.columns):
        fig.add_trace(go.Scatter(x=frame.index, y=frame[column], mode="lines", name=column,
                                 line=dict(color=PALETTE[i % len(PALETTE)], width=1.3)))
    fig.update_yaxes(title_text="annualised volatility", tickformat=".0%")
    return _finish(fig, title + note)


def drawdown(close: pd.Series, max_points: int = 1500, title: str = "Drawdown") -> go.Figure:
    """Underwater chart: how far the close is below its running peak, with the maximum drawdown annotated.

    ``close``: a Series of prices with a date index. Drawdown ``close / running max - 1`` (0 at new highs).
    """
    series = _as_series(close, "close")
    underwater = series / series.cummax() - 1.0
    trough = underwater.idxmin()
    peak = series.loc[:trough].idxmax()
    worst = float(underwater.loc[trough])
    thinned, note = _thin(underwater.to_frame("drawdown"), max_points, keep=[trough])
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=thinned.index, y=thinned["drawdown"], mode="lines", name="drawdown",
                             fill="tozeroy", line=dict(color=PALETTE[3], width=1), fillcolor="rgba(214,39,40,0.25)"))
    fig.add_annotation(x=trough, y=worst, text=f"max drawdown {worst:.1%}<br>peak {_day(peak, series.index)}, "
                            f"trough {_day(trough, series.index)}",
                       showarrow=True, arrowhead=2, ax=60, ay=30, bgcolor="white")
    fig.update_yaxes(title_text="below running peak", tickformat=".0%", range=[1.35 * min(worst, -0.01), 0.02])
    return _finish(fig, f"{title}: worst {worst:.1%}{note}")


def acf_bars(series: pd.Series | np.ndarray, nlags: int = 30, title: str = "Autocorrelation") -> go.Figure:
    """Autocorrelation at lags 1..nlags as bars with the ±1.96/sqrt(n) band of no autocorrelation.

    ``series``: 1-D values (NaN dropped), e.g. returns, squared returns or residuals. Bars outside the band are
    correlations unlikely under white noise at the 5% level (about 1 bar in 20 crosses it by chance).
    """
    from statsmodels.tsa.stattools import acf

    values = _finite_1d(series, "series", minimum=3)
    nlags = max(1, min(int(nlags), len(values) - 1))
    coefficients = acf(values, nlags=nlags, fft=True)[1:]
    lags = np.arange(1, nlags + 1)
    band = 1.96 / np.sqrt(len(values))
    fig = go.Figure()
    fig.add_trace(go.Bar(x=lags, y=coefficients, name="autocorrelation", marker_color=PALETTE[0]))
    fig.add_trace(go.Scatter(x=[0.5, nlags + 0.5], y=[band, band], mode="lines", name="95% band of white noise",
                             line=dict(color=PALETTE[3], dash="dash", width=1)))
    fig.add_trace(go.Scatter(x=[0.5, nlags + 0.5], y=[-band, -band], mode="lines", showlegend=False,
                             name="95% band (lower)", line=dict(color=PALETTE[3], dash="dash", width=1)))
    fig.update_xaxes(title_text="lag (rows)")
    fig.update_yaxes(title_text="correlation")
    return _finish(fig, f"{title} (n = {len(values)}, band ±{band:.3f})")


def data_report_table(report_frame: pd.DataFrame, title: str = "Cleaning report") -> Any:
    """The data-cleaning report as an HTML table (a pandas ``Styler``): one row per rule that fired
    (``CleaningReport.to_frame()``).

    A table, not a plotly figure: plotly's table trace is not in the partial plotly.js the report pages load
    (``helpers/plotlyjs.py``), and an HTML table reads, searches and copies like text in Lab and in the page.
    Any frame works; a non-default index is shown as the first column. An empty frame shows one row saying
    that nothing needed fixing.
    """
    frame = report_frame
    if not isinstance(frame.index, pd.RangeIndex) or frame.index.name is not None:
        frame = frame.reset_index()
    if frame.empty:
        frame = pd.DataFrame({"result": ["no fixes were needed"]})
    else:
        frame = pd.DataFrame({str(c): [_cell_text(v) for v in frame[c]] for c in frame.columns})
    return (frame.style.hide(axis="index").set_caption(title)
            .set_table_styles([{"selector": "caption", "props": "font-weight: bold; text-align: left;"},
                               {"selector": "th, td", "props": "text-align: left;"}]))


# ---------------------------------------------------------------------------------------------- features


def price_with_indicators(frame: pd.DataFrame, columns: Sequence[str], max_points: int = 1500,
                          title: str = "Close with indicators") -> go.Figure:
    """The close with overlay indicators in price units (moving averages, Bollinger bands) on the same axis.

    ``frame``: date index, a ``close`` column and every name in ``columns``.
    """
    _require_columns(frame, ["close", *columns], "frame")
    data, note = _thin(frame[["close", *columns]], max_points)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=data.index, y=data["close"], mode="lines", name="close",
                             line=dict(color=ACTUAL_COLOR, width=1.3)))
    for i, column in enumerate(columns):
        fig.add_trace(go.Scatter(x=data.index, y=data[column], mode="lines", name=column,
                                 line=dict(color=PALETTE[i % len(PALETTE)], width=1)))
    fig.update_yaxes(title_text="price")
    return _finish(fig, title + note)


def indicator_panel(frame: pd.DataFrame, columns: Sequence[str | Sequence[str]], max_points: int = 1500,
                    title: str = "Indicators") -> go.Figure:
    """Indicators on their own scales, one stacked panel each, sharing the date axis.

    ``columns``: one entry per panel; an entry is a column name or a list of names drawn together (e.g.
    ``["macd", "macd_signal"]``). ``frame`` has a date index and all those columns.
    """
    panels = [[entry] if isinstance(entry, str) else list(entry) for entry in columns]
    if not panels:
        raise ValueError("indicator_panel needs at least one column in `columns`")
    names = [name for panel in panels for name in panel]
    _require_columns(frame, names, "frame")
    data, note = _thin(frame[list(dict.fromkeys(names))], max_points)
    fig = make_subplots(rows=len(panels), cols=1, shared_xaxes=True, vertical_spacing=0.04,
                        subplot_titles=[", ".join(panel) for panel in panels])
    for row, panel in enumerate(panels, start=1):
        for i, column in enumerate(panel):
            fig.add_trace(go.Scatter(x=data.index, y=data[column], mode="lines", name=column,
                                     line=dict(color=PALETTE[i % len(PALETTE)], width=1)), row=row, col=1)
    return _finish(fig, title + note, height=120 + 180 * len(panels))


def correlation_bars(series: pd.Series, title: str | None = None, unit: str = "day") -> go.Figure:
    """Horizontal bars of one correlation per feature (index = feature names), strongest at the top.

    Typically each feature's correlation with the next bar's return (``unit``: ``day``, ``week``, ``bar``):
    values near zero everywhere are the normal, sobering result for daily prices.
    """
    title = title or f"Correlation with the next {unit}'s return"
    if not isinstance(series, pd.Series):
        raise TypeError(f"correlation_bars needs a pandas Series indexed by feature name, got {type(series).__name__}")
    ordered = series.dropna().reindex(series.dropna().abs().sort_values().index)
    colors = [PALETTE[0] if v >= 0 else PALETTE[3] for v in ordered.to_numpy()]
    fig = go.Figure(go.Bar(x=ordered.to_numpy(), y=[str(i) for i in ordered.index], orientation="h",
                           marker_color=colors, name="correlation"))
    fig.update_xaxes(title_text="correlation", zeroline=True, zerolinecolor="#444")
    return _finish(fig, title, height=max(300, 120 + 24 * len(ordered)))


# ---------------------------------------------------------------------------------------------- training


def loss_curves(histories: Mapping[str, Mapping[str, Sequence[float]]], title: str = "Training curves") -> go.Figure:
    """Training (solid) and validation (dashed) loss per epoch for each model, on a log scale.

    ``histories``: model name -> Keras-style history dict with ``loss`` and optionally ``val_loss``.
    """
    if not histories:
        raise ValueError("loss_curves needs at least one history: {model name: {'loss': [...], 'val_loss': [...]}}")
    fig = go.Figure()
    for i, (model, history) in enumerate(histories.items()):
        if "loss" not in history:
            raise KeyError(f"history of {model!r} has no 'loss' key (keys: {sorted(history)}); pass Keras' "
                           f"History.history dict")
        color = PALETTE[i % len(PALETTE)]
        for key, dash, label in (("loss", "solid", "train"), ("val_loss", "dash", "validation")):
            if key in history:
                values = list(history[key])
                fig.add_trace(go.Scatter(x=list(range(1, len(values) + 1)), y=values, mode="lines+markers",
                                         name=f"{model} {label}", line=dict(color=color, dash=dash),
                                         marker=dict(size=4)))
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(title_text="loss (log scale)", type="log")
    return _finish(fig, title)


# ---------------------------------------------------------------------------------------------- evaluation


def predicted_vs_actual(dates: Sequence[Any], actual: Sequence[float], forecasts: Mapping[str, Sequence[float]],
                        title: str = "Forecasts against the actual close") -> go.Figure:
    """The actual series with each forecaster's line on the same dates; a range slider below for zooming.

    ``dates``, ``actual`` and every array in ``forecasts`` (name -> values) have the same length n.
    ``persistence`` is drawn grey and dashed: zoom in to see whether a model is just that line again.
    """
    actual = _same_length(actual, dates, "actual")
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=_x(dates), y=actual, mode="lines", name="actual",
                             line=dict(color=ACTUAL_COLOR, width=1.6)))
    for i, (name, values) in enumerate(forecasts.items()):
        fig.add_trace(go.Scatter(x=_x(dates), y=_same_length(values, dates, f"forecasts[{name!r}]"), mode="lines",
                                 name=name, line=_forecaster_line(name, i)))
    fig.update_xaxes(rangeslider_visible=True)
    fig.update_yaxes(title_text="price")
    return _finish(fig, title, height=HEIGHT + 100)


def residuals(dates: Sequence[Any], residual: Sequence[float], title: str = "Residuals (actual - forecast)") -> go.Figure:
    """Forecast errors over time around a zero line; pair it with ``acf_bars(residual)`` for their autocorrelation.

    ``dates`` and ``residual`` have the same length. Bursts of large residuals are volatility clustering.
    """
    values = _same_length(residual, dates, "residual")
    fig = go.Figure(go.Scatter(x=_x(dates), y=values, mode="lines", name="residual",
                               line=dict(color=PALETTE[0], width=1)))
    fig.add_hline(y=0, line=dict(color="#444", width=1))
    fig.update_yaxes(title_text="residual")
    return _finish(fig, title)


def rolling_error(dates: Sequence[Any], abs_errors: Mapping[str, Sequence[float]], window: int = 21,
                  title: str | None = None) -> go.Figure:
    """Rolling mean absolute error of each forecaster over ``window`` rows: where in time one beats another.

    ``abs_errors``: forecaster name -> absolute errors, each as long as ``dates``.
    """
    fig = go.Figure()
    for i, (name, values) in enumerate(abs_errors.items()):
        rolled = pd.Series(_same_length(values, dates, f"abs_errors[{name!r}]")).rolling(int(window)).mean()
        fig.add_trace(go.Scatter(x=_x(dates), y=rolled.to_numpy(), mode="lines", name=name,
                                 line=_forecaster_line(name, i)))
    fig.update_yaxes(title_text="mean absolute error")
    return _finish(fig, title or f"Rolling {window}-{_bar_word(dates)} mean absolute error")


def error_by_horizon(frame: pd.DataFrame, title: str = "Error by forecast step") -> go.Figure:
    """RMSE at each step ahead, one line per forecaster (index = step 1..h, columns = forecasters)."""
    fig = go.Figure()
    for i, name in enumerate(frame.columns):
        fig.add_trace(go.Scatter(x=list(frame.index), y=frame[name].to_numpy(), mode="lines+markers",
                                 name=str(name), line=_forecaster_line(str(name), i)))
    fig.update_xaxes(title_text="steps ahead", dtick=1)
    fig.update_yaxes(title_text="RMSE")
    return _finish(fig, title)


def equity_curve(equity_frame: pd.DataFrame, max_points: int = 1500,
                 title: str = "Growth of 1 unit of money") -> go.Figure:
    """Value of each strategy over time (date index, one column per strategy), with 1.0 marked."""
    data, note = _thin(equity_frame, max_points)
    fig = go.Figure()
    for i, name in enumerate(data.columns):
        fig.add_trace(go.Scatter(x=data.index, y=data[name], mode="lines", name=str(name),
                                 line=_forecaster_line(str(name), i)))
    fig.add_hline(y=1.0, line=dict(color="#444", width=1, dash="dot"))
    fig.update_yaxes(title_text="value")
    return _finish(fig, title + note)


def chance_histogram(draws: Sequence[float], observed: float, buy_and_hold: float | None = None,
                     label: str = "total return", title: str | None = None) -> go.Figure:
    """The distribution of a strategy statistic under random timing, with the strategy's own value marked.

    ``draws``: one value per random-timing draw (``helpers.strategy.random_timing``; NaN draws are left out);
    ``observed``: the strategy's value; ``buy_and_hold``: drawn too when given. A strategy line deep in the
    right tail beat chance; one inside the bulk did what luck does with the same exposure. ``label`` "total
    return" formats the axis as percentages.
    """
    values = np.asarray(draws, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size < 2:
        raise ValueError(f"draws has {values.size} finite values: pass the random-timing draws (at least 2)")
    share = float(np.mean(values >= observed))
    fig = go.Figure(go.Histogram(x=values, nbinsx=60, name=f"random timing ({values.size} draws)",
                                 marker_color="#b0b0b0"))
    top = float(np.histogram(values, bins=60)[0].max())
    lines = [("strategy", observed, PALETTE[0])] + ([("buy-and-hold", buy_and_hold, PALETTE[1])]
                                                    if buy_and_hold is not None else [])
    for name, value, color in lines:
        fig.add_trace(go.Scatter(x=[value, value], y=[0, top], mode="lines", name=f"{name}: {value:.3g}",
                                 line=dict(color=color, width=2.5, dash="solid" if name == "strategy" else "dash")))
    fig.update_xaxes(title_text=label, tickformat=".0%" if label == "total return" else None)
    fig.update_yaxes(title_text="draws")
    return _finish(fig, title or f"The strategy's {label} against random timing "
                                 f"({share:.1%} of draws did at least as well)")


def seed_spread(values_by_seed: Mapping[int, float], reference: float = 1.0, label: str = "Theil's U",
                title: str | None = None) -> go.Figure:
    """One dot per training seed with the reference line (U = 1 is persistence), showing run-to-run spread.

    A verdict that flips with the seed is no verdict: the spread is the noise floor of any comparison.
    """
    if not values_by_seed:
        raise ValueError("seed_spread needs at least one seed: {seed: value}")
    seeds = [str(s) for s in values_by_seed]
    values = np.asarray(list(values_by_seed.values()), dtype=float)
    spread = f"mean {values.mean():.3f}" + (f" ± {values.std(ddof=1):.3f} sd" if len(values) > 1 else "")
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=seeds, y=values, mode="markers", name=label,
                             marker=dict(size=11, color=PALETTE[0])))
    fig.add_trace(go.Scatter(x=seeds, y=[reference] * len(seeds), mode="lines", name=f"reference {reference:g}",
                             line=dict(color=PERSISTENCE_COLOR, dash="dash")))
    fig.update_xaxes(title_text="seed", type="category")
    fig.update_yaxes(title_text=label)
    return _finish(fig, title or f"{label} by seed: {spread} over {len(values)} seeds")


def lag_chart(lag_diagnostic: Mapping[str, Any], title: str = "Lag diagnostic", unit: str = "day") -> go.Figure:
    """Two panels over the shift k: RMSE of forecast vs actual shifted by k, and correlation of their changes.

    ``lag_diagnostic``: the dict returned by ``metrics.lag_diagnostic`` (rows under ``by_lag``), or columns
    ``{"lags": [...], "rmse": [...], "change_correlation": [...]}``; k = +1 compares with the previous bar's
    actual (yesterday's for daily bars; ``unit`` names a bar: ``day``, ``week``, ``bar``; a ``unit`` key of the
    dict wins).
    A minimum RMSE at k = +1 means the forecast trails the price: it mostly repeats the last value.
    """
    unit = lag_diagnostic.get("unit") or unit          # 06's metrics record the series' bar
    if "by_lag" in lag_diagnostic:
        rows = lag_diagnostic["by_lag"]
        lag_diagnostic = {"lags": [r["lag"] for r in rows], "rmse": [r["rmse"] for r in rows],
                          "change_correlation": [r["change_correlation"] for r in rows]}
    missing = [k for k in ("lags", "rmse", "change_correlation") if k not in lag_diagnostic]
    if missing:
        raise KeyError(f"lag_diagnostic lacks {missing}; pass the dict returned by metrics.lag_diagnostic")
    lags = list(lag_diagnostic["lags"])
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.12,
                        subplot_titles=("RMSE against actual shifted by k", "correlation of changes at shift k"))
    fig.add_trace(go.Scatter(x=lags, y=list(lag_diagnostic["rmse"]), mode="lines+markers", name="RMSE",
                             line=dict(color=PALETTE[0])), row=1, col=1)
    fig.add_trace(go.Bar(x=lags, y=list(lag_diagnostic["change_correlation"]), name="change correlation",
                         marker_color=PALETTE[1]), row=1, col=2)
    previous = "yesterday's" if unit == "day" else f"the previous {unit}'s"
    fig.update_xaxes(title_text=f"shift k ({unit}s; +1 = {previous} actual)", dtick=1)
    return _finish(fig, title)


# ---------------------------------------------------------------------------------------------- forecasting


def fan_chart(history: pd.Series, forecast: pd.DataFrame, history_days: int = 120,
              title: str = "Forecast with uncertainty bands") -> go.Figure:
    """The last ``history_days`` of the close, then the forecast with shaded bands, widest band palest.

    ``forecast``: date index (future trading days), a ``forecast`` column, and ``lower_XX`` / ``upper_XX`` for
    each band level XX (e.g. ``lower_80``, ``upper_80``). The forecast line starts at the last observed close.
    """
    _require_columns(forecast, ["forecast"], "forecast")
    levels = [m.group(1) for c in forecast.columns if (m := re.fullmatch(r"lower_(.+)", str(c)))]
    for level in levels:
        _require_columns(forecast, [f"upper_{level}"], "forecast")
    levels.sort(key=_band_width_key, reverse=True)
    recent = _as_series(history, "history").iloc[-int(history_days):]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=recent.index, y=recent.to_numpy(), mode="lines", name="history",
                             line=dict(color=ACTUAL_COLOR, width=1.4)))
    for j, level in enumerate(levels):
        alpha = 0.15 + 0.15 * j
        fig.add_trace(go.Scatter(x=forecast.index, y=forecast[f"upper_{level}"], mode="lines", line=dict(width=0),
                                 name=f"{_band_label(level)} upper", showlegend=False))
        fig.add_trace(go.Scatter(x=forecast.index, y=forecast[f"lower_{level}"], mode="lines", line=dict(width=0),
                                 fill="tonexty", fillcolor=f"rgba(31,119,180,{alpha:.2f})",
                                 name=f"{_band_label(level)} band"))
    x = [recent.index[-1], *forecast.index] if len(recent) else list(forecast.index)
    y = [recent.iloc[-1], *forecast["forecast"]] if len(recent) else list(forecast["forecast"])
    fig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", name="forecast",
                             line=dict(color=PALETTE[0], width=2), marker=dict(size=5)))
    fig.update_yaxes(title_text="price")
    return _finish(fig, title)


# ---------------------------------------------------------------------------------------------- tuning, explanation, risk


def tuning_slices(trials: pd.DataFrame, objective: str = "val_loss", title: str = "Tuning trials") -> go.Figure:
    """One panel per hyperparameter: every trial's ``objective`` against its value of that setting, sharing the
    y axis (lower = better), the best trial ringed.

    ``trials``: one row per trial, one column per hyperparameter plus the objective. Text columns (e.g. the
    cell type) get a categorical axis. Trials without an objective value (failed ones) are left out. (Scatter
    panels rather than parallel coordinates: the report pages load a partial plotly.js without ``parcoords``.)
    """
    _require_columns(trials, [objective], "trials")
    trials = trials[pd.to_numeric(trials[objective], errors="coerce").notna()]  # failed trials have no score
    if trials.empty:
        raise ValueError(f"tuning_slices needs at least one trial with a {objective!r} value")
    settings = [c for c in trials.columns if c != objective]
    if not settings:
        raise ValueError(f"trials has no hyperparameter column besides {objective!r}")
    loss = trials[objective].astype(float).to_numpy()
    best = int(np.argmin(loss))
    fig = make_subplots(rows=1, cols=len(settings), shared_yaxes=True, horizontal_spacing=0.02)
    for i, column in enumerate(settings, start=1):
        values = trials[column]
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        x = values.astype(float).to_numpy() if numeric else np.array([str(v) for v in values], dtype=object)
        fig.add_trace(go.Scatter(x=x, y=loss, mode="markers", name=str(column), showlegend=False,
                                 marker=dict(color=loss, colorscale="Viridis_r", size=9, showscale=i == 1,
                                             colorbar=dict(title=objective)),
                                 hovertemplate=f"{column}: %{{x}}<br>{objective}: %{{y:.4g}}<extra></extra>"),
                      row=1, col=i)
        fig.add_trace(go.Scatter(x=[x[best]], y=[loss[best]], mode="markers", showlegend=False, name="best",
                                 hoverinfo="skip", marker=dict(size=16, color="rgba(0,0,0,0)",
                                                               line=dict(color=ACTUAL_COLOR, width=2))),
                      row=1, col=i)
        fig.update_xaxes(title_text=str(column), type=None if numeric else "category", row=1, col=i)
    fig.update_yaxes(title_text=objective, row=1, col=1)
    fig = _finish(fig, f"{title}: {len(trials)} trials, {objective} by setting (ringed: the lowest)")
    fig.update_layout(hovermode="closest")
    return fig


def importance_bars(frame: pd.DataFrame, title: str = "Permutation importance") -> go.Figure:
    """Horizontal bars of each feature's importance with its interval as error bars, largest at the top.

    ``frame``: columns ``feature, mean, lo, hi`` (loss increase when the feature is shuffled, and its 95%
    interval over repeats). An interval that includes zero means the feature does not matter measurably.
    """
    _require_columns(frame, ["feature", "mean", "lo", "hi"], "frame")
    ordered = frame.sort_values("mean")
    mean = ordered["mean"].to_numpy(dtype=float)
    fig = go.Figure(go.Bar(
        x=mean, y=ordered["feature"].astype(str), orientation="h", name="importance", marker_color=PALETTE[0],
        error_x=dict(type="data", symmetric=False, array=ordered["hi"].to_numpy(dtype=float) - mean,
                     arrayminus=mean - ordered["lo"].to_numpy(dtype=float))))
    fig.update_xaxes(title_text="increase in loss when shuffled", zeroline=True, zerolinecolor="#444")
    return _finish(fig, title, height=max(300, 120 + 24 * len(ordered)))


def var_backtest(dates: Sequence[Any], returns: Sequence[float], var: Mapping[str, Sequence[float]],
                 level: float, title: str | None = None) -> go.Figure:
    """Realized returns with each method's Value-at-Risk line and the days it was exceeded marked.

    ``var``: method name -> one-day VaR per date, as a loss (positive, as ``helpers.risk`` reports it; negative
    values are read as return quantiles). An exceedance is a return below ``-VaR``; at ``level`` 0.95 about 5% of
    days should be exceedances, spread out rather than bunched.
    """
    if not 0 < level < 1:
        raise ValueError(f"level = {level!r}: pass the VaR confidence as a fraction, e.g. 0.95")
    realized = _same_length(returns, dates, "returns")
    unit = _bar_word(dates)
    x = np.asarray(_x(dates))
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=realized, mode="lines", name="return", line=dict(color="#9a9a9a", width=1)))
    for i, (name, values) in enumerate(var.items()):
        values = _same_length(values, dates, f"var[{name!r}]")
        finite = values[np.isfinite(values)]
        threshold = values if (finite.size and finite.max() <= 0) else -values
        color = PALETTE[(i + 2) % len(PALETTE)]
        fig.add_trace(go.Scatter(x=x, y=threshold, mode="lines", name=f"{name} VaR {level:.0%}",
                                 line=dict(color=color, width=1.4)))
        valid = np.isfinite(threshold) & np.isfinite(realized)
        hits = valid & (realized < threshold)
        fig.add_trace(go.Scatter(x=x[hits], y=realized[hits], mode="markers", marker=dict(color=color, size=7,
                                 symbol="x"), name=f"{name}: {int(hits.sum())} of {int(valid.sum())} {unit}s "
                                                   f"(expected {(1 - level) * valid.sum():.0f})"))
    fig.update_yaxes(title_text="return", tickformat=".1%")
    return _finish(fig, title or f"Value-at-Risk {level:.0%} backtest")


# ---------------------------------------------------------------------------------------------- internals


def _finish(fig: go.Figure, title: str, height: int = HEIGHT, top: int = 70) -> go.Figure:
    fig.update_layout(title=dict(text=title, x=0.01), template=TEMPLATE, height=height,
                      margin=dict(l=60, r=30, t=top, b=50), legend=dict(orientation="h", y=-0.15, traceorder="normal"),
                      hovermode="x unified")
    return fig


def _require_columns(frame: pd.DataFrame, columns: Sequence[str], argument: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{argument} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(f"{argument} lacks column(s) {missing}; it has {[str(c) for c in frame.columns]}")


def _as_series(values: pd.Series | np.ndarray, argument: str) -> pd.Series:
    series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values, dtype=float))
    series = series.astype(float).dropna()
    if series.empty:
        raise ValueError(f"{argument} has no values to plot (empty or all NaN)")
    return series


def _finite_1d(values: Any, argument: str, minimum: int) -> np.ndarray:
    array = np.asarray(values, dtype=float).ravel()
    array = array[np.isfinite(array)]
    if array.size < minimum:
        raise ValueError(f"{argument} has {array.size} finite values; at least {minimum} are needed")
    return array


def _same_length(values: Sequence[float], dates: Sequence[Any], argument: str) -> np.ndarray:
    array = np.asarray(values, dtype=float).ravel()
    if array.shape[0] != len(dates):
        raise ValueError(f"{argument} has {array.shape[0]} values but dates has {len(dates)}: pass one value per date")
    return array


def _x(dates: Sequence[Any]) -> Any:
    return dates if isinstance(dates, (pd.Index, pd.Series)) else list(dates)


def _forecaster_line(name: str, i: int) -> dict[str, Any]:
    if name.lower() == "persistence":
        return dict(color=PERSISTENCE_COLOR, dash="dash", width=1.4)
    if name.lower() == "actual":
        return dict(color=ACTUAL_COLOR, width=1.6)
    return dict(color=PALETTE[i % len(PALETTE)], width=1.4)


def _thin(frame: pd.DataFrame, max_points: int, keep: Sequence[Any] = ()) -> tuple[pd.DataFrame, str]:
    """Every k-th row (plus the last row and the ``keep`` labels) so at most ~max_points rows are drawn."""
    n = len(frame)
    if n <= max_points:
        return frame, ""
    step = int(np.ceil(n / max_points))
    positions = set(range(0, n, step)) | {n - 1} | {frame.index.get_loc(label) for label in keep}
    return frame.iloc[sorted(positions)], f" (1 row in {step} of {n} drawn)"


def _bar_word(dates: Any) -> str:
    """``day``, ``week``, ``month`` or ``bar`` (intraday) for the rows at ``dates``; ``day`` when they cannot
    tell (not timestamps, too few)."""
    from helpers.frequency import bar_word

    try:
        return bar_word(pd.DatetimeIndex(dates))
    except (TypeError, ValueError):
        return "day"


def _resample_ohlc(frame: pd.DataFrame, max_points: int) -> tuple[pd.DataFrame, str]:
    """Aggregate daily rows into the finest calendar bars (weekly, monthly, ...) that fit ``max_points``.

    Each bar keeps the first open, highest high, lowest low, last close, summed volume; every other column
    (moving averages) takes its value on the bar's last day. A bar is labelled with its last trading date.
    """
    if len(frame) <= max_points:
        return frame, "daily"
    if not isinstance(frame.index, pd.DatetimeIndex):
        raise TypeError("prices needs a DatetimeIndex to be resampled; pass the canonical prices frame")
    how = {c: {"open": "first", "high": "max", "low": "min", "volume": "sum"}.get(c, "last") for c in frame.columns}
    for rule, word in RESAMPLE_RULES:
        groups = frame.groupby(frame.index.to_period(rule))
        bars = groups.agg(how)
        bars.index = pd.DatetimeIndex(groups.apply(lambda g: g.index[-1]).to_numpy(), name=frame.index.name)
        if len(bars) <= max_points:
            break
    return bars, word


def _band_width_key(level: str) -> float:
    try:
        return float(level)
    except ValueError:
        return 0.0


def _band_label(level: str) -> str:
    try:
        value = float(level)
    except ValueError:
        return level
    return f"{value:.0%}" if value <= 1 else f"{value:g}%"


def _day(label: Any, of: Any = None) -> str:
    """A bar's date, with its time of day when the series ``of`` is intraday."""
    from helpers.frequency import iso_stamp

    return iso_stamp(label, of) if isinstance(label, (pd.Timestamp, np.datetime64)) else str(label)


def _cell_text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell_text(v) for v in value)
    if isinstance(value, float):
        return f"{value:.4g}"
    if hasattr(value, "strftime"):
        from helpers.frequency import iso_stamp   # a date, or a timestamp with its time of day

        return iso_stamp(value)
    return "" if value is None else str(value)
