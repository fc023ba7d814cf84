"""The model's predictive distribution: Monte Carlo dropout plus a bootstrap of its validation residuals.

Monte Carlo dropout (:func:`mc_dropout_samples`) keeps the dropout layers on at predict time, so each pass is a
slightly different network. Its spread measures the network's uncertainty about its own weights (epistemic),
not the market's day-to-day noise; on daily prices its bands are far too narrow (an "80%" band held the next
close on about a quarter of test days of the AAPL sample). The honest predictive distribution adds the noise:

    predictive sample = dropout sample price * exp(residual),

with ``residual`` drawn with replacement from the model's residuals on the **validation** rows,
``log(actual / point forecast)`` (:func:`validation_residuals`). They are out-of-sample for the weights (the
validation rows only chose when training stopped), and they never touch a test row, so the bands can be judged
on the test rows afterwards. For a multi-step (direct) model a whole row of step residuals is drawn at once,
which keeps the steps' errors as correlated as they really were; a recursive forecast adds a fresh one-step
residual at every step before feeding the price back, so its paths fan out like the price does.

The residuals are drawn independently of the day's volatility (a plain bootstrap): the bands are as wide in a
calm month as in a turbulent one. Section "One-day risk" below turns the same distribution into Value-at-Risk
and Expected Shortfall and backtests them against historical simulation and GARCH(1,1) on the test rows, which
is where that simplification shows.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from helpers import risk
from helpers.atomic import atomic_write_json, read_json
from helpers.frequency import iso_stamp
from helpers.runfolder import RunPaths
from helpers.windows import WindowGenerator

__all__ = [
    "KINDS", "MIN_PREDICTIVE_SAMPLES", "MIN_RESIDUALS", "MC_CHUNK_ROWS", "RISK_FILE", "HISTORICAL_WINDOW",
    "model_outputs", "reseed_dropout", "mc_dropout_samples", "point_prices",
    "log_residuals", "validation_residuals", "check_residuals", "draws_per_pass", "bootstrap_residuals",
    "add_residuals", "residual_paths", "predictive_price_samples", "price_samples_by_kind", "check_kind",
    "next_day_log_returns", "daily_log_returns", "last_training_target", "OneDayRisk", "one_day_risk",
    "risk_payload", "write_risk", "risk_from_run", "risk_sentence",
]

KINDS = ("predictive", "dropout")

# Samples per row of a predictive distribution: enough that a 99% quantile is not read off the few most
# extreme samples (each dropout pass is paired with ceil(this / passes) residual draws; draws are cheap).
MIN_PREDICTIVE_SAMPLES = 1000

# Fewer validation residuals than this cannot describe a distribution's tails.
MIN_RESIDUALS = 20

# Rows per model call in Monte Carlo dropout: bounds memory whatever n_samples x samples is.
MC_CHUNK_ROWS = 8192

RISK_FILE = "risk.json"

# Historical simulation looks back about one trading year, the Basel convention.
HISTORICAL_WINDOW = 250


# ---------------------------------------------------------------------- model calls and Monte Carlo dropout
_COMPILED_CALLS: "weakref.WeakKeyDictionary[Any, dict[bool, Any]]" = weakref.WeakKeyDictionary()


def _compiled_call(model: Any, training: bool) -> Any:
    """``model(x, training=training)`` as a cached ``tf.function``: ~4x faster than eager calls in a loop.
    Dropout still draws new masks on every call (its seed state is a variable the graph advances)."""
    import tensorflow as tf

    calls = _COMPILED_CALLS.setdefault(model, {})
    if training not in calls:
        # Any batch size, one trace: the window and feature sizes are fixed by the model's input.
        signature = [tf.TensorSpec([None, *model.input_shape[1:]], tf.float32)]
        calls[training] = tf.function(lambda x: model(x, training=training), input_signature=signature)
    return calls[training]


def model_outputs(model: Any, x: np.ndarray, training: bool = False, chunk_rows: int = MC_CHUNK_ROWS) -> np.ndarray:
    """``model(x, training=...)`` for windows ``(rows, window, features)`` in chunks of ``chunk_rows`` rows:
    outputs ``(rows, horizon)`` float64, as the model emits them (scaled)."""
    x = np.asarray(x, dtype=np.float32)
    call = _compiled_call(model, training)
    parts = [np.asarray(call(x[i: i + chunk_rows]), dtype=np.float64) for i in range(0, len(x), chunk_rows)]
    return np.concatenate(parts, axis=0)


def reseed_dropout(model: Any, seed: int) -> None:
    """Reset the random state of every layer that draws dropout masks, so Monte Carlo passes repeat exactly.

    Keras layers keep their own seed state (set when the layer was built), which a global seed does not reset.
    """
    for i, layer in enumerate(model.layers):
        generator = getattr(layer, "seed_generator", None)
        if generator is not None:
            generator.state.assign(np.array([int(seed) + i, 0], dtype=generator.state.dtype))


def mc_dropout_samples(model: Any, x: np.ndarray, n_samples: int, *, seed: int | None = None,
                       chunk_rows: int = MC_CHUNK_ROWS) -> np.ndarray:
    """Monte Carlo dropout: ``n_samples`` stochastic passes over windows ``x`` ``(samples, window, features)``
    -> model outputs ``(n_samples, samples, horizon)`` (scaled, as the model emits them).

    The windows are repeated ``n_samples`` times and sent as one batch with ``training=True`` (each row of the
    batch draws its own dropout mask), in chunks of ``chunk_rows`` rows to bound memory. ``seed`` resets the
    dropout layers' random state first (:func:`reseed_dropout`), for repeatable bands.
    """
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 3:
        raise ValueError(f"x must be windows (samples, window, features), got shape {x.shape}")
    if not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ValueError(f"n_samples must be a whole number of passes >= 1, got {n_samples!r}")
    if seed is not None:
        reseed_dropout(model, seed)
    samples = len(x)
    total = int(n_samples) * samples
    parts = []
    for start in range(0, total, chunk_rows):
        # Flat row i is pass i // samples over window i % samples.
        rows = np.arange(start, min(start + chunk_rows, total)) % samples
        parts.append(model_outputs(model, x[rows], training=True, chunk_rows=chunk_rows))
    out = np.concatenate(parts, axis=0)
    return out.reshape(int(n_samples), samples, out.shape[-1])


def point_prices(model: Any, windows: WindowGenerator, split: str) -> np.ndarray:
    """The model's price forecasts (dropout off) for every sample of ``split``: ``(samples, horizon)``."""
    return windows.to_price(model_outputs(model, windows.inputs(split), training=False), split)


