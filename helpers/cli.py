"""``lstm-lab`` / ``python -m helpers``: run the series, run a batch, list past runs; predict, score, retrain; panel.

Exit codes: 0 success; 2 a bad parameter or path on the command line (the message names it and what is
allowed; nothing has run); 1 the command ran and failed: a notebook (the message names it, the cell and the
partial run folder), the data (a CSV that cannot be read unambiguously, bars that are not daily), the model
(a manifest that does not match the data) or the network. Every expected failure is one message on stderr;
a traceback is printed only with ``--debug`` (``lstm-lab --debug predict ...``).
``run`` prints the index.html path as the LAST line on stdout, so ``open "$(lstm-lab run ...)"`` works;
progress bars and messages go to stderr.

Each subcommand is one ``add_<name>_command(subparsers)`` function that registers its options and sets
``handler``; a new subcommand (``predict``, ``retrain``) is one more such function listed in COMMANDS.
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from helpers.config import MODES, SOURCES, ConfigError, RunConfig
from helpers.runfolder import DEFAULT_REPORTS

EXIT_OK, EXIT_FAILED, EXIT_BAD_PARAMETER = 0, 1, 2
MIN_MC_SAMPLES = 2                   # as RunConfig.mc_samples: one pass has no spread


class CliError(Exception):
    """A run failed after it started: exit 1 with this message."""


# ---------------------------------------------------------------------------------------------- shared options


def parse_set_options(items: Sequence[str] | None) -> dict[str, str]:
    """``["epochs=5", "units=32,16"]`` -> ``{"epochs": "5", "units": "32,16"}`` (RunConfig parses the values)."""
    values: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError("--set", item, "key=value with a RunConfig field name, e.g. --set epochs=5")
        values[key.strip()] = value.strip()
    return values


def _add_common_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mode", choices=MODES, default="full",
                        help="quick: tiny budgets, minutes for the whole series; full: settings to trust")
    parser.add_argument("--set", dest="set_values", action="append", metavar="KEY=VALUE", default=[],
                        help="any RunConfig field, e.g. --set epochs=5 --set units=32,16 (repeatable)")
    parser.add_argument("--out", type=Path, default=DEFAULT_REPORTS, help="folder of run folders (default: reports/)")
    parser.add_argument("--no-code", action="store_true", help="leave code cells out of the HTML reports")
    parser.add_argument("--notebooks-dir", type=Path, default=None,
                        help="folder holding the series' notebooks (default: the project's notebooks/)")
    parser.add_argument("--only", default=None, metavar="NOTEBOOKS",
                        help="run only these notebooks, e.g. --only 01,02 or --only 01_collect")
    parser.add_argument("--kernel", default="python3", help="Jupyter kernel name (default: python3)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _only(value: str | None) -> list[str] | None:
    return None if value is None else [v for v in value.split(",") if v.strip()]


# ---------------------------------------------------------------------------------------------- run


def add_run_command(subparsers: Any) -> None:
    parser = subparsers.add_parser("run", help="run the notebook series for one ticker into a new run folder",
                                   description="Run the notebook series for one ticker into a new run folder.")
    parser.add_argument("--ticker", required=True, help="symbol, e.g. AAPL, BTC-USD, ^GSPC")
    parser.add_argument("--source", choices=SOURCES, default=None,
                        help="where prices come from (default: auto, or csv when --csv is given)")
    parser.add_argument("--csv", dest="csv_path", default=None, metavar="PATH",
                        help="a CSV of prices (daily, weekly or intraday bars)")
    parser.add_argument("--start", default=None, metavar="YYYY-MM-DD", help="first date (inclusive)")
    parser.add_argument("--end", default=None, metavar="YYYY-MM-DD", help="last date (inclusive)")
    _add_common_run_options(parser)
    parser.add_argument("--kernels", type=int, default=None, metavar="N",
                        help="notebooks at a time, each waiting for the files it reads (default 2; 1 runs them "
                             "one by one in this process)")
    parser.set_defaults(handler=handle_run)


def config_from_run_args(args: argparse.Namespace) -> RunConfig:
    """The RunConfig the ``run`` options describe; --set values are parsed and validated by RunConfig."""
    overrides: dict[str, Any] = parse_set_options(args.set_values)
    source = args.source
    if args.csv_path is not None:
        if source in (None, "auto"):
            source = "csv"
        elif source != "csv":
            raise ConfigError("csv", args.csv_path, f"used with --source csv only (got --source {source})")
        overrides["csv_path"] = args.csv_path
    for name, value in (("ticker", args.ticker), ("source", source), ("start", args.start), ("end", args.end)):
        if value is not None:
            overrides[name] = value
    if "mode" in overrides:
        raise ConfigError("mode", overrides["mode"], "set with --mode quick|full, not --set")
    return RunConfig.for_mode(args.mode, **overrides)


def handle_run(args: argparse.Namespace) -> int:
    from helpers.runner import NotebookFailed, preflight, run_series, select_notebooks, with_absolute_paths

    _check_output_folder(args.out)
    config = with_absolute_paths(config_from_run_args(args))
    if args.csv_path is not None:
        _check_input_file("csv_path", args.csv_path, "an existing CSV file of prices")
    preflight(config, kernel_name=args.kernel)
    if config.source == "csv":
        _check_csv_prices(config)
    select_notebooks(_only(args.only), args.notebooks_dir)   # a bad --only fails here, before the run folder
    if args.kernels is not None and args.kernels < 1:
        raise ConfigError("kernels", args.kernels, "a whole number of notebooks at a time >= 1")
    try:
        run_dir = run_series(config, out_dir=args.out, notebooks_dir=args.notebooks_dir, notebooks=_only(args.only),
                             no_code=args.no_code, progress=not args.quiet, kernel_name=args.kernel,
                             workers=args.kernels)
    except NotebookFailed as failure:
        print(str(failure.run_dir / "index.html"), flush=True)
        raise CliError(str(failure)) from failure
    print(f"run folder: {run_dir}", file=sys.stderr)
    print(str(run_dir / "index.html"), flush=True)
    return EXIT_OK


# ---------------------------------------------------------------------------------------------- batch


def add_batch_command(subparsers: Any) -> None:
    parser = subparsers.add_parser("batch", help="run the series for many tickers (local processes or Dask)",
                                   description="Run the series for many tickers; one failing ticker never stops "
                                               "the others. Prints the summary page's path last.")
    inputs = parser.add_mutually_exclusive_group(required=True)
    inputs.add_argument("--tickers", default=None, help="comma-separated symbols, e.g. AAPL,MSFT,^GSPC")
    inputs.add_argument("--csv-dir", type=Path, default=None, help="a folder of CSVs: one run per file (ticker = name)")
    parser.add_argument("--source", choices=SOURCES, default=None, help="source for --tickers (default: auto)")
    parser.add_argument("--workers", type=int, default=1, help="runs at a time, each in its own process (default 1)")
    parser.add_argument("--dask", dest="dask_address", default=None, metavar="ADDRESS",
                        help="run on an existing Dask scheduler, e.g. tcp://10.0.0.5:8786")
    _add_common_run_options(parser)
    parser.set_defaults(handler=handle_batch)


def handle_batch(args: argparse.Namespace) -> int:
    from helpers.batch import configs_from_csv_dir, configs_from_tickers, run_batch
    from helpers.runner import preflight, select_notebooks

    overrides: dict[str, Any] = parse_set_options(args.set_values)
    if "mode" in overrides:
        raise ConfigError("mode", overrides["mode"], "set with --mode quick|full, not --set")
    if args.workers < 1:
        raise ConfigError("workers", args.workers, "a whole number of processes >= 1")
    _check_output_folder(args.out)
    if args.csv_dir is not None:
        if args.source not in (None, "csv"):
            raise ConfigError("source", args.source, "csv (or nothing) with --csv-dir")
        configs = configs_from_csv_dir(args.csv_dir, args.mode, overrides)
    else:
        if args.source is not None:
            overrides["source"] = args.source
        configs = configs_from_tickers(args.tickers.split(","), args.mode, overrides)
    # Shared parameters are checked before anything starts; the kernel only locally (Dask workers have their own).
    for config in configs:
        preflight(config)
    if args.dask_address is None:
        preflight(configs[0], kernel_name=args.kernel)
    select_notebooks(_only(args.only), args.notebooks_dir)
    rows = run_batch(configs, workers=args.workers, dask_address=args.dask_address, out_dir=args.out,
                     notebooks_dir=args.notebooks_dir, notebooks=_only(args.only), no_code=args.no_code,
                     progress=not args.quiet)
    for row in rows.failed:
        print(f"{row.ticker}: failed: {row.error}", file=sys.stderr)
    print(f"{len(rows) - len(rows.failed)} of {len(rows)} runs ok; summary table: {rows.csv_path}", file=sys.stderr)
    print(str(rows.html_path), flush=True)
    return EXIT_FAILED if rows.failed else EXIT_OK


# ---------------------------------------------------------------------------------------------- list


def add_list_command(subparsers: Any) -> None:
    parser = subparsers.add_parser("list", help="list the run folders with their verdicts",
                                   description="List the run folders under --out, oldest first.")
    parser.add_argument("--out", type=Path, default=DEFAULT_REPORTS, help="folder of run folders (default: reports/)")
    parser.set_defaults(handler=handle_list)


def handle_list(args: argparse.Namespace) -> int:
    from helpers.report import list_runs

    broken: list[tuple[Path, str]] = []
    runs = list_runs(args.out, broken=broken)
    for folder, reason in broken:
        print(f"skipped {folder.name}: {reason}", file=sys.stderr)
    if not runs:
        print(f"no runs in {args.out}", file=sys.stderr)
        return EXIT_OK
    rows = [("run", "ticker", "mode", "date", "U", "verdict")]
    for run in runs:
        u = "-" if run.theils_u is None else f"{run.theils_u:.3f}"
        rows.append((run.run_id, run.ticker or "?", run.mode or "?", run.created or "?", u,
                     run.verdict or "(no metrics.json)"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths)) + "  " + r[-1])
    return EXIT_OK


# ---------------------------------------------------------------------------------------------- predict


def add_predict_command(subparsers: Any) -> None:
    parser = subparsers.add_parser("predict", help="forecast ahead of new prices with a saved model",
                                   description="Forecast the next bars (trading days of daily prices) of a CSV "
                                               "of prices with a saved model (recursive for a one-step model, "
                                               "direct otherwise), with bands from Monte Carlo dropout plus the "
                                               "model's validation residuals. Prints forecast.csv's path last.")
    parser.add_argument("--model", required=True, type=Path, metavar="DIR",
                        help="a model folder (<run>/model) or a run folder (its promoted model is used)")
    parser.add_argument("--csv", dest="csv_path", required=True, type=Path, metavar="PATH",
                        help="prices of the model's bar frequency, as for `run --csv`")
    parser.add_argument("--steps", type=int, default=None,
                        help="bars ahead, trading days for daily prices (default: forecast_days)")
    parser.add_argument("--samples", type=int, default=None, help="Monte Carlo dropout passes (default: mc_samples)")
    parser.add_argument("--target", default=None, help="refuse the model unless it predicts this target")
    parser.add_argument("--out", type=Path, default=None, help="output CSV (default: <run>/forecast.csv)")
    parser.add_argument("--ledger", type=Path, default=None, metavar="PATH",
                        help="also record the forecast in this ledger (e.g. <run>/ledger.sqlite)")
    parser.set_defaults(handler=handle_predict)


def _model_dir(path: Path) -> Path:
    """A model folder as given, or the promoted model of a run folder."""
    from helpers.monitor import current_model_dir

    if (path / "model.keras").exists() or not (path / "config.json").exists():
        return path
    return current_model_dir(path)


def handle_predict(args: argparse.Namespace) -> int:
    from helpers.artifacts import ManifestMismatchError
    from helpers.data import DataSourceError
    from helpers.predict import predict_from_artifact

    if args.steps is not None and args.steps < 1:
        raise ConfigError("steps", args.steps, "a whole number of bars ahead (trading days for daily bars) >= 1")
    if args.samples is not None and args.samples < MIN_MC_SAMPLES:
        raise ConfigError("samples", args.samples, f"a whole number of Monte Carlo dropout passes >= {MIN_MC_SAMPLES} "
                                                   "(bands need a spread)")
    if not args.model.is_dir():
        raise ConfigError("model", str(args.model), "a model folder (<run>/model) or a run folder; "
                                                    f"{_what_is(args.model)}")
    _check_input_file("csv", args.csv_path, "a CSV file of prices (daily, weekly or intraday bars)")
    model_dir = _model_dir(args.model)
    out = args.out or model_dir.parent / "forecast.csv"
    _check_output_file("out", out, "a file path for the forecast CSV, e.g. forecast.csv")
    try:
        forecast = predict_from_artifact(model_dir, args.csv_path, out_path=out, steps=args.steps,
                                         target=args.target, n_samples=args.samples)
    except ManifestMismatchError:
        raise   # prices the model cannot read (another frequency, a gap, too few rows): bad input, exit 2
    except (DataSourceError, FileNotFoundError, ValueError) as err:
        raise CliError(f"{type(err).__name__}: {err}") from err
    if args.ledger is not None:
        _record_forecast(args.ledger, model_dir, args.csv_path, forecast)
    print(forecast.to_string(index=False), file=sys.stderr)
    print(str(out), flush=True)
    return EXIT_OK


def _record_forecast(ledger_path: Path, model_dir: Path, csv_path: Path, forecast: Any) -> None:
    from helpers.atomic import read_json
    from helpers.ledger import Ledger, forecast_rows
    from helpers.providers.csvfile import read_price_csv
    from helpers.validation import clean_prices

    manifest = read_json(model_dir / "manifest.json")
    prices, _ = clean_prices(read_price_csv(csv_path, auto_adjust=manifest["config"].get("auto_adjust", True)))
    rows = forecast_rows(forecast, as_of_date=prices.index[-1], as_of_close=float(prices["close"].iloc[-1]),
                         run_id=model_dir.parent.name, model_fingerprint=manifest["model_file"]["sha256"])
    added = Ledger(ledger_path).append(rows)
    print(f"recorded {added} forecast rows in {ledger_path}", file=sys.stderr)


# ---------------------------------------------------------------------------------------------- score


def add_score_command(subparsers: Any) -> None:
    parser = subparsers.add_parser("score", help="record actual prices in a run's ledger and report its errors",
                                   description="Record the actual close of every forecast target date the CSV "
                                               "has, then print realized errors beside persistence.")
    parser.add_argument("--run", required=True, type=Path, metavar="DIR", help="the run folder (its ledger.sqlite)")
    parser.add_argument("--csv", dest="csv_path", required=True, type=Path, metavar="PATH",
                        help="prices (the bars the forecasts were for)")
    parser.set_defaults(handler=handle_score)


def handle_score(args: argparse.Namespace) -> int:
    from helpers.data import DataSourceError
    from helpers.ledger import Ledger
    from helpers.providers.csvfile import read_price_csv
    from helpers.runfolder import RunPaths
    from helpers.validation import clean_prices

    paths = RunPaths(args.run)
    _check_input_file("csv", args.csv_path, "a CSV file of prices (daily, weekly or intraday bars)")
    if not paths.ledger.exists():
        raise ConfigError("run", str(args.run), f"a run folder with a ledger ({paths.ledger} is missing: run "
                                                "notebook 07_forecast or `predict --ledger` first)")
    try:
        prices, _ = clean_prices(read_price_csv(args.csv_path))
    except (DataSourceError, ValueError) as err:
        raise CliError(f"{type(err).__name__}: {err}") from err
    ledger = Ledger(paths.ledger)
    added = ledger.score(prices)
    print(f"recorded {added} new actual price(s) in {paths.ledger}", file=sys.stderr)
    summary = ledger.summary()
    print(summary.to_string(index=False) if not summary.empty else "no forecast has come due yet", file=sys.stderr)
    print(str(paths.ledger), flush=True)
    return EXIT_OK


# ---------------------------------------------------------------------------------------------- retrain


def add_retrain_command(subparsers: Any) -> None:
    parser = subparsers.add_parser("retrain", help="retrain on newer prices when monitoring says so; promote if better",
                                   description="Check the run's ledger and input drift; when a retrain is due (or "
                                               "--force), train on the newer prices, keep both models and promote "
                                               "the new one only if it beats the current one on held-out recent rows.")
    parser.add_argument("--run", required=True, type=Path, metavar="DIR", help="the run folder")
    parser.add_argument("--csv", dest="csv_path", required=True, type=Path, metavar="PATH",
                        help="prices covering the old data and newer bars")
    parser.add_argument("--force", action="store_true", help="retrain even without a signal")
    parser.add_argument("--holdout", type=int, default=60, help="recent rows that judge old vs new (default 60)")
    parser.set_defaults(handler=handle_retrain)


def handle_retrain(args: argparse.Namespace) -> int:
    from helpers.artifacts import ManifestMismatchError
    from helpers.data import DataSourceError
    from helpers.monitor import retrain_if_needed

    if not (args.run / "config.json").exists():
        raise ConfigError("run", str(args.run), "a run folder holding config.json and model/")
    if args.holdout < 1:
        raise ConfigError("holdout", args.holdout, "a whole number of recent rows >= 1")
    _check_input_file("csv", args.csv_path, "a CSV file of prices (daily, weekly or intraday bars)")
    try:
        result = retrain_if_needed(args.run, args.csv_path, force=args.force, holdout=args.holdout)
    except (ManifestMismatchError, DataSourceError, FileNotFoundError, ValueError) as err:
        raise CliError(f"{type(err).__name__}: {err}") from err
    print(result.summary(), file=sys.stderr)
    print(str(result.new_dir if result.promoted else result.old_dir), flush=True)
    return EXIT_OK


# ---------------------------------------------------------------------------------------------- main



# ---------------------------------------------------------------------------------------------- collect


def add_collect_command(subparsers: Any) -> None:
    parser = subparsers.add_parser("collect", help="fetch and clean prices into a CSV (the first step of a daily job)",
                                   description="Fetch prices through the source chain, clean them with the "
                                               "report's policy and write a CSV that `predict`, `score` and "
                                               "`retrain` read. Prints the CSV's path last.")
    parser.add_argument("--ticker", required=True, help="symbol, e.g. AAPL, BTC-USD, ^GSPC")
    parser.add_argument("--source", choices=SOURCES, default="auto", help="where prices come from")
    parser.add_argument("--csv", dest="csv_path", default=None, metavar="PATH",
                        help="a CSV of prices (daily, weekly or intraday bars)")
    parser.add_argument("--start", default=None, metavar="YYYY-MM-DD", help="first date (inclusive)")
    parser.add_argument("--refresh", action="store_true", help="download again even when the cache has the range")
    parser.add_argument("--out", type=Path, required=True, metavar="PATH", help="the CSV to write")
    parser.set_defaults(handler=handle_collect)


def handle_collect(args: argparse.Namespace) -> int:
    from helpers.atomic import atomic_write_csv
    from helpers.data import load_prices
    from helpers.validation import clean_prices

    if args.csv_path is not None:
        _check_input_file("csv", args.csv_path, "a CSV file of prices (daily, weekly or intraday bars)")
    _check_output_file("out", args.out, "a file path for the cleaned CSV, e.g. prices.csv")
    values = {"ticker": args.ticker, "source": "csv" if args.csv_path else args.source,
              "csv_path": args.csv_path, "start": args.start}
    config = RunConfig.from_overrides({k: v for k, v in values.items() if v is not None})
    prices, report = clean_prices(load_prices(config, refresh=args.refresh).prices)
    print(report.summary(), file=sys.stderr)
    print(atomic_write_csv(args.out, prices))
    return EXIT_OK


# ---------------------------------------------------------------------------------------------- panel


def add_panel_command(subparsers: Any) -> None:
    parser = subparsers.add_parser("panel", help="one pooled network for many stocks (notebook 09_panel, headless)",
                                   description="Train one network per study period on every ticker of a panel, "
                                               "judge its cross-sectional ranking (IC, long/short after costs, "
                                               "random rankings, reversal and momentum) into DIR/<run-id>/. Prints "
                                               "the run's index.html path last.")
    inputs = parser.add_mutually_exclusive_group(required=True)
    inputs.add_argument("--csv", dest="csv_path", default=None, metavar="WIDE.csv",
                        help="one wide CSV: a date column, then one close column per ticker")
    inputs.add_argument("--csv-dir", default=None, metavar="DIR", help="a folder of per-ticker CSVs (ticker = name)")
    inputs.add_argument("--tickers", default=None, help="comma-separated symbols through the cache and yfinance")
    inputs.add_argument("--universe", dest="universe_path", default=None, metavar="FILE",
                        help="a universe file: tickers one per line and a '# as_of: YYYY-MM-DD' line")
    parser.add_argument("--mode", choices=MODES, default="full",
                        help="quick: short sequences and a small network; full: Fischer & Krauss's settings")
    parser.add_argument("--set", dest="set_values", action="append", metavar="KEY=VALUE", default=[],
                        help="any PanelConfig field, e.g. --set top_k=3 --set split_year=2010 (repeatable)")
    parser.add_argument("--dask", dest="dask_address", default=None, metavar="ADDRESS",
                        help="run the study periods as tasks on an existing Dask scheduler, e.g. tcp://10.0.0.5:8786")
    parser.add_argument("--out", type=Path, default=DEFAULT_REPORTS, help="folder of run folders (default: reports/)")
    parser.add_argument("--no-code", action="store_true", help="leave code cells out of the notebook's HTML")
    parser.add_argument("--notebooks-dir", type=Path, default=None, help="folder holding 09_panel.ipynb")
    parser.add_argument("--kernel", default="python3", help="Jupyter kernel name (default: python3)")
    parser.set_defaults(handler=handle_panel)


def handle_panel(args: argparse.Namespace) -> int:
    from helpers.panel_config import PanelConfig
    from helpers.panel_runner import run_panel
    from helpers.runner import NotebookFailed

    overrides: dict[str, Any] = parse_set_options(args.set_values)
    if "mode" in overrides:
        raise ConfigError("mode", overrides["mode"], "set with --mode quick|full, not --set")
    for name in ("csv_path", "csv_dir", "tickers", "universe_path", "dask_address"):
        if getattr(args, name) is not None:
            overrides[name] = getattr(args, name)
    config = PanelConfig.for_mode(args.mode, **overrides)
    try:
        run_dir = run_panel(config, out_dir=args.out, notebooks_dir=args.notebooks_dir, kernel_name=args.kernel,
                            no_code=args.no_code)
    except NotebookFailed as failure:
        print(str(failure.run_dir / "index.html"), flush=True)
        raise CliError(str(failure)) from failure
    print(f"run folder: {run_dir}", file=sys.stderr)
    print(str(run_dir / "index.html"), flush=True)
    return EXIT_OK


COMMANDS: list[Callable[[Any], None]] = [add_run_command, add_batch_command, add_list_command, add_predict_command,
                                          add_score_command, add_retrain_command, add_collect_command,
                                          add_panel_command]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lstm-lab", description="Stock-price prediction with stacked RNNs, evaluated against persistence.")
    parser.add_argument("--debug", action="store_true", help="print the traceback of a failure, not just its message")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add_command in COMMANDS:
        add_command(subparsers)
    for subparser in subparsers.choices.values():   # `lstm-lab predict ... --debug` works too
        subparser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default sys.argv[1:]), run the subcommand, return the exit code.

    Every failure becomes one message on stderr and an exit code (:func:`exit_code_for`); the traceback
    follows only with ``--debug``.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:   # argparse exits 2 on bad usage (after printing why) and 0 on --help
        return int(stop.code or 0)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print(f"lstm-lab {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # noqa: BLE001 - the one place every failure becomes a message and a code
        code = exit_code_for(err)
        print(f"lstm-lab {args.command}: {failure_message(err)}", file=sys.stderr)
        if args.debug:
            traceback.print_exception(err, file=sys.stderr)
        return code


def exit_code_for(err: BaseException) -> int:
    """2 for bad input: a parameter or path on the command line (ConfigError), or data the run refuses before
    any long work (too short a history, a CSV whose format is ambiguous, bars that are not daily, prices a
    model cannot read); 1 for everything else (network, a notebook that failed, the unexpected)."""
    return EXIT_BAD_PARAMETER if isinstance(err, (ConfigError, *_bad_input())) else EXIT_FAILED


def _bad_input() -> tuple[type[BaseException], ...]:
    from helpers.frequency import FrequencyError
    from helpers.mismatch import ManifestMismatchError
    from helpers.providers.base import CsvFormatError
    from helpers.validation import InsufficientHistoryError

    return (InsufficientHistoryError, FrequencyError, CsvFormatError, ManifestMismatchError)


def failure_message(err: BaseException) -> str:
    """One message: ``error: ...`` for a bad parameter, ``run failed: ...`` for a failed run, ``failed: Type:
    ...`` for an expected failure of data, model or files, and ``unexpected Type: ...`` (with where to look)
    for anything else. Notes added on the way (the data source chain) follow on their own lines."""
    if isinstance(err, ConfigError):
        text = f"error: {err}"
    elif isinstance(err, CliError):
        text = f"run failed: {err}"
    elif isinstance(err, _expected_failures()):
        text = f"failed: {type(err).__name__}: {err}"
    else:
        text = (f"unexpected {type(err).__name__}: {err} (run again with --debug for the traceback, and please "
                "report it)")
    notes = [str(n) for n in getattr(err, "__notes__", []) or []]
    return "\n".join([text] + ["  " + n for n in notes if n not in text])


def _expected_failures() -> tuple[type[BaseException], ...]:
    """Failures a command can meet in normal use: data sources, model artifacts, files and values."""
    from helpers.artifacts import ManifestMismatchError
    from helpers.data import DataSourceError

    return (DataSourceError, ManifestMismatchError, OSError, ValueError)


# ---------------------------------------------------------------------------------------------- path checks


def _check_csv_prices(config: RunConfig) -> None:
    """Read the run's CSV as notebook 01 will (local, a second): a file that cannot be read unambiguously or
    holds bars other than daily fails here, before a run folder exists or any notebook starts."""
    from helpers.data import load_prices

    load_prices(config)


def _check_input_file(name: str, path: Path | str, allowed: str) -> None:
    """A path the command reads must be an existing file (a folder there is named as a folder)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(name, str(path), f"{allowed}; {_what_is(path)}")


def _check_output_file(name: str, path: Path | str, allowed: str) -> None:
    """A path the command writes must not be a folder, and its parent must not be a file."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise ConfigError(name, str(path), f"{allowed}; {path.resolve()} is a directory")
    parent = next((p for p in path.absolute().parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise ConfigError(name, str(path), f"{allowed}; {parent} is a file, not a folder")


def _check_output_folder(path: Path | str) -> None:
    """--out of run and batch is a folder of run folders: refuse an existing file (or a file on the way)."""
    path = Path(path).expanduser()
    blocking = next((p for p in [path, *path.absolute().parents] if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise ConfigError("out", str(path), f"a folder to hold run folders; {blocking} is a file")


def _what_is(path: Path) -> str:
    """Why ``path`` is not what was asked: missing, a directory, or another kind of file."""
    if not path.exists():
        return f"{path.resolve()} does not exist"
    if path.is_dir():
        return f"{path.resolve()} is a directory"
    return f"{path.resolve()} is not a regular file"
