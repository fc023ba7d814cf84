"""Hyperparameter search: blind to the test rows, resumable, budgeted, best.json round trip, distributed mode.

Searches here are tiny (a shrunken space, 1 epoch, 1-3 trials on a 300-row synthetic series) and marked slow;
the rest needs no training.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers import tune
from helpers.atomic import atomic_write_json, atomic_write_parquet
from helpers.runfolder import RunPaths
from helpers.windows import WindowGenerator, chronological_split
from tests.test_windows import FEATURES, synthetic_feature_frame, tiny_config

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# A space of tiny networks, so a trial takes a second.
CONFIG = tiny_config(window=10, tune_windows=(10, 12), tuner="random", max_trials=2, tune_epochs=1, patience=1,
                     tune_units=(4, 8), tune_max_layers=2)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return synthetic_feature_frame(300, seed=5)


@pytest.fixture
def no_default_run(monkeypatch):
    """Skip training the default config where the test is about something else (saves a fit)."""
    monkeypatch.setattr(tune, "default_val_loss", lambda *args, **kwargs: 1.0)




class Killed(BaseException):
    """Stands in for a process killed in the middle of a trial (not an Exception, so keras-tuner cannot catch it)."""


class FitSpy:
    """Counts StackedRNNHyperModel.fit calls (one per trial run) and fit_model calls (trials and the default
    run); 'kills' the process on fit call ``kill_on_call``."""

    def __init__(self, monkeypatch, kill_on_call: int | None = None):
        self.calls = 0
        self.model_fits = 0
        self.kill_on_call = kill_on_call
        hypermodel_class = tune._hypermodel_class()
        original, original_fit_model = hypermodel_class.fit, hypermodel_class.fit_model

        def counting_fit_model(model_self, *args, **kwargs):
            self.model_fits += 1
            return original_fit_model(model_self, *args, **kwargs)

        def counting_fit(model_self, hp, model, *args, **kwargs):
            self.calls += 1
            if self.kill_on_call is not None and self.calls == self.kill_on_call:
                raise Killed()
            return original(model_self, hp, model, *args, **kwargs)

        monkeypatch.setattr(hypermodel_class, "fit", counting_fit)
        monkeypatch.setattr(hypermodel_class, "fit_model", counting_fit_model)


def hyperparameter_rows(table: pd.DataFrame) -> list[tuple]:
    columns = [c for c in table.columns if c not in ("status", "val_loss", "error")]
    return [tuple(row) for row in table[columns].astype(str).itertuples(index=False)]


# ---------------------------------------------------------------------- no test rows reach the tuner
def test_import_does_not_start_tensorflow_or_keras_tuner():
    code = "import sys, helpers.tune; print('tensorflow' in sys.modules, 'keras_tuner' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT_ROOT, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_frame_without_test_rows_ends_before_the_test_period_of_every_candidate_window(frame):
    config = CONFIG.replace(window=12, tune_windows=(5, 12, 30))
    cut = tune.frame_without_test_rows(frame, config)
    for window in (5, 12, 30):
        plan = chronological_split(frame.index, config, window, config.horizon)
        assert cut.index.max() < plan.test_start
    assert cut.index.max() == frame.index[frame.index < tune.tuning_boundaries(frame, config).test_start][-1]


def test_tuning_windows_are_the_runs_training_and_validation_windows(frame):
    """With every candidate window at least the run's, the tuner's windows equal notebook 04's, value for value."""
    boundaries = tune.tuning_boundaries(frame, CONFIG)
    cut = tune.frame_without_test_rows(frame, CONFIG)
    tuning = tune.tuning_windows(cut, FEATURES, CONFIG, CONFIG.window, boundaries.val_start)
    run = WindowGenerator(frame, FEATURES, CONFIG)
    np.testing.assert_array_equal(tuning.x_train, run.inputs("train"))
    np.testing.assert_array_equal(tuning.y_train, run.labels("train"))
    np.testing.assert_array_equal(tuning.x_val, run.inputs("val"))
    np.testing.assert_array_equal(tuning.y_val, run.labels("val"))


