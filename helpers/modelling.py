"""Notebook 04's orchestration: validation scores in price units, the cell comparison, the price-level pitfall.

Every number here is computed on the *validation* rows (the test rows stay untouched until 06_evaluate) and
always beside persistence ("tomorrow's close equals today's") on exactly the same rows, in price units.

The module also holds one deliberately wrong recipe, :func:`tutorial_price_model_with_leaky_scaler`: the
price-level model with a scaler fitted on every row, as the most-copied tutorials build it. It exists only so
04_model can show, once and side by side, why this project predicts log returns with train-only scaling.
Nothing else may use it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from helpers import metrics
from helpers.config import RunConfig
from helpers.train import TrainResult, predict, train_model
from helpers.windows import FeatureScaler, WindowGenerator, make_targets
from helpers.frequency import bar_word, iso_stamp

log = logging.getLogger(__name__)

CELL_NAMES = {"lstm": "LSTM", "gru": "GRU", "rnn": "SimpleRNN"}

# Labels of the two models of the price-level pitfall, as the notebook's charts and tables show them.
TUTORIAL_LABEL = "price target, scaler fitted on all rows (tutorial)"
CAREFUL_LABEL = "log-return target, train-only scaler (this project)"

# The tutorial model's own network and budget, the same in quick and full mode: the two-layer LSTM the tutorials
# use, trained long enough to converge, so the pitfall shows whatever the run's budget (about 10 s on 3,000 days).
PITFALL_BUDGET: dict[str, Any] = {"units": (64, 32), "epochs": 20, "patience": 4}

# The thresholds that choose the pitfall's words. A line "hugs the price" when it stays within HUGS_MAPE percent
# of it on average (on a chart of a few years, a few percent is the width of the line); "worse/better than
# persistence" needs the Diebold-Mariano test to reject at PITFALL_ALPHA; "trails" needs the lag diagnostic's best
# alignment at a positive shift.
HUGS_MAPE = 5.0
# Shifts (trading days) the pitfall's lag diagnostic tries: a price-level model can trail by several days.
PITFALL_LAGS = range(-3, 8)
PITFALL_ALPHA = 0.05


# ---------------------------------------------------------------------- one model on the validation rows
def price_forecasts(windows: WindowGenerator, model: Any, split: str = "val") -> np.ndarray:
    """The model's forecasts for ``split`` in price units ``(samples, horizon)``."""
    return windows.to_price(predict(model, windows.inputs(split)), split)


def one_step_frame(windows: WindowGenerator, model: Any, split: str = "val") -> pd.DataFrame:
    """Step-1 forecasts of ``split`` beside the truth: columns ``actual``, ``model``, ``persistence`` (prices),
    indexed by the target date. ``persistence`` is the origin's close C[t]."""
    return pd.DataFrame({
        "actual": windows.actual_price(split)[:, 0],
        "model": price_forecasts(windows, model, split)[:, 0],
        "persistence": windows.last_close(split),
    }, index=pd.DatetimeIndex(windows.target_dates(split), name="date"))


def score_against_persistence(actual: np.ndarray, forecast: np.ndarray, persistence: np.ndarray) -> dict[str, Any]:
    """RMSE, MAE (price units), MAPE (%) and directional accuracy of ``forecast``, RMSE, MAE and MAPE of
    persistence on the same rows, and Theil's U (forecast RMSE / persistence RMSE: below 1 beats
    persistence). All inputs ``(samples,)`` prices."""
    direction = metrics.directional_accuracy(actual, forecast, persistence)
    return {
        "rmse": metrics.rmse(actual, forecast),
        "mae": metrics.mae(actual, forecast),
        "mape": metrics.mape(actual, forecast),
        "persistence_rmse": metrics.rmse(actual, persistence),
        "persistence_mae": metrics.mae(actual, persistence),
        "persistence_mape": metrics.mape(actual, persistence),
        "theils_u": metrics.theils_u(actual, forecast, persistence),
        "directional_accuracy": None if np.isnan(direction.value) else direction.value,
    }