# ---------------------------------------------------------------------- residuals
def log_residuals(actual: np.ndarray, forecast: np.ndarray) -> np.ndarray:
    """``log(actual / forecast)`` per sample and step, ``(samples, horizon)``: the log return the forecast
    missed by. Rows with a missing or non-positive value at any step are dropped."""
    a = np.asarray(actual, dtype=np.float64)
    f = np.asarray(forecast, dtype=np.float64)
    if a.shape != f.shape:
        raise ValueError(f"actual {a.shape} and forecast {f.shape} must have the same shape (samples, horizon)")
    if a.ndim == 1:
        a, f = a[:, None], f[:, None]
    ok = np.all(np.isfinite(a) & np.isfinite(f) & (a > 0) & (f > 0), axis=1)
    return np.log(a[ok] / f[ok])


def validation_residuals(model: Any, windows: WindowGenerator) -> np.ndarray:
    """The model's residuals on the validation rows, ``(val_samples, horizon)`` log returns.

    ``windows`` is the fitted generator the model was trained on: its 'val' samples have every target before
    the first test date, so no test row can reach the residual pool.
    """
    if windows.plan is None:
        raise ValueError("this generator applies stored scalers to new data and has no validation split: pass "
                         "the WindowGenerator the model was trained on")
    residuals = log_residuals(windows.actual_price("val"), point_prices(model, windows, "val"))
    return check_residuals(residuals, windows.horizon)


def check_residuals(residuals: np.ndarray, horizon: int | None = None) -> np.ndarray:
    """Residuals as a finite ``(rows, horizon)`` float array with at least :data:`MIN_RESIDUALS` rows."""
    r = np.asarray(residuals, dtype=np.float64)
    if r.ndim == 1:
        r = r[:, None]
    if r.ndim != 2:
        raise ValueError(f"residuals must be (rows, horizon) log returns, got shape {r.shape}")
    if horizon is not None and r.shape[1] < int(horizon):
        raise ValueError(f"residuals have {r.shape[1]} step column(s); this forecast needs {horizon}: compute them "
                         "with the same model (validation_residuals(model, windows))")
    if len(r) < MIN_RESIDUALS:
        raise ValueError(f"only {len(r)} validation residuals; at least {MIN_RESIDUALS} are needed to describe the "
                         "noise: use a longer validation period (val_frac), or kind='dropout'")
    if not np.all(np.isfinite(r)):
        raise ValueError("residuals contain NaN or infinite values: drop those rows first")
    return r


