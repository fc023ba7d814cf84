"""Atomic writes: an interrupted write leaves the previous file intact and no temporary behind."""

import json
import math

import pandas as pd
import pytest

from helpers import atomic


def test_interrupted_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "metrics.json"
    atomic.atomic_write_json(target, {"rmse": 1.0})

    def crash_midway(tmp):
        tmp.write_text('{"rmse": 2')  # half a file
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic.atomic_write(target, crash_midway)
    assert json.loads(target.read_text()) == {"rmse": 1.0}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_json_writes_nan_as_null_and_numpy_scalars_as_numbers(tmp_path):
    import numpy as np

    path = atomic.atomic_write_json(tmp_path / "x.json", {"a": float("nan"), "b": np.float32(1.5), "c": [math.inf]})
    assert json.loads(path.read_text()) == {"a": None, "b": 1.5, "c": [None]}


def test_parquet_round_trip(tmp_path):
    frame = pd.DataFrame({"close": [1.0, 2.0]}, index=pd.DatetimeIndex(["2024-01-02", "2024-01-03"], name="date"))
    atomic.atomic_write_parquet(tmp_path / "p.parquet", frame)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "p.parquet"), frame, check_freq=False)
