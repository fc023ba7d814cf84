"""Watching a deployed model: realized error against persistence and the backtest, input drift, retraining.

:func:`monitor_report` answers three questions from the forecasts that came true (the ledger, or a
``predictions.csv``-like frame): is the model still beating (or matching) persistence, is its error still
what the backtest promised, and do recent returns still look like the training period (two-sample
Kolmogorov-Smirnov test)? Any "no" sets ``retrain_signal`` with the reasons.

:func:`retrain_if_needed` retrains on newer data with the same config (the split moved forward), keeps both
versions (the old ``model/`` is never touched or deleted; the new one goes to ``model-<last date>/`` with its
manifest), scores both on the most recent rows neither was trained on, and promotes the new one (the run's
``promoted.json`` pointer) only if it is better there.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
from scipy import stats

from helpers.atomic import atomic_write_json, read_json
from helpers.config import RunConfig
from helpers.runfolder import RunPaths, unique_run_dir
from helpers.frequency import iso_stamp

PROMOTED_FILE = "promoted.json"
DEFAULT_HOLDOUT = 60        # most recent rows kept out of training to judge old against new
ERROR_TOLERANCE = 1.25      # realized RMSE above this multiple of the backtest's is a signal
U_LIMIT = 1.10              # rolling Theil's U above this (10% worse than persistence) is a signal
DRIFT_ALPHA = 0.01          # KS p-value below this is a signal


# ---------------------------------------------------------------------- the monitoring report
@dataclass
class MonitorReport:
    """What monitoring found; ``retrain_signal`` is True when any ``reasons`` were found."""

    rolling: pd.DataFrame                   # date, model_rmse, persistence_rmse, theils_u (rolling window)
    window: int
    n_scored: int
    realized_rmse: float | None             # last ``window`` scored one-step forecasts
    persistence_rmse: float | None
    backtest_rmse: float | None
    drift: dict[str, Any]                   # ks_statistic, p_value, n_train, n_recent
    retrain_signal: bool
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """A few sentences for a notebook or a log."""
        lines = []
        if self.realized_rmse is not None:
            u = self.realized_rmse / self.persistence_rmse if self.persistence_rmse else math.nan
            promised = (f"; the backtest promised {self.backtest_rmse:.4g}" if self.backtest_rmse is not None
                        else "")
            lines.append(f"Over the last {self.window} scored forecasts the realized RMSE is "
                         f"{self.realized_rmse:.4g} against persistence's {self.persistence_rmse:.4g} "
                         f"(U = {u:.3f}){promised}.")
        lines.extend(self.notes)
        d = self.drift
        if d.get("p_value") is not None:
            lines.append(f"Recent returns vs the training period: KS statistic {d['ks_statistic']:.3f}, "
                         f"p = {d['p_value']:.3g} ({d['n_recent']} recent vs {d['n_train']} training returns).")
        if self.retrain_signal:
            lines.append("Retrain signal: YES. " + " ".join(self.reasons))
        else:
            lines.append("Retrain signal: no (error and inputs look like what the model was built on).")
        return " ".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"window": self.window, "n_scored": self.n_scored, "realized_rmse": self.realized_rmse,
                "persistence_rmse": self.persistence_rmse, "backtest_rmse": self.backtest_rmse,
                "drift": dict(self.drift), "retrain_signal": self.retrain_signal, "reasons": list(self.reasons),
                "notes": list(self.notes)}


def one_step_results(source: Any, method: str | None = None) -> pd.DataFrame:
    """``date, actual, model, persistence`` of scored one-step forecasts, by date.

    ``source``: a :class:`helpers.ledger.Ledger` (its horizon-1 rows; ``method`` picks one when several,
    default 'recursive' when present; replays included) or a frame with ``date, actual, model,
    persistence`` columns (``predictions.csv``).
    """
    if hasattr(source, "report"):
        report = source.report()
        if report.empty:
            return pd.DataFrame(columns=["date", "actual", "model", "persistence"])
        report = report[report["horizon"] == 1]
        methods = list(dict.fromkeys(report["method"]))
        chosen = method or ("recursive" if "recursive" in methods else (methods[0] if methods else None))
        report = report[report["method"] == chosen]
        frame = pd.DataFrame({"date": report["target_date"], "actual": report["actual"],
                              "model": report["forecast"], "persistence": report["persistence"]})
        frame = frame.drop_duplicates("date", keep="first")
    else:
        frame = pd.DataFrame(source)
        missing = [c for c in ("date", "actual", "model", "persistence") if c not in frame.columns]
        if missing:
            raise ValueError(f"predictions lack column(s) {missing}: give a Ledger or a frame with date, actual, "
                             "model, persistence (predictions.csv)")
        frame = frame[["date", "actual", "model", "persistence"]].copy()
        frame["date"] = pd.to_datetime(frame["date"], format="ISO8601")
    return frame.dropna().sort_values("date").reset_index(drop=True)


def monitor_report(source: Any, backtest_rmse: float | None, train_returns: Any, recent_returns: Any,
                   window: int = 21, *, tolerance: float = ERROR_TOLERANCE, u_limit: float = U_LIMIT,
                   alpha: float = DRIFT_ALPHA, method: str | None = None) -> MonitorReport:
    """Rolling realized RMSE vs persistence and vs the backtest, input drift, and a retrain signal.

    ``source``: a Ledger or a predictions frame (see :func:`one_step_results`). ``backtest_rmse``: the
    one-step test RMSE the evaluation reported (price units; None skips that check). ``train_returns`` and
    ``recent_returns``: daily log returns of the training period and of the recent days. Signals: realized
    RMSE over the last ``window`` forecasts above ``tolerance`` x the backtest's; rolling U above
    ``u_limit``; KS p-value below ``alpha``. Fewer than ``window`` scored forecasts give no error signal
    (said in ``notes``).
    """
    if int(window) < 2:
        raise ValueError(f"window must be a whole number of forecasts >= 2, got {window!r}")
    window = int(window)
    results = one_step_results(source, method)
    sq = (results["actual"] - results["model"]) ** 2
    sq_p = (results["actual"] - results["persistence"]) ** 2
    rolling = pd.DataFrame({
        "date": results["date"],
        "model_rmse": np.sqrt(sq.rolling(window).mean()),
        "persistence_rmse": np.sqrt(sq_p.rolling(window).mean()),
    })
    rolling["theils_u"] = rolling["model_rmse"] / rolling["persistence_rmse"]
    reasons, notes = [], []
    realized = persistence = None
    if len(results) >= window:
        realized = float(math.sqrt(sq.iloc[-window:].mean()))
        persistence = float(math.sqrt(sq_p.iloc[-window:].mean()))
        if backtest_rmse is not None and realized > tolerance * float(backtest_rmse):
            reasons.append(f"The realized RMSE {realized:.4g} is {realized / backtest_rmse:.2f}x the backtest's "
                           f"{backtest_rmse:.4g} (limit {tolerance:.2f}x).")
        if persistence > 0 and realized / persistence > u_limit:
            reasons.append(f"The model is {realized / persistence - 1:.0%} worse than persistence over the last "
                           f"{window} forecasts (U = {realized / persistence:.3f} > {u_limit:.2f}).")
    else:
        notes.append(f"Only {len(results)} scored one-step forecasts, fewer than the {window} needed to judge "
                     "the realized error.")
    drift = input_drift(train_returns, recent_returns)
    if drift["p_value"] is not None and drift["p_value"] < alpha:
        reasons.append(f"Recent returns no longer look like the training period's (KS p = {drift['p_value']:.2g} "
                       f"< {alpha}).")
    return MonitorReport(rolling=rolling, window=window, n_scored=len(results), realized_rmse=realized,
                         persistence_rmse=persistence,
                         backtest_rmse=None if backtest_rmse is None else float(backtest_rmse), drift=drift,
                         retrain_signal=bool(reasons), reasons=reasons, notes=notes)


def input_drift(train_returns: Any, recent_returns: Any, minimum: int = 10) -> dict[str, Any]:
    """Two-sample Kolmogorov-Smirnov test of recent returns against the training period's.

    A small p-value says the recent distribution differs (volatility regime, trend); with fewer than
    ``minimum`` values on either side the test is skipped (statistic and p-value None).
    """
    a = np.asarray(train_returns, dtype=np.float64)
    b = np.asarray(recent_returns, dtype=np.float64)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if len(a) < minimum or len(b) < minimum:
        return {"ks_statistic": None, "p_value": None, "n_train": len(a), "n_recent": len(b)}
    result = stats.ks_2samp(a, b)
    return {"ks_statistic": float(result.statistic), "p_value": float(result.pvalue), "n_train": len(a),
            "n_recent": len(b)}


# ---------------------------------------------------------------------- model versions
def current_model_dir(run_dir: str | Path) -> Path:
    """The run's model in use: the one ``promoted.json`` points to, else ``model/``."""
    paths = RunPaths(Path(run_dir))
    pointer = paths.root / PROMOTED_FILE
    if pointer.exists():
        return paths.root / read_json(pointer)["current"]
    return paths.model_dir


