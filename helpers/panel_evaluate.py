"""Evaluation of a cross-sectional ranking that a quant would accept, the model and its baselines alike.

Every ranking (the pooled network's scores, one- and five-day reversal, 12-1 momentum, random rankings) is a
wide frame of scores ``(origin days, tickers)`` judged against the next day's returns on the same
(day, ticker) cells:

- per day: accuracy (share of tickers put on the right side of the day's median: score above its median vs
  return above its median; 50% is a coin), IC (Pearson correlation of scores and next-day returns across
  tickers) and rank IC (Spearman);
- over days: mean, sd, a Newey-West t-statistic and 95% interval (the daily ICs are autocorrelated), and the
  share of days with IC > 0;
- a long/short portfolio: long the top k, short the bottom k, weight 1/k each, rebalanced daily; turnover is
  the sum of absolute weight changes and every unit of weight traded costs ``cost_bps`` (per half-turn):
  mean daily return, Sharpe (252 days), maximum drawdown, before and after costs;
- the honest yardstick: the same portfolio built from many random rankings on the same cells; its p-value is
  the share of random portfolios whose mean daily return is at least the model's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from helpers.metrics import diebold_mariano, theils_u
from helpers.panel_config import PanelConfig

TRADING_DAYS = 252
BASELINES = ("reversal_1d", "reversal_5d", "momentum_12_1")
BASELINE_TEXT = {
    "reversal_1d": "one-day reversal: yesterday's losers first",
    "reversal_5d": "five-day reversal: the week's losers first",
    "momentum_12_1": "12-1 momentum: the return from 12 months to 1 month ago, winners first",
}


# ---------------------------------------------------------------------- shapes
def wide(predictions: pd.DataFrame, column: str) -> pd.DataFrame:
    """``predictions`` (long: date, ticker, column) as a wide frame ``(dates, tickers)``."""
    return predictions.pivot(index="date", columns="ticker", values=column).sort_index()


def baseline_scores(returns: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Scores of the classic rankings at each origin day, from returns up to that day only.

    ``returns``: wide simple returns (row t = the return into day t). Reversal ranks losers first (score =
    minus the return); momentum compounds returns from day t-251 to t-21 (skipping the last month).
    """
    growth = np.log1p(returns)
    five = growth.rolling(5, min_periods=5).sum()
    twelve_one = growth.shift(21).rolling(231, min_periods=231).sum()
    return {"reversal_1d": -returns, "reversal_5d": -np.expm1(five), "momentum_12_1": np.expm1(twelve_one)}


# ---------------------------------------------------------------------- daily measures
def _valid(scores: pd.DataFrame, following: pd.DataFrame) -> np.ndarray:
    return np.isfinite(scores.to_numpy(float)) & np.isfinite(following.to_numpy(float))


def daily_ic(scores: pd.DataFrame, following: pd.DataFrame, *, rank: bool = False) -> pd.Series:
    """Per day, the correlation across tickers of scores and next-day returns (Spearman with ``rank``);
    NaN on days with fewer than 3 tickers or no spread."""
    ok = _valid(scores, following)
    s = scores.where(ok)
    r = following.where(ok)
    if rank:
        s, r = s.rank(axis=1), r.rank(axis=1)
    s = s.sub(s.mean(axis=1), axis=0)
    r = r.sub(r.mean(axis=1), axis=0)
    num = (s * r).sum(axis=1)
    den = np.sqrt((s ** 2).sum(axis=1) * (r ** 2).sum(axis=1))
    ic = num / den.replace(0.0, np.nan)
    return ic.where(ok.sum(axis=1) >= 3)


def daily_accuracy(scores: pd.DataFrame, following: pd.DataFrame) -> pd.Series:
    """Per day, the share of tickers on the right side of the median: score above the day's median score
    exactly when the next-day return is above the day's median return."""
    ok = _valid(scores, following)
    s = scores.where(ok)
    r = following.where(ok)
    hit = (s.gt(s.median(axis=1), axis=0) == r.gt(r.median(axis=1), axis=0)).where(ok)
    return hit.mean(axis=1).where(ok.sum(axis=1) >= 2)