def test_tuning_windows_targets_stop_before_the_first_test_date(frame):
    config = CONFIG.replace(horizon=3)
    boundaries = tune.tuning_boundaries(frame, config)
    cut = tune.frame_without_test_rows(frame, config)
    tuning = tune.tuning_windows(cut, FEATURES, config, 12, boundaries.val_start)
    assert tuning.last_target_date < boundaries.test_start
    assert tuning.val_target_dates.min() >= boundaries.val_start
    assert tuning.train_target_dates.max() < boundaries.val_start


def test_hypermodel_refuses_a_frame_that_reaches_the_test_period(frame):
    boundaries = tune.tuning_boundaries(frame, CONFIG)
    with pytest.raises(ValueError, match="frame_without_test_rows"):
        tune._hypermodel_class()(frame, FEATURES, CONFIG, boundaries)


# ---------------------------------------------------------------------- best.json
def fake_result(tmp_path, frame, best_loss=0.8, default_loss=1.0, best=None) -> tune.SearchResult:
    best = best if best is not None else {"cell": "gru", "units": [32], "dropout": 0.1, "learning_rate": 0.003,
                                          "batch_size": 128, "window": 12}
    trials = pd.DataFrame({"trial_id": ["0", "1"], "status": ["COMPLETED", "COMPLETED"],
                           "val_loss": [best_loss, best_loss + 0.1]})
    boundaries = tune.tuning_boundaries(frame, CONFIG)
    return tune.SearchResult(
        trials=trials, best_hyperparameters={}, best_overrides=best, best_val_loss=best_loss,
        default_overrides={name: tune._json_value(getattr(CONFIG, name)) for name in tune.OVERRIDE_FIELDS},
        default_val_loss=default_loss, tuner="random", role="single", new_trials=2, trials_run_here=2, seconds=1.0,
        stopped_by_time_limit=False, boundaries=boundaries, last_tuning_date=frame.index[10],
        tuning_dir=tmp_path / "tuning")


def test_apply_best_returns_the_tuned_config_and_the_replaced_values(tmp_path, frame):
    paths = RunPaths(tmp_path)
    tune.write_best(paths, fake_result(tmp_path, frame), CONFIG)
    tuned, replaced = tune.apply_best(CONFIG, paths)
    assert (tuned.cell, tuned.units, tuned.dropout, tuned.learning_rate, tuned.batch_size, tuned.window) == (
        "gru", (32,), 0.1, 0.003, 128, 12)
    assert replaced == {"cell": "lstm", "units": [8, 4], "dropout": 0.2, "learning_rate": 0.001,
                        "batch_size": 32, "window": 10}
    assert tuned.epochs == CONFIG.epochs and tuned.ticker == CONFIG.ticker   # nothing else changes


def test_best_json_holds_overrides_evidence_and_provenance(tmp_path, frame):
    paths = RunPaths(tmp_path)
    tune.write_best(paths, fake_result(tmp_path, frame), CONFIG)
    best = json.loads(paths.best.read_text())
    assert {"overrides", "replaced", "val_loss", "default_val_loss", "trials", "tuner", "created_at"} <= set(best)
    assert best["overrides"]["units"] == [32] and best["chosen"] == "search"
    assert (best["val_loss"], best["default_val_loss"], best["trials"], best["tuner"]) == (0.8, 1.0, 2, "random")


def test_apply_best_without_best_json_keeps_the_config(tmp_path):
    assert tune.apply_best(CONFIG, RunPaths(tmp_path)) == (CONFIG, {})


def test_default_config_that_beats_every_trial_is_kept(tmp_path, frame):
    paths = RunPaths(tmp_path)
    tune.write_best(paths, fake_result(tmp_path, frame, best_loss=1.2, default_loss=1.0), CONFIG)
    assert json.loads(paths.best.read_text())["chosen"] == "default"
    assert tune.apply_best(CONFIG, paths) == (CONFIG, {})


def test_write_best_without_a_completed_trial_says_so(tmp_path, frame):
    result = fake_result(tmp_path, frame)
    result.best_overrides, result.best_val_loss = None, None
    with pytest.raises(ValueError, match="no tuning trial completed"):
        tune.write_best(RunPaths(tmp_path), result, CONFIG)


def test_apply_best_rejects_fields_a_search_does_not_choose(tmp_path):
    paths = RunPaths(tmp_path)
    atomic_write_json(paths.best, {"overrides": {"epochs": 500}})
    with pytest.raises(ValueError, match="epochs"):
        tune.apply_best(CONFIG, paths)