@dataclass
class RetrainResult:
    """What :func:`retrain_if_needed` did and why."""

    retrained: bool
    promoted: bool
    reasons: list[str]
    old_dir: Path
    new_dir: Path | None = None
    scores: dict[str, Any] = field(default_factory=dict)
    monitor: MonitorReport | None = None

    def summary(self) -> str:
        if not self.retrained:
            return "No retraining: " + " ".join(self.reasons)
        s = self.scores
        verdict = (f"promoted {self.new_dir.name}" if self.promoted else
                   f"kept {self.old_dir.name} (the new model {self.new_dir.name} is stored but not promoted)")
        return (f"Retrained because: {' '.join(self.reasons)} On the {s['n']} held-out rows "
                f"{s['first_date']} .. {s['last_date']}: old RMSE {s['old_rmse']:.4g}, new {s['new_rmse']:.4g}, "
                f"persistence {s['persistence_rmse']:.4g}: {verdict}.")


def _default_trainer(windows: Any, config: RunConfig) -> Any:
    """The run's own forecaster retrained: the same seed ensemble, started at persistence, on the new split."""
    from helpers.network import NetworkForecaster

    return NetworkForecaster(windows.frame, windows.feature_columns, config).fit_windows(windows)


def retrain_if_needed(run_dir: str | Path, prices: str | Path | pd.DataFrame, *, force: bool = False,
                      holdout: int = DEFAULT_HOLDOUT, window: int = 21, min_improvement: float = 0.0,
                      trainer: Callable[[Any, RunConfig], Any] | None = None) -> RetrainResult:
    """Retrain on newer ``prices`` when monitoring says so (or ``force``), promote only a better model.

    ``prices``: a CSV path or prices frame covering the old data and newer days (cleaned here). The last
    ``holdout`` rows are the judge: both the current model and the candidate forecast them (one step and
    every step of their horizon) and neither was trained on them. The candidate uses the run's config with
    the split moved forward: validation is the rows just before the holdout, training everything earlier.
    It is saved as ``model-<last training date>/`` (never over an existing folder) with its manifest; the
    run's ``promoted.json`` then points to it if its holdout RMSE is below ``(1 - min_improvement)`` times
    the current model's. Nothing is deleted. ``trainer(windows, config) -> TrainResult`` replaces training
    (tests inject a deliberately bad model).
    """
    from helpers.artifacts import build_manifest
    from helpers.predict import read_new_prices
    from helpers.sentiment import run_headlines
    from helpers.network import NetworkForecaster
    from helpers.splits import refit_split
    from helpers.windows import WindowGenerator

    paths = RunPaths(Path(run_dir))
    RunConfig.load(paths.config)  # refuses a folder that is not a run, with the message saying so
    old_dir = current_model_dir(paths.root)
    old = NetworkForecaster.load(old_dir)
    old_manifest, old_pre = old.manifest, old.preprocessor
    cleaned, _ = read_new_prices(prices, old_pre.config)

    monitor = monitor_run(paths, old_manifest, cleaned, holdout, window)
    reasons = list(monitor.reasons)
    if force:
        reasons.insert(0, "Retraining was forced.")
    if not reasons:
        return RetrainResult(retrained=False, promoted=False, old_dir=old_dir, monitor=monitor,
                             reasons=["no retrain signal. " + monitor.summary()])

    frame = old_pre.features(cleaned, run_headlines(old_pre.config))
    columns = list(old_pre.feature_columns)
    config = old_pre.config
    n = len(frame)
    if holdout < 10 or holdout >= n // 3:
        raise ValueError(f"holdout={holdout} rows does not fit {n} feature rows: use 10 to {n // 3 - 1}")
    plan = refit_split(frame.index, config, old_pre.window, old_pre.horizon, n - int(holdout))
    first_holdout = frame.index[n - int(holdout)]
    protected = pd.Timestamp(old_manifest["split"]["test_start"])
    if first_holdout < protected:
        start, test = iso_stamp(first_holdout, frame.index), iso_stamp(protected, frame.index)
        raise ValueError(f"the held-out rows start {start}, before the current model's test period "
                         f"({test}), so it may have been tuned on them: give prices that extend at "
                         f"least {holdout} rows past {test}, or a smaller holdout")

    windows = WindowGenerator(frame, columns, config, window=old_pre.window, horizon=old_pre.horizon, plan=plan)
    new = NetworkForecaster.of((trainer or _default_trainer)(windows, config), windows)
    scores = _holdout_scores(old.over(frame), new.over(frame), windows)
    promoted = scores["new_rmse"] < (1.0 - min_improvement) * scores["old_rmse"]
    scores["promoted"] = bool(promoted)

    last_train = windows.dates[windows.plan.val.stop - 1 + windows.horizon]
    stamp = iso_stamp(last_train, windows.dates).replace(" ", "T").replace(":", "")
    new_dir = unique_run_dir(paths.root, f"model-{stamp}")
    manifest = build_manifest(config, windows, columns, new,
                              data_meta={"retrained_from": old_dir.name, "rows": len(cleaned)},
                              tuning=old_manifest.get("tuning"))
    manifest["retrain"] = {"parent": old_dir.name, "reasons": reasons, "holdout": scores,
                           "parent_model_sha256": (old_manifest.get("model_file") or {}).get("sha256")}
    new.save(new_dir, manifest)
    if promoted:
        _promote(paths.root, new_dir, old_dir, scores)
    return RetrainResult(retrained=True, promoted=bool(promoted), reasons=reasons, old_dir=old_dir,
                         new_dir=new_dir, scores=scores, monitor=monitor)