def validation_scores(windows: WindowGenerator, model: Any, *, split: str = "val") -> dict[str, Any]:
    """How ``model`` does on the validation rows next to persistence, in price units, as plain JSON.

    Keys: ``split``, ``samples``, ``first_date``/``last_date`` (step-1 target dates), the step-1 numbers of
    :func:`score_against_persistence` (``rmse``, ``mae``, ``mape``, ``persistence_rmse``, ``persistence_mae``,
    ``persistence_mape``, ``theils_u``, ``directional_accuracy``), and ``rmse_by_step`` /
    ``persistence_rmse_by_step`` (one value per forecast step 1..horizon).
    """
    forecast = price_forecasts(windows, model, split)
    actual = windows.actual_price(split)
    persistence = np.repeat(windows.last_close(split)[:, None], windows.horizon, axis=1)
    dates = windows.target_dates(split)
    by_step = metrics.error_by_horizon(actual, {"model": forecast, "persistence": persistence})
    return {
        "split": split,
        "samples": int(len(actual)),
        "first_date": iso_stamp(dates[0], dates),
        "last_date": iso_stamp(dates[-1], dates),
        **score_against_persistence(actual[:, 0], forecast[:, 0], persistence[:, 0]),
        "rmse_by_step": [float(v) for v in by_step["model"]],
        "persistence_rmse_by_step": [float(v) for v in by_step["persistence"]],
    }


def validation_table(scores: Mapping[str, Any]) -> pd.DataFrame:
    """:func:`validation_scores` as a small table to read: rows RMSE, MAE (price units) and MAPE (%),
    columns ``model`` and ``persistence``."""
    return pd.DataFrame({"model": [scores["rmse"], scores["mae"], scores["mape"]],
                         "persistence": [scores["persistence_rmse"], scores["persistence_mae"],
                                         scores["persistence_mape"]]},
                        index=pd.Index(["RMSE (price)", "MAE (price)", "MAPE (%)"], name="step-1 error"))


# ---------------------------------------------------------------------- LSTM vs GRU vs SimpleRNN
def train_cells(windows: WindowGenerator, config: RunConfig, cells: Sequence[str] | None = None, *,
                trained: Mapping[str, TrainResult] | None = None, verbose: int = 0) -> dict[str, TrainResult]:
    """Train one network per cell (default ``config.compare_cells``) with the same budget: same windows,
    units, dropout, epochs, patience, learning rate and seed; only the recurrent cell changes.

    ``trained``: results already at hand (e.g. the main model of ``config.cell``), reused instead of training
    the same network again; training is deterministic, so a retrain would give the same weights.
    """
    cells = list(dict.fromkeys(cells or config.compare_cells))
    if not cells:
        raise ValueError("no cells to compare: set compare_cells, e.g. ['lstm', 'gru', 'rnn']")
    trained = dict(trained or {})
    results: dict[str, TrainResult] = {}
    for cell in cells:
        if cell in trained:
            results[cell] = trained[cell]
            continue
        log.info("training %s for the comparison", CELL_NAMES.get(cell, cell))
        results[cell] = train_model(windows, config, cell=cell, verbose=verbose)
    return results


def comparison_table(windows: WindowGenerator, results: Mapping[str, TrainResult]) -> pd.DataFrame:
    """One row per trained cell, indexed by its name (LSTM, GRU, SimpleRNN): validation ``rmse`` and ``mae``
    in price units, ``persistence_rmse`` on the same rows, ``theils_u``, ``directional_accuracy``,
    ``epochs`` run, ``best_epoch``, training ``seconds`` and the number of weights ``parameters``."""
    rows = []
    for cell, result in results.items():
        scores = validation_scores(windows, result.model)
        rows.append({
            "model": CELL_NAMES.get(cell, cell), "cell": cell,
            "rmse": scores["rmse"], "mae": scores["mae"], "persistence_rmse": scores["persistence_rmse"],
            "theils_u": scores["theils_u"], "directional_accuracy": scores["directional_accuracy"],
            "epochs": result.epochs_run, "best_epoch": result.best_epoch, "seconds": round(result.seconds, 2),
            "parameters": int(result.model.count_params()),
        })
    return pd.DataFrame(rows).set_index("model")


def compare_cells(windows: WindowGenerator, config: RunConfig, cells: Sequence[str] | None = None, *,
                  trained: Mapping[str, TrainResult] | None = None, verbose: int = 0) -> pd.DataFrame:
    """Train every cell of ``config.compare_cells`` with the same budget and tabulate their validation
    scores beside persistence: :func:`train_cells` then :func:`comparison_table`."""
    return comparison_table(windows, train_cells(windows, config, cells, trained=trained, verbose=verbose))