def test_overrides_ignore_the_units_of_layers_a_trial_does_not_have():
    values = {"layers": 2, "units_1": 64, "units_2": 16, "units_3": 128, "cell": "rnn", "dropout": 0.30000000000000004,
              "learning_rate": 0.001, "batch_size": 64, "window": 20}
    overrides = tune.overrides_from_hyperparameters(values)
    assert overrides["units"] == [64, 16] and overrides["dropout"] == 0.3


def test_search_space_draws_layers_and_sizes_from_the_config(frame):
    """Every model the hypermodel can build has at most tune_max_layers layers, each of a size in tune_units."""
    import keras_tuner as kt

    config = CONFIG.replace(tune_units=(4, 8), tune_max_layers=2)
    hypermodel = tune.StackedRNNHyperModel(tune.frame_without_test_rows(frame, config), FEATURES, config,
                                           tune.tuning_boundaries(frame, config))
    hp = kt.HyperParameters()
    hypermodel.build(hp)
    assert (hp._hps["layers"][0].min_value, hp._hps["layers"][0].max_value) == (1, 2)
    assert [list(hp._hps[f"units_{i}"][0].values) for i in (1, 2)] == [[4, 8], [4, 8]]
    assert "units_3" not in hp.values
    table = tune.search_space(config).set_index("hyperparameter")["values"]
    assert table["layers"] == "1 to 2" and table["units_1 .. units_<layers>"] == "4, 8"


def test_quick_mode_searches_only_small_networks():
    """Quick mode's 06 and 07 train whatever the search picks, so its space must stay within quick's budget."""
    from helpers.config import RunConfig

    quick, full = RunConfig.for_mode("quick"), RunConfig.for_mode("full")
    assert max(quick.tune_units) <= 32 and quick.tune_max_layers <= 2
    assert max(full.tune_units) > max(quick.tune_units) and full.tune_max_layers > quick.tune_max_layers


def test_time_limited_oracle_starts_no_trial_after_its_deadline():
    from keras_tuner.src.tuners.randomsearch import RandomSearchOracle

    oracle = tune._time_limited(RandomSearchOracle)(objective="val_loss", max_trials=5, seed=1)
    oracle.deadline = 0.0   # long past
    trial = oracle.create_trial("tuner0")
    assert trial.status == "STOPPED" and oracle.stopped_by_time_limit and not oracle.trials


# ---------------------------------------------------------------------- searches (train tiny networks)
@pytest.mark.slow
def test_resumed_search_runs_only_the_missing_trial(tmp_path, frame, monkeypatch):
    first = tune.run_search(frame, FEATURES, CONFIG, tmp_path, verbose=0)
    assert list(first.trials["trial_id"]) == ["0", "1"] and first.new_trials == 2
    assert list((tmp_path / tune.PROJECT_NAME).glob("trial_*/checkpoint*")) == []   # weights dropped...
    spy = FitSpy(monkeypatch)
    again = tune.run_search(frame, FEATURES, CONFIG.replace(max_trials=3), tmp_path, verbose=0)
    assert spy.calls == 1 and again.new_trials == 1
    assert spy.model_fits == 1   # the default config's run is read back, not trained again
    assert list(again.trials["trial_id"]) == ["0", "1", "2"]
    assert hyperparameter_rows(again.trials)[:2] == hyperparameter_rows(first.trials)
    assert len(set(hyperparameter_rows(again.trials.drop(columns="trial_id")))) == 3   # no trial repeated
    assert again.default_val_loss == first.default_val_loss          # ...and the search still resumes


@pytest.mark.slow
def test_trial_killed_midway_is_rerun_and_finished_trials_are_not(tmp_path, frame, no_default_run,
                                                                 monkeypatch):
    spy = FitSpy(monkeypatch, kill_on_call=2)
    with pytest.raises(Killed):
        tune.run_search(frame, FEATURES, CONFIG, tmp_path, verbose=0)
    assert list(tune.trials_table(tmp_path)["status"]) == ["COMPLETED", "RUNNING"]
    spy.calls, spy.kill_on_call = 0, None
    result = tune.run_search(frame, FEATURES, CONFIG, tmp_path, verbose=0)
    assert spy.calls == 1   # trial 1 again; trial 0 kept
    assert list(result.trials["status"]) == ["COMPLETED", "COMPLETED"]


