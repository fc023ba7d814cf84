"""A saved model on new data: read and check the prices, rebuild its inputs, forecast, write ``forecast.csv``.

What ``lstm-lab predict`` runs. The model is the run's (``<run>/model/``, saved by 06); its manifest rebuilds
the preprocessing (:class:`helpers.preprocess.Preprocessor`), and every way new data can differ from what the
model was trained on is refused before any forecast, each with its own error class (:mod:`helpers.mismatch`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from helpers.artifacts import check_compatible, check_no_date_gaps, load_artifact
from helpers.config import RunConfig
from helpers.features import GROUP_NEEDS, reference_features
from helpers.forecast import SENTIMENT_COLUMNS, forecast_ahead, write_forecast
from helpers.mismatch import MissingFeatureError, TargetMismatchError, TooFewRowsError, WindowMismatchError
from helpers.predictive import MIN_RESIDUALS, check_kind, check_residuals, log_residuals, model_outputs
from helpers.preprocess import Preprocessor
from helpers.runfolder import RunPaths
from helpers.sentiment import run_headlines


def _iso(when: Any, of: Any = None) -> str | None:
    from helpers.frequency import iso_stamp

    return iso_stamp(when, of)


def _needed_price_columns(spec: Preprocessor) -> dict[str, tuple[str, ...]]:
    """Price columns each OHLCV feature group of this model needs, for the groups the model reads."""
    reference = reference_features(spec.config)
    needed = {}
    for group, needs in GROUP_NEEDS.items():
        if any(c in spec.input_columns for c in reference.groups.get(group, [])):
            needed[group] = needs
    return needed


def read_new_prices(source: str | Path | pd.DataFrame, config: RunConfig) -> tuple[pd.DataFrame, str]:
    """New prices from a CSV (the CSV provider) or a frame, cleaned by the run's policy; and a label for errors."""
    from helpers.providers.csvfile import read_price_csv
    from helpers.validation import clean_prices

    if isinstance(source, pd.DataFrame):
        raw, label = source, "the prices frame"
    else:
        raw, label = read_price_csv(source, auto_adjust=config.auto_adjust, date_format=config.csv_date_format,
                                    dayfirst=config.csv_dayfirst, decimal=config.csv_decimal), f"{source}"
    cleaned, _ = clean_prices(raw)
    return cleaned, label


def check_new_prices(spec: Preprocessor, manifest: dict[str, Any], prices: pd.DataFrame, label: str, *,
                     target: str | None = None, window: int | None = None) -> None:
    """Refuse prices the model cannot read, each with its own error class from :mod:`helpers.artifacts`:
    TargetMismatchError / WindowMismatchError (what was asked differs), DateGapError (bars of another frequency
    than the model's, naming both, or a hole in the dates),
    MissingFeatureError (price columns a feature needs), TooFewRowsError (fewer rows than warm-up + window)."""
    want_target = spec.target
    if target is not None and target != want_target:
        raise TargetMismatchError(f"the model predicts target {want_target!r} ({manifest['target']['formula']}); "
                                  f"{target!r} was asked for: use a model trained for {target!r}")
    if window is not None and int(window) != spec.window:
        raise WindowMismatchError(f"the model reads windows of {spec.window} rows; window {window} was asked for")
    check_no_date_gaps(prices.index, manifest.get("calendar"), label=label, frequency=manifest.get("frequency"))
    for group, needs in _needed_price_columns(spec).items():
        absent = [c for c in needs if c not in prices.columns or prices[c].isna().all()]
        if absent:
            raise MissingFeatureError(
                f"{label} lacks price column(s) {absent}, which the model's {group!r} features need; it has "
                f"{[str(c) for c in prices.columns]}. Give a CSV with open, high, low, close, volume")
    warmup = reference_features(spec.config, list(prices.columns)).warmup_rows
    needed = warmup + spec.window
    if len(prices) < needed:
        raise TooFewRowsError(f"{label} has {len(prices)} rows after cleaning; the model needs at least {needed}: "
                              f"{warmup} rows of indicator warm-up plus one window of {spec.window} rows")


