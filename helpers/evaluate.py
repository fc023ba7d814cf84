"""Notebook 06's orchestration: every forecaster on the same test rows, seeds, walk-forward, the verdict.

The network is the run's seed ensemble (:class:`helpers.network.NetworkForecaster`, ``config.seed_list`` towers
in one model, started at persistence and shrunk toward it on validation rows), trained with 05's tuning
applied. It is the ``model`` forecaster, and it is saved into ``<run>/model/``: the model every number of the
report describes is the one 07, ``lstm-lab predict``, the ledger, monitoring and risk load. Baselines are
fitted on training rows only and predict from the same origins, so every number in ``metrics.json`` compares
forecasters on identical rows, in price units.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from helpers import baselines, explain, metrics
from helpers.atomic import atomic_write_csv, atomic_write_json, read_json
from helpers.backtest import walk_forward
from helpers.config import RunConfig
from helpers.frequency import bar_word, iso_stamp, stamp_format
from helpers.runfolder import RunPaths
from helpers.splits import fold_part_split, walk_forward_folds
from helpers.strategy import CHANCE_DRAWS, bars_per_year, strategy_backtest
from helpers.windows import WindowGenerator

log = logging.getLogger(__name__)
# Progress of the long steps: one plain line each (a notebook cell and its HTML page keep them as they are; no
# bar, no carriage returns). ``progress=None`` is silent.
Progress = Callable[[str], None] | None


def print_progress(message: str) -> None:
    """The default progress: the line, printed and flushed at once (papermill streams it to the cell)."""
    print(message, flush=True)

CELL_NAMES = {"lstm": "LSTM", "gru": "GRU", "rnn": "SimpleRNN"}


@dataclass
class SeedModels:
    """Each tower's own price forecasts on the test rows (before the shrinkage toward persistence),
    ``(samples, horizon)`` per seed, and its validation losses per epoch (epoch 0: the persistence start)."""

    forecasts: dict[int, np.ndarray]
    histories: dict[int, list[float]]
    models: dict[int, Any] = field(default_factory=dict)


@dataclass
class Evaluation:
    """Everything 06 shows; ``metrics`` is what ``metrics.json`` holds."""

    config: RunConfig
    predictions: pd.DataFrame          # date, actual, model, persistence, other baselines (one-step)
    forecasts_by_step: dict[str, np.ndarray]
    actual_by_step: np.ndarray
    seeds: SeedModels
    metrics: dict[str, Any]
    walk_forward: Any = None
    strategies: dict[str, Any] = field(default_factory=dict)
    windows: WindowGenerator | None = None
    importance: pd.DataFrame | None = None
    network: Any = None

    @property
    def verdict(self) -> str:
        return self.metrics["verdict"]


# ---------------------------------------------------------------------- inputs
def load_features(paths: RunPaths) -> tuple[pd.DataFrame, list[str]]:
    """The feature frame and its model-input columns, as 03_featurize wrote them."""
    frame = pd.read_parquet(paths.require(paths.features, "03_featurize"))
    meta = read_json(paths.require(paths.features_meta, "03_featurize"))
    return frame, list(meta["columns"])


def test_origins(windows: WindowGenerator, frame: pd.DataFrame) -> np.ndarray:
    """Row positions (into ``frame``) of the test samples' origins."""
    return frame.index.get_indexer(windows.origin_dates("test"))


def train_end_row(windows: WindowGenerator, frame: pd.DataFrame) -> int:
    """Rows before this position are training rows: baselines may be fitted on ``close.iloc[:train_end]``."""
    first_val_target = windows.target_dates("val")[0]
    return int(frame.index.get_loc(first_val_target))


# ---------------------------------------------------------------------- forecasters
def train_network(windows: WindowGenerator, frame: pd.DataFrame, config: RunConfig, *, verbose: int = 0):
    """The run's seed ensemble trained on ``windows`` (training and validation samples only)."""
    from helpers.network import NetworkForecaster

    network = NetworkForecaster(frame, windows.feature_columns, config).fit_windows(windows, verbose=verbose)
    report = network.fit_report
    log.info("seed ensemble of %d: best epochs %s, shrink %.3f", len(network.seeds), report.best_epochs,
             report.shrink)
    return network