def _holdout_scores(old: Any, new: Any, windows: Any) -> dict[str, Any]:
    """RMSE of the current and the candidate forecaster on the candidate's test rows (the holdout), every step
    of the candidate's horizon that has an actual, with persistence beside them. Each reads the frame through
    its own preprocessor."""
    origins = np.arange(windows.origins("test").start, windows.origins("test").stop)
    actual = windows.actual_price("test")
    last_close = windows.last_close("test")
    new_price, old_price = new.predict_at(windows.frame, origins), old.predict_at(windows.frame, origins)
    steps = min(actual.shape[1], old_price.shape[1], new_price.shape[1])
    a = actual[:, :steps]
    known = np.isfinite(a)

    def rmse(f: np.ndarray) -> float:
        return float(np.sqrt(np.mean((a[known] - f[:, :steps][known]) ** 2)))

    persistence = np.repeat(last_close[:, None], steps, axis=1)
    dates = windows.target_dates("test")
    return {"n": int(len(a)), "steps": int(steps), "first_date": iso_stamp(dates[0], windows.dates),
            "last_date": iso_stamp(windows.dates[-1], windows.dates), "old_rmse": rmse(old_price),
            "new_rmse": rmse(new_price), "persistence_rmse": rmse(persistence)}


def _promote(root: Path, new_dir: Path, old_dir: Path, scores: dict[str, Any]) -> None:
    pointer = root / PROMOTED_FILE
    history = read_json(pointer).get("history", []) if pointer.exists() else []
    entry = {"current": new_dir.name, "previous": old_dir.name,
             "promoted_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "holdout": scores}
    atomic_write_json(pointer, {**entry, "history": [*history, entry]})


def monitor_run(paths: RunPaths, manifest: dict[str, Any], prices: pd.DataFrame, holdout: int,
                window: int) -> MonitorReport:
    """Monitoring for a run folder: its ledger (when present), the backtest RMSE from metrics.json (when
    present), training-period returns from the manifest's training range against the last ``holdout`` days."""
    from helpers.ledger import Ledger

    returns = np.log(prices["close"]).diff().dropna()
    training = manifest.get("training_range") or {}
    first, last = training.get("first_origin"), training.get("last_target")
    train_returns = returns.loc[first:last] if first and last else returns.iloc[:0]
    recent = returns.iloc[-int(holdout):]
    backtest = None
    if paths.metrics.exists():
        try:
            backtest = float(read_json(paths.metrics)["test"]["model"]["rmse"])
        except (KeyError, TypeError, ValueError):
            backtest = None
    source: Any = Ledger(paths.ledger) if paths.ledger.exists() else pd.DataFrame(
        columns=["date", "actual", "model", "persistence"])
    return monitor_report(source, backtest, train_returns, recent, window=window)
