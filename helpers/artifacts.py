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
from helpers.mismatch import (  # noqa: F401  (re-exported: callers catch them from here)
    DateGapError, ManifestMismatchError, MissingFeatureError, TargetMismatchError, TooFewRowsError,
    WindowMismatchError,
)
from helpers.preprocess import PRICE_FORMULAS, TARGET_FORMULAS
from helpers.windows import WindowGenerator

MODEL_FORMAT_VERSION = 1
MODEL_FILE = "model.keras"
MANIFEST_FILE = "manifest.json"


# Largest gap between consecutive dates a series' calendar allows before the data counts as broken.
MAX_GAP = {"business": 5, "daily": 2}


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
def check_no_date_gaps(dates: pd.DatetimeIndex, calendar: dict[str, Any] | None, *, label: str,
                       frequency: dict[str, Any] | None = None) -> None:
    """Raise DateGapError when ``dates`` are not bars of the model's ``frequency`` (its manifest's
    ``Frequency.to_dict()``; both are named) or, for daily bars, of ``calendar`` (the model's; else the dates'
    own): weekly or intraday bars offered to a daily model, 7-day weeks offered to a business-day model (or the
    reverse), or a gap wider than the calendar allows. Bars other than daily are checked by their frequency
    only (a night or a weekend is many steps of an intraday series, not a hole)."""
    from helpers.frequency import FrequencyError, check_fits_calendar, check_same_frequency, frequency_from_dict

    model_frequency = frequency_from_dict(frequency)
    try:
        if model_frequency is not None:
            check_same_frequency(dates, model_frequency, label=label)
            if not model_frequency.is_daily:
                return
        calendar = calendar or series_calendar(dates)
        check_fits_calendar(dates, calendar["kind"], label=label)
    except FrequencyError as err:
        raise DateGapError(str(err)) from None
    gaps = date_gaps(dates, calendar)
    if gaps:
        before, after, size = gaps[0]
        raise DateGapError(f"{label} has {len(gaps)} gap(s) between dates wider than the model's "
                           f"{calendar['kind']} calendar allows (at most {calendar['max_gap']} {calendar['unit']}); "
                           f"the first: {_iso(before, dates)} -> {_iso(after, dates)} = {size} {calendar['unit']}. "
                           "Fill the missing days or pass data without holes")


def build_manifest(config: RunConfig, windows: WindowGenerator, feature_columns: Sequence[str],
                   train_result: Any = None, data_meta: dict[str, Any] | None = None, *,
                   tuning: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything needed to reuse the model correctly and to know where it came from, as plain JSON.

    ``windows`` must be the fitted generator the model was trained on (it holds the split and the scalers);
    ``train_result`` a :class:`helpers.network.NetworkForecaster` or a :class:`helpers.train.TrainResult`
    when there is one (its seeds, per-tower best epochs and shrinkage toward persistence go into
    ``ensemble``); ``data_meta`` the PriceData meta (source, provenance) to carry along; ``tuning`` what 05's
    search changed (``{"applied": {...}, "replaced": {field: old value}}``).
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
        "first_origin": _iso(dates[train.start], dates), "last_origin": _iso(dates[train.stop - 1], dates),
        "first_target": _iso(dates[train.start + 1], dates), "last_target": _iso(dates[last_train_target_row], dates),
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
            "rows": len(windows.frame), "first_date": _iso(dates[0], dates), "last_date": _iso(dates[-1], dates),
            "meta": data_meta,
        },
        "calendar": series_calendar(dates),
        "frequency": _frequency_of(dates, data_meta),
        "seed": config.seed if train_result is None else int(getattr(train_result, "seed", config.seed)),
        "model": {"cell": config.cell, "units": list(config.units), "dropout": config.dropout},
        "versions": library_versions(),
    }
    if tuning is not None:
        manifest["tuning"] = tuning
    network = getattr(train_result, "network", train_result)
    if getattr(network, "fit_report", None) is not None:
        manifest["ensemble"] = {**network.fit_report.to_dict(), "start": "persistence (no change)",
                                "combine": "mean of the towers, shrunk toward persistence by 'shrink'"}
        manifest["seed"] = int(network.seeds[0])
        manifest["model"].update(cell=network.config.cell, units=list(network.config.units))
    if hasattr(train_result, "history_json"):
        summary = train_result.history_json()
        summary.pop("history", None)
        manifest["training"] = summary
        manifest["model"].update(cell=train_result.cell or config.cell,
                                 units=list(train_result.units or config.units))
    pool = getattr(network, "validation_residuals_", None)
    if pool is not None:
        # The validation-residual pool of the predictive bands travels with the model, so predicting on a
        # new CSV that starts after the validation period still gets honest bands.
        manifest["validation_residuals"] = np.asarray(pool, dtype=np.float64).tolist()
    return manifest


def _frequency_of(dates: pd.DatetimeIndex, data_meta: dict[str, Any] | None) -> dict[str, Any] | None:
    """The bar frequency the model was trained on (``Frequency.to_dict()``: name, step, calendar, bars per
    year), with the data report's trading calendar (``XNYS``, ``business``...) as ``trading_calendar``;
    None when the dates are too few or irregular to tell."""
    from helpers.preprocess import series_frequency

    frequency = series_frequency(dates)
    if frequency is not None and data_meta and data_meta.get("calendar"):
        frequency["trading_calendar"] = data_meta["calendar"]
    return frequency


