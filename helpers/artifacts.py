"""The model artifact: ``model.keras`` plus ``manifest.json``, fingerprints, and the mismatch errors.

The manifest makes a saved model self-describing: which feature columns in which order, window, horizon,
target and its formula, the train-only scaler parameters, the training date range, a fingerprint of the data,
the seed and the library versions. :func:`check_compatible` compares new data against it before predicting
and raises an error that says what the artifact expects and what was offered. Models load with
``safe_mode=True``; nothing here unpickles.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import json
import os
import platform
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from helpers.atomic import atomic_write, atomic_write_json, read_json
from helpers.config import RunConfig
from helpers.windows import TARGET_FORMULAS, WindowGenerator

MODEL_FORMAT_VERSION = 1
MODEL_FILE = "model.keras"
MANIFEST_FILE = "manifest.json"

# How each target's prediction becomes a price, for readers of the manifest.
PRICE_FORMULAS = {
    "log_return": "C[t] * exp(r), r = unscaled prediction",
    "price": "unscaled prediction",
    "direction": "C[t] * exp((2p - 1) * mean_abs_train_log_return[k]), p = predicted probability of a rise",
}

# Largest gap between consecutive dates a series' calendar allows before the data counts as broken.
MAX_GAP = {"business": 5, "daily": 2}


class ManifestMismatchError(ValueError):
    """New data or settings do not match what the saved model was trained with."""


class MissingFeatureError(ManifestMismatchError):
    """The frame lacks columns the model reads."""


class WindowMismatchError(ManifestMismatchError):
    """The window length asked for differs from the model's."""


class TargetMismatchError(ManifestMismatchError):
    """The target asked for differs from the model's."""


class TooFewRowsError(ManifestMismatchError):
    """The frame is shorter than one input window."""


class DateGapError(ManifestMismatchError):
    """Consecutive dates lie further apart than the series' trading calendar allows."""


# ---------------------------------------------------------------------- fingerprints and versions
def data_fingerprint(frame: pd.DataFrame) -> str:
    """sha256 (hex) over the column names, the dates and the float64 values: the same data gives the same
    string in every run and on every machine, any changed value, date or column changes it."""
    digest = hashlib.sha256()
    digest.update(json.dumps([str(c) for c in frame.columns]).encode("utf-8"))
    if isinstance(frame.index, pd.DatetimeIndex):
        # pandas 3 may store dates in s, ms, us or ns; the fingerprint must not depend on that.
        digest.update(np.ascontiguousarray(frame.index.as_unit("ns").asi8, dtype="<i8").tobytes())
    else:
        digest.update("\x1f".join(map(str, frame.index)).encode("utf-8"))
    values = frame.to_numpy(dtype=np.float64)
    values = np.where(np.isnan(values), np.nan, values)   # one bit pattern for every NaN
    digest.update(np.ascontiguousarray(values, dtype="<f8").tobytes())
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    """Versions of Python and the libraries a saved model depends on (read without importing them)."""
    versions = {"python": platform.python_version()}
    for name, dists in (("tensorflow", ("tensorflow", "tensorflow-cpu")), ("keras", ("keras",)),
                        ("numpy", ("numpy",)), ("pandas", ("pandas",)), ("pandas-ta", ("pandas-ta",))):
        versions[name] = next((v for v in map(_dist_version, dists) if v), "not installed")
    return versions


def series_calendar(dates: pd.DatetimeIndex) -> dict[str, Any]:
    """'business' (weekdays only, e.g. stocks) or 'daily' (weekends traded too, e.g. crypto) and the
    largest gap between consecutive dates it tolerates (business days or calendar days)."""
    from helpers.calendar import trades_weekends

    dates = pd.DatetimeIndex(dates)
    kind = "daily" if len(dates) and trades_weekends(dates) else "business"
    unit = "calendar days" if kind == "daily" else "business days"
    return {"kind": kind, "max_gap": MAX_GAP[kind], "unit": unit}


def date_gaps(dates: pd.DatetimeIndex, calendar: dict[str, Any]) -> list[tuple[pd.Timestamp, pd.Timestamp, int]]:
    """Consecutive date pairs further apart than ``calendar['max_gap']``: ``(before, after, gap)``."""
    dates = pd.DatetimeIndex(dates)
    if len(dates) < 2:
        return []
    days = dates.values.astype("datetime64[D]")
    if calendar["kind"] == "business":
        gaps = np.busday_count(days[:-1], days[1:])
    else:
        gaps = (days[1:] - days[:-1]).astype(np.int64)
    where = np.flatnonzero(gaps > calendar["max_gap"])
    return [(dates[i], dates[i + 1], int(gaps[i])) for i in where]


