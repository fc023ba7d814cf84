"""Targets, the split by target date, train-only scalers and the WindowGenerator's views."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from helpers.config import RunConfig
from helpers.windows import (
    FeatureScaler, WindowGenerator, chronological_split, input_columns_for, make_targets,
)

FEATURES = ["log_return", "ma_ratio"]


# ---------------------------------------------------------------------- synthetic data (used by other test files)
def gbm_close(n: int = 300, seed: int = 0) -> pd.Series:
    """A geometric Brownian motion close on business days, named like a prices frame's column."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2020-01-01", periods=n, name="date")
    return pd.Series(100.0 * np.exp(np.cumsum(rng.normal(0.0003, 0.01, n))), index=dates, name="close")


def features_from_close(close: pd.Series) -> pd.DataFrame:
    """A tiny causal feature frame: log return and the close over its lagged 10-day mean, warm-up dropped."""
    frame = pd.DataFrame({"close": close})
    frame["log_return"] = np.log(close).diff()
    frame["ma_ratio"] = close / close.rolling(10).mean().shift(1)
    return frame.dropna()


def synthetic_feature_frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    return features_from_close(gbm_close(n, seed))


def tiny_config(**changes) -> RunConfig:
    base = dict(window=10, horizon=1, units=(8, 4), epochs=2, patience=2, batch_size=32, seed=7)
    base.update(changes)
    return RunConfig(**base)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return synthetic_feature_frame()


def label_dates(gen: WindowGenerator, split: str) -> np.ndarray:
    """(samples, horizon) datetime64 of every label."""
    origins = np.asarray(gen.origins(split))
    return gen.dates.values[origins[:, None] + np.arange(1, gen.horizon + 1)]


# ---------------------------------------------------------------------- targets
def test_make_targets_column_k_is_step_k_with_nan_past_the_end():
    close = pd.Series([1.0, 2.0, 4.0, 3.0])
    lr = make_targets(close, "log_return", 2)
    np.testing.assert_allclose(lr[0], [np.log(2), np.log(4)])
    np.testing.assert_allclose(lr[2], [np.log(3 / 4), np.nan])
    assert np.isnan(lr[3]).all()
    np.testing.assert_array_equal(make_targets(close, "price", 2)[1], [4.0, 3.0])
    np.testing.assert_array_equal(make_targets(close, "direction", 2)[1], [1.0, 1.0])
    np.testing.assert_array_equal(make_targets(close, "direction", 1)[2], [0.0])


def test_make_targets_rejects_unknown_target_naming_allowed_ones():
    with pytest.raises(ValueError, match="log_return, price, direction"):
        make_targets(pd.Series([1.0, 2.0]), "returns", 1)


# ---------------------------------------------------------------------- split
@pytest.mark.parametrize("horizon", [1, 5])
def test_split_is_by_target_date(frame, horizon):
    gen = WindowGenerator(frame, FEATURES, tiny_config(horizon=horizon))
    val_start, test_start = np.datetime64(gen.plan.val_start), np.datetime64(gen.plan.test_start)
    assert label_dates(gen, "train").max() < val_start
    assert label_dates(gen, "val").min() >= val_start
    assert label_dates(gen, "val").max() < test_start
    assert label_dates(gen, "test").min() >= test_start
    assert min(gen.origins("train")) >= gen.window - 1
    assert max(gen.origins("test")) + horizon <= len(frame) - 1


def test_split_boundaries_follow_config_dates(frame):
    config = tiny_config(val_start="2020-09-01", test_start="2020-11-02")
    plan = chronological_split(frame.index, config, 10, 1)
    assert plan.val_start == frame.index[frame.index >= "2020-09-01"][0]
    assert plan.test_start == pd.Timestamp("2020-11-02")
    assert frame.index[plan.train.stop] < plan.val_start <= frame.index[plan.val.start + 1]


def test_split_fractions_take_the_last_rows_for_test(frame):
    plan = chronological_split(frame.index, tiny_config(val_frac=0.2, test_frac=0.1), 10, 1)
    label_rows = len(frame) - 10
    assert len(plan.test) == round(label_rows * 0.1)
    assert len(plan.val) == round(label_rows * 0.2)


def test_tiny_split_raises_with_the_numbers(frame):
    with pytest.raises(ValueError, match=r"the val split has \d+ samples.*40 rows.*window 10"):
        chronological_split(frame.index[:40], tiny_config(), 10, 1)