def weights_fingerprint(model: Any) -> str:
    """sha256 (hex) of a model's weights in order: the same weights give the same string, whatever the bytes
    of the ``.keras`` file (which carries a save date) say. The ledger records it as the model's identity."""
    digest = hashlib.sha256()
    for weights in model.get_weights():
        digest.update(np.ascontiguousarray(weights, dtype="<f4").tobytes())
    return digest.hexdigest()


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
    stored = {k: v for k, v in manifest.items() if k != MANIFEST_HASH_KEY}
    stored["model_file"] = {"name": MODEL_FILE, "sha256": _file_sha256(model_path),
                            "weights_sha256": weights_fingerprint(model)}
    stored[MANIFEST_HASH_KEY] = manifest_hash(stored)
    atomic_write_json(model_dir / MANIFEST_FILE, stored)
    return model_dir


# The key of the manifest's hash of itself; every other key is covered by it.
MANIFEST_HASH_KEY = "manifest_sha256"

# What a manifest must hold for a model to be used, with the type each field must have.
MANIFEST_SCHEMA: dict[str, type | tuple[type, ...]] = {
    "format_version": int, "config": dict, "feature_columns": list, "input_columns": list, "window": int,
    "horizon": int, "target": dict, "scaler": dict, "split": dict, "training_range": dict, "calendar": dict,
    "model_file": dict,
}


def manifest_hash(manifest: dict[str, Any]) -> str:
    """sha256 (hex) of the manifest's canonical JSON (sorted keys), its own hash left out: any edit of any
    field (a swapped feature order in the scaler, a changed window) changes it."""
    body = {k: v for k, v in manifest.items() if k != MANIFEST_HASH_KEY}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def validate_manifest(manifest: Any, where: str | Path = "manifest.json") -> dict[str, Any]:
    """The manifest if it has every field of :data:`MANIFEST_SCHEMA` with the right type and matches its own
    hash; else ManifestMismatchError naming the field (a model is never used on a guess)."""
    if not isinstance(manifest, dict):
        raise ManifestMismatchError(f"{where} holds {type(manifest).__name__}, not a manifest (a JSON object): "
                                    "save the model again")
    for field, kind in MANIFEST_SCHEMA.items():
        if field not in manifest:
            raise ManifestMismatchError(f"{where} lacks the field {field!r}, which every model manifest has: it was "
                                        "edited or not written by lstm-stock-lab; save the model again")
        if not isinstance(manifest[field], kind) or isinstance(manifest[field], bool):
            raise ManifestMismatchError(f"{where}: field {field!r} must be {_type_name(kind)}, got "
                                        f"{type(manifest[field]).__name__}: save the model again")
    for field in ("name",):
        if not isinstance(manifest["target"].get(field), str):
            raise ManifestMismatchError(f"{where}: field 'target.{field}' must be a string: save the model again")
    stored = manifest.get(MANIFEST_HASH_KEY)
    if stored is not None and stored != manifest_hash(manifest):
        raise ManifestMismatchError(f"{where} was changed after it was saved (its {MANIFEST_HASH_KEY} no longer "
                                    "matches its content): restore it, or save the model again")
    return manifest


def _type_name(kind: type | tuple[type, ...]) -> str:
    names = {dict: "an object", list: "a list", int: "a whole number", str: "a string"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def load_artifact(model_dir: str | Path) -> tuple[Any, dict[str, Any]]:
    """``(model, manifest)`` from ``model_dir``; the model loads with ``safe_mode=True`` (no arbitrary code)."""
    import keras

    model_dir = Path(model_dir)
    model_path, manifest_path = model_dir / MODEL_FILE, model_dir / MANIFEST_FILE
    missing = [p.name for p in (model_path, manifest_path) if not p.exists()]
    if missing:
        raise FileNotFoundError(f"{model_dir} lacks {' and '.join(missing)}: train and save a model first "
                                "(notebook 04_model or `lstm-lab run`), or point to a run's model/ folder")
    try:
        manifest = read_json(manifest_path)
    except ValueError as exc:
        raise ManifestMismatchError(f"{manifest_path} is not readable JSON ({exc}): save the model again") from None
    validate_manifest(manifest, manifest_path)
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > MODEL_FORMAT_VERSION:
        raise ManifestMismatchError(f"{manifest_path} has format_version {version!r}; this package reads up to "
                                    f"{MODEL_FORMAT_VERSION}: upgrade lstm-stock-lab or retrain")
    expected_sha = (manifest.get("model_file") or {}).get("sha256")
    if expected_sha and expected_sha != _file_sha256(model_path):
        raise ManifestMismatchError(f"{model_path} is not the model {manifest_path} describes (sha256 differs): "
                                    "the file was changed or truncated, or the two files come from different "
                                    "saves; save them together again")
    try:
        model = keras.saving.load_model(model_path, safe_mode=True)
    except Exception as exc:   # keras raises many kinds on a damaged zip; the message must name the file
        if "safe_mode" in str(exc):
            raise   # a refusal to run code stored in the model: say exactly that, unchanged
        raise ManifestMismatchError(f"{model_path} exists but could not be read as a Keras model "
                                    f"({type(exc).__name__}: {_first_line(str(exc))}): the file is damaged or "
                                    "truncated; save the model again") from None
    return model, manifest


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0][:200]


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
    check_no_date_gaps(frame.index, manifest.get("calendar"), label="the frame", frequency=manifest.get("frequency"))


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


def _iso(when: Any, of: Any = None) -> str | None:
    from helpers.frequency import iso_stamp   # dates, with the time of day of intraday bars

    return iso_stamp(when, of)
