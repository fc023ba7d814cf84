"""The command line: exit codes, messages that name the bad parameter, the index path last on stdout, `list`."""

from __future__ import annotations

import subprocess
import sys

import pytest

from helpers.atomic import atomic_write_json
from helpers.cli import EXIT_BAD_PARAMETER, EXIT_FAILED, EXIT_OK, main, parse_set_options
from helpers.config import ConfigError
from helpers.runfolder import PROJECT_ROOT
from tests.test_runner import FAIL_FOR_BAD_TICKER, RAISE, WRITE_METRICS, fake_series, quick_config

MARKER = "import pathlib\npathlib.Path(run_dir, 'notebook-ran').write_text('yes')"


@pytest.fixture
def notebooks(tmp_path):
    return fake_series(tmp_path / "notebooks", {"01_collect": [MARKER]})


def _run(tmp_path, notebooks, *extra):
    source = [] if "--csv" in extra else ["--source", "synthetic"]
    return main(["run", "--ticker", "FAKE", *source, "--mode", "quick", "--quiet",
                 "--out", str(tmp_path / "reports"), "--notebooks-dir", str(notebooks), *extra])


@pytest.mark.parametrize("extra, named", [
    (["--set", "bogus=1"], "'bogus'"),
    (["--set", "window=abc"], "'window'"),
    (["--set", "epochs"], "--set"),
    (["--set", "mode=full"], "--mode"),
    (["--csv", "no/such/prices.csv"], "'csv_path'"),
    (["--csv", "prices.csv", "--source", "yfinance"], "--source csv"),
    (["--start", "2020-02-30"], "'start'"),
    (["--only", "05"], "'notebooks'"),
    (["--kernel", "no-such-kernel"], "'kernel_name'"),
])
def test_bad_parameters_exit_2_naming_them_before_any_notebook_runs(tmp_path, notebooks, capsys, extra, named):
    assert _run(tmp_path, notebooks, *extra) == EXIT_BAD_PARAMETER
    err = capsys.readouterr().err
    assert named in err and "error" in err
    assert not (tmp_path / "reports").exists()


def test_argparse_usage_errors_also_exit_2(tmp_path, notebooks, capsys):
    assert _run(tmp_path, notebooks, "--mode", "fast") == EXIT_BAD_PARAMETER
    assert "quick" in capsys.readouterr().err


def test_set_options_parse_into_strings_for_runconfig():
    assert parse_set_options(["epochs=5", "units = 32,16"]) == {"epochs": "5", "units": "32,16"}
    with pytest.raises(ConfigError):
        parse_set_options(["=5"])


@pytest.mark.slow
def test_run_prints_the_index_path_last_on_stdout(tmp_path, notebooks, capsys):
    assert _run(tmp_path, notebooks) == EXIT_OK
    last_line = capsys.readouterr().out.strip().splitlines()[-1]
    assert last_line.endswith("index.html")
    run_dir = tmp_path / "reports" / last_line.split("/")[-2]
    assert (run_dir / "index.html").exists() and (run_dir / "notebook-ran").exists()


@pytest.mark.slow
def test_a_failing_notebook_exits_1_naming_notebook_cell_and_partial_folder(tmp_path, capsys):
    failing = fake_series(tmp_path / "notebooks", {"01_collect": [RAISE]})
    assert _run(tmp_path, failing) == EXIT_FAILED
    err = capsys.readouterr().err
    (run_dir,) = (tmp_path / "reports").iterdir()
    assert "01_collect" in err and "cell 3" in err and "boom in cell 3" in err and str(run_dir) in err
    assert (run_dir / "config.json").exists() and (run_dir / "01_collect.html").exists()