def baseline_forecasts(frame: pd.DataFrame, origins: np.ndarray, train_end: int, horizon: int,
                       config: RunConfig) -> dict[str, np.ndarray]:
    """Every baseline's price forecasts ``(samples, horizon)`` from the same origins, fitted on training rows."""
    close = frame["close"]
    out = {}
    for forecaster in baselines.default_baselines(frame.index, config):
        forecaster.fit(close, train_end)
        out[forecaster.name] = np.asarray(forecaster.predict(close, origins, horizon), dtype=float)
    return out


# ---------------------------------------------------------------------- scoring
def score_one_step(actual: np.ndarray, forecasts: dict[str, np.ndarray], previous: np.ndarray,
                   train_close: np.ndarray, season: int, unit: str = "day") -> dict[str, Any]:
    """Point metrics of every forecaster, Theil's U, DM against persistence and the model's direction CI.
    ``unit``: what one test row is in the sentences (``day``; ``bar`` for intraday, ``week``)."""
    test = metrics.score_forecasts(actual, forecasts, previous, train_close, season=season)
    model = forecasts["model"]
    u = metrics.theils_u(actual, model, forecasts["persistence"])
    dm = metrics.diebold_mariano(actual, model, forecasts["persistence"], horizon=1)
    da = metrics.directional_accuracy(actual, model, previous)
    lo, hi = metrics.wilson_interval(da.hits, da.n)
    return {
        "test": test,
        "theils_u": float(u),
        "theils_u_by_forecaster": {name: float(metrics.theils_u(actual, f, forecasts["persistence"]))
                                   for name, f in forecasts.items()},
        "diebold_mariano": {"statistic": float(dm.statistic), "p_value": float(dm.p_value),
                            "against": "persistence", "loss": "squared"},
        "directional_accuracy_ci": [float(lo), float(hi)],
        "directional_accuracy_p_value": float(metrics.binomial_p_value(da.hits, da.n)),
        "directional_accuracy_n": int(da.n),
        "direction": direction_against_always_up(actual, model, previous, unit=unit),
    }


def directional_accuracy_line(metrics_json: dict[str, Any]) -> str:
    """06's line on the model's directional accuracy with its interval and p-value; when the model forecast
    no change on every test bar (it stayed at persistence) it calls no direction, and the line says so. Bars are
    counted as the series has them (``direction.unit``: days, weeks, or bars of intraday series)."""
    da = (metrics_json.get("test", {}).get("model") or {}).get("directional_accuracy")
    n = metrics_json.get("directional_accuracy_n") or 0
    unit = (metrics_json.get("direction") or {}).get("unit", "day")
    if da is None or not n or not np.isfinite(da):
        return (f"The model forecast no change on every test {unit} (it stayed at persistence), so it calls no "
                "direction: directional accuracy is undefined.")
    lo, hi = metrics_json["directional_accuracy_ci"]
    return (f"Directional accuracy {da:.3f}, 95% Wilson interval [{lo:.3f}, {hi:.3f}], binomial p against 50%: "
            f"{metrics_json['directional_accuracy_p_value']:.3f} on {n} {unit}{'s' if n != 1 else ''}")


def direction_against_always_up(actual: np.ndarray, forecast: np.ndarray, previous: np.ndarray,
                                alpha: float = 0.05, unit: str = "day") -> dict[str, Any]:
    """The model's directional accuracy beside calling "up" every day, on the same days, with a test.

    A forecaster that calls "up" every day scores the share of up days, so in a rising test period a network
    that has learnt the drift (and nothing else) beats 50% and its interval can exclude it. The fair bar is
    ``always_up`` on the same scored days (neither flat forecast nor flat close), not the coin flip. The two
    differ only on the days the model called "down": ``model_only`` of them fell (the model right, always-up
    wrong), ``always_up_only`` rose. ``mcnemar_p`` is the exact McNemar test on those days
    (:func:`helpers.metrics.mcnemar_exact`); the sentence claims a difference only when it rejects at ``alpha``.
    """
    da = metrics.directional_accuracy(actual, forecast, previous)
    realised = np.sign(np.asarray(actual, float) - np.asarray(previous, float))
    called = np.sign(np.asarray(forecast, float) - np.asarray(previous, float))
    scored = (realised != 0) & (called != 0)
    n = int(scored.sum())
    up_days = float(np.mean(realised[scored] > 0)) if n else float("nan")
    up_calls = float(np.mean(called[scored] > 0)) if n else float("nan")
    down_calls = scored & (called < 0)
    model_only = int(np.sum(down_calls & (realised < 0)))
    always_up_only = int(np.sum(down_calls & (realised > 0)))
    p_value = metrics.mcnemar_exact(model_only, always_up_only)
    return {"model": da.value, "always_up": up_days, "up_call_share": up_calls, "n": n, "unit": unit,
            "model_only": model_only, "always_up_only": always_up_only, "mcnemar_p": p_value,
            "sentence": direction_sentence(da.value, up_days, up_calls, p_value, alpha=alpha, unit=unit)}