# ---------------------------------------------------------------------- manifest
def check_no_date_gaps(dates: pd.DatetimeIndex, calendar: dict[str, Any] | None, *, label: str) -> None:
    """Raise DateGapError when ``dates`` are not daily bars of ``calendar`` (the model's; else the dates' own):
    weekly or intraday bars, 7-day weeks offered to a business-day model (or the reverse), or a gap wider than
    the calendar allows."""
    from helpers.frequency import FrequencyError, check_fits_calendar

    calendar = calendar or series_calendar(dates)
    try:
        check_fits_calendar(dates, calendar["kind"], label=label)
    except FrequencyError as err:
        raise DateGapError(str(err)) from None
    gaps = date_gaps(dates, calendar)
    if gaps:
        before, after, size = gaps[0]
        raise DateGapError(f"{label} has {len(gaps)} gap(s) between dates wider than the model's "
                           f"{calendar['kind']} calendar allows (at most {calendar['max_gap']} {calendar['unit']}); "
                           f"the first: {_iso(before)} -> {_iso(after)} = {size} {calendar['unit']}. "
                           "Fill the missing days or pass data without holes")


def build_manifest(config: RunConfig, windows: WindowGenerator, feature_columns: Sequence[str],
                   train_result: Any = None, data_meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything needed to reuse the model correctly and to know where it came from, as plain JSON.

    ``windows`` must be the fitted generator the model was trained on (it holds the split and the scalers);
    ``train_result`` a :class:`helpers.train.TrainResult` when there is one; ``data_meta`` the PriceData meta
    (source, provenance) to carry along.
    """
    if windows.plan is None:
        raise ValueError("build_manifest needs the generator the model was trained on; this one applies "
                         "stored scalers (from_fitted) and has no training split")
    if list(feature_columns) != list(windows.feature_columns):
        raise ValueError(f"feature_columns {list(feature_columns)} differ from the generator's "
                         f"{windows.feature_columns}; pass the columns the model was trained on")
    plan, dates = windows.plan, windows.dates
    train = plan.train
    last_train_target_row = train.stop - 1 + windows.horizon
    training = {
        "samples": len(train),
        "first_origin": _iso(dates[train.start]), "last_origin": _iso(dates[train.stop - 1]),
        "first_target": _iso(dates[train.start + 1]), "last_target": _iso(dates[last_train_target_row]),
    }
    manifest: dict[str, Any] = {
        "format_version": MODEL_FORMAT_VERSION,
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "config": config.to_dict(),
        "feature_columns": list(feature_columns),
        "input_columns": list(windows.input_columns),
        "window": windows.window,
        "horizon": windows.horizon,
        "target": {"name": windows.target, "formula": TARGET_FORMULAS[windows.target],
                   "step": "column k-1 of the output is step k = 1..horizon",
                   "scaled": windows.target_scaler_ is not None, "to_price": PRICE_FORMULAS[windows.target]},
        "scaler": windows.scaler_params(),
        "split": plan.to_dict(dates),
        "training_range": training,
        "data": {
            "fingerprint": data_fingerprint(windows.frame),
            "train_fingerprint": data_fingerprint(windows.frame.iloc[: last_train_target_row + 1]),
            "columns": [str(c) for c in windows.frame.columns],
            "rows": len(windows.frame), "first_date": _iso(dates[0]), "last_date": _iso(dates[-1]),
            "meta": data_meta,
        },
        "calendar": series_calendar(dates),
        "seed": config.seed if train_result is None else train_result.seed,
        "model": {"cell": config.cell, "units": list(config.units), "dropout": config.dropout},
        "versions": library_versions(),
    }
    if train_result is not None:
        summary = train_result.history_json()
        summary.pop("history", None)
        manifest["training"] = summary
        manifest["model"].update(cell=train_result.cell or config.cell,
                                 units=list(train_result.units or config.units))
        if windows.target != "direction":
            # The validation-residual pool of the predictive bands travels with the model, so predicting on a
            # new CSV that starts after the validation period still gets honest bands.
            from helpers.predictive import validation_residuals

            manifest["validation_residuals"] = validation_residuals(train_result.model, windows).tolist()
    return manifest


# ---------------------------------------------------------------------- save and load
def save_artifact(model: Any, manifest: dict[str, Any], model_dir: str | Path) -> Path:
    """Write ``model.keras`` then ``manifest.json`` into ``model_dir``, each atomically; returns the folder.

    The manifest gains the model file's sha256, so a model and a manifest from different runs are caught
    when loading.
    """
    model_dir = Path(model_dir)
    model_path = model_dir / MODEL_FILE

    def write_model(tmp: Path) -> None:
        # Keras insists on the .keras suffix, atomic_write's temp file has another: save beside, then move.
        keras_tmp = tmp.with_name(tmp.name + ".keras")
        try:
            model.save(keras_tmp)
            os.replace(keras_tmp, tmp)
        finally:
            keras_tmp.unlink(missing_ok=True)

    atomic_write(model_path, write_model)
    stored = dict(manifest)
    stored["model_file"] = {"name": MODEL_FILE, "sha256": _file_sha256(model_path)}
    atomic_write_json(model_dir / MANIFEST_FILE, stored)
    return model_dir


def load_artifact(model_dir: str | Path) -> tuple[Any, dict[str, Any]]:
    """``(model, manifest)`` from ``model_dir``; the model loads with ``safe_mode=True`` (no arbitrary code)."""
    import keras

    model_dir = Path(model_dir)
    model_path, manifest_path = model_dir / MODEL_FILE, model_dir / MANIFEST_FILE
    missing = [p.name for p in (model_path, manifest_path) if not p.exists()]
    if missing:
        raise FileNotFoundError(f"{model_dir} lacks {' and '.join(missing)}: train and save a model first "
                                "(notebook 04_model or `lstm-lab run`), or point to a run's model/ folder")
    manifest = read_json(manifest_path)
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > MODEL_FORMAT_VERSION:
        raise ManifestMismatchError(f"{manifest_path} has format_version {version!r}; this package reads up to "
                                    f"{MODEL_FORMAT_VERSION}: upgrade lstm-stock-lab or retrain")
    expected_sha = (manifest.get("model_file") or {}).get("sha256")
    if expected_sha and expected_sha != _file_sha256(model_path):
        raise ManifestMismatchError(f"{model_path} is not the model {manifest_path} describes (sha256 differs): "
                                    "the two files come from different saves; save them together again")
    model = keras.saving.load_model(model_path, safe_mode=True)
    return model, manifest


# ---------------------------------------------------------------------- compatibility
def check_compatible(manifest: dict[str, Any], frame: pd.DataFrame, *, target: str | None = None,
                     window: int | None = None) -> None:
    """Raise a :class:`ManifestMismatchError` subclass when ``frame`` (or the asked target/window) cannot be
    fed to the model the manifest describes; return None when it can.

    Checks, in order: target, window, the input columns (and ``close``), at least one window of rows, and no
    gap between consecutive dates larger than the series' calendar allows.
    """
    want_target = manifest["target"]["name"]
    if target is not None and target != want_target:
        raise TargetMismatchError(f"the model predicts target {want_target!r} "
                                  f"({manifest['target']['formula']}); {target!r} was asked for")
    want_window = int(manifest["window"])
    if window is not None and int(window) != want_window:
        raise WindowMismatchError(f"the model reads windows of {want_window} rows; window {window} was asked for")
    needed = list(dict.fromkeys(list(manifest["input_columns"]) + ["close"]))
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise MissingFeatureError(f"the frame lacks column(s) {missing} the model needs; the model reads "
                                  f"{needed}, the frame offers {[str(c) for c in frame.columns]}")
    if len(frame) < want_window:
        raise TooFewRowsError(f"the frame has {len(frame)} rows; the model needs at least {want_window} "
                              f"(one input window)")
    if not isinstance(frame.index, pd.DatetimeIndex):
        raise ManifestMismatchError(f"the frame must be indexed by dates (a DatetimeIndex 'date'), got "
                                    f"{type(frame.index).__name__}")
    check_no_date_gaps(frame.index, manifest.get("calendar"), label="the frame")


# ---------------------------------------------------------------------- helpers
def _dist_version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _iso(when: Any) -> str | None:
    return None if when is None or pd.isna(when) else pd.Timestamp(when).date().isoformat()