@pytest.mark.slow
def test_batch_from_python_dash_m_finishes_the_good_ticker_and_exits_1_for_the_bad(tmp_path):
    notebooks = fake_series(tmp_path / "notebooks", {"01_collect": [FAIL_FOR_BAD_TICKER, WRITE_METRICS]})
    done = subprocess.run([sys.executable, "-m", "helpers", "batch", "--tickers", "GOOD,BAD", "--source", "synthetic",
                           "--mode", "quick", "--workers", "2", "--quiet", "--out", str(tmp_path / "reports"),
                           "--notebooks-dir", str(notebooks)],
                          capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=600)
    assert done.returncode == EXIT_FAILED, done.stderr
    summary = done.stdout.strip().splitlines()[-1]
    assert summary.endswith(".html") and "FAKE VERDICT for GOOD" in open(summary).read()
    assert "BAD: failed" in done.stderr and "1 of 2 runs ok" in done.stderr


def test_batch_with_bad_parameters_exits_2_before_starting(tmp_path, notebooks, capsys):
    code = main(["batch", "--tickers", "A,B", "--set", "dropout=2", "--out", str(tmp_path / "reports"),
                 "--notebooks-dir", str(notebooks), "--quiet"])
    assert code == EXIT_BAD_PARAMETER and "'dropout'" in capsys.readouterr().err
    assert not (tmp_path / "reports").exists()


def test_batch_needs_an_existing_csv_dir(tmp_path, capsys):
    assert main(["batch", "--csv-dir", str(tmp_path / "nowhere"), "--quiet"]) == EXIT_BAD_PARAMETER
    assert "csv_dir" in capsys.readouterr().err


def _fake_run(out, name, ticker, u=None, verdict=None):
    run_dir = out / name
    quick_config(ticker).save(run_dir / "config.json")
    if u is not None:
        atomic_write_json(run_dir / "metrics.json", {"test": {"model": {"directional_accuracy": 0.5}},
                                                     "theils_u": u, "verdict": verdict})
    return run_dir


def test_list_prints_each_run_with_ticker_mode_date_verdict_and_u(tmp_path, capsys):
    _fake_run(tmp_path, "AAPL-2026-01-02T0900-lstm", "AAPL", 0.9987, "No skill beyond persistence.")
    _fake_run(tmp_path, "INTC-2026-01-03T0900-gru", "INTC")          # failed before 06: no metrics
    (tmp_path / "browser-check").mkdir()                              # not a run folder
    assert main(["list", "--out", str(tmp_path)]) == EXIT_OK
    out = capsys.readouterr().out
    aapl = next(line for line in out.splitlines() if line.startswith("AAPL-"))
    assert "AAPL" in aapl and "quick" in aapl and "0.999" in aapl and "No skill beyond persistence." in aapl
    assert "(no metrics.json)" in next(line for line in out.splitlines() if line.startswith("INTC-"))
    assert "browser-check" not in out


def test_list_of_an_empty_folder_says_so(tmp_path, capsys):
    assert main(["list", "--out", str(tmp_path)]) == EXIT_OK
    assert "no runs" in capsys.readouterr().err


def test_python_dash_m_helpers_is_the_same_command_line():
    done = subprocess.run([sys.executable, "-m", "helpers", "run", "--help"], capture_output=True, text=True,
                          cwd=PROJECT_ROOT, timeout=120)
    assert done.returncode == 0 and "--ticker" in done.stdout and "--no-code" in done.stdout


def test_collect_writes_cleaned_prices_that_the_csv_source_reads_back(tmp_path, capsys):
    from helpers.providers import csvfile

    out = tmp_path / "live" / "AAPL.csv"
    assert main(["collect", "--ticker", "AAPL", "--source", "sample", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == str(out)
    prices = csvfile.fetch("AAPL", start=None, end=None, path=out)
    assert len(prices) == 3379 and prices.index.is_monotonic_increasing


def test_collect_with_a_bad_source_combination_exits_2(tmp_path):
    assert main(["collect", "--ticker", "AAPL", "--source", "csv", "--out", str(tmp_path / "x.csv")]) == 2
