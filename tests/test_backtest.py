"""Walk-forward folds (no overlap, gap, expanding vs sliding) and their evaluation."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from helpers.backtest import Fold, rolling_origin_folds, walk_forward
from helpers.baselines import Drift, Persistence
from helpers.metrics import directional_accuracy, rmse, theils_u


def random_close(n: int = 600, seed: int = 0) -> pd.Series:
    rng = np.random.default_rng(seed)
    return pd.Series(100 * np.exp(np.cumsum(rng.normal(0.0005, 0.01, n))))


# ---------------------------------------------------------------------- folds
@pytest.mark.parametrize("scheme", ["expanding", "sliding"])
@pytest.mark.parametrize("gap", [0, 4])
def test_train_never_reaches_into_the_test_part_and_leaves_the_gap(scheme, gap):
    folds = rolling_origin_folds(1000, n_folds=4, test_size=100, scheme=scheme, min_train=300,
                                 retrain_every=30, gap=gap)
    for fold in folds:
        assert not set(fold.train) & set(fold.test)
        assert fold.train.stop == fold.test.start - gap       # last train origin = test start - gap - 1
        assert fold.train.start >= 0 and len(fold.train) >= 300


def test_test_blocks_are_the_last_origins_consecutive_and_never_overlap():
    folds = rolling_origin_folds(1000, n_folds=4, test_size=100, min_train=300, retrain_every=30)
    tested = [t for fold in folds for t in fold.test]
    assert tested == list(range(600, 1000))
    assert [f.fold for f in folds if f.part == 0] == [0, 1, 2, 3]


def test_each_fold_is_cut_into_parts_of_retrain_every_steps():
    folds = rolling_origin_folds(1000, n_folds=2, test_size=100, min_train=300, retrain_every=30)
    first = [f for f in folds if f.fold == 0]
    assert [len(f.test) for f in first] == [30, 30, 30, 10]
    assert [f.part for f in first] == [0, 1, 2, 3]


def test_a_tail_shorter_than_min_part_joins_the_part_before_it():
    """BTC-USD in full mode: 260-origin blocks refitted every 250 left 10-origin tails, too few for a test split."""
    folds = rolling_origin_folds(1000, n_folds=2, test_size=100, min_train=300, retrain_every=30, min_part=11)
    first = [f for f in folds if f.fold == 0]
    assert [len(f.test) for f in first] == [30, 30, 40]
    assert first[-1].train.stop == first[-1].test.start   # trained before its (longer) part began
    assert [f.test.start for f in folds if f.fold == 1][0] == first[-1].test.stop
    assert [len(f.test) for f in rolling_origin_folds(1000, n_folds=1, test_size=5, min_train=300,
                                                       retrain_every=30, min_part=11)] == [5]


def test_without_retrain_every_a_fold_is_one_part():
    folds = rolling_origin_folds(500, n_folds=2, test_size=50, min_train=100)
    assert [(f.fold, f.part, len(f.test)) for f in folds] == [(0, 0, 50), (1, 0, 50)]


def test_expanding_training_grows_from_the_first_origin():
    folds = rolling_origin_folds(1000, n_folds=3, test_size=100, min_train=300, retrain_every=50)
    assert all(f.train.start == 0 for f in folds)
    assert [len(f.train) for f in folds] == list(range(700, 1000, 50))


def test_sliding_training_keeps_a_fixed_size():
    folds = rolling_origin_folds(1000, n_folds=3, test_size=100, scheme="sliding", min_train=200,
                                 train_size=250, retrain_every=50, gap=2)
    assert {len(f.train) for f in folds} == {250}
    assert folds[0].train == range(700 - 2 - 250, 700 - 2)


def test_sliding_training_size_defaults_to_min_train():
    folds = rolling_origin_folds(1000, n_folds=2, test_size=100, scheme="sliding", min_train=300)
    assert {len(f.train) for f in folds} == {300}


def test_too_short_history_raises_saying_what_to_change():
    with pytest.raises(ValueError, match="not enough history.*fewer folds"):
        rolling_origin_folds(500, n_folds=4, test_size=100, min_train=150)


def test_gap_counts_against_available_history():
    rolling_origin_folds(500, n_folds=4, test_size=100, min_train=100)
    with pytest.raises(ValueError, match="gap 1"):
        rolling_origin_folds(500, n_folds=4, test_size=100, min_train=100, gap=1)


def test_unknown_scheme_is_named():
    with pytest.raises(ValueError, match="'rolling'"):
        rolling_origin_folds(500, n_folds=2, test_size=50, min_train=100, scheme="rolling")


# ---------------------------------------------------------------------- walk-forward evaluation
def origin_arrays(close: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """actual[t] = close[t+1], previous[t] = close[t], for origins t = 0..n-2."""
    values = close.to_numpy()
    return values[1:], values[:-1]


def baseline_fit_predict(close: pd.Series):
    def fit_predict(fold: Fold) -> dict[str, np.ndarray]:
        origins = np.asarray(fold.test)
        # Training origin t's label is close[t+1]: rows up to train.stop are known.
        drift = Drift().fit(close, fold.train.stop + 1)
        return {"persistence": Persistence().predict(close, origins, 1)[:, 0],
                "drift": drift.predict(close, origins, 1)[:, 0]}
    return fit_predict


def test_walk_forward_pools_the_parts_of_a_fold():
    close = random_close()
    actual, previous = origin_arrays(close)
    folds = rolling_origin_folds(len(actual), n_folds=2, test_size=100, min_train=200, retrain_every=40)
    result = walk_forward(folds, baseline_fit_predict(close), actual, previous)
    first = result.per_fold[0]
    assert (first["test_start"], first["test_stop"], first["n"], first["n_parts"]) == (399, 499, 100, 3)
    rows = np.arange(399, 499)
    drift_forecast = np.concatenate([baseline_fit_predict(close)(f)["drift"] for f in folds if f.fold == 0])
    expected = first["metrics"]["drift"]
    assert expected["rmse"] == pytest.approx(rmse(actual[rows], drift_forecast))
    assert expected["theils_u"] == pytest.approx(theils_u(actual[rows], drift_forecast, previous[rows]))
    assert expected["directional_accuracy"] == pytest.approx(
        directional_accuracy(actual[rows], drift_forecast, previous[rows]).value)
    assert first["metrics"]["persistence"]["theils_u"] == pytest.approx(1.0)


def test_walk_forward_aggregates_mean_and_sd_over_folds():
    close = random_close()
    actual, previous = origin_arrays(close)
    folds = rolling_origin_folds(len(actual), n_folds=3, test_size=80, min_train=200)
    result = walk_forward(folds, baseline_fit_predict(close), actual, previous)
    per_fold = [entry["metrics"]["drift"]["rmse"] for entry in result.per_fold]
    assert result.aggregate["drift"]["rmse"]["mean"] == pytest.approx(np.mean(per_fold))
    assert result.aggregate["drift"]["rmse"]["sd"] == pytest.approx(np.std(per_fold, ddof=1))
    assert result.aggregate["persistence"]["directional_accuracy"] == {"mean": None, "sd": None}


def test_walk_forward_result_is_json_ready_and_frames():
    close = random_close()
    actual, previous = origin_arrays(close)
    folds = rolling_origin_folds(len(actual), n_folds=2, test_size=80, min_train=200)
    result = walk_forward(folds, baseline_fit_predict(close), actual, previous)
    json.dumps(result.to_dict(), allow_nan=False)
    frame = result.to_frame()
    assert list(frame.columns) == ["fold", "forecaster", "rmse", "mae", "theils_u", "directional_accuracy"]
    assert len(frame) == 2 * 2


def test_a_fold_is_unchanged_when_prices_after_it_change():
    close = random_close()
    actual, previous = origin_arrays(close)
    folds = rolling_origin_folds(len(actual), n_folds=3, test_size=80, min_train=200, retrain_every=30)
    before = walk_forward(folds, baseline_fit_predict(close), actual, previous)
    # Fold 0 tests origins up to 438, whose targets reach row 439; change everything after that.
    future = close.copy()
    future.iloc[440:] *= 1.5
    after = walk_forward(folds, baseline_fit_predict(future), *origin_arrays(future))
    assert after.per_fold[0] == before.per_fold[0]
    assert after.per_fold[2] != before.per_fold[2]


def test_walk_forward_requires_persistence():
    close = random_close()
    actual, previous = origin_arrays(close)
    folds = rolling_origin_folds(len(actual), n_folds=2, test_size=50, min_train=200)
    with pytest.raises(ValueError, match="must include 'persistence'"):
        walk_forward(folds, lambda fold: {"drift": np.zeros(len(fold.test))}, actual, previous)


def test_walk_forward_refuses_a_forecast_of_the_wrong_length():
    close = random_close()
    actual, previous = origin_arrays(close)
    folds = rolling_origin_folds(len(actual), n_folds=2, test_size=50, min_train=200)
    with pytest.raises(ValueError, match="'persistence' returned 3 values"):
        walk_forward(folds, lambda fold: {"persistence": np.ones(3)}, actual, previous)