def newey_west_lags(n: int) -> int:
    """The usual automatic lag length ``floor(4 (n / 100)^(2/9))``."""
    return int(math.floor(4 * (max(n, 1) / 100) ** (2 / 9)))


def newey_west_summary(values: pd.Series | np.ndarray, lags: int | None = None, null: float = 0.0) -> dict[str, Any]:
    """Mean of a daily series with a Newey-West (Bartlett) standard error, its t-statistic against ``null``
    (0 for an IC, 0.5 for an accuracy) and 95% interval, the sd, the share of days above ``null`` and the
    number of days."""
    x = np.asarray(values, float)
    x = x[np.isfinite(x)]
    n = x.size
    if n < 3:
        return {"mean": None, "sd": None, "ci": [None, None], "t_stat": None, "share_positive": None, "n_days": n,
                "null": null}
    lags = newey_west_lags(n) if lags is None else int(lags)
    centred = x - x.mean()
    long_run = float(centred @ centred) / n
    for lag in range(1, min(lags, n - 1) + 1):
        long_run += 2 * (1 - lag / (lags + 1)) * float(centred[lag:] @ centred[:-lag]) / n
    se = math.sqrt(max(long_run, 0.0) / n)
    half = stats.t.ppf(0.975, df=n - 1) * se
    return {"mean": float(x.mean()), "sd": float(x.std(ddof=1)), "ci": [float(x.mean() - half), float(x.mean() + half)],
            "t_stat": float((x.mean() - null) / se) if se > 0 else None, "share_positive": float(np.mean(x > null)),
            "n_days": int(n), "nw_lags": lags, "null": null}