def residuals_from_prices(model: Any, spec: Preprocessor, manifest: dict[str, Any],
                          features: pd.DataFrame) -> np.ndarray:
    """A saved model's validation residuals ``(rows, horizon)`` for predictive bands on new data.

    A pool stored in the manifest (``validation_residuals``) is used as it is. Otherwise the residuals are
    recomputed from ``features`` (the new data's feature frame) on the model's validation origins, the dates
    its manifest records (``split.val``), with the stored scalers; the new data must cover that period.
    """
    if manifest.get("validation_residuals") is not None:
        return check_residuals(manifest["validation_residuals"], spec.horizon)
    val = (manifest.get("split") or {}).get("val") or {}
    if not val.get("first_origin") or not val.get("last_origin"):
        raise ValueError("the manifest records no validation dates, so predictive bands cannot be calibrated: "
                         "pass kind='dropout'")
    dates = features.index
    first, last = pd.Timestamp(val["first_origin"]), pd.Timestamp(val["last_origin"])
    rows = np.flatnonzero((dates >= first) & (dates <= last))
    rows = rows[(rows >= spec.window - 1) & (rows + spec.horizon < len(dates))]
    if len(rows) < MIN_RESIDUALS:
        from helpers.frequency import frequency_from_dict

        found = frequency_from_dict(spec.frequency)   # the model's bars: days, weeks, or bars of intraday series
        unit = f"{found.bar_word if found else 'day'}s"
        raise ValueError(f"the new prices cover {len(rows)} of the model's validation {unit} ({_iso(first, dates)} .. "
                         f"{_iso(last, dates)}); predictive bands need at least {MIN_RESIDUALS} of them to measure "
                         "its errors: give prices that include that period, or pass kind='dropout'")
    x = spec.windows_at(features, rows)
    close = features["close"].to_numpy(dtype=np.float64)
    point = spec.to_price(model_outputs(model, x, False), close[rows])
    actual = np.stack([close[rows + k] for k in range(1, spec.horizon + 1)], axis=1)
    return check_residuals(log_residuals(actual, point), spec.horizon)


def predict_from_artifact(model_dir: str | Path, prices: str | Path | pd.DataFrame, out_path: str | Path | None = None,
                          steps: int | None = None, *, target: str | None = None, window: int | None = None,
                          n_samples: int | None = None, seed: int | None = None, kind: str = "predictive",
                          headlines: pd.DataFrame | None = None) -> pd.DataFrame:
    """Forecast ahead of new prices with a saved model and write ``forecast.csv``.

    ``model_dir``: a folder with ``model.keras`` + ``manifest.json`` (loaded with ``safe_mode=True``).
    ``prices``: a CSV path (read by the CSV provider) or a prices frame; both are cleaned by
    :func:`helpers.validation.clean_prices`. Features are rebuilt from the manifest's config and scaled with
    its stored training scalers. Mismatches raise :class:`helpers.artifacts.ManifestMismatchError`
    subclasses (see :func:`check_new_prices`). A model with sentiment features reads ``headlines`` (default:
    the manifest config's ``headlines_path``). ``out_path`` defaults to the run folder's ``forecast.csv``
    (the parent of ``model_dir``). Predictive bands (``kind``, see :func:`forecast_ahead`) take their
    residuals from :func:`residuals_from_prices`; ``seed`` (default: the manifest config's) fixes their draws,
    so the same call writes the same file. Returns the forecast table.
    """
    model_dir = Path(model_dir)
    model, manifest = load_artifact(model_dir)
    spec = Preprocessor.from_manifest(manifest)
    seed = spec.config.seed if seed is None else int(seed)   # the same call gives the same bands
    cleaned, label = read_new_prices(prices, spec.config)
    headlines = run_headlines(spec.config) if headlines is None else headlines
    if "sentiment" in spec.config.features and any(c in spec.input_columns for c in SENTIMENT_COLUMNS) \
            and headlines is None:
        raise MissingFeatureError("the model reads sentiment features: pass headlines (a frame from "
                                  "helpers.sentiment.load_headlines) covering the new dates")
    check_new_prices(spec, manifest, cleaned, label, target=target, window=window)
    frame = spec.features(cleaned, headlines)
    check_compatible(manifest, frame, target=target, window=window)
    wants_bands = (spec.config.mc_samples if n_samples is None else int(n_samples)) >= 2
    residuals = (residuals_from_prices(model, spec, manifest, frame)
                 if check_kind(kind) == "predictive" and wants_bands else None)
    forecast = forecast_ahead(model, spec, cleaned, steps=steps, n_samples=n_samples, seed=seed, kind=kind,
                              residuals=residuals, headlines=headlines)
    out = Path(out_path) if out_path is not None else RunPaths(model_dir.parent).forecast
    write_forecast(forecast, out)
    return forecast