# ---------------------------------------------------------------------- scaler
def test_scaler_never_sees_val_or_test_rows():
    config = tiny_config()
    close = gbm_close()
    gen = WindowGenerator(features_from_close(close), FEATURES, config)
    changed = close.copy()
    later = changed.index >= gen.plan.val_start
    changed[later] *= np.linspace(1.5, 3.0, later.sum())
    perturbed = features_from_close(changed)
    other = WindowGenerator(perturbed, FEATURES, config)
    assert other.feature_scaler_.to_dict() == gen.feature_scaler_.to_dict()
    assert other.target_scaler_.to_dict() == gen.target_scaler_.to_dict()
    fitted_on_all = FeatureScaler().fit(perturbed[FEATURES].to_numpy())
    assert not np.allclose(fitted_on_all.mean_, gen.feature_scaler_.mean_)


def test_feature_scaler_is_fitted_on_rows_up_to_the_last_train_origin(frame):
    gen = WindowGenerator(frame, FEATURES, tiny_config())
    rows = frame[FEATURES].to_numpy()[: gen.plan.train.stop]
    np.testing.assert_allclose(gen.feature_scaler_.mean_, rows.mean(axis=0))
    np.testing.assert_allclose(gen.feature_scaler_.scale_, rows.std(axis=0))


def test_scaler_guards_a_column_without_variance():
    x = np.column_stack([np.arange(5.0), np.full(5, 3.0)])
    for kind in ("standard", "minmax"):
        scaled = FeatureScaler(kind).fit(x).transform(x)
        assert np.isfinite(scaled).all()
        np.testing.assert_array_equal(scaled[:, 1], 0.0)


def test_minmax_scaler_maps_training_range_to_unit_interval():
    x = np.array([[1.0], [3.0], [5.0]])
    scaler = FeatureScaler("minmax").fit(x)
    np.testing.assert_allclose(scaler.transform(x).ravel(), [0.0, 0.5, 1.0])
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(x)), x)


@pytest.mark.parametrize("kind", ["standard", "minmax"])
def test_scaler_round_trips_through_plain_json(kind):
    x = np.random.default_rng(1).normal(size=(20, 3))
    scaler = FeatureScaler(kind).fit(x)
    restored = FeatureScaler.from_dict(json.loads(json.dumps(scaler.to_dict())))
    np.testing.assert_array_equal(restored.transform(x), scaler.transform(x))


def test_unfitted_scaler_says_to_fit_first():
    with pytest.raises(ValueError, match="not fitted"):
        FeatureScaler().transform(np.zeros((2, 2)))


# ---------------------------------------------------------------------- windows
def test_no_window_contains_its_own_label(frame):
    gen = WindowGenerator(frame, FEATURES, tiny_config(horizon=3))
    for split in ("train", "val", "test"):
        origins = np.asarray(gen.origins(split))
        x = gen.inputs(split)
        np.testing.assert_array_equal(x[0], gen.data_[origins[0] - gen.window + 1: origins[0] + 1])
        np.testing.assert_array_equal(x[-1], gen.data_[origins[-1] - gen.window + 1: origins[-1] + 1])
        window_last_dates = gen.dates.values[origins]
        assert (label_dates(gen, split) > window_last_dates[:, None]).all()


def test_perturbing_the_next_close_leaves_that_origins_inputs_unchanged(frame):
    config = tiny_config()
    close = gbm_close()
    gen = WindowGenerator(features_from_close(close), FEATURES, config)
    i = 5
    t = gen.origins("test")[i]
    changed = close.copy()
    changed.loc[gen.dates[t + 1]] *= 1.2
    other = WindowGenerator(features_from_close(changed), FEATURES, config)
    np.testing.assert_array_equal(other.inputs("test")[i], gen.inputs("test")[i])
    assert other.labels("test")[i, 0] != gen.labels("test")[i, 0]
    assert not np.array_equal(other.inputs("test")[i + 1], gen.inputs("test")[i + 1])


@pytest.mark.parametrize("horizon", [1, 5])
def test_inputs_are_views_with_documented_shapes(frame, horizon):
    gen = WindowGenerator(frame, FEATURES, tiny_config(horizon=horizon))
    for split in ("train", "val", "test"):
        x, y = gen.inputs(split), gen.labels(split)
        assert np.shares_memory(x, gen.data_)
        assert x.dtype == np.float32
        assert x.shape == (gen.n_samples(split), 10, len(FEATURES))
        assert y.shape == (gen.n_samples(split), horizon)


@pytest.mark.parametrize("target", ["log_return", "price"])
@pytest.mark.parametrize("horizon", [1, 5])
def test_to_price_of_true_labels_gives_actual_prices(frame, target, horizon):
    gen = WindowGenerator(frame, FEATURES, tiny_config(target=target, horizon=horizon))
    for split in ("train", "test"):
        np.testing.assert_allclose(gen.to_price(gen.labels(split), split), gen.actual_price(split), rtol=1e-5)