def comparison_record(table: pd.DataFrame, windows: WindowGenerator, config: RunConfig) -> dict[str, Any]:
    """The content of ``model_comparison.json``: the shared budget, the validation rows, one entry per model
    and the model with the lowest Theil's U (``best``), plainly JSON."""
    dates = windows.target_dates("val")
    models = [{"model": str(name), **{k: _plain(v) for k, v in row.items()}} for name, row in table.iterrows()]
    return {
        "split": "val",
        "samples": windows.n_samples("val"),
        "first_date": iso_stamp(dates[0], dates),
        "last_date": iso_stamp(dates[-1], dates),
        "units_of_rmse": "price",
        "budget": {"target": windows.target, "window": windows.window, "horizon": windows.horizon,
                   "units": list(config.units), "dropout": config.dropout, "epochs": config.epochs,
                   "patience": config.patience, "learning_rate": config.learning_rate,
                   "batch_size": config.batch_size, "seed": config.seed},
        "persistence_rmse": float(table["persistence_rmse"].iloc[0]),
        "models": models,
        "best": str(table["theils_u"].idxmin()),
    }


# ---------------------------------------------------------------------- the price-level pitfall (teaching only)
class _LeakyScalerWindows(WindowGenerator):
    """A price-target WindowGenerator whose scalers are refitted on EVERY row, validation and test included.

    This is the leak of the common tutorial, reproduced on purpose for
    :func:`tutorial_price_model_with_leaky_scaler`. The split is still by target date; only the scaling knows
    the future.
    """

    def __init__(self, frame: pd.DataFrame, feature_columns: Sequence[str], config: RunConfig, scaler_kind: str):
        super().__init__(frame, feature_columns, config.replace(scaler=scaler_kind), target="price")
        close = frame["close"].to_numpy(dtype=np.float64)
        raw_x = frame[self.input_columns].to_numpy(dtype=np.float64)
        targets = make_targets(close, "price", self.horizon)
        known = np.isfinite(targets).all(axis=1)
        self.preprocessor.feature_scaler_ = FeatureScaler(scaler_kind).fit(raw_x)          # every row: the leak
        self.preprocessor.target_scaler_ = FeatureScaler(scaler_kind).fit(targets[known])  # every label: the leak
        self._assemble(frame)


def tutorial_price_model_with_leaky_scaler(frame: pd.DataFrame, feature_columns: Sequence[str],
                                           config: RunConfig, *, scaler_kind: str = "minmax",
                                           verbose: int = 0) -> tuple[WindowGenerator, TrainResult]:
    """LEAKS ON PURPOSE. The common tutorial's model, trained only to show notebook 04's pitfall.

    It predicts the price level (``target='price'``, with the close among the inputs) and scales inputs and
    labels with a ``scaler_kind`` scaler (MinMax, as the tutorials do) fitted on ALL rows, so validation and
    test prices shape the training data. Network and budget are ``config``'s. Never use this for a real
    model: the careful set-up is ``WindowGenerator(frame, feature_columns, config)`` with a log-return target.
    Returns the leaky generator and the training result.
    """
    windows = tutorial_windows_with_leaky_scaler(frame, feature_columns, config, scaler_kind=scaler_kind)
    return windows, train_model(windows, config, verbose=verbose)


def tutorial_windows_with_leaky_scaler(frame: pd.DataFrame, feature_columns: Sequence[str], config: RunConfig, *,
                                       scaler_kind: str = "minmax") -> WindowGenerator:
    """LEAKS ON PURPOSE. The windows of :func:`tutorial_price_model_with_leaky_scaler`: target ``price``,
    close among the inputs, split by target date as usual, but both scalers fitted on ALL rows (validation
    and test included). Teaching only."""
    return _LeakyScalerWindows(frame, feature_columns, config, scaler_kind)