# A model calling "up" (or "down") on at least this share of days is, in effect, calling the drift.
ONE_SIDED_CALLS = 0.9


def direction_sentence(model_da: float, up_days: float, up_calls: float, mcnemar_p: float,
                       alpha: float = 0.05, unit: str = "day") -> str:
    """One plain sentence: how the model's direction calls compare with calling "up" every day (every
    ``unit``: ``bar`` for intraday series, ``week`` for weekly ones).

    The wording follows the exact McNemar test on the days the two differ (``mcnemar_p``): "adds something
    beyond the drift" only when it rejects at ``alpha`` in the model's favour, "worse than" only when it
    rejects the other way; otherwise no difference is claimed.
    """
    if np.isnan(model_da) or np.isnan(up_days):
        return f"No {unit} had both a called and a realised direction, so directional accuracy is undefined."
    base = (f"The close rose on {up_days:.0%} of the scored test {unit}s and the model called \"up\" on "
            f"{up_calls:.0%} of them: calling \"up\" every {unit} would score {up_days:.3f} against the model's "
            f"{model_da:.3f} (exact McNemar test on the {unit}s the two calls differ: p = {mcnemar_p:.2g})")
    if mcnemar_p < alpha and model_da > up_days:
        return base + f", so its calls add something beyond the drift (significant at {alpha:.0%})."
    if mcnemar_p < alpha:
        return base + f", so its calls are worse than calling \"up\" every {unit} (significant at {alpha:.0%})."
    if up_calls >= ONE_SIDED_CALLS or up_calls <= 1 - ONE_SIDED_CALLS:
        return base + (f", and the model made nearly the same call every {unit}, so its directional accuracy "
                       "reflects the market's drift rather than a skill at timing moves.")
    return base + (f", a difference chance explains at the {alpha:.0%} level: its calls add nothing measurable "
                   "beyond the drift.")


def seed_metrics(seeds: SeedModels, actual: np.ndarray, persistence: np.ndarray,
                 previous: np.ndarray) -> tuple[list[dict], dict[str, float]]:
    """Per-seed U, RMSE and directional accuracy (one step), and their spread across seeds."""
    rows = []
    for seed, forecast in seeds.forecasts.items():
        one = forecast[:, 0]
        da = metrics.directional_accuracy(actual, one, previous)
        rows.append({"seed": seed, "theils_u": float(metrics.theils_u(actual, one, persistence)),
                     "rmse": float(metrics.rmse(actual, one)), "directional_accuracy": float(da.value)})
    u = np.array([r["theils_u"] for r in rows])
    d = np.array([r["directional_accuracy"] for r in rows])
    ddof = 1 if len(rows) > 1 else 0
    spread = {"n_seeds": len(rows), "theils_u_mean": float(u.mean()), "theils_u_sd": float(u.std(ddof=ddof)),
              "directional_accuracy_mean": float(d.mean()),
              "directional_accuracy_sd": float(d.std(ddof=ddof))}
    return rows, spread