@pytest.mark.slow
def test_search_never_sees_test_rows(tmp_path, frame, monkeypatch):
    """Spy on every frame windowed and every array fitted; then perturb the test rows and get identical losses."""
    test_start = tune.tuning_boundaries(frame, CONFIG).test_start
    seen_frames, seen_windows = [], []
    original_generator, original_windows = tune.WindowGenerator, tune.tuning_windows

    def spy_generator(frame_, *args, **kwargs):
        seen_frames.append(frame_.index.max())
        return original_generator(frame_, *args, **kwargs)

    def spy_windows(*args, **kwargs):
        windows = original_windows(*args, **kwargs)
        seen_windows.append(windows)
        return windows

    monkeypatch.setattr(tune, "WindowGenerator", spy_generator)
    monkeypatch.setattr(tune, "tuning_windows", spy_windows)
    config = CONFIG.replace(max_trials=1)
    clean = tune.run_search(frame, FEATURES, config, tmp_path / "clean", verbose=0)
    assert seen_frames and all(last < test_start for last in seen_frames)
    assert seen_windows and all(w.last_target_date < test_start and w.val_target_dates.max() < test_start
                                for w in seen_windows)

    perturbed = frame.copy()
    future = perturbed.index >= test_start
    perturbed.loc[future, "close"] *= 3.0
    perturbed.loc[future, FEATURES] = np.random.default_rng(0).normal(size=(int(future.sum()), len(FEATURES)))
    dirty = tune.run_search(perturbed, FEATURES, config, tmp_path / "dirty", verbose=0)
    assert list(dirty.trials["val_loss"]) == list(clean.trials["val_loss"])
    assert dirty.default_val_loss == clean.default_val_loss


@pytest.mark.slow
def test_time_limit_stops_the_search_before_the_next_trial(tmp_path, frame, no_default_run):
    result = tune.run_search(frame, FEATURES, CONFIG.replace(tune_time_limit_s=1e-9), tmp_path, verbose=0)
    assert result.stopped_by_time_limit and result.trials.empty and result.best_overrides is None


@pytest.mark.slow
@pytest.mark.parametrize("tuner, trials", [("hyperband", 1), ("bayesian", 3)])
def test_other_tuners_complete_trials_of_the_same_hypermodel(tmp_path, frame, no_default_run, tuner,
                                                             trials):
    """Hyperband with 1 epoch has one bracket of one trial; Bayesian's third trial is proposed by its model."""
    result = tune.run_search(frame, FEATURES, CONFIG.replace(tuner=tuner, max_trials=3), tmp_path, verbose=0)
    assert result.completed == trials and result.best_overrides is not None
    assert result.best_overrides["window"] in CONFIG.tune_windows


# ---------------------------------------------------------------------- distributed: one chief, one worker
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tiny_run_folder(root: Path, frame: pd.DataFrame) -> RunPaths:
    paths = RunPaths(root)
    CONFIG.replace(max_trials=1).save(paths.config)
    atomic_write_parquet(paths.features, frame)
    atomic_write_json(paths.features_meta, {"columns": FEATURES})
    return paths


@pytest.mark.slow
def test_distributed_chief_and_worker_finish_a_trial(tmp_path, frame):
    pytest.importorskip("grpc", reason="distributed tuning needs grpcio")
    try:
        from keras_tuner.src import protos
        protos.get_service_grpc()
    except Exception as exc:   # noqa: BLE001 - any failure here means no gRPC service definitions
        pytest.skip(f"keras-tuner's gRPC service is unavailable: {exc}")
    paths = tiny_run_folder(tmp_path / "run", frame)
    port = free_port()
    command = [sys.executable, "-m", "helpers.tune", "--run-dir", str(paths.root), "--quiet"]

    def start(tuner_id: str) -> subprocess.Popen:
        env = {**os.environ, "KERASTUNER_TUNER_ID": tuner_id, "KERASTUNER_ORACLE_IP": "127.0.0.1",
               "KERASTUNER_ORACLE_PORT": str(port), "TF_CPP_MIN_LOG_LEVEL": "2"}
        log = open(tmp_path / f"{tuner_id}.log", "w")
        return subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    chief, worker = start("chief"), start("tuner0")
    try:
        worker_code = worker.wait(timeout=600)
        chief_code = chief.wait(timeout=300)
    finally:
        for process in (chief, worker):
            if process.poll() is None:
                process.kill()
    logs = {name: (tmp_path / f"{name}.log").read_text() for name in ("chief", "tuner0")}
    assert worker_code == 0, logs["tuner0"][-3000:]
    assert chief_code == 0, logs["chief"][-3000:]
    table = tune.trials_table(paths.tuning_dir)
    assert list(table["status"]) == ["COMPLETED"]
    assert "trained 1 trial(s)" in logs["tuner0"]   # the worker ran it, not the chief
    best = json.loads(paths.best.read_text())   # written by the chief once the worker was done
    assert best["trials"] == 1 and best["default_val_loss"] is not None


