"""The model artifact: fingerprint, manifest, atomic save and safe load, and the mismatch errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

keras = pytest.importorskip("keras")

from helpers.artifacts import (  # noqa: E402
    DateGapError, ManifestMismatchError, MissingFeatureError, TargetMismatchError, TooFewRowsError,
    WindowMismatchError, build_manifest, check_compatible, data_fingerprint, load_artifact, save_artifact,
)
from helpers.models import build_stacked_rnn  # noqa: E402
from helpers.train import predict  # noqa: E402
from helpers.windows import WindowGenerator  # noqa: E402
from tests.test_windows import FEATURES, synthetic_feature_frame, tiny_config  # noqa: E402

CONFIG = tiny_config()


@pytest.fixture(scope="module")
def frame():
    return synthetic_feature_frame(260, seed=5)


@pytest.fixture(scope="module")
def windows(frame):
    return WindowGenerator(frame, FEATURES, CONFIG)


@pytest.fixture(scope="module")
def manifest(windows):
    return json.loads(json.dumps(build_manifest(CONFIG, windows, FEATURES, data_meta={"source": "synthetic"})))


def tiny_model(windows):
    keras.utils.set_random_seed(0)
    return build_stacked_rnn("lstm", (8, 4), 0.2, windows.horizon, windows.window, windows.n_features)


# ---------------------------------------------------------------------- fingerprint and manifest
def test_fingerprint_is_stable_and_sees_every_value(frame):
    assert data_fingerprint(frame) == data_fingerprint(frame.copy())
    coarser = frame.copy()
    coarser.index = coarser.index.as_unit("s")
    assert data_fingerprint(coarser) == data_fingerprint(frame)
    changed = frame.copy()
    changed.iloc[100, 0] += 1e-9
    assert data_fingerprint(changed) != data_fingerprint(frame)
    shifted = frame.copy()
    shifted.index = shifted.index + pd.Timedelta(days=1)
    assert data_fingerprint(shifted) != data_fingerprint(frame)


def test_manifest_describes_preprocessing_target_and_provenance(windows, manifest):
    assert manifest["feature_columns"] == FEATURES
    assert manifest["window"] == 10 and manifest["horizon"] == 1
    assert manifest["target"]["name"] == "log_return"
    assert manifest["target"]["formula"] == "log(C[t+k] / C[t])"
    assert manifest["scaler"] == json.loads(json.dumps(windows.scaler_params()))
    assert manifest["config"] == CONFIG.to_dict()
    assert manifest["data"]["fingerprint"] == data_fingerprint(windows.frame)
    assert manifest["data"]["meta"] == {"source": "synthetic"}
    assert set(manifest["versions"]) == {"python", "tensorflow", "keras", "numpy", "pandas", "pandas-ta"}
    assert manifest["seed"] == CONFIG.seed and manifest["format_version"] == 1


def test_manifest_training_range_ends_before_validation(windows, manifest):
    rng = manifest["training_range"]
    assert rng["first_origin"] == str(windows.origin_dates("train")[0].date())
    assert rng["last_target"] < manifest["split"]["val_start"]
    assert rng["samples"] == windows.n_samples("train")


# ---------------------------------------------------------------------- save and load
def test_save_and_load_give_identical_predictions(tmp_path, windows, manifest):
    model = tiny_model(windows)
    save_artifact(model, manifest, tmp_path / "model")
    loaded, stored = load_artifact(tmp_path / "model")
    x = windows.inputs("test")
    np.testing.assert_array_equal(predict(loaded, x), predict(model, x))
    assert stored["scaler"] == manifest["scaler"]
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == ["manifest.json", "model.keras"]


def test_loading_refuses_code_in_a_model(tmp_path, windows, manifest):
    inputs = keras.Input((windows.window, windows.n_features))
    outputs = keras.layers.Lambda(lambda t: t[:, -1, :1] * 2.0)(inputs)
    save_artifact(keras.Model(inputs, outputs), manifest, tmp_path / "model")
    with pytest.raises(ValueError, match="safe_mode"):
        load_artifact(tmp_path / "model")


def test_missing_artifact_files_are_named(tmp_path, windows, manifest):
    save_artifact(tiny_model(windows), manifest, tmp_path / "model")
    (tmp_path / "model" / "manifest.json").unlink()
    with pytest.raises(FileNotFoundError, match="lacks manifest.json"):
        load_artifact(tmp_path / "model")


def test_model_and_manifest_from_different_saves_are_caught(tmp_path, windows, manifest):
    save_artifact(tiny_model(windows), manifest, tmp_path / "a")
    save_artifact(build_stacked_rnn("gru", (4,), 0.0, 1, 10, 2), manifest, tmp_path / "b")
    (tmp_path / "b" / "model.keras").replace(tmp_path / "a" / "model.keras")
    with pytest.raises(ManifestMismatchError, match="sha256 differs"):
        load_artifact(tmp_path / "a")


# ---------------------------------------------------------------------- compatibility
def test_matching_frame_is_compatible(frame, manifest):
    check_compatible(manifest, frame, target="log_return", window=10)


def test_missing_feature_error_names_the_columns(frame, manifest):
    with pytest.raises(MissingFeatureError, match=r"lacks column\(s\) \['ma_ratio'\].*reads \['log_return', "
                                                  r"'ma_ratio', 'close'\]"):
        check_compatible(manifest, frame.drop(columns="ma_ratio"))


def test_window_mismatch_error_names_both_windows(frame, manifest):
    with pytest.raises(WindowMismatchError, match="windows of 10 rows; window 30 was asked for"):
        check_compatible(manifest, frame, window=30)


def test_target_mismatch_error_names_both_targets(frame, manifest):
    with pytest.raises(TargetMismatchError, match="predicts target 'log_return'.*'price' was asked for"):
        check_compatible(manifest, frame, target="price")


def test_too_few_rows_error_gives_rows_and_window(frame, manifest):
    with pytest.raises(TooFewRowsError, match="has 7 rows; the model needs at least 10"):
        check_compatible(manifest, frame.iloc[:7])


def test_date_gap_beyond_a_business_week_is_refused(frame, manifest):
    holed = frame.drop(frame.index[100:107])
    with pytest.raises(DateGapError, match=f"{frame.index[99].date()} -> {frame.index[107].date()}"):
        check_compatible(manifest, holed)
    check_compatible(manifest, frame.drop(frame.index[100:103]))   # three missing days: a holiday week


def test_every_day_series_refuses_a_three_day_gap(manifest):
    dates = pd.date_range("2021-01-01", periods=60, name="date")
    daily = pd.DataFrame({"log_return": 0.0, "ma_ratio": 1.0, "close": 1.0}, index=dates)
    from helpers.frequency import infer_frequency

    every_day = dict(manifest, calendar={"kind": "daily", "max_gap": 2, "unit": "calendar days"},
                     frequency=infer_frequency(dates).to_dict())
    check_compatible(every_day, daily.drop(dates[30]))
    with pytest.raises(DateGapError, match="3 calendar days"):
        check_compatible(every_day, daily.drop(dates[30:32]))


def test_mismatch_errors_are_value_errors():
    for error in (MissingFeatureError, WindowMismatchError, TargetMismatchError, TooFewRowsError, DateGapError):
        assert issubclass(error, ManifestMismatchError) and issubclass(error, ValueError)


# ---------------------------------------------------------------------- artifacts that vouch for themselves
def _saved(tmp_path, windows, manifest):
    from helpers.artifacts import save_artifact

    return save_artifact(tiny_model(windows), manifest, tmp_path / "model")


def _edit_manifest(folder, change):
    path = folder / "manifest.json"
    data = json.loads(path.read_text())
    data = change(data)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize("change, words", [
    (lambda m: {**m, "scaler": {**m["scaler"], "input_columns": m["scaler"]["input_columns"][::-1]}},
     "changed after it was saved"),
    (lambda m: {k: v for k, v in m.items() if k != "target"}, "lacks the field 'target'"),
    (lambda m: [m], "holds list, not a manifest"),
    (lambda m: None, "holds NoneType, not a manifest"),
    (lambda m: {**m, "window": "30"}, "field 'window' must be a whole number"),
])
def test_an_edited_or_malformed_manifest_is_refused_naming_what_is_wrong(tmp_path, windows, manifest, change, words):
    from helpers.artifacts import ManifestMismatchError, load_artifact

    folder = _saved(tmp_path, windows, manifest)
    _edit_manifest(folder, change)
    with pytest.raises(ManifestMismatchError, match=words):
        load_artifact(folder)


def test_a_truncated_model_file_is_refused_as_damaged_not_missing(tmp_path, windows, manifest):
    from helpers.artifacts import ManifestMismatchError, load_artifact

    folder = _saved(tmp_path, windows, manifest)
    data = (folder / "model.keras").read_bytes()
    (folder / "model.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(ManifestMismatchError, match="changed or truncated"):
        load_artifact(folder)
    _edit_manifest(folder, lambda m: {**{k: v for k, v in m.items() if k != "manifest_sha256"},
                                      "model_file": {"name": "model.keras"}})
    with pytest.raises(ManifestMismatchError, match="damaged or truncated"):
        load_artifact(folder)


def test_saving_the_same_weights_twice_gives_the_same_weights_fingerprint(tmp_path, windows, manifest):
    from helpers.artifacts import save_artifact

    model = tiny_model(windows)
    a = json.loads((save_artifact(model, manifest, tmp_path / "a") / "manifest.json").read_text())
    b = json.loads((save_artifact(model, manifest, tmp_path / "b") / "manifest.json").read_text())
    assert a["model_file"]["weights_sha256"] == b["model_file"]["weights_sha256"]
