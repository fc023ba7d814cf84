"""Notebook 08's orchestration: one-day Value-at-Risk and Expected Shortfall of a run's saved model, beside
historical simulation and GARCH(1,1), their exceedance backtests, and what a risk manager reads from them.

The numbers come from :mod:`helpers.predictive` (the model's predictive distribution and the backtest) and
:mod:`helpers.risk` (VaR/ES and the Kupiec and Christoffersen tests); this module only runs them on a run folder
and puts the result in words. Every clause of :func:`risk_manager_reading` is chosen by a test at
``significance``, never by a raw gap between counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from helpers import predictive, risk
from helpers.config import RunConfig
from helpers.frequency import bar_word
from helpers.runfolder import RunPaths

__all__ = ["run_risk", "risk_manager_reading", "shortfall_check", "write_run_risk", "TABLE_COLUMNS"]

# The backtest table's columns as 08 shows them.
TABLE_COLUMNS = ["method", "level", "n", "exceedances", "expected_rate", "rate", "kupiec_p", "christoffersen_p",
                 "cc_p", "mean_var", "mean_es", "passes"]


def run_risk(paths: RunPaths, config: RunConfig,
             levels: Sequence[float] = risk.DEFAULT_LEVELS) -> predictive.OneDayRisk:
    """The one-day risk backtest of the run's model (``<run>/model/``) on its test days.

    ``config`` supplies the number of Monte Carlo dropout passes (``mc_samples``) and the seed, so a notebook's
    overrides apply; everything else (features, split, the model) is read from the run folder by
    :func:`helpers.predictive.risk_from_run`, the one place that knows which model a run's numbers describe.
    """
    return predictive.risk_from_run(paths, n_samples=config.mc_samples, seed=config.seed, levels=levels)


def risk_manager_reading(table: pd.DataFrame, significance: float = 0.05, unit: str = "day") -> str:
    """What a risk manager reads from :func:`helpers.risk.risk_table`: one bullet per level and method.

    Kupiec's test rejecting with more exceedances than expected reads "understates the risk", with fewer
    "overstates the risk"; Christoffersen's independence test rejecting reads "exceedances cluster". A method
    neither test rejects is "consistent with its promise", which on a few hundred days is not proof it is
    right. The last line names, among the methods that pass at every level, the one with the smallest average
    VaR (the least capital set aside), or says that none passes everywhere. ``unit``: what a test row is,
    ``day`` for daily bars, ``bar`` for intraday ones (:func:`helpers.frequency.bar_word`).
    """
    missing = {"method", "level", "n", "exceedances", "expected_rate", "rate", "kupiec_p", "christoffersen_p",
               "mean_var"} - set(table.columns)
    if missing:
        raise KeyError(f"table lacks {', '.join(sorted(missing))}: pass the table of helpers.risk.risk_table")
    lines = []
    for level, rows in table.groupby("level", sort=True):
        lines.append(f"**VaR {level:.0%}** ({int(rows['n'].iloc[0])} test {unit}s, "
                     f"{float(rows['expected_rate'].iloc[0]) * float(rows['n'].iloc[0]):.1f} exceedances expected):")
        lines += [f"- {row.method}: {_method_reading(row, significance, unit)}" for row in rows.itertuples()]
    lines.append(_capital_reading(table, significance))
    return "\n".join(lines)


def _method_reading(row: Any, significance: float, unit: str = "day") -> str:
    counted = (f"{int(row.exceedances)} exceedances ({row.rate:.1%} of {unit}s against {row.expected_rate:.1%} "
               f"promised; Kupiec p = {row.kupiec_p:.2g}, Christoffersen p = {row.christoffersen_p:.2g})")
    clauses = []
    if row.kupiec_p < significance and row.rate > row.expected_rate:
        clauses.append("too many: it understates the risk, and capital set aside by it would have been too small")
    elif row.kupiec_p < significance:
        clauses.append("too few: it overstates the risk and ties up capital a correct VaR would free")
    if row.christoffersen_p < significance:
        clauses.append("the exceedances cluster: it reacts too slowly when the market gets louder")
    if not clauses:
        clauses.append(f"neither the count nor the timing is rejected at {significance:.0%}: consistent with its "
                       f"promise on these {unit}s, which is not proof that it is right")
    return counted + ": " + "; ".join(clauses) + "."


def _capital_reading(table: pd.DataFrame, significance: float) -> str:
    ok = table.assign(ok=(table["kupiec_p"] >= significance) & (table["christoffersen_p"] >= significance))
    passing = ok.groupby("method")["ok"].all()
    good = list(passing.index[passing])
    if not good:
        return ("No method passes both tests at every level: none of these VaRs should be trusted as it is on "
                "this series.")
    mean_var = table[table["method"].isin(good)].groupby("method")["mean_var"].mean()
    cheapest = str(mean_var.idxmin())
    return (f"Passing both tests at every level: {', '.join(good)}. Among them, {cheapest} asks for the least "
            f"capital (average VaR {mean_var[cheapest]:.2%} of log return): a risk manager prefers the smallest "
            "VaR that still keeps its promise.")


def shortfall_check(result: predictive.OneDayRisk) -> pd.DataFrame:
    """Expected Shortfall against what happened: on each method's exceedance days (at each level), the mean
    forecast ES beside the mean realized loss (log returns, losses positive).

    A realized loss well above the ES says the method's tail is too thin: on its bad days, things were worse
    than it said they would be. Rows: ``method``, ``level``, ``exceedances``, ``mean_es_forecast``,
    ``mean_realized_loss`` (NaN without exceedances), judged on the same days as the backtest table.
    """
    rows = []
    for level in result.levels:
        var_name, es_name = risk.var_column(level), risk.es_column(level)
        shared = pd.concat({m: f[var_name] for m, f in result.forecasts.items()}, axis=1).dropna().index
        realized = result.realized.reindex(shared)
        for method, frame in result.forecasts.items():
            hit = realized < -frame[var_name].reindex(shared)
            es = frame[es_name].reindex(shared)[hit] if es_name in frame else pd.Series(dtype=float)
            rows.append({"method": method, "level": level, "exceedances": int(hit.sum()),
                         "mean_es_forecast": float(es.mean()) if len(es) else np.nan,
                         "mean_realized_loss": float(-realized[hit].mean()) if hit.any() else np.nan})
    return pd.DataFrame(rows)


def write_run_risk(paths: RunPaths, result: predictive.OneDayRisk, significance: float = 0.05,
                   **about: Any) -> Path:
    """Write the backtest to ``risk.json`` and the ``risk`` entry of ``metrics.json`` (as 07 did), with the
    risk manager's reading and the shortfall check added. Returns the path of ``risk.json``."""
    payload = predictive.risk_payload(result, **about)
    payload["reading"] = risk_manager_reading(result.table, significance, unit=bar_word(result.realized.index))
    payload["shortfall"] = shortfall_check(result).astype(object).where(lambda f: f.notna(), None).to_dict(
        orient="records")
    return predictive.write_risk(paths, payload)