@dataclass
class PitfallComparison:
    """Two models' step-1 validation forecasts on the same rows, their scores and lag diagnostics.

    ``dates`` are the step-1 target dates; ``actual``, ``persistence`` and each of ``forecasts`` (label ->
    values) are price arrays ``(samples,)``. ``scores``: label -> :func:`score_against_persistence`;
    ``lags``: label -> :func:`helpers.metrics.lag_diagnostic`; ``checks``: label -> :func:`line_checks`
    (the numbers the sentences are chosen by).
    """

    dates: pd.DatetimeIndex
    actual: np.ndarray
    persistence: np.ndarray
    forecasts: dict[str, np.ndarray]
    scores: dict[str, dict[str, Any]] = field(default_factory=dict)
    lags: dict[str, dict[str, Any]] = field(default_factory=dict)
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)

    def table(self) -> pd.DataFrame:
        """One row per model: Theil's U, RMSE and persistence's RMSE (price units), the lag whose shifted
        actual the forecast matches best, and whether it trails the price."""
        rows = {label: {"theils_u": s["theils_u"], "rmse": s["rmse"], "persistence_rmse": s["persistence_rmse"],
                        "directional_accuracy": s["directional_accuracy"],
                        "best_lag": self.lags[label]["best_lag"], "trails_the_price": self.lags[label]["trailing"]}
                for label, s in self.scores.items()}
        return pd.DataFrame.from_dict(rows, orient="index").rename_axis("model")

    def chart_forecasts(self) -> dict[str, np.ndarray]:
        """Persistence first, then each model: the ``forecasts`` argument of ``plots.predicted_vs_actual``."""
        return {"persistence": self.persistence, **self.forecasts}

    def summary(self) -> str:
        """One bullet per model, every clause chosen by a named test or threshold (:func:`describe_line`)."""
        unit = bar_word(self.dates)
        return "\n".join(f"- **{label}**: "
                         f"{describe_line(self.scores[label], self.lags[label], self.checks[label], unit=unit)}"
                         for label in self.forecasts)

    def lag_chart_data(self, label: str) -> dict[str, Any]:
        """The lag diagnostic of ``label`` in the shape ``plots.lag_chart`` draws: ``lags``, ``rmse``,
        ``change_correlation`` lists and the ``verdict`` sentence."""
        return lag_chart_data(self.lags[label])

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON: the validation rows, and per model its scores and lag diagnostic."""
        return {"first_date": iso_stamp(self.dates[0], self.dates), "last_date": iso_stamp(self.dates[-1], self.dates),
                "samples": int(len(self.dates)),
                "models": {label: {"scores": self.scores[label], "lag_diagnostic": self.lags[label],
                                   "checks": self.checks[label]}
                           for label in self.forecasts}}


def lag_chart_data(diagnostic: Mapping[str, Any]) -> dict[str, Any]:
    """``metrics.lag_diagnostic``'s ``by_lag`` rows as the column lists ``plots.lag_chart`` expects."""
    rows = diagnostic["by_lag"]
    return {"lags": [r["lag"] for r in rows], "rmse": [r["rmse"] for r in rows],
            "change_correlation": [r["change_correlation"] for r in rows], "verdict": diagnostic.get("verdict")}


def price_level_pitfall(frame: pd.DataFrame, feature_columns: Sequence[str], config: RunConfig, *,
                        careful: tuple[WindowGenerator, Any] | None = None, scaler_kind: str = "minmax",
                        budget: Mapping[str, Any] | None = None, verbose: int = 0) -> PitfallComparison:
    """The tutorial's price-level model against this project's log-return model, same network and budget,
    scored on the same validation rows beside persistence, each with its lag diagnostic.

    ``careful``: an already trained ``(windows, model)`` with the log-return target and train-only scaling
    (the notebook's main model), reused instead of training again; ignored unless its target is log_return.
    The tutorial model trains with :data:`PITFALL_BUDGET` (``budget`` replaces it), not the run's budget, so the
    pitfall shows in quick mode too.
    """
    tutorial_windows, tutorial = tutorial_price_model_with_leaky_scaler(
        frame, feature_columns, pitfall_config(config, budget), scaler_kind=scaler_kind, verbose=verbose)
    if careful is None or careful[0].target != "log_return":
        careful_config = config.replace(target="log_return")
        careful_windows = WindowGenerator(frame, feature_columns, careful_config)
        careful_model = train_model(careful_windows, careful_config, verbose=verbose).model
    else:
        careful_windows, careful_model = careful
    dates = pd.DatetimeIndex(careful_windows.target_dates("val"))
    if not dates.equals(pd.DatetimeIndex(tutorial_windows.target_dates("val"))):
        raise ValueError("the two models' validation rows differ: both generators must window the same frame "
                         "with the same window, horizon and split")
    actual = careful_windows.actual_price("val")[:, 0]
    persistence = careful_windows.last_close("val")
    forecasts = {TUTORIAL_LABEL: price_forecasts(tutorial_windows, tutorial.model)[:, 0],
                 CAREFUL_LABEL: price_forecasts(careful_windows, careful_model)[:, 0]}
    result = PitfallComparison(dates=dates, actual=actual, persistence=persistence, forecasts=forecasts)
    for label, forecast in forecasts.items():
        result.scores[label] = score_against_persistence(actual, forecast, persistence)
        result.lags[label] = metrics.lag_diagnostic(pd.Series(actual, index=dates), pd.Series(forecast, index=dates),
                                                    lags=PITFALL_LAGS, unit=bar_word(dates))
        result.checks[label] = line_checks(actual, forecast, persistence)
    return result