def verdict_sentence(model_name: str, theils_u: float, dm_p: float, spread: dict[str, float] | None = None,
                     alpha: float = 0.05, unit: str = "day") -> str:
    """One plain sentence: does the network beat persistence, with U and the DM p-value. ``unit``: one bar of
    the series (``day``: "yesterday's price"; ``bar``: "the last bar's price")."""
    numbers = f"U = {theils_u:.3f}, DM p = {dm_p:.2g}"
    if theils_u < 1 and dm_p < alpha:
        sentence = f"{model_name} beats persistence ({numbers})"
    elif theils_u > 1 and dm_p < alpha:
        sentence = f"{model_name} is worse than persistence ({numbers})"
    else:
        word = "slightly better than" if round(theils_u, 3) < 1 else "no better than"  # as the printed U reads
        last = "yesterday's price" if unit == "day" else f"the last {unit}'s price"
        sentence = (f"{model_name} does not beat persistence: it is {word} copying {last}, "
                    f"and the difference is not significant ({numbers})")
    if spread and spread.get("n_seeds", 1) > 1 and spread["theils_u_sd"] > abs(theils_u - 1.0):
        sentence += (f"; the seed-to-seed spread of U (sd {spread['theils_u_sd']:.3f} over "
                     f"{spread['n_seeds']} seeds) is larger than the distance from persistence")
    return sentence + "."


def feature_importance(model, windows: WindowGenerator, *, n_repeats: int = 10, seed: int = 0,
                       constant_output: bool = False) -> pd.DataFrame:
    """Permutation importance of each input on the test windows, with the persistence-relative view.

    Losses are in the model's scaled target units; persistence there means predicting no change (a log return
    of 0, scaled), so ``beats_persistence_without`` says whether the network still beats persistence when the
    feature is shuffled. ``constant_output``: the model's output does not depend on its inputs (a network
    shrunk all the way to persistence), so no shuffle can change it: its one output on the test windows
    (checked to be one) stands in for the shuffled passes, which would each give the same numbers at the cost
    of a full pass over the test windows.
    """
    from helpers.train import predict

    x, y = windows.inputs("test"), windows.labels("test")
    if constant_output:
        outputs = predict(model, x)
        if not np.all(outputs == outputs[:1]):
            raise ValueError("constant_output=True, but the model's outputs differ between test windows")

        def predictor(a: np.ndarray) -> np.ndarray:
            return np.broadcast_to(outputs[:1], (len(a), outputs.shape[1]))
    else:
        def predictor(a: np.ndarray) -> np.ndarray:
            return predict(model, a)
    frame = explain.permutation_importance(predictor, x, y, windows.input_columns, n_repeats=n_repeats, seed=seed)
    if windows.target == "log_return":
        no_change = windows.target_scaler_.transform(np.zeros((1, y.shape[1]))).ravel()
        persistence_loss = float(np.mean((y - no_change) ** 2))
        model_loss = float(frame["base_loss"].iloc[0])
        frame = explain.persistence_relative(frame, model_loss, persistence_loss)
    return frame


# ---------------------------------------------------------------------- walk-forward
def walk_forward_evaluation(frame: pd.DataFrame, feature_columns: list[str], config: RunConfig, *,
                            include_network: bool = True, verbose: int = 0, progress: Progress = print_progress):
    """Rolling-origin evaluation of one-step forecasts over the folds of :func:`helpers.splits.walk_forward_folds`.

    Every part of a fold refits on the rows before it, scalers refitted (as Darts does when it retrains), with
    its plan from :func:`helpers.splits.fold_part_split`, so no fold ever trains or stops early on its own test
    rows. The network is the same forecaster as the run's, with one seed to keep the time bounded; each part
    after the first starts from the previous part's weights (``warm_start``), which were trained on rows before
    the previous part's test rows, so before this part's too: fewer epochs, no look-ahead. Baselines are
    refitted the same way. Origin ``i`` is frame row ``window - 1 + i``. ``progress``
    gets one line per fold part (``walk-forward part 3/8 (fold 2): trained in 12 s``).
    """
    from helpers.network import NetworkForecaster

    close = frame["close"].to_numpy()
    h, first = config.horizon, config.window - 1
    folds = walk_forward_folds(len(frame), config)
    n_origins = len(frame) - first - h
    n_folds = len({fold.fold for fold in folds})
    unit = bar_word(frame.index)
    done = []
    last_part: list = []   # the last part's last origin row and network: the next part starts from its weights

    def fit_predict(fold) -> dict[str, np.ndarray]:
        started = time.perf_counter()
        rows = np.asarray(fold.test) + first           # origin rows of this part
        preds = baseline_forecasts(frame, rows, int(rows[0]) + 1, 1, config)
        out = {name: p[:, 0] for name, p in preds.items()}
        if include_network:
            part_rows, plan = fold_part_split(frame.index, config, fold)
            part = frame.iloc[part_rows]
            windows = WindowGenerator(part, feature_columns, config, plan=plan)
            network = NetworkForecaster(part, feature_columns, config, seeds=[config.seed])
            if last_part and last_part[0] >= int(rows[0]):
                raise ValueError("walk-forward parts must run in time order for a warm start")
            network.fit_windows(windows, verbose=verbose, warm_start=last_part[1] if last_part else None)
            out["model"] = network.predict_at(part, rows - part_rows.start)[:, 0]
            last_part[:] = [int(rows[-1]), network]
        done.append(fold)
        if progress is not None:
            progress(f"walk-forward part {len(done)}/{len(folds)} (fold {fold.fold + 1}/{n_folds}, "
                     f"{len(fold.test)} test {unit}s): "
                     f"{'trained' if include_network else 'scored'} in {time.perf_counter() - started:.0f} s")
        return out

    actual = close[first + 1: first + 1 + n_origins]
    previous = close[first: first + n_origins]
    return walk_forward(folds, fit_predict, actual, previous)


