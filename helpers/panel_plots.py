"""Figures of notebook 09_panel (plotly, one function each): the IC over time, the long/short equity curves of
the model and its baselines, and the model's return among the random rankings'."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from helpers.panel_evaluate import RandomRankings


def cumulative_ic(daily: pd.DataFrame, split_year: int | None = None) -> go.Figure:
    """The running sum of the daily IC: a steady climb is a signal, a random walk around zero is not."""
    fig = go.Figure(go.Scatter(x=daily.index, y=daily["ic"].fillna(0).cumsum(), name="cumulative IC"))
    _split_line(fig, split_year)
    fig.update_layout(title="Cumulative daily IC of the pooled model", yaxis_title="sum of daily IC", height=380)
    return fig


def long_short_curves(daily: pd.DataFrame, *, net: bool = True, split_year: int | None = None) -> go.Figure:
    """Growth of 1 in each ranking's long/short portfolio (after costs with ``net``), on a log axis."""
    suffix = "_net" if net else "_gross"
    fig = go.Figure()
    for column in [c for c in daily.columns if c.endswith(suffix)]:
        fig.add_trace(go.Scatter(x=daily.index, y=np.cumprod(1 + daily[column].fillna(0)),
                                 name=column.removesuffix(suffix)))
    _split_line(fig, split_year)
    fig.update_layout(title=f"Long/short portfolios, {'after' if net else 'before'} costs", yaxis_type="log",
                      yaxis_title="growth of 1", height=420)
    return fig


def random_ranking_histogram(random: RandomRankings, observed: float, *, net: bool = False) -> go.Figure:
    """Mean daily returns of the random-ranking portfolios, with the model's as a vertical line."""
    means = (random.net if net else random.gross).mean(axis=1) * 1e4
    fig = go.Figure(go.Histogram(x=means, nbinsx=40, name="random rankings"))
    fig.add_vline(x=observed * 1e4, line_color="crimson", annotation_text="pooled model")
    fig.update_layout(title=f"Mean daily long/short return of {means.size} random rankings "
                            f"({'after' if net else 'before'} costs)", xaxis_title="bp a day", height=380)
    return fig


def _split_line(fig: go.Figure, split_year: int | None) -> None:
    if split_year is not None:
        fig.add_vline(x=pd.Timestamp(f"{split_year}-01-01"), line_dash="dot", line_color="grey")