def draws_per_pass(n_passes: int, min_samples: int = MIN_PREDICTIVE_SAMPLES) -> int:
    """Residual draws per dropout pass so that passes * draws >= ``min_samples``."""
    return max(1, math.ceil(int(min_samples) / max(1, int(n_passes))))


def bootstrap_residuals(residuals: np.ndarray, shape: Sequence[int], rng: np.random.Generator) -> np.ndarray:
    """Whole residual rows drawn with replacement: ``(*shape, horizon)``."""
    r = check_residuals(residuals)
    return r[rng.integers(0, len(r), size=tuple(shape))]


def add_residuals(price_samples: np.ndarray, residuals: np.ndarray, *, seed: int | None = None,
                  draws: int | None = None) -> np.ndarray:
    """Dropout price samples ``(passes, ..., horizon)`` -> predictive samples ``(passes * draws, ..., horizon)``.

    Each pass is repeated ``draws`` times (default: enough for :data:`MIN_PREDICTIVE_SAMPLES` in all) and each
    copy, at each row, is multiplied by ``exp`` of its own residual row drawn from ``residuals`` ``(rows,
    horizon)``. ``seed`` makes the draws repeatable.
    """
    s = np.asarray(price_samples, dtype=np.float64)
    if s.ndim < 2:
        raise ValueError(f"price_samples must be (passes, ..., horizon), got shape {s.shape}")
    r = check_residuals(residuals, s.shape[-1])[:, : s.shape[-1]]
    draws = draws_per_pass(s.shape[0]) if draws is None else int(draws)
    if draws < 1:
        raise ValueError(f"draws must be a whole number >= 1, got {draws!r}")
    rng = np.random.default_rng(seed)
    noise = bootstrap_residuals(r, (s.shape[0] * draws, *s.shape[1:-1]), rng)
    return np.repeat(s, draws, axis=0) * np.exp(noise)


def residual_paths(residuals: np.ndarray, n_paths: int, steps: int, seed: int | None = None) -> np.ndarray:
    """One-step residuals for recursive paths, a fresh draw at every step: ``(n_paths, steps)`` log returns."""
    one_step = check_residuals(residuals)[:, :1]
    return bootstrap_residuals(one_step, (int(n_paths), int(steps)), np.random.default_rng(seed))[..., 0]


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown band kind {kind!r}: use 'predictive' (dropout + validation residuals, the "
                         "honest one) or 'dropout' (the model's own uncertainty only)")
    return kind


def predictive_price_samples(model: Any, windows: WindowGenerator, split: str, n_samples: int, *,
                             kind: str = "predictive", residuals: np.ndarray | None = None,
                             seed: int | None = None, draws: int | None = None) -> np.ndarray:
    """Price samples for every sample of ``split``: ``(n, samples, horizon)``.

    ``kind="dropout"``: the ``n_samples`` Monte Carlo dropout passes. ``kind="predictive"`` (default): each pass
    times ``exp`` of bootstrapped validation residuals (default: :func:`validation_residuals` of ``windows``),
    ``n = n_samples * draws``. ``seed`` fixes both the dropout masks and the residual draws.
    """
    check_kind(kind)
    return price_samples_by_kind(model, windows, split, n_samples, kinds=(kind,), residuals=residuals, seed=seed,
                                 draws=draws)[kind]


def price_samples_by_kind(model: Any, windows: WindowGenerator, split: str, n_samples: int, *,
                          kinds: Sequence[str] = ("dropout", "predictive"), residuals: np.ndarray | None = None,
                          seed: int | None = None, draws: int | None = None) -> dict[str, np.ndarray]:
    """:func:`predictive_price_samples` of each of ``kinds`` from one set of Monte Carlo dropout passes: the
    predictive samples are the dropout samples times bootstrapped residuals, so the passes (the costly part)
    run once, and each kind is exactly what its own call gives."""
    for kind in kinds:
        check_kind(kind)
    scaled = mc_dropout_samples(model, windows.inputs(split), n_samples, seed=seed)
    dropout = windows.to_price(scaled, split)
    out = {}
    for kind in kinds:
        if kind == "dropout":
            out[kind] = dropout
        else:
            if residuals is None:
                residuals = validation_residuals(model, windows)
            out[kind] = add_residuals(dropout, residuals, seed=seed, draws=draws)
    return out


