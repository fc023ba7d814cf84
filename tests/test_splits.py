"""The one split plan: every step of the series cuts its rows through helpers.splits, and the history check
accepts a number of rows exactly when every step can be built on them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers import splits
from helpers.config import RunConfig
from helpers.validation import InsufficientHistoryError, check_history
from helpers.windows import WindowGenerator


def feature_frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    dates = splits.synthetic_dates(n)
    return pd.DataFrame({"log_return": np.r_[0.0, np.diff(np.log(close))], "close": close}, index=dates)


def every_step_builds(n: int, config: RunConfig) -> bool:
    """Build, with the real constructors, every split the series makes on ``n`` feature rows."""
    from helpers import tune

    frame = feature_frame(n)
    cols = ["log_return"]
    try:
        for w in splits.candidate_windows(config):
            gen = WindowGenerator(frame, cols, config, window=w)
            if len(gen.plan.val) < splits.MIN_RESIDUALS:
                return False
            if config.forecast_days > 1:
                direct = WindowGenerator(frame, cols, config, window=w, horizon=config.forecast_days)
                if len(direct.plan.val) < splits.MIN_RESIDUALS:
                    return False
            for fold in splits.walk_forward_folds(n, config, w):
                rows, plan = splits.fold_part_split(frame.index, config, fold, w)
                WindowGenerator(frame.iloc[rows], cols, config, window=w, plan=plan)
        tuning_frame = tune.frame_without_test_rows(frame, config)
        boundaries = tune.tuning_boundaries(frame, config)
        for w in config.tune_windows:
            tune.tuning_windows(tuning_frame, cols, config, w, boundaries.val_start)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("mode", ["quick", "full"])
def test_history_check_accepts_n_exactly_when_the_whole_series_can_run_on_n_rows(mode):
    config = RunConfig.for_mode(mode, features=("log_return",))
    edge = splits.minimum_feature_rows(config)
    rng = np.random.default_rng(1)
    for n in sorted({edge - 2, edge - 1, edge, edge + 1, edge + 2, *rng.integers(edge // 2, 2 * edge, 6)}):
        try:
            check_history(int(n), config, warmup_rows=0)
            accepted = True
        except InsufficientHistoryError:
            accepted = False
        assert accepted == every_step_builds(int(n), config), n


def test_split_at_rows_assigns_samples_by_target_date_with_a_purge_gap():
    dates = splits.synthetic_dates(200)
    plan = splits.split_at_rows(dates, 10, 3, 120, 160)
    assert plan.train.stop - 1 + 3 < 120            # every training target before the first validation row
    assert plan.val.start + 1 >= 120 and plan.val.stop - 1 + 3 < 160
    assert plan.test.start + 1 == 160
    assert plan.train.stop < plan.val.start          # horizon - 1 origins straddle the boundary: no split


def test_a_tuning_split_has_no_test_samples_and_never_reaches_past_the_frame():
    config = RunConfig.for_mode("quick")
    dates = splits.synthetic_dates(300)
    plan = splits.tuning_split(dates, config, 20, dates[200])
    assert len(plan.test) == 0 and plan.val.stop - 1 + config.horizon <= 299


def test_a_refit_split_keeps_every_training_and_validation_target_before_its_test_row():
    config = RunConfig.for_mode("quick")
    dates = splits.synthetic_dates(400)
    plan = splits.refit_split(dates, config, 20, 2, 300)
    assert plan.val.stop - 1 + 2 < 300 and plan.test.start + 1 == 300