def test_direction_probability_one_half_forecasts_no_change(frame):
    gen = WindowGenerator(frame, FEATURES, tiny_config(target="direction", horizon=2))
    labels = gen.labels("test")
    assert set(np.unique(labels)) <= {0.0, 1.0}
    n = gen.n_samples("test")
    np.testing.assert_allclose(gen.to_price(np.full((n, 2), 0.5), "test")[:, 0], gen.last_close("test"))
    assert (gen.to_price(np.ones((n, 2)), "test")[:, 0] > gen.last_close("test")).all()


def test_price_target_adds_scaled_close_to_the_inputs(frame):
    gen = WindowGenerator(frame, FEATURES, tiny_config(target="price"))
    assert gen.input_columns == FEATURES + ["close"]
    assert gen.inputs("train").shape[-1] == 3
    assert input_columns_for(FEATURES, "log_return") == FEATURES


def test_dates_and_last_close_belong_to_each_origin(frame):
    gen = WindowGenerator(frame, FEATURES, tiny_config())
    origins = np.asarray(gen.origins("val"))
    assert (gen.origin_dates("val") == frame.index[origins]).all()
    assert (gen.target_dates("val") == frame.index[origins + 1]).all()
    np.testing.assert_array_equal(gen.last_close("val"), frame["close"].to_numpy()[origins])


def test_batches_cover_the_split_once_and_shuffle_repeats_with_its_seed(frame):
    gen = WindowGenerator(frame, FEATURES, tiny_config())
    batches = list(gen.batches("train", 32))
    np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), gen.inputs("train"))
    assert not any(np.shares_memory(b[0], gen.data_) for b in batches)
    first = np.concatenate([b[1] for b in gen.batches("train", 32, shuffle=True, seed=3)])
    again = np.concatenate([b[1] for b in gen.batches("train", 32, shuffle=True, seed=3)])
    other = np.concatenate([b[1] for b in gen.batches("train", 32, shuffle=True, seed=4)])
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    np.testing.assert_allclose(np.sort(first, axis=0), np.sort(gen.labels("train"), axis=0))


def test_as_dataset_serves_every_sample_in_batches(frame):
    gen = WindowGenerator(frame, FEATURES, tiny_config())
    data = gen.as_dataset("val", 16)
    assert len(data) == -(-gen.n_samples("val") // 16)
    x, y = data[0]
    np.testing.assert_array_equal(x, gen.inputs("val")[:16])
    np.testing.assert_array_equal(y, gen.labels("val")[:16])


def test_from_fitted_applies_stored_scalers_to_new_rows(frame):
    gen = WindowGenerator(frame, FEATURES, tiny_config())
    params = json.loads(json.dumps(gen.scaler_params()))
    tail = frame.iloc[-40:]
    new = WindowGenerator.from_fitted(tail, FEATURES, params, "log_return", 10, 1)
    assert new.inputs_all().shape == (31, 10, 2)
    np.testing.assert_allclose(new.inputs_all(), gen.inputs_all()[-31:])
    assert np.isnan(new.labels("all")[-1]).all()
    with pytest.raises(ValueError, match="only split 'all'"):
        new.inputs("train")


def test_from_fitted_rejects_another_window(frame):
    gen = WindowGenerator(frame, FEATURES, tiny_config())
    with pytest.raises(ValueError, match="window: stored 10, given 20"):
        WindowGenerator.from_fitted(frame, FEATURES, gen.scaler_params(), "log_return", 20, 1)


def test_missing_feature_column_is_named(frame):
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['rsi_14'\]"):
        WindowGenerator(frame, FEATURES + ["rsi_14"], tiny_config())


def test_nan_feature_names_column_and_date(frame):
    broken = frame.copy()
    broken.iloc[50, broken.columns.get_loc("ma_ratio")] = np.nan
    with pytest.raises(ValueError, match=f"'ma_ratio' is NaN or infinite on {frame.index[50].date()}"):
        WindowGenerator(broken, FEATURES, tiny_config())


def test_plot_shows_inputs_labels_and_predictions(frame):
    gen = WindowGenerator(frame, FEATURES, tiny_config(horizon=2))
    fig = gen.plot("test", n=3, predictions=gen.labels("test"))
    assert [t.name for t in fig.data] == ["inputs (close)", "labels (actual)", "predictions"] * 3
    assert len(fig.data[0].x) == gen.window


def test_repr_names_shapes_and_boundaries(frame):
    gen = WindowGenerator(frame, FEATURES, tiny_config())
    text = repr(gen)
    assert f"train: inputs {gen.inputs('train').shape}" in text
    assert str(gen.plan.test_start.date()) in text