# ---------------------------------------------------------------------- one-day risk
def next_day_log_returns(price_samples: np.ndarray, last_close: np.ndarray) -> np.ndarray:
    """Samples of each day's next-day log return, ``(days, n_samples)``, for :func:`risk.var_es_from_samples`.

    ``price_samples``: ``(n_samples, days, horizon)`` or ``(n_samples, days)`` price samples (step 1 is used);
    ``last_close``: ``C[t]`` of each day's origin ``(days,)``.
    """
    s = np.asarray(price_samples, dtype=np.float64)
    if s.ndim == 3:
        s = s[..., 0]
    c = np.asarray(last_close, dtype=np.float64)
    if s.ndim != 2 or s.shape[1] != c.shape[0]:
        raise ValueError(f"price_samples {np.shape(price_samples)} must be (n_samples, days[, horizon]) with one "
                         f"day per last_close ({c.shape[0]})")
    return np.log(s / c[None, :]).T


def daily_log_returns(close: pd.Series) -> pd.Series:
    """``log(C[t] / C[t-1])`` indexed by day ``t``, the first (undefined) day dropped."""
    return np.log(close.astype("float64")).diff().dropna().rename("log_return")


def last_training_target(windows: WindowGenerator) -> pd.Timestamp:
    """The last date any training sample's target reaches: rows after it were never fitted on."""
    if windows.plan is None:
        raise ValueError("this generator has no training split: pass the WindowGenerator the model was trained on")
    return pd.Timestamp(windows.dates[windows.plan.train.stop - 1 + windows.horizon])


@dataclass
class OneDayRisk:
    """Three one-day VaR/ES forecasts of the test days and their backtest.

    ``realized``: the test days' log returns (index = target dates); ``forecasts``: method -> frame with
    ``var_XX`` / ``es_XX`` columns on the same index; ``table``: :func:`risk.risk_table`; ``about``: how each
    method was made (plain JSON).
    """

    realized: pd.Series
    forecasts: dict[str, pd.DataFrame]
    table: pd.DataFrame
    levels: tuple[float, ...]
    about: dict[str, Any] = field(default_factory=dict)

    def exceedance_dates(self) -> dict[str, dict[str, list[str]]]:
        """method -> VaR column -> ISO dates the loss exceeded it, on the days the table judged."""
        out: dict[str, dict[str, list[str]]] = {}
        for level in self.levels:
            column = risk.var_column(level)
            shared = pd.concat({m: f[column] for m, f in self.forecasts.items()}, axis=1).dropna().index
            for method, frame in self.forecasts.items():
                result = risk.backtest_var(self.realized, frame[column].reindex(shared), level)
                out.setdefault(method, {})[column] = result["exceedance_dates"]
        return out


def one_day_risk(close: pd.Series, test_dates: pd.DatetimeIndex, model_log_returns: np.ndarray,
                 train_end_date: pd.Timestamp, levels: Sequence[float] = risk.DEFAULT_LEVELS, *,
                 history_window: int = HISTORICAL_WINDOW, garch_dist: str = "normal",
                 model_about: Mapping[str, Any] | None = None) -> OneDayRisk:
    """VaR and ES for each test day from the model, historical simulation and GARCH(1,1), and their backtest.

    ``close``: the whole close series (dates index); ``test_dates``: the test days (each sample's step-1 target
    date); ``model_log_returns``: ``(test days, n_samples)`` samples of each day's log return from the model's
    predictive distribution (:func:`next_day_log_returns`), made at the previous close. Historical simulation
    uses the ``history_window`` returns before each day; GARCH is fitted on returns up to ``train_end_date``
    (the last training target) and then only filtered forward. Only the test days are judged. ``model_about``
    (plain JSON, e.g. the number of dropout passes) is recorded with the model's method in ``about``.
    """
    levels = tuple(float(level) for level in levels)
    test_dates = pd.DatetimeIndex(test_dates)
    samples = np.asarray(model_log_returns, dtype=np.float64)
    if samples.ndim != 2 or samples.shape[0] != len(test_dates):
        raise ValueError(f"model_log_returns must be (test days = {len(test_dates)}, n_samples), got shape "
                         f"{samples.shape}")
    returns = daily_log_returns(close)
    missing = test_dates.difference(returns.index)
    if len(missing):
        raise ValueError(f"test bar {iso_stamp(missing[0], test_dates)} has no return in close: pass the close "
                         "series the windows were built from")
    train_end = int((returns.index <= pd.Timestamp(train_end_date)).sum())
    if train_end < risk.MIN_GARCH_TRAIN:
        raise ValueError(f"only {train_end} training returns up to {iso_stamp(train_end_date, test_dates)}; GARCH "
                         f"needs at least {risk.MIN_GARCH_TRAIN}: use a longer history")
    realized = returns.reindex(test_dates)
    model = risk.var_es_from_samples(samples, levels, index=test_dates)
    historical = risk.historical_var_es(returns, history_window, levels).reindex(test_dates)
    garch = risk.garch_var_es(returns, train_end, levels, dist=garch_dist)
    forecasts = {"model": model, "historical": historical, "garch": garch.reindex(test_dates)}
    table = risk.risk_table(realized, forecasts, levels)
    about = {
        "test_days": len(test_dates),
        "first_test_day": iso_stamp(test_dates[0], test_dates), "last_test_day": iso_stamp(test_dates[-1], test_dates),
        "levels": list(levels),
        "model": {"samples_per_day": int(samples.shape[1]), **dict(model_about or {})},
        "historical": {"window_days": int(history_window)},
        "garch": {"train_returns": train_end, "train_end": iso_stamp(train_end_date, test_dates),
                  "dist": garch_dist, "params_percent_units": garch.attrs.get("garch_params", {})},
    }
    return OneDayRisk(realized=realized, forecasts=forecasts, table=table, levels=levels, about=about)