# ---------------------------------------------------------------------- the long/short portfolio
def long_short_weights(scores: np.ndarray, k: int) -> np.ndarray:
    """Weights ``(days, tickers)``: +1/k on the k highest scores of each day, -1/k on the k lowest (k is cut
    to half the day's tickers with a score), 0 elsewhere and on NaN scores."""
    scores = np.asarray(scores, float)
    valid = np.isfinite(scores)
    n = valid.sum(axis=1, keepdims=True)
    order = np.argsort(np.where(valid, scores, np.inf), axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(scores.shape[1])[None, :].repeat(scores.shape[0], 0), axis=1)
    k_day = np.minimum(k, n // 2)
    weights = np.zeros_like(scores)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(k_day > 0, 1.0 / k_day, 0.0)
    weights = np.where(valid & (ranks >= n - k_day), share, weights)
    weights = np.where(valid & (ranks < k_day), -share, weights)
    return weights


def portfolio_returns(weights: np.ndarray, following: np.ndarray, cost_bps: float) -> dict[str, np.ndarray]:
    """Daily gross and net returns and turnover of ``weights`` held over the next day (from zero weights)."""
    gross = np.nansum(weights * np.nan_to_num(following, nan=0.0), axis=1)
    previous = np.vstack([np.zeros((1, weights.shape[1])), weights[:-1]])
    turnover = np.abs(weights - previous).sum(axis=1)
    return {"gross": gross, "net": gross - turnover * cost_bps / 1e4, "turnover": turnover}


def performance(daily: np.ndarray) -> dict[str, Any]:
    """Mean daily return, sd, annualised Sharpe (252 days), maximum drawdown of the compounded curve."""
    daily = np.asarray(daily, float)
    if daily.size == 0:
        return {"mean": None, "sd": None, "sharpe": None, "max_drawdown": None, "n_days": 0}
    sd = float(daily.std(ddof=1)) if daily.size > 1 else 0.0
    curve = np.cumprod(1 + daily)
    drawdown = curve / np.maximum.accumulate(np.maximum(curve, 1.0)) - 1
    return {"mean": float(daily.mean()), "sd": sd,
            "sharpe": float(daily.mean() / sd * math.sqrt(TRADING_DAYS)) if sd > 0 else None,
            "max_drawdown": float(drawdown.min()), "n_days": int(daily.size)}


@dataclass
class RandomRankings:
    """Daily gross and net returns of ``draws`` random-ranking portfolios on the model's cells: ``(draws, days)``."""

    gross: np.ndarray
    net: np.ndarray

    def p_value(self, observed: float | None, days: np.ndarray | None = None, *, net: bool = False) -> float | None:
        """One-sided: share of random portfolios (over ``days``, a boolean mask) at least as good as ``observed``."""
        if observed is None:
            return None
        draws = self.net if net else self.gross
        means = (draws if days is None else draws[:, days]).mean(axis=1)
        return float((1 + np.sum(means >= observed)) / (1 + means.size))

    def summary(self, days: np.ndarray | None = None) -> dict[str, Any]:
        gross = (self.gross if days is None else self.gross[:, days]).mean(axis=1)
        net = (self.net if days is None else self.net[:, days]).mean(axis=1)
        return {"draws": int(gross.size), "before_costs": {"mean": float(gross.mean()), "sd": float(gross.std()),
                                                           "q95": float(np.quantile(gross, 0.95))},
                "after_costs": {"mean": float(net.mean()), "sd": float(net.std()), "q95": float(np.quantile(net, 0.95))}}


def random_rankings(valid: np.ndarray, following: np.ndarray, k: int, cost_bps: float, draws: int,
                    seed: int = 0) -> RandomRankings:
    """Long/short portfolios of ``draws`` random rankings of the same cells (``valid``: days x tickers)."""
    rng = np.random.default_rng(seed)
    gross = np.empty((draws, valid.shape[0]))
    net = np.empty_like(gross)
    for d in range(draws):
        scores = np.where(valid, rng.random(valid.shape), np.nan)
        out = portfolio_returns(long_short_weights(scores, k), following, cost_bps)
        gross[d], net[d] = out["gross"], out["net"]
    return RandomRankings(gross, net)


# ---------------------------------------------------------------------- one ranking, judged
def judge_ranking(scores: pd.DataFrame, following: pd.DataFrame, config: PanelConfig,
                  random: RandomRankings | None = None, days: np.ndarray | None = None) -> dict[str, Any]:
    """IC, rank IC, accuracy and the long/short portfolio of one ranking (on ``days``, a boolean mask)."""
    if days is not None:
        scores, following = scores.loc[days], following.loc[days]
    ic = daily_ic(scores, following)
    book = portfolio_returns(long_short_weights(scores.to_numpy(float), config.top_k), following.to_numpy(float),
                             config.cost_bps)
    before, after = performance(book["gross"]), performance(book["net"])
    long_short = {"before_costs": before, "after_costs": after, "turnover": float(np.mean(book["turnover"])),
                  "top_k": config.top_k, "cost_bps": config.cost_bps}
    if random is not None:
        long_short["p_value_random"] = random.p_value(before["mean"], days)
        long_short["p_value_random_after_costs"] = random.p_value(after["mean"], days, net=True)
    return {"ic": newey_west_summary(ic), "rank_ic": newey_west_summary(daily_ic(scores, following, rank=True)),
            "accuracy": newey_west_summary(daily_accuracy(scores, following), null=0.5), "long_short": long_short,
            "daily_ic": ic, "daily_long_short": book}


def _public(judged: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in judged.items() if not k.startswith("daily_")}


# ---------------------------------------------------------------------- the whole evaluation
def evaluate_panel(predictions: pd.DataFrame, returns: pd.DataFrame, config: PanelConfig, *,
                   periods: list[dict[str, Any]] | None = None, closes: pd.DataFrame | None = None) -> dict[str, Any]:
    """Everything ``panel_metrics.json`` holds: the model's ranking and every baseline's on the same cells,
    overall, by study period and before/from ``config.split_year``; the pooled single-ticker view when
    ``closes`` are given; and the verdict."""
    scores = wide(predictions, "score")
    following = wide(predictions, "next_day_return")
    cells = scores.notna() & following.notna()
    random = random_rankings(cells.to_numpy(), following.to_numpy(float), config.top_k, config.cost_bps,
                             config.random_draws, seed=config.seed)
    rankings = {"model": scores}
    base = baseline_scores(returns)
    for name in BASELINES:
        rankings[name] = base[name].reindex(index=scores.index, columns=scores.columns).where(cells)

    era = scores.index.year < config.split_year
    eras = {f"before_{config.split_year}": era, f"from_{config.split_year}": ~era}
    result: dict[str, Any] = {}
    judged_all = {name: judge_ranking(s, following, config, random) for name, s in rankings.items()}
    model = judged_all["model"]
    result.update(_public(model))
    result["baselines"] = {name: _public(judged_all[name]) for name in BASELINES}
    result["baselines"]["random"] = random.summary()
    result["by_era"] = {}
    for label, mask in eras.items():
        if mask.sum() < 3:
            continue
        result["by_era"][label] = {name: _public(judge_ranking(s, following, config, random, mask))
                                   for name, s in rankings.items()}
    result["by_period"] = by_period(predictions, following, rankings, config, periods)
    if closes is not None:
        result["pooled_single_ticker"] = pooled_single_ticker(predictions, closes,
                                                              single_ticker_runs(config.single_ticker_reports))
    daily = {"ic": model["daily_ic"]}
    for name, judged in judged_all.items():
        daily[f"{name}_gross"] = judged["daily_long_short"]["gross"]
        daily[f"{name}_net"] = judged["daily_long_short"]["net"]
    result["daily"] = pd.DataFrame(daily, index=scores.index)
    result["random_rankings"] = random
    result["verdict"] = verdict(result, config)
    return result


def ranking_table(rankings: dict[str, Any]) -> pd.DataFrame:
    """One row per ranking (name -> judged dict, as in ``result['baselines']``): IC with its interval, rank
    IC, accuracy, long/short mean daily return and Sharpe before and after costs, turnover, random p-value."""
    rows = []
    for name, judged in rankings.items():
        if not isinstance(judged, dict) or "ic" not in judged:
            continue
        ic, ls = judged["ic"], judged["long_short"]
        rows.append({"ranking": name, "IC": ic["mean"], "IC low": ic["ci"][0], "IC high": ic["ci"][1],
                     "IC > 0 share": ic["share_positive"], "rank IC": judged["rank_ic"]["mean"],
                     "accuracy": judged["accuracy"]["mean"], "accuracy low": judged["accuracy"]["ci"][0],
                     "accuracy high": judged["accuracy"]["ci"][1],
                     "L/S bp/day before costs": _bp(ls["before_costs"]["mean"]),
                     "Sharpe before costs": ls["before_costs"]["sharpe"],
                     "L/S bp/day after costs": _bp(ls["after_costs"]["mean"]),
                     "Sharpe after costs": ls["after_costs"]["sharpe"], "max drawdown": ls["after_costs"]["max_drawdown"],
                     "turnover": ls["turnover"], "p (random)": ls.get("p_value_random")})
    return pd.DataFrame(rows).set_index("ranking")


def _bp(value: float | None) -> float | None:
    return None if value is None else value * 1e4


def by_period(predictions: pd.DataFrame, following: pd.DataFrame, rankings: dict[str, pd.DataFrame],
              config: PanelConfig, periods: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """One row per study period: its trading dates, and each ranking's mean IC and long/short returns."""
    rows = []
    period_of_day = predictions.groupby("date")["period"].first().reindex(following.index)
    meta = {p["period"]: p for p in periods or []}
    for index in sorted(period_of_day.dropna().unique()):
        mask = (period_of_day == index).to_numpy()
        row: dict[str, Any] = {"period": int(index), "trade_start": str(following.index[mask][0].date()),
                               "trade_end": str(following.index[mask][-1].date()), "days": int(mask.sum())}
        if int(index) in meta:
            row["train_start"] = meta[int(index)].get("train_start")
        for name, s in rankings.items():
            judged = judge_ranking(s, following, config, None, mask)
            row[name] = {"ic": judged["ic"]["mean"], "rank_ic": judged["rank_ic"]["mean"],
                         "accuracy": judged["accuracy"]["mean"],
                         "long_short_before_costs": judged["long_short"]["before_costs"]["mean"],
                         "long_short_after_costs": judged["long_short"]["after_costs"]["mean"]}
        rows.append(row)
    return rows


def pooled_single_ticker(predictions: pd.DataFrame, closes: pd.DataFrame,
                         single_ticker_u: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Per ticker: the pooled model's next-day price forecast ``close[t] (1 + expected return)`` against
    persistence ``close[t]``: Theil's U and Diebold-Mariano on that ticker's trading days; beside it the U of
    that ticker's own single-ticker run when ``single_ticker_u`` has one (its own test rows, see
    :func:`single_ticker_runs`)."""
    single_ticker_u = single_ticker_u or {}
    rows = []
    for ticker, group in predictions.groupby("ticker", sort=True):
        close = closes[ticker].reindex(group["date"]).to_numpy(float)
        actual = close * (1 + group["next_day_return"].to_numpy(float))
        forecast = close * (1 + group["expected_return"].to_numpy(float))
        ok = np.isfinite(close) & np.isfinite(actual) & np.isfinite(forecast)
        if ok.sum() < 5:
            continue
        dm = diebold_mariano(actual[ok], forecast[ok], close[ok])
        own = single_ticker_u.get(str(ticker), {})
        rows.append({"ticker": str(ticker), "n": int(ok.sum()), "theils_u": theils_u(actual[ok], forecast[ok], close[ok]),
                     "dm_statistic": dm.statistic, "dm_p_value": dm.p_value,
                     "single_ticker_theils_u": own.get("theils_u"), "single_ticker_run": own.get("run_id")})
    return rows


def single_ticker_runs(reports_dir: str | None) -> dict[str, dict[str, Any]]:
    """The latest single-ticker run per ticker under ``reports_dir`` that has a Theil's U: ticker ->
    {theils_u, run_id}. Its U is on that run's own test rows, so it sits beside the pooled U, not against it."""
    if not reports_dir:
        return {}
    from helpers.report import list_runs

    found: dict[str, dict[str, Any]] = {}
    for run in list_runs(reports_dir):          # oldest first: a later run replaces an earlier one
        if run.ticker and run.theils_u is not None:
            found[run.ticker] = {"theils_u": run.theils_u, "run_id": run.run_id}
    return found


def verdict(result: dict[str, Any], config: PanelConfig) -> str:
    """One sentence: is the pooled ranking distinguishable from noise, and does it pay after costs?"""
    ic, ls = result["ic"], result["long_short"]
    if ic["mean"] is None:
        return "Too few trading days to judge the pooled model."
    lo, hi = ic["ci"]
    signal = ("a small but real ranking signal" if lo > 0 else
              "a ranking no better than chance" if lo <= 0 <= hi else "a ranking worse than chance")
    net = ls["after_costs"]["mean"]
    p = ls.get("p_value_random")
    best = max(BASELINES, key=lambda name: result["baselines"][name]["long_short"]["after_costs"]["mean"] or -1)
    best_net = result["baselines"][best]["long_short"]["after_costs"]["mean"]
    pays = "earns" if net > 0 else "loses"
    eras = "; ".join(f"{label.replace('_', ' ')}: {_era_gross(judged['model'])}"
                     for label, judged in result.get("by_era", {}).items())
    return (f"The pooled {config.cell.upper()} shows {signal} (IC {ic['mean']:.3f}, 95% interval "
            f"[{lo:.3f}, {hi:.3f}]); its top/bottom-{config.top_k} portfolio {pays} {abs(net) * 1e4:.1f} bp a day "
            f"after {config.cost_bps:g} bp costs (random-ranking p = {p:.3f} before costs), against "
            f"{best_net * 1e4:+.1f} bp for the best baseline ({best})" + (f" ({eras})." if eras else "."))


def _era_gross(judged: dict[str, Any]) -> str:
    ls = judged["long_short"]
    mean = ls["before_costs"]["mean"]
    return "-" if mean is None else f"{mean * 1e4:+.1f} bp a day before costs, p = {ls.get('p_value_random', 1):.3f}"