def _keys_written_by_others(paths: RunPaths) -> dict[str, Any]:
    """Sections of an existing metrics.json that 07 owns ("risk"), kept when 06 is re-run."""
    if not paths.metrics.exists():
        return {}
    return {k: v for k, v in read_json(paths.metrics).items() if k in ("risk",)}


# ---------------------------------------------------------------------- the whole evaluation
def evaluate_run(paths: RunPaths, config: RunConfig, *, replaced: dict[str, Any] | None = None,
                 tuned: bool | None = None, verbose: int = 0, walk_forward_network: bool = True,
                 write: bool = True, background: bool | None = None,
                 progress: Progress = print_progress) -> Evaluation:
    """Train the run's seed ensemble, forecast the test rows with it and every baseline, score, backtest, and
    write the contract files and the run's model (``model/``, with the tuning it used: ``replaced`` is
    :func:`helpers.tune.apply_best`'s record of what the search changed). ``progress`` gets one line per long
    step: the towers, the importance, each walk-forward part.

    The walk-forward refits are independent of the run's ensemble, so they train in a second process at the
    same time (:func:`helpers.fanout.alongside`; ``background=False`` keeps them in this process): a small
    recurrent network keeps about one core busy, and the machine has two. Each fit seeds itself, so the
    numbers are the same either way. There the walk-forward's progress lines are printed (and relayed here).
    """
    from helpers.fanout import alongside

    frame, columns = load_features(paths)
    if config.walk_forward_folds == 0:
        background = False
    # In the second process the lines are printed there and relayed here: a callable of this process cannot
    # travel there.
    walk_forward_progress = progress if background is False or progress is None else print_progress
    with alongside(walk_forward_evaluation, frame, columns, config, include_network=walk_forward_network,
                   verbose=verbose, progress=walk_forward_progress, background=background) as walk_forward_result:
        return _evaluate(paths, config, frame, columns, walk_forward_result, replaced=replaced, tuned=tuned,
                         verbose=verbose, write=write, progress=progress)