def test_resuming_a_search_scored_on_other_settings_is_refused(tmp_path, frame):
    cut = tune.frame_without_test_rows(frame, CONFIG)
    tune.check_same_search(tmp_path, tune.search_signature(cut, FEATURES, CONFIG))
    tune.check_same_search(tmp_path, tune.search_signature(cut, FEATURES, CONFIG.replace(max_trials=9)))  # extends
    with pytest.raises(ValueError, match="tune_units"):
        tune.check_same_search(tmp_path, tune.search_signature(cut, FEATURES, CONFIG.replace(tune_units=(4, 8, 16))))
    changed = CONFIG.replace(target="direction")
    with pytest.raises(ValueError, match="target: was 'log_return', now 'direction'"):
        tune.check_same_search(tmp_path, tune.search_signature(cut, FEATURES, changed))
    tune.check_same_search(tmp_path, tune.search_signature(cut, FEATURES, changed), overwrite=True)


@pytest.mark.slow
def test_a_search_prints_one_line_per_trial_that_a_notebook_page_keeps(tmp_path, frame, no_default_run, capsys):
    """keras-tuner's own display clears the notebook cell before each trial's summary (the page kept only the
    last trial); the search prints one plain line per trial instead, with its settings, loss and time."""
    result = tune.run_search(frame, FEATURES, CONFIG, tmp_path, verbose=2)     # as 05_tune calls it
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("trial ")]
    assert [line.split(":")[0] for line in lines] == ["trial 1/2", "trial 2/2"], out
    assert all("val_loss" in line and " s" in line and "window" in line for line in lines), lines
    assert f"val_loss {result.trials['val_loss'].min():.4g}" in out
    assert "Search: Running Trial" not in out and "Trial 1 Complete" not in out and "\x08" not in out


def test_a_failed_trial_line_says_why():
    class Failed:
        status, score, message = "FAILED", None, "Traceback ...\nValueError: window longer than the data"

    assert tune.trial_line(Failed(), 3, 10, 2.4) == "trial 3/10 failed in 2 s: ValueError: window longer than the data"


# ---------------------------------------------------------------------- the median stopping rule
def test_the_median_rule_waits_for_epochs_and_earlier_trials_then_takes_their_median_best_so_far():
    curves = [[1.0, 0.9, 0.8, 0.7], [1.0, 0.95, 0.85], [1.2, 1.1, 1.0, 0.5]]
    assert tune.median_stop_threshold(curves, tune.PRUNE_FROM_EPOCH - 1) is None
    assert tune.median_stop_threshold(curves[:tune.PRUNE_AFTER_TRIALS - 1], 3) is None
    assert tune.median_stop_threshold(curves, 3) == pytest.approx(0.85)      # bests after 3: 0.8, 0.85, 1.0
    assert tune.median_stop_threshold(curves, 4) == pytest.approx(0.7)       # 0.7, 0.85 (ended at 3), 0.5


def test_a_trial_worse_than_the_median_stops_and_a_promising_one_goes_on():
    import keras

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    curves = [[1.0, 0.9, 0.8], [1.0, 0.95, 0.85]]

    def run(losses):
        callback = tune._median_stopping_class()(curves)
        callback.set_model(model)
        model.stop_training = False
        for epoch, loss in enumerate(losses):
            callback.on_epoch_end(epoch, {"val_loss": loss})
            if model.stop_training:
                break
        callback.on_train_end()
        return callback.stopped_at

    assert run([1.1, 1.0, 0.95, 0.9]) == 3          # 0.95 > median 0.825 after three epochs
    assert run([1.0, 0.85, 0.80, 0.79]) is None     # at or below the median: goes on
    assert len(curves) == 4                          # each trial's curve joins the earlier ones
