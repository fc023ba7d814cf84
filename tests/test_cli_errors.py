"""One error path: every command turns an expected failure into one message and an exit code, no traceback."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from helpers.cli import EXIT_BAD_PARAMETER, EXIT_FAILED, EXIT_OK, main
from helpers.config import RunConfig
from helpers.data import NetworkError
from tests.test_runner import fake_series, quick_config

MARKER = "import pathlib\npathlib.Path(run_dir, 'notebook-ran').write_text('yes')"


@pytest.fixture
def notebooks(tmp_path):
    return fake_series(tmp_path / "notebooks", {"01_collect": [MARKER]})


def run_cli(capsys, *argv) -> tuple[int, str]:
    code = main(list(argv))
    err = capsys.readouterr().err
    return code, err


def assert_one_message(err: str, *words: str) -> None:
    assert "Traceback" not in err
    for word in words:
        assert word in err, err


def seconds_csv(path):
    stamps = pd.date_range("2024-01-01", periods=600, freq="30s")
    close = 1.1 + np.cumsum(np.random.default_rng(0).normal(0, 1e-4, len(stamps)))
    pd.DataFrame({"Datetime": stamps.strftime("%Y-%m-%d %H:%M:%S"), "Close": close}).to_csv(path, index=False)
    return path


def test_collect_without_network_is_one_message_with_the_source_chain(tmp_path, capsys, monkeypatch):
    def offline(config, **kwargs):
        err = NetworkError("yfinance", "Could not resolve host")
        err.add_note("source chain: request: AAPL -> cache: miss -> yfinance: network down")
        raise err

    monkeypatch.setattr("helpers.data.load_prices", offline)
    code, err = run_cli(capsys, "collect", "--ticker", "AAPL", "--source", "yfinance", "--out", str(tmp_path / "a.csv"))
    assert code == EXIT_FAILED
    assert_one_message(err, "lstm-lab collect: failed: NetworkError: cannot reach yfinance", "source chain")


def test_run_into_an_existing_file_as_out_is_a_bad_parameter(tmp_path, notebooks, capsys):
    (tmp_path / "taken").write_text("x")
    code, err = run_cli(capsys, "run", "--ticker", "FAKE", "--source", "synthetic", "--quiet",
                        "--out", str(tmp_path / "taken"), "--notebooks-dir", str(notebooks))
    assert code == EXIT_BAD_PARAMETER
    assert_one_message(err, "'out'", "is a file")


def test_run_with_a_directory_as_csv_says_it_is_a_directory(tmp_path, notebooks, capsys):
    code, err = run_cli(capsys, "run", "--ticker", "FAKE", "--csv", str(tmp_path), "--quiet",
                        "--out", str(tmp_path / "reports"), "--notebooks-dir", str(notebooks))
    assert code == EXIT_BAD_PARAMETER
    assert_one_message(err, "'csv_path'", "is a directory")


def test_run_refuses_bars_of_seconds_before_any_notebook(tmp_path, notebooks, capsys):
    csv = seconds_csv(tmp_path / "eurusd_30s.csv")
    code, err = run_cli(capsys, "run", "--ticker", "EURUSD=X", "--csv", str(csv), "--quiet",
                        "--out", str(tmp_path / "reports"), "--notebooks-dir", str(notebooks))
    assert code == EXIT_BAD_PARAMETER          # bad input: refused before any long work
    assert_one_message(err, "30-second bars", "600 bars, step 30s", "hourly, N-hour or N-minute bars",
                       "resample('1min')")
    assert not (tmp_path / "reports").exists()


def test_run_with_an_infinite_time_limit_is_refused_by_name(tmp_path, notebooks, capsys):
    code, err = run_cli(capsys, "run", "--ticker", "FAKE", "--source", "synthetic", "--quiet",
                        "--set", "tune_time_limit_s=inf", "--out", str(tmp_path / "r"),
                        "--notebooks-dir", str(notebooks))
    assert code == EXIT_BAD_PARAMETER
    assert_one_message(err, "'tune_time_limit_s'", "finite")


def test_infinity_never_reaches_config_json():
    with pytest.raises(ValueError):
        json.dumps({"x": float("inf")}, allow_nan=False)
    assert "Infinity" not in RunConfig().to_json()


@pytest.mark.parametrize("extra, words", [
    (["--samples", "0"], ["'samples'", ">= 2"]),
    (["--out", "{dir}"], ["'out'", "is a directory"]),
    (["--steps", "0"], ["'steps'"]),
])
def test_predict_bad_arguments_exit_2_naming_them(tmp_path, capsys, extra, words):
    model = tmp_path / "model"
    model.mkdir()
    csv = tmp_path / "p.csv"
    csv.write_text("Date,Close\n2024-01-02,1\n")
    extra = [e.format(dir=tmp_path) for e in extra]
    code, err = run_cli(capsys, "predict", "--model", str(model), "--csv", str(csv), *extra)
    assert code == EXIT_BAD_PARAMETER
    assert_one_message(err, *words)


@pytest.mark.parametrize("command", ["predict", "score", "retrain", "collect"])
def test_a_directory_as_csv_is_named_as_a_directory_by_every_command(tmp_path, capsys, command):
    run = tmp_path / "run"
    quick_config("X").save(run / "config.json")
    (run / "model").mkdir()
    (run / "ledger.sqlite").write_text("")
    args = {"predict": ["--model", str(run / "model")], "score": ["--run", str(run)],
            "retrain": ["--run", str(run)], "collect": ["--ticker", "X", "--out", str(tmp_path / "o.csv")]}
    code, err = run_cli(capsys, command, *args[command], "--csv", str(tmp_path))
    assert code == EXIT_BAD_PARAMETER
    assert_one_message(err, "'csv'", "is a directory")


def test_a_csv_that_cannot_be_read_unambiguously_is_one_message(tmp_path, capsys):
    csv = tmp_path / "ambiguous.csv"
    csv.write_text("Date,Close\n01.02.2024,1\n02.02.2024,2\n05.02.2024,3\n")
    code, err = run_cli(capsys, "collect", "--ticker", "X", "--csv", str(csv), "--out", str(tmp_path / "o.csv"))
    assert code == EXIT_BAD_PARAMETER
    assert_one_message(err, "CsvFormatError", "ambiguous", "csv_dayfirst")


def test_list_skips_and_names_broken_run_folders_and_lists_the_others(tmp_path, capsys):
    for name in ("AAPL-ok", "BAD-list", "BAD-json", "BAD-shape"):
        quick_config(name.split("-")[0]).save(tmp_path / name / "config.json")
    (tmp_path / "BAD-list" / "config.json").write_text("[1, 2]")
    (tmp_path / "BAD-json" / "metrics.json").write_text("{not json")
    (tmp_path / "BAD-shape" / "metrics.json").write_text('{"test": [1], "theils_u": 0.9}')
    code = main(["list", "--out", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == EXIT_OK
    assert "AAPL-ok" in out and "BAD" not in out
    for name in ("BAD-list", "BAD-json", "BAD-shape"):
        assert f"skipped {name}:" in err
    assert "Traceback" not in err


def test_an_unexpected_error_is_one_line_and_its_traceback_only_with_debug(tmp_path, capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("surprise")

    monkeypatch.setattr("helpers.report.list_runs", broken)
    code, err = run_cli(capsys, "list", "--out", str(tmp_path))
    assert code == EXIT_FAILED
    assert_one_message(err, "unexpected KeyError", "--debug")
    for argv in (["--debug", "list", "--out", str(tmp_path)], ["list", "--out", str(tmp_path), "--debug"]):
        code, err = run_cli(capsys, *argv)
        assert code == EXIT_FAILED and "Traceback" in err and "surprise" in err


def test_predict_refuses_weekly_prices_into_a_daily_model_as_bad_input_naming_both(tmp_path, capsys):
    from tests.test_forecast import TINY, sample_prices, save_tiny_run, write_csv

    prices = sample_prices()
    paths, _, _ = save_tiny_run(tmp_path / "run", prices, RunConfig(**TINY))
    weekly = prices.resample("W-FRI").agg({"open": "first", "high": "max", "low": "min", "close": "last",
                                           "volume": "sum"})
    csv = write_csv(weekly, tmp_path / "weekly.csv")
    code, err = run_cli(capsys, "predict", "--model", str(paths.model_dir), "--csv", str(csv),
                        "--out", str(tmp_path / "f.csv"))
    assert code == EXIT_BAD_PARAMETER
    assert_one_message(err, "weekly bars", "step 7d", "the model was trained on business-daily bars, weekdays")
    assert not (tmp_path / "f.csv").exists()