def _evaluate(paths: RunPaths, config: RunConfig, frame: pd.DataFrame, columns: list[str],
              walk_forward_result: Callable[[], Any], *, replaced: dict[str, Any] | None, tuned: bool | None,
              verbose: int, write: bool, progress: Progress) -> Evaluation:
    """The body of :func:`evaluate_run`; ``walk_forward_result()`` gives the walk-forward when it is needed."""
    from helpers.artifacts import build_manifest
    from helpers.tune import tuning_record

    windows = WindowGenerator(frame, columns, config)
    origins = test_origins(windows, frame)
    train_end = train_end_row(windows, frame)
    h = config.horizon

    started = time.perf_counter()
    network = train_network(windows, frame, config, verbose=verbose)
    report = network.fit_report
    if progress is not None:
        progress(f"the run's model ({len(network.seeds)} seed tower{'s' if len(network.seeds) > 1 else ''}): "
                 f"trained in {time.perf_counter() - started:.0f} s")
    seeds = SeedModels(forecasts=network.predict_by_seed(frame, origins), histories=report.tower_val_loss)
    by_step = {"model": network.predict_at(frame, origins)}
    by_step.update(baseline_forecasts(frame, origins, train_end, h, config))
    actual = windows.actual_price("test")
    previous = windows.last_close("test")
    dates = pd.DatetimeIndex(windows.target_dates("test"))

    one_step = {name: f[:, 0] for name, f in by_step.items()}
    season = baselines.season_length(frame.index)
    train_close = frame["close"].to_numpy()[:train_end]
    unit = bar_word(frame.index)   # "day", or "bar" / "week" in the sentences of other frequencies
    out = score_one_step(actual[:, 0], one_step, previous, train_close, season, unit=unit)

    by_seed, spread = seed_metrics(seeds, actual[:, 0], one_step["persistence"], previous)
    out["by_seed"] = by_seed
    out["seed_spread"] = spread
    tuning = {**tuning_record(config, replaced or {}), "searched": bool(tuned if tuned is not None
                                                                        else paths.best.exists())}
    out["model"] = {"artifact": "model/", "seeds": list(network.seeds), "shrink": report.shrink,
                    "best_epochs": {str(k): v for k, v in report.best_epochs.items()},
                    "val_loss": report.val_loss, "cell": config.cell, "units": list(config.units),
                    "window": config.window, "tuning": tuning}

    lag = metrics.lag_diagnostic(pd.Series(actual[:, 0], index=dates), pd.Series(one_step["model"], index=dates),
                                 unit=unit)
    lag["unit"] = unit
    out["lag_diagnostic"] = lag
    if h > 1:
        out["error_by_horizon"] = metrics.error_by_horizon(actual, by_step).to_dict()

    strategies = {}
    per_year = bars_per_year(frame.index)   # the whole series shows its frequency better than the test rows
    for mode in ("long_flat", "long_short"):
        strategies[mode] = strategy_backtest(dates, actual[:, 0], previous, one_step["model"], mode=mode,
                                             periods_per_year=per_year,
                                             cost_bps=config.cost_bps, chance_draws=CHANCE_DRAWS, seed=config.seed)
    out["strategy"] = {mode: s.to_dict() for mode, s in strategies.items()}

    started = time.perf_counter()
    repeats = 3 if config.mode == "quick" else 10
    importance = feature_importance(network.model, windows, n_repeats=repeats, seed=config.seed,
                                    constant_output=report.shrink == 0)
    if progress is not None:
        progress(f"permutation importance ({len(columns)} features x {repeats} repeats): "
                 f"{time.perf_counter() - started:.0f} s")
    out["importance"] = {"features": importance.to_dict(orient="records"),
                         "summary": explain.describe_importance(importance)}

    wf = None
    if config.walk_forward_folds > 0:
        wf = walk_forward_result()
        out["walk_forward"] = wf.to_dict()

    name = f"{CELL_NAMES[config.cell]} ({config.seeds}-seed ensemble)" if config.seeds > 1 else CELL_NAMES[config.cell]
    out["verdict"] = verdict_sentence(name, out["theils_u"], out["diebold_mariano"]["p_value"], spread, unit=unit)
    out["rows"] = {"test": int(len(dates)), "first_test_date": iso_stamp(dates[0], dates),
                   "last_test_date": iso_stamp(dates[-1], dates)}
    out["config"] = config.to_dict()

    predictions = pd.DataFrame({"date": dates.strftime(stamp_format(dates)), "actual": actual[:, 0]})
    for fname, f in one_step.items():
        predictions[fname] = f
    ordered = ["date", "actual", "model", "persistence"] + [c for c in predictions if c not in
                                                           ("date", "actual", "model", "persistence")]
    predictions = predictions[ordered]
    if write:
        data_meta = (read_json(paths.data_report).get("meta") if paths.data_report.exists() else None)
        network.save(paths.model_dir, build_manifest(config, windows, columns, network, data_meta, tuning=tuning))
        out["model"]["sha256"] = network.manifest["model_file"]["sha256"]
        atomic_write_csv(paths.predictions, predictions, index=False)
        atomic_write_json(paths.metrics, {**_keys_written_by_others(paths), **out})
    return Evaluation(config=config, predictions=predictions, forecasts_by_step=by_step, actual_by_step=actual,
                      seeds=seeds, metrics=out, walk_forward=wf, strategies=strategies, windows=windows,
                      importance=importance, network=network)
