"""Run the series for many tickers at once: local worker processes or an existing Dask cluster.

Each ticker is one :func:`helpers.runner.run_series` call in its own process, so one failing ticker (a missing
CSV, a notebook that raises) is recorded in its row and never stops the others. The summary (HTML + CSV) lists
every ticker with its verdict, Theil's U and directional accuracy read from the run's metrics.json.
"""

from __future__ import annotations

import concurrent.futures as cf
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers.config import ConfigError, RunConfig
from helpers.report import headline_numbers, write_batch_summary
from helpers.runfolder import DEFAULT_REPORTS, RunPaths
from helpers.fanout import SECOND_PROCESS_ENV, work_executor
from helpers.runner import NotebookFailed, run_series, with_absolute_paths


# papermill changes the process's working directory while a notebook runs, so runs in one process take turns:
# a Dask worker with several threads runs one series at a time (start workers with --nthreads 1 and scale
# with --nworkers instead).
_ONE_RUN_PER_PROCESS = threading.Lock()


@dataclass(frozen=True)
class BatchRow:
    """The outcome of one ticker: ``status`` is "ok" or "failed" (then ``error`` says why)."""

    ticker: str
    status: str
    run_dir: str | None
    verdict: str | None
    theils_u: float | None
    directional_accuracy: float | None
    error: str | None


class BatchRows(list):
    """The rows of a batch, in the order the configs were given (a plain list of BatchRow), plus the paths of
    the summary written for them (``html_path``, ``csv_path``)."""

    def __init__(self, rows: Sequence[BatchRow], html_path: Path, csv_path: Path):
        super().__init__(rows)
        self.html_path = html_path
        self.csv_path = csv_path

    @property
    def failed(self) -> list[BatchRow]:
        return [row for row in self if row.status != "ok"]


def configs_from_csv_dir(directory: str | Path, mode: str = "full",
                         overrides: Mapping[str, Any] | None = None) -> list[RunConfig]:
    """One config per ``*.csv`` in ``directory`` (ticker = file stem, source = "csv"), sorted by file name."""
    directory = Path(directory).expanduser()
    if not directory.is_dir():
        raise ConfigError("csv_dir", str(directory), "an existing folder of price CSVs (one file per ticker)")
    files = sorted(directory.glob("*.csv"))
    if not files:
        raise ConfigError("csv_dir", str(directory), "a folder holding at least one *.csv file of prices")
    extra = dict(overrides or {})
    return [RunConfig.for_mode(mode, **{**extra, "ticker": f.stem, "source": "csv", "csv_path": str(f.resolve())})
            for f in files]


def configs_from_tickers(tickers: Sequence[str], mode: str = "full",
                         overrides: Mapping[str, Any] | None = None) -> list[RunConfig]:
    """One config per ticker on the defaults of ``mode`` plus ``overrides``; duplicates and blanks dropped."""
    names = list(dict.fromkeys(t.strip() for t in tickers if t and t.strip()))
    if not names:
        raise ConfigError("tickers", list(tickers), "one or more ticker symbols, e.g. AAPL,MSFT")
    extra = dict(overrides or {})
    return [RunConfig.for_mode(mode, **{**extra, "ticker": name}) for name in names]


def run_batch(configs: Sequence[RunConfig], *, workers: int = 1, dask_address: str | None = None,
              out_dir: str | Path = DEFAULT_REPORTS, notebooks_dir: str | Path | None = None,
              notebooks: Sequence[str] | None = None, no_code: bool = False, progress: bool = True,
              kernel_name: str = "python3") -> BatchRows:
    """Run every config's series, ``workers`` at a time in spawned processes, or on the Dask scheduler at
    ``dask_address`` (then the cluster decides the parallelism). Writes ``batch-<timestamp>.html/.csv`` into
    ``out_dir`` and returns the rows in the order of ``configs`` (a list, with the summary's paths attached).
    """
    if not configs:
        raise ConfigError("configs", [], "at least one run configuration (one per ticker)")
    if workers < 1:
        raise ConfigError("workers", workers, "a whole number of processes >= 1")
    out_dir = Path(out_dir).resolve()
    configs = [with_absolute_paths(config) for config in configs]   # workers need not share our cwd
    # Plain, absolute values: the job travels to other processes (or machines sharing the file system).
    job = dict(out_dir=str(out_dir), notebooks=None if notebooks is None else list(notebooks), no_code=no_code,
               notebooks_dir=None if notebooks_dir is None else str(Path(notebooks_dir).resolve()),
               kernel_name=kernel_name,
               # Tickers side by side already keep the cores busy: then one notebook at a time per ticker.
               notebook_workers=1 if workers > 1 or dask_address is not None else None)
    rows: list[BatchRow | None] = [None] * len(configs)
    from tqdm.auto import tqdm

    with work_executor(workers, dask_address) as executor, \
            tqdm(total=len(configs), desc="batch", unit="ticker", file=sys.stderr, disable=not progress) as bar:
        futures = {executor.submit(run_one, config, **job): i for i, config in enumerate(configs)}
        for future in cf.as_completed(futures):
            i = futures[future]
            try:
                rows[i] = future.result()
            except Exception as err:  # the worker itself died or could not run the task
                rows[i] = _failed_row(configs[i].ticker, None, f"{type(err).__name__}: {err}")
            bar.set_postfix_str(f"{rows[i].ticker}: {rows[i].status}")
            bar.update(1)
    done = [row for row in rows if row is not None]
    html_path, csv_path = write_batch_summary(done, out_dir)
    return BatchRows(done, html_path, csv_path)


def run_one(config: RunConfig, *, out_dir: str, notebooks_dir: str | None, notebooks: list[str] | None,
            no_code: bool, kernel_name: str, notebook_workers: int | None = None) -> BatchRow:
    """One ticker's series, in a worker process; every failure becomes a row, never an exception.
    ``notebook_workers``: notebooks at a time within the ticker's run (see :func:`helpers.runner.run_series`);
    at 1 (tickers side by side, the cores already shared out) its kernels start no second process either
    (``LSTM_LAB_SECOND_PROCESS=off`` unless the user set it, see :func:`helpers.fanout.second_process_wanted`)."""
    kernel_env = {SECOND_PROCESS_ENV: "off"} if notebook_workers == 1 else None
    try:
        with _ONE_RUN_PER_PROCESS:
            run_dir = run_series(config, out_dir=out_dir, notebooks_dir=notebooks_dir, notebooks=notebooks,
                                 no_code=no_code, progress=False, kernel_name=kernel_name,
                                 workers=notebook_workers, kernel_env_defaults=kernel_env)
    except NotebookFailed as failure:
        return _failed_row(config.ticker, failure.run_dir, str(failure).splitlines()[0])
    except Exception as err:
        return _failed_row(config.ticker, None, f"{type(err).__name__}: {err}")
    numbers = headline_numbers(_read_metrics(RunPaths(run_dir).metrics))
    return BatchRow(ticker=config.ticker, status="ok", run_dir=str(run_dir), error=None, **numbers)


def _failed_row(ticker: str, run_dir: Path | None, error: str) -> BatchRow:
    return BatchRow(ticker=ticker, status="failed", run_dir=None if run_dir is None else str(run_dir),
                    verdict=None, theils_u=None, directional_accuracy=None, error=error)


def _read_metrics(path: Path) -> dict[str, Any] | None:
    from helpers.atomic import read_json

    try:
        return read_json(path) if path.exists() else None
    except (OSError, ValueError):
        return None