def pitfall_config(config: RunConfig, budget: Mapping[str, Any] | None = None) -> RunConfig:
    """``config`` with the tutorial model's own network and budget (:data:`PITFALL_BUDGET`), whatever the mode."""
    return config.replace(**dict(PITFALL_BUDGET if budget is None else budget))


def line_checks(actual: np.ndarray, forecast: np.ndarray, persistence: np.ndarray) -> dict[str, Any]:
    """The numbers the pitfall's sentences are chosen by, for one forecast line of prices ``(samples,)``:
    ``mape`` (%), ``level_correlation`` (of the price levels), ``mean_offset`` (mean of forecast/actual - 1:
    negative sits below the price), ``dm_statistic`` / ``dm_p_value`` (Diebold-Mariano against persistence,
    squared errors; a negative statistic means smaller errors than persistence) and ``hugs`` (see HUGS_MAPE)."""
    a, f = np.asarray(actual, float), np.asarray(forecast, float)
    mape = metrics.mape(a, f)
    correlation = float(np.corrcoef(a, f)[0, 1]) if np.std(a) > 0 and np.std(f) > 0 else 0.0
    dm = metrics.diebold_mariano(a, f, persistence, horizon=1)
    return {"mape": mape, "level_correlation": correlation, "mean_offset": float(np.mean(f / a - 1)),
            "dm_statistic": float(dm.statistic), "dm_p_value": float(dm.p_value),
            "hugs": bool(mape <= HUGS_MAPE)}


def describe_line(scores: Mapping[str, Any], lag: Mapping[str, Any], checks: Mapping[str, Any],
                  unit: str = "day") -> str:
    """Three clauses about one forecast line, each chosen by its test: does it hug the price (MAPE within
    HUGS_MAPE), is it better or worse than persistence (Diebold-Mariano
    at PITFALL_ALPHA), and does it trail the price (the lag diagnostic's best shift). ``unit`` names one bar of
    the series (``day``, ``week``, ``bar`` for intraday series)."""
    return " ".join((_look_clause(checks), _persistence_clause(scores, checks, unit), _lag_clause(lag, unit)))


def _look_clause(checks: Mapping[str, Any]) -> str:
    numbers = f"MAPE {checks['mape']:.1f}%, correlation with the price {checks['level_correlation']:.3f}"
    if checks["hugs"]:
        return f"Its line hugs the actual price ({numbers}; hugging means a MAPE within {HUGS_MAPE:g}%)."
    side = "below" if checks["mean_offset"] < 0 else "above"
    return (f"Its line does not hug the actual price: it sits {abs(checks['mean_offset']):.1%} {side} it on "
            f"average ({numbers}; hugging means a MAPE within {HUGS_MAPE:g}%).")


def _persistence_clause(scores: Mapping[str, Any], checks: Mapping[str, Any], unit: str = "day") -> str:
    numbers = f"Theil's U {scores['theils_u']:.2f}, Diebold-Mariano p = {checks['dm_p_value']:.2g}"
    if checks["dm_p_value"] < PITFALL_ALPHA and checks["dm_statistic"] > 0:
        last = "yesterday's" if unit == "day" else f"the last {unit}'s"
        return f"It is worse than persistence ({numbers}): copying {last} close beats it."
    if checks["dm_p_value"] < PITFALL_ALPHA:
        return f"It beats persistence ({numbers}): on stock prices, a reason to look for a leak."
    return (f"It cannot be told apart from persistence ({numbers}: the difference is within chance at the "
            f"{PITFALL_ALPHA:.0%} level).")


def _lag_clause(lag: Mapping[str, Any], unit: str = "day") -> str:
    k = int(lag["best_lag"])
    if k > 0:
        edge = " or more" if k == max(row["lag"] for row in lag["by_lag"]) else ""
        return (f"It trails the price: it lines up best with the actual price {k}{edge} {unit}(s) earlier (lag "
                f"diagnostic, best shift {k:+d}): a late copy of past prices, not a forecast.")
    if k == 0:
        return f"It does not trail the price: it lines up best with the same {unit}'s actual price (best shift 0)."
    return (f"It lines up best with the actual price {-k} {unit}(s) LATER (best shift {k:+d}): a forecast cannot "
            "know the future, so look for a leak.")


def _plain(value: Any) -> Any:
    """numpy scalars to Python numbers, for JSON."""
    return value.item() if hasattr(value, "item") else value
