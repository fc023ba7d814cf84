"""A panel run folder: its files, notebook 09_panel executed headless into it, and its own index page.

``lstm-lab panel`` -> :func:`run_panel`: the config is checked (and the panel's files, and that at least one
study period fits) before anything is created; then ``DIR/<run-id>/`` gets ``panel_config.json``,
``09_panel.ipynb`` executed by papermill with the series' runner (same kernel environment, same failure
reporting), its HTML, and ``index.html``. The notebook writes the contract files with
:func:`write_panel_results`:

- ``panel_metrics.json``: ``ic``, ``rank_ic``, ``accuracy`` ({mean, sd, ci, t_stat, share_positive, n_days}),
  ``long_short`` ({before_costs, after_costs, turnover, p_value_random, ...}), ``baselines`` (name -> the same
  keys; ``random`` holds the random-ranking distribution), ``by_era``, ``by_period``, ``pooled_single_ticker``,
  ``about`` (data, survivorship, policy, config, study periods) and ``verdict``;
- ``panel_predictions.csv``: date (the origin: the close at which the score is known), ticker, score,
  next_day_return, expected_return, period;
- ``panel_daily.csv``: the model's daily IC and long/short returns; ``panel_data_report.json``: per ticker.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from helpers.atomic import atomic_write_csv, atomic_write_json, atomic_write_text, read_json
from helpers.config import ConfigError
from helpers.notebook import (INTERACTIVE_MODE, configure_logging, configure_plotting, repository_root,
                              resolve_run_dir)
from helpers.panel_config import PANEL_CONFIG_FILE, PanelConfig
from helpers.panel_data import PanelData, load_panel
from helpers.panel_windows import study_periods
from helpers.report import _e, _page, _section
from helpers.runfolder import DEFAULT_REPORTS, PROJECT_ROOT, RunPaths, new_run_id

if TYPE_CHECKING:   # the CLI starts a run without loading TensorFlow
    from helpers.panel_model import PanelStudy

log = logging.getLogger(__name__)

PANEL_NOTEBOOK = "09_panel"
METRICS_FILE = "panel_metrics.json"
PREDICTIONS_FILE = "panel_predictions.csv"
DAILY_FILE = "panel_daily.csv"
DATA_REPORT_FILE = "panel_data_report.json"


def default_panel_csv() -> Path:
    """The development panel beside the project (``../shared/data/panel/US14-close.csv``), when present."""
    return repository_root().parent / "shared" / "data" / "panel" / "US14-close.csv"


# ---------------------------------------------------------------------- inside the notebook
def start_panel_notebook(run_dir: str | os.PathLike | None, overrides: dict[str, Any] | None = None
                         ) -> tuple[PanelConfig, RunPaths]:
    """The first cell of 09_panel: settle the config and the run folder's paths.

    With a data source in ``overrides`` (csv_path, csv_dir, tickers or universe_path), or no
    ``panel_config.json`` yet, the config is built from ``overrides`` on the defaults of the mode they name and
    saved; otherwise the saved config is read and ``overrides`` apply in memory only.
    """
    overrides = dict(overrides or {})
    interactive = not run_dir
    paths = RunPaths(resolve_run_dir(run_dir) / "panel" if interactive else resolve_run_dir(run_dir))
    paths.root.mkdir(parents=True, exist_ok=True)
    configure_plotting()
    configure_logging()
    saved = paths.root / PANEL_CONFIG_FILE
    sources = {"csv_path", "csv_dir", "tickers", "universe_path"}
    if interactive and not sources & set(overrides) and not saved.exists() and default_panel_csv().is_file():
        overrides["csv_path"] = str(default_panel_csv())   # JupyterLab with no source: the shared 14-stock panel
    if sources & set(overrides) or not saved.exists():
        mode = overrides.pop("mode", INTERACTIVE_MODE if interactive else "full")
        config = PanelConfig.for_mode(mode, **overrides)
        config.save(saved)
    else:
        config = PanelConfig.load(saved)
        overrides.pop("mode", None)
        if overrides:
            config = config.replace(**overrides)
    if config.data_source == "none":
        raise ConfigError("csv_path", None, "a panel source in overrides: csv_path (a wide CSV such as "
                                            "../../shared/data/panel/US14-close.csv), csv_dir, tickers or universe_path")
    return config, paths


def write_panel_results(root: str | Path, study: "PanelStudy", result: dict[str, Any], panel: PanelData,
                        config: PanelConfig) -> Path:
    """Write the contract files of a panel run into ``root``; return the path of panel_metrics.json."""
    root = Path(root)
    daily = result.get("daily")
    metrics = {k: v for k, v in result.items() if k not in ("daily", "random_rankings")}
    first = study.predictions["date"].min()
    metrics["about"] = {
        "survivorship": panel.meta.get("survivorship"), "policy": panel.meta.get("policy"),
        "provenance": panel.meta.get("provenance"), "tickers": panel.tickers, "days": int(len(panel.closes)),
        "first_day": str(panel.closes.index[0].date()), "last_day": str(panel.closes.index[-1].date()),
        "first_trade_origin": None if pd.isna(first) else str(pd.Timestamp(first).date()),
        "dropped_dates": panel.meta.get("dropped_dates", []), "config": config.to_dict(),
        "study_periods": [{k: v for k, v in p.items() if k != "history"} for p in study.periods],
        "written_at": dt.datetime.now().isoformat(timespec="seconds"),
    }
    predictions = study.predictions.copy()
    predictions["date"] = pd.to_datetime(predictions["date"]).dt.strftime("%Y-%m-%d")
    atomic_write_csv(root / PREDICTIONS_FILE, predictions, index=False)
    if isinstance(daily, pd.DataFrame):
        atomic_write_csv(root / DAILY_FILE, daily.rename_axis("date"))
    atomic_write_json(root / DATA_REPORT_FILE, {"policy": panel.meta.get("policy"),
                                                "tickers": panel.report.reset_index().to_dict(orient="records")})
    return atomic_write_json(root / METRICS_FILE, metrics)


# ---------------------------------------------------------------------- headless runs
def check_panel_config(config: PanelConfig) -> PanelConfig:
    """Checks that need no long work: a data source, its files, and (for files) that a study period fits.

    Returns the config with file paths made absolute (the notebook runs in notebooks/). Raises ConfigError.
    """
    changes = {}
    for field in ("csv_path", "csv_dir", "universe_path"):
        value = getattr(config, field)
        if value:
            path = Path(value).expanduser().resolve()
            if not (path.is_dir() if field == "csv_dir" else path.is_file()):
                raise ConfigError(field, value, f"an existing {'folder' if field == 'csv_dir' else 'file'}; "
                                                f"{path} does not exist")
            changes[field] = str(path)
    config = config.replace(**changes) if changes else config
    if config.data_source == "none":
        raise ConfigError("csv", None, "a panel: --csv WIDE.csv, --csv-dir DIR or --tickers A,B,...")
    if config.data_source in ("csv", "csv_dir"):
        panel = load_panel(config)
        try:
            study_periods(len(panel.closes), config.train_days, config.trade_days)
        except ValueError as err:
            raise ConfigError("train_days", config.train_days, str(err)) from None
    return config


def panel_run_id(config: PanelConfig, when: dt.datetime | None = None) -> str:
    """``panel-<data name>-YYYY-MM-DDTHHMM-<cell>``, e.g. ``panel-US14-close-2026-12-01T0630-lstm``."""
    source = config.csv_path or config.csv_dir or config.universe_path
    name = Path(source).stem if source else "-".join(config.tickers[:3]) + ("-etc" if len(config.tickers) > 3 else "")
    return new_run_id("panel-" + re.sub(r"[^A-Za-z0-9.-]+", "_", name), config.cell, when)


def run_panel(config: PanelConfig, *, out_dir: str | Path = DEFAULT_REPORTS, run_id: str | None = None,
              notebooks_dir: str | Path | None = None, kernel_name: str = "python3", no_code: bool = False) -> Path:
    """Execute 09_panel headless into a new run folder under ``out_dir``; return the folder.

    Raises ConfigError before creating anything when the config or its data is bad, and
    :class:`helpers.runner.NotebookFailed` (the folder kept, its index saying so) when the notebook raises.
    """
    from helpers.report import NotebookStatus
    from helpers.config import RunConfig
    from helpers.runner import (NotebookFailed, _create_run_dir, _export_quietly, _kernel_environment,
                                execute_notebook, export_html, preflight)

    config = check_panel_config(config)
    preflight(RunConfig(), kernel_name=kernel_name)   # the kernel is installed (a default RunConfig needs no file)
    source = Path(notebooks_dir or PROJECT_ROOT / "notebooks").resolve() / f"{PANEL_NOTEBOOK}.ipynb"
    if not source.is_file():
        raise ConfigError("notebooks_dir", str(source.parent), f"a folder holding {PANEL_NOTEBOOK}.ipynb")
    paths = RunPaths(_create_run_dir(Path(out_dir).resolve(), run_id or panel_run_id(config)))
    config.save(paths.root / PANEL_CONFIG_FILE)
    status = NotebookStatus("interrupted")
    try:
        with _kernel_environment():
            execute_notebook(source, paths, kernel_name=kernel_name)
        status = NotebookStatus("ok")
        export_html(paths.notebook(PANEL_NOTEBOOK), paths.notebook_html(PANEL_NOTEBOOK), no_code=no_code)
    except NotebookFailed as failure:
        status = failure.status
        _export_quietly(paths, PANEL_NOTEBOOK, no_code)
        raise
    finally:
        write_panel_index(paths.root, config, status)
    return paths.root


# ---------------------------------------------------------------------- the index page
def write_panel_index(root: str | Path, config: PanelConfig, status: Any = None) -> Path:
    """``index.html`` of a panel run: verdict, survivorship note, the headline table (model and baselines),
    results before/from the split year, per study period, and the link to the executed notebook."""
    root = Path(root)
    metrics_path = root / METRICS_FILE
    metrics = read_json(metrics_path) if metrics_path.exists() else None
    parts = [f"<h1>Pooled panel run {_e(root.name)}</h1>"]
    if status is not None and getattr(status, "state", "ok") != "ok":
        parts.append(f"<p class='error'>Notebook {PANEL_NOTEBOOK}: {_e(status.label)} {_e(status.error or '')}</p>")
    if metrics is None:
        parts.append(f"<p class='missing'>No {METRICS_FILE} yet: notebook {PANEL_NOTEBOOK} writes it.</p>")
    else:
        about = metrics.get("about", {})
        parts.append(f"<p><strong>{_e(metrics.get('verdict', ''))}</strong></p>")
        parts.append(f"<p>{_e(about.get('survivorship', ''))}</p>")
        overall = {"model": metrics, **metrics.get("baselines", {})}
        parts.append(_section("Model and baselines, every trading day", _ranking_table(overall)))
        for era, rankings in metrics.get("by_era", {}).items():
            parts.append(_section(f"Trading days {era.replace('_', ' ')}", _ranking_table(rankings)))
        parts.append(_section("By study period", _period_table(metrics.get("by_period", []))))
        parts.append(_section("Data", f"<p>{_e(about.get('provenance', ''))}: {len(about.get('tickers', []))} tickers, "
                                      f"{_e(about.get('first_day'))} to {_e(about.get('last_day'))}.</p>"
                                      f"<p>{_e(about.get('policy', ''))}</p>"))
    link = f"{PANEL_NOTEBOOK}.html"
    parts.append(_section("Notebook", f"<p><a href='{link}'>{PANEL_NOTEBOOK}</a> (the executed notebook)</p>"
                          if (root / link).exists() else "<p class='missing'>The notebook's HTML is missing.</p>"))
    parts.append(_section("Config", f"<pre>{_e(config.to_dict())}</pre>"))
    return atomic_write_text(root / "index.html", _page(f"panel {root.name}", "\n".join(parts)))


def _pct(value: Any, scale: float = 1e4, unit: str = " bp") -> str:
    return "—" if value is None else f"{value * scale:+.1f}{unit}"


def _num(value: Any, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _ranking_table(rankings: dict[str, Any]) -> str:
    """One row per ranking (name -> its judged dict; entries without an IC, like the random summary, skipped)."""
    rows = ["<table><tr><th>ranking</th><th>IC [95%]</th><th>rank IC</th><th>accuracy</th>"
            "<th>long/short a day, before costs</th><th>after costs</th><th>Sharpe after costs</th>"
            "<th>p (random)</th></tr>"]
    for name, judged in rankings.items():
        if not isinstance(judged, dict) or "ic" not in judged:
            continue
        ic, ls = judged["ic"], judged["long_short"]
        rows.append(f"<tr><td>{_e(name)}</td><td>{_num(ic['mean'])} [{_num(ic['ci'][0])}, {_num(ic['ci'][1])}]</td>"
                    f"<td>{_num(judged['rank_ic']['mean'])}</td><td>{_num(judged['accuracy']['mean'])}</td>"
                    f"<td>{_pct(ls['before_costs']['mean'])}</td><td>{_pct(ls['after_costs']['mean'])}</td>"
                    f"<td>{_num(ls['after_costs']['sharpe'], 2)}</td><td>{_num(ls.get('p_value_random'), 3)}</td></tr>")
    return "\n".join(rows) + "</table>"


def _period_table(periods: list[dict[str, Any]]) -> str:
    rows = ["<table><tr><th>period</th><th>trading days</th><th>model IC</th><th>model long/short after costs</th>"
            "<th>1-day reversal after costs</th></tr>"]
    for p in periods:
        rows.append(f"<tr><td>{p['period']}</td><td>{_e(p['trade_start'])} to {_e(p['trade_end'])}</td>"
                    f"<td>{_num(p['model']['ic'])}</td><td>{_pct(p['model']['long_short_after_costs'])}</td>"
                    f"<td>{_pct(p['reversal_1d']['long_short_after_costs'])}</td></tr>")
    return "\n".join(rows) + "</table>"