def risk_payload(result: OneDayRisk, **about: Any) -> dict[str, Any]:
    """The backtest as plain JSON: ``about`` (how each method was made), ``table`` (one record per method and
    level) and ``exceedance_dates``. Extra keyword arguments are added to ``about``."""
    return {
        "about": {**result.about, **about},
        "losses": "log returns, losses positive: VaR 0.02 = the bar's log return should not fall below -0.02",
        "table": result.table.to_dict(orient="records"),
        "exceedance_dates": result.exceedance_dates(),
    }


def write_risk(paths: RunPaths, payload: Mapping[str, Any]) -> Path:
    """Write ``payload`` to the run's ``risk.json`` and under ``"risk"`` in ``metrics.json``.

    ``metrics.json`` is read first (06 writes it; an empty dict when 06 has not run) and every other key is kept.
    Both files are written atomically. Returns the path of ``risk.json``.
    """
    metrics = read_json(paths.metrics) if paths.metrics.exists() else {}
    if not isinstance(metrics, dict):
        raise ValueError(f"{paths.metrics} does not hold a JSON object: re-run notebook 06_evaluate")
    metrics["risk"] = dict(payload)
    out = atomic_write_json(paths.risk, dict(payload))
    atomic_write_json(paths.metrics, metrics)
    return out


def risk_from_run(paths: RunPaths, *, n_samples: int | None = None, seed: int | None = None,
                  levels: Sequence[float] = risk.DEFAULT_LEVELS) -> OneDayRisk:
    """The one-day risk backtest of the run's model (``model/``, saved by 06) on its test days.

    Takes the model's predictive distribution on the test days (``n_samples`` dropout passes, default
    ``mc_samples``, plus its validation residuals) and runs :func:`one_day_risk`.
    """
    from helpers.network import load_run_model

    network, windows = load_run_model(paths)
    config = network.config
    prices = pd.read_parquet(paths.require(paths.prices, "01_collect"))
    n_samples = config.mc_samples if n_samples is None else int(n_samples)
    seed = config.seed if seed is None else seed
    residuals = validation_residuals(network.model, windows)
    samples = predictive_price_samples(network.model, windows, "test", n_samples, residuals=residuals, seed=seed)
    return one_day_risk(prices["close"], windows.target_dates("test"),
                        next_day_log_returns(samples, windows.last_close("test")), last_training_target(windows),
                        levels, model_about={"dropout_passes": n_samples, "validation_residuals": len(residuals),
                                             "seed": seed, "model": "the run's model (model/, saved by 06)"})


def risk_sentence(table: pd.DataFrame, significance: float = 0.05, unit: str = "day") -> str:
    """What the backtest says, per level: exceedances of each method against the expected count, and which
    methods Kupiec's or the conditional-coverage test rejects at ``significance``."""
    parts = []
    for level, rows in table.groupby("level", sort=True):
        n = int(rows["n"].iloc[0])
        counts = ", ".join(f"{r.method} {int(r.exceedances)}" for r in rows.itertuples())
        rejected = [r.method for r in rows.itertuples() if not r.passes]
        verdict = ("none is rejected" if not rejected else
                   f"rejected: {', '.join(rejected)}" + (" (all three)" if len(rejected) == len(rows) else ""))
        parts.append(f"At {level:.0%}, {n} test {unit}s should bring about {n * (1 - level):.0f} exceedances; "
                     f"counted: {counts}. Kupiec and conditional coverage at {significance:.0%}: {verdict}.")
    return " ".join(parts)
