"""The run's front page (``index.html``), the batch summary, and the one-line summaries of past runs.

The index needs nothing from the network: inline CSS, the run folder's one ``plotly.min.js`` loaded by relative
path (only when there is a forecast chart), and relative links to the notebooks' HTML beside it, so a run folder
can be zipped and opened anywhere offline.
Every section reads its own file from the run folder and says so when that file is missing, so the page
also describes a partial run (a notebook failed) honestly.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from helpers.atomic import atomic_write_csv, atomic_write_text, read_json
from helpers.config import RunConfig
from helpers.plotlyjs import draws_plotly, figure_html, script_tag, write_plotlyjs
from helpers.runfolder import RunPaths

log = logging.getLogger(__name__)

# Columns of the headline table, in order: (metrics.json key, column title with its unit, kind of number).
# Kinds: "price" (the series' own currency, rounded alike down the column), "percent" (metrics.json holds
# MAPE in percent already), "fraction" (shown as a percentage), "ratio" (unitless, four decimals).
HEADLINE_COLUMNS = (("rmse", "RMSE (price units)", "price"), ("mae", "MAE (price units)", "price"),
                    ("mape", "MAPE (%)", "percent"), ("mase", "MASE (unitless)", "ratio"),
                    ("directional_accuracy", "directional accuracy (%)", "fraction"))
U_TITLE = "Theil's U (unitless)"
PRICE_DIGITS = 4        # significant digits of the smallest price-unit value of a column
NOTEBOOK_STATES = ("ok", "failed", "not run", "interrupted")


@dataclass(frozen=True)
class NotebookStatus:
    """What happened to one notebook of a run: ``state`` is ok, failed, not run or interrupted.

    ``cell_number`` counts the notebook's cells from 1 (markdown cells included), as a reader scrolling the
    notebook counts them; ``error`` is ``"ExceptionName: message"``.
    """

    state: str
    cell_number: int | None = None
    error: str | None = None

    def __post_init__(self) -> None:
        if self.state not in NOTEBOOK_STATES:
            raise ValueError(f"notebook state {self.state!r} is not one of {', '.join(NOTEBOOK_STATES)}")

    @property
    def label(self) -> str:
        """``ok``, ``failed at cell 3``, ``not run``, ..."""
        if self.state == "failed" and self.cell_number is not None:
            return f"failed at cell {self.cell_number}"
        return self.state


@dataclass(frozen=True)
class RunSummary:
    """One line about a run folder, for ``lstm-lab list`` and batch summaries; missing facts are None."""

    run_id: str
    run_dir: str
    ticker: str | None
    mode: str | None
    cell: str | None
    created: str | None          # local time the run folder's config was written, "YYYY-MM-DD HH:MM"
    verdict: str | None
    theils_u: float | None
    directional_accuracy: float | None


# ---------------------------------------------------------------------------------------------- reading a run


def headline_numbers(metrics: Mapping[str, Any] | None) -> dict[str, Any]:
    """The model's verdict, Theil's U and directional accuracy from a metrics.json dict (None when absent).

    ``theils_u`` may be a number (the model against persistence) or a dict per forecaster; the model's is taken.
    """
    metrics = metrics or {}
    u = metrics.get("theils_u")
    if isinstance(u, Mapping):
        u = u.get("model")
    model = (metrics.get("test") or {}).get("model") or {}
    return {"verdict": metrics.get("verdict"), "theils_u": _number_or_none(u),
            "directional_accuracy": _number_or_none(model.get("directional_accuracy"))}


def summarize_run(run_dir: str | Path) -> RunSummary:
    """Read a run folder's config.json and metrics.json (either may be missing).

    Raises :class:`BrokenRunError` naming the file when one is unreadable, not JSON, or not shaped as this
    project writes it (a list where an object belongs), so a listing can skip that folder and say why.
    """
    paths = RunPaths(Path(run_dir))
    config = _json_object(paths.config) or {}
    metrics = _json_object(paths.metrics)
    try:
        numbers = headline_numbers(metrics)
    except AttributeError as err:     # e.g. "test" holds a list instead of an object
        raise BrokenRunError(f"{paths.metrics} is not shaped like metrics.json ({err})") from None
    numbers["verdict"] = _text_or_none(numbers["verdict"])
    created = None
    if paths.config.exists():
        created = dt.datetime.fromtimestamp(paths.config.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
    return RunSummary(run_id=paths.root.name, run_dir=str(paths.root), ticker=_text_or_none(config.get("ticker")),
                      mode=_text_or_none(config.get("mode")), cell=_text_or_none(config.get("cell")),
                      created=created, **numbers)


def list_runs(out_dir: str | Path, broken: list[tuple[Path, str]] | None = None) -> list[RunSummary]:
    """Every run folder (a folder holding config.json) directly under ``out_dir``, oldest first.

    A folder whose files cannot be read is left out, so one damaged folder never hides the others: it is
    logged, or, when a list is passed as ``broken``, appended to it as ``(folder, reason)``.
    """
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        return []
    folders = [p for p in out_dir.iterdir() if p.is_dir() and RunPaths(p).config.exists()]
    folders.sort(key=lambda p: (RunPaths(p).config.stat().st_mtime, p.name))
    runs = []
    for folder in folders:
        try:
            runs.append(summarize_run(folder))
        except (BrokenRunError, OSError) as err:
            if broken is None:
                log.warning("skipped run folder %s: %s", folder, err)
            else:
                broken.append((folder, str(err)))
    return runs


class BrokenRunError(ValueError):
    """A run folder's config.json or metrics.json cannot be read as this project writes it."""


def _json_object(path: Path) -> dict[str, Any] | None:
    """The JSON object at ``path``, None when the file is absent, BrokenRunError when it is anything else."""
    if not path.exists():
        return None
    try:
        value = read_json(path)
    except (OSError, ValueError) as err:
        raise BrokenRunError(f"{path} is not readable JSON ({type(err).__name__}: {err})") from None
    if not isinstance(value, dict):
        raise BrokenRunError(f"{path} holds a JSON {type(value).__name__}, not an object")
    return value


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


# ---------------------------------------------------------------------------------------------- index.html


def write_index(run_dir: str | Path, config: RunConfig,
                *, notebooks_status: Mapping[str, NotebookStatus | str]) -> Path:
    """Write ``run_dir/index.html``: title, data summary, headline results, forecast, notebook links, config.

    ``notebooks_status`` maps each notebook stem (``"01_collect"``) to its NotebookStatus (or a bare state
    such as ``"not run"``), in the order the series runs them.
    """
    paths = RunPaths(Path(run_dir))
    statuses = {stem: s if isinstance(s, NotebookStatus) else NotebookStatus(s) for stem, s in notebooks_status.items()}
    data_report = _read_json_or_none(paths.data_report)
    metrics = _read_json_or_none(paths.metrics)
    synthetic = _is_synthetic(data_report)
    title = f"{config.ticker} · run {paths.root.name} · {config.mode} mode"
    body = [
        f"<h1>{_e(config.ticker)} <small>run {_e(paths.root.name)} · {_e(config.mode)} mode · "
        f"{_e(config.cell)}</small></h1>",
        _synthetic_banner() if synthetic else "",
        _failure_banner(statuses),
        _section("Results on the test rows", _headline_html(metrics)),
        _section("Forecast", _forecast_html(paths)),
        _section("Data", _data_html(data_report)),
        _section("Notebooks", _notebooks_html(paths, statuses)),
        _section("Run configuration", _config_html(config)),
        f"<footer>Written {_e(dt.datetime.now().strftime('%Y-%m-%d %H:%M'))} by lstm-stock-lab. Every error "
        "is shown beside persistence (the next close = the last close), the yardstick a forecast must beat.</footer>",
    ]
    content = "\n".join(part for part in body if part)
    head = ""
    if draws_plotly(content):
        write_plotlyjs(paths.root)
        head = script_tag()
    return atomic_write_text(paths.index, _page(title, content, head=head))


def _headline_html(metrics: Mapping[str, Any] | None) -> str:
    if not metrics:
        return _missing("metrics.json", "06_evaluate")
    test = metrics.get("test") or {}
    if not isinstance(test, Mapping) or not test:
        return "<p class='missing'>metrics.json has no <code>test</code> scores.</p>"
    u_by_forecaster = _theils_u_by_forecaster(metrics)
    # The model first, its yardstick second, the other forecasters as metrics.json lists them.
    order = sorted(test, key=lambda name: {"model": 0, "persistence": 1}.get(name, 2))
    table = {name: {**(test[name] if isinstance(test[name], Mapping) else {}), "theils_u": u_by_forecaster.get(name)}
             for name in order}
    formats = column_formats(table.values())
    head = "".join(f"<th>{_e(title)}</th>" for _, title, _ in HEADLINE_COLUMNS) + f"<th>{_e(U_TITLE)}</th>"
    rows = []
    for name, scores in table.items():
        cells = "".join(f"<td>{formats[key](scores.get(key))}</td>" for key, _, _ in HEADLINE_COLUMNS)
        cells += f"<td>{formats['theils_u'](scores.get('theils_u'))}</td>"
        css = " class='model'" if name == "model" else (" class='yardstick'" if name == "persistence" else "")
        rows.append(f"<tr{css}><th scope='row'>{_e(name)}</th>{cells}</tr>")
    parts = []
    if metrics.get("verdict"):
        parts.append(f"<p class='verdict'><strong>{_e(metrics['verdict'])}</strong></p>")
    beaten = baseline_beats_model(u_by_forecaster)
    if beaten:
        parts.append(f"<p class='beaten'>{_e(beaten)}</p>")
    headline = headline_numbers(metrics)
    facts = []
    if headline["theils_u"] is not None:
        facts.append(f"Theil's U (model RMSE / persistence RMSE): <b>{_ratio(headline['theils_u'])}</b> "
                     "(below 1 beats persistence)")
    if headline["directional_accuracy"] is not None:
        ci = metrics.get("directional_accuracy_ci")
        ci_text = (f" (95% CI {_percent_of(ci[0])} to {_percent_of(ci[1])})"
                   if isinstance(ci, Sequence) and len(ci) == 2 else "")
        facts.append(f"directional accuracy {_percent_of(headline['directional_accuracy'])}{_e(ci_text)}")
    dm = metrics.get("diebold_mariano")
    if isinstance(dm, Mapping) and dm.get("p_value") is not None:
        facts.append(f"Diebold-Mariano vs persistence: statistic {_fixed(dm.get('statistic'), 2)}, "
                     f"p = {_fixed(dm.get('p_value'), 3)}")
    if facts:
        parts.append("<p>" + "; ".join(facts) + ".</p>")
    parts.append(f"<table class='headline'><thead><tr><th>forecaster</th>{head}</tr></thead>"
                 f"<tbody>{''.join(rows)}</tbody></table>")
    return "\n".join(parts)


def baseline_beats_model(u_by_forecaster: Mapping[str, float | None]) -> str | None:
    """One sentence naming the baselines with a lower Theil's U than the model's, or None when none has.

    Persistence's U is 1 by definition, so a model above 1 is always beaten by it.
    """
    model = _number_or_none(u_by_forecaster.get("model"))
    if model is None:
        return None
    better = sorted(((u, name) for name, u in ((n, _number_or_none(v)) for n, v in u_by_forecaster.items())
                     if name != "model" and u is not None and u < model))
    if not better:
        return None
    digits = next((d for d in range(4, 9) if all(f"{u:.{d}f}" != f"{model:.{d}f}" for u, _ in better)), 8)
    names = [f"{name} ({u:.{digits}f})" for u, name in better]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    verb = "scores" if len(names) == 1 else "score"
    return (f"{listed[0].upper() + listed[1:]} {verb} a lower Theil's U than the model's {model:.{digits}f}: "
            f"a naive forecast beats the network here.")


def column_formats(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """A formatter per headline column (metrics.json key -> function of a value), rounding each column alike.

    Price-unit columns get the decimals that show the column's smallest value with PRICE_DIGITS significant
    digits (2 to 6 decimals), so RMSE 0.0045 on a currency pair and 812.31 on bitcoin both read well and every
    row of one column has the same decimals.
    """
    rows = list(rows)
    formats: dict[str, Any] = {"theils_u": _ratio}
    for key, _, kind in HEADLINE_COLUMNS:
        if kind == "price":
            values = [abs(v) for v in (_number_or_none(r.get(key)) for r in rows) if v]
            decimals = _decimals_for(min(values)) if values else 2
            formats[key] = lambda v, d=decimals: _fixed(v, d)
        else:
            formats[key] = {"percent": lambda v: _fixed(v, 3), "fraction": _percent_of, "ratio": _ratio}[kind]
    return formats


def _decimals_for(smallest: float) -> int:
    """Decimals that show ``smallest`` with PRICE_DIGITS significant digits, between 2 and 6."""
    return min(6, max(2, PRICE_DIGITS - 1 - math.floor(math.log10(smallest))))


def _fixed(value: Any, decimals: int) -> str:
    number = _number_or_none(value)
    return "—" if number is None else f"{number:,.{decimals}f}"


def _ratio(value: Any) -> str:
    """A unitless ratio (Theil's U, MASE) with four decimals: 0.9988 and 1.0020 differ where it matters."""
    return _fixed(value, 4)


def _percent_of(value: Any) -> str:
    """A fraction (directional accuracy) as a percentage with one decimal: 0.512 -> 51.2%."""
    number = _number_or_none(value)
    return "—" if number is None else f"{100 * number:.1f}%"


def _theils_u_by_forecaster(metrics: Mapping[str, Any]) -> dict[str, float]:
    """Theil's U per forecaster: from metrics.json when given per forecaster, else RMSE / persistence's RMSE."""
    u = metrics.get("theils_u")
    given = metrics.get("theils_u_by_forecaster", u)
    if isinstance(given, Mapping):
        return {k: v for k, v in ((k, _number_or_none(v)) for k, v in given.items()) if v is not None}
    test = metrics.get("test") or {}
    base = _number_or_none((test.get("persistence") or {}).get("rmse"))
    out: dict[str, float] = {}
    if base:
        for name, scores in test.items():
            rmse = _number_or_none((scores or {}).get("rmse")) if isinstance(scores, Mapping) else None
            if rmse is not None:
                out[name] = rmse / base
    if _number_or_none(u) is not None:
        out["model"] = float(u)
    return out


def _forecast_html(paths: RunPaths) -> str:
    if not paths.forecast.exists():
        return _missing("forecast.csv", "07_forecast")
    try:
        from helpers import plots

        forecast = pd.read_csv(paths.forecast, parse_dates=["date"])
        if "method" in forecast.columns and forecast["method"].nunique() > 1:
            first = forecast["method"].iloc[0]
            forecast = forecast[forecast["method"] == first]
            note = f"<p>Method shown: {_e(first)} (forecast.csv holds {len(forecast)} rows per method).</p>"
        else:
            note = ""
        forecast = forecast.set_index("date")
        history = pd.Series(dtype=float)
        if paths.prices.exists():
            history = pd.read_parquet(paths.prices, columns=["close"])["close"]
        if history.empty:  # the chart starts its forecast line at the last close; without prices use the first step
            history = forecast["forecast"].iloc[:1]
        figure = plots.fan_chart(history, forecast, title="Forecast ahead with uncertainty bands")
        return note + figure_html(figure, default_height=450)
    except Exception as err:  # a broken chart must not cost the user the rest of the page
        log.warning("forecast chart skipped: %s", err)
        return f"<p class='missing'>The forecast chart could not be drawn from forecast.csv: {_e(err)}</p>"


def _data_html(report: Mapping[str, Any] | None) -> str:
    if not report:
        return _missing("data/data_report.json", "01_collect")
    meta = report.get("meta") or {}
    cleaning = report.get("cleaning") or {}
    fixes = cleaning.get("fixes") if isinstance(cleaning, Mapping) else None
    fixes = fixes if isinstance(fixes, list) else []
    touched = sum(int(f.get("count") or 0) for f in fixes if isinstance(f, Mapping))
    rows = [
        ("source", meta.get("source")),
        ("provenance", meta.get("provenance")),
        ("rows", report.get("rows", meta.get("rows"))),
        ("date range", f"{report.get('first_date', meta.get('start'))} to {report.get('last_date', meta.get('end'))}"),
        ("cleaning fixes", f"{len(fixes)} rule(s) applied, {touched} row(s) affected" if fixes else "none needed"),
    ]
    table = "".join(f"<tr><th scope='row'>{_e(k)}</th><td>{_e(v if v is not None else '—')}</td></tr>"
                    for k, v in rows)
    warnings = meta.get("warnings") or []
    warn_html = "".join(f"<li>{_e(w)}</li>" for w in warnings) if isinstance(warnings, list) else ""
    return (f"<table class='facts'>{table}</table>"
            + (f"<p>Warnings:</p><ul class='warnings'>{warn_html}</ul>" if warn_html else ""))


def _notebooks_html(paths: RunPaths, statuses: Mapping[str, NotebookStatus]) -> str:
    if not statuses:
        return "<p class='missing'>No notebooks were run.</p>"
    items = []
    for stem, status in statuses.items():
        page = paths.notebook_html(stem)
        name = (f"<a href='{_e(page.name)}'>{_e(stem)}</a>" if page.exists() else _e(stem))
        error = f" <span class='error'>{_e(status.error)}</span>" if status.error else ""
        css = status.state.replace(" ", "-")
        items.append(f"<li>{name} <span class='status {css}'>{_e(status.label)}</span>{error}</li>")
    return f"<ul class='notebooks'>{''.join(items)}</ul>"


def _config_html(config: RunConfig) -> str:
    rows = "".join(f"<tr><th scope='row'>{_e(k)}</th><td>{_e(json.dumps(v))}</td></tr>"
                   for k, v in config.to_dict().items())
    return (f"<details><summary>All {len(config.to_dict())} parameters (config.json)</summary>"
            f"<table class='config'>{rows}</table></details>")


def _is_synthetic(report: Mapping[str, Any] | None) -> bool:
    if not report:
        return False
    return bool(report.get("synthetic") or (report.get("meta") or {}).get("synthetic"))


def _synthetic_banner() -> str:
    return ("<div class='banner synthetic'>SYNTHETIC DATA: these prices were generated, not observed. "
            "Every number below describes a simulation, not a market.</div>")


def _failure_banner(statuses: Mapping[str, NotebookStatus]) -> str:
    failed = [(stem, s) for stem, s in statuses.items() if s.state in ("failed", "interrupted")]
    if not failed:
        return ""
    stem, status = failed[0]
    return (f"<div class='banner failed'>This run is incomplete: notebook {_e(stem)} {_e(status.label)}"
            f"{': ' + _e(status.error) if status.error else ''}. Later notebooks were not run.</div>")


# ---------------------------------------------------------------------------------------------- batch summary


def write_batch_summary(rows: Iterable[Any], out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``batch-<timestamp>.html`` and ``.csv`` in ``out_dir``: one row per ticker (BatchRow fields).

    Returns (html_path, csv_path). Batches never overwrite each other's summaries.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    records = [asdict(r) if hasattr(r, "__dataclass_fields__") else dict(r) for r in rows]
    stem = f"batch-{dt.datetime.now():%Y-%m-%dT%H%M%S}"
    base, n = stem, 2
    while (out_dir / f"{base}.html").exists() or (out_dir / f"{base}.csv").exists():
        base, n = f"{stem}-{n}", n + 1
    html_path, csv_path = out_dir / f"{base}.html", out_dir / f"{base}.csv"
    columns = list(records[0]) if records else ["ticker", "status", "run_dir", "verdict", "theils_u",
                                                "directional_accuracy", "error"]
    atomic_write_csv(csv_path, pd.DataFrame(records, columns=columns), index=False)
    atomic_write_text(html_path, _batch_page(records, columns, out_dir))
    return html_path, csv_path


def _batch_page(records: list[dict[str, Any]], columns: list[str], out_dir: Path) -> str:
    """One row per ticker with the index page's columns (the model's scores and units, from each run's
    metrics.json), the best baseline, the verdict, and a link to the run's index."""
    ok = sum(1 for r in records if r.get("status") == "ok")
    titles = ["ticker", "status", "run"] + [title for _, title, _ in HEADLINE_COLUMNS] + [
        U_TITLE, "best baseline (U)", "verdict"]
    head = "".join(f"<th>{_e(t)}</th>" for t in titles)
    body = [_batch_row(r, out_dir) for r in records]
    content = (f"<h1>Batch of {len(records)} run(s) <small>{ok} ok, {len(records) - ok} failed</small></h1>"
               "<p>Scores of each run's model on its own test rows. Theil's U is the model's RMSE over "
               "persistence's on the same rows: below 1 beats persistence. Directional accuracy near 50% is a "
               "coin toss. Price-unit columns are in each ticker's own currency.</p>"
               f"<div class='scroll'><table class='batch'><thead><tr>{head}</tr></thead>"
               f"<tbody>{''.join(body)}</tbody></table></div>")
    return _page(f"Batch summary ({len(records)} runs)", content)


def _batch_row(record: Mapping[str, Any], out_dir: Path) -> str:
    """One ticker's row: link, status, the model's headline scores, best baseline, verdict (or the error)."""
    run_dir = record.get("run_dir")
    metrics = _read_json_or_none(RunPaths(Path(run_dir)).metrics) if run_dir else None
    test = (metrics or {}).get("test") or {}
    model = test.get("model") if isinstance(test.get("model"), Mapping) else {}
    u_by = _theils_u_by_forecaster(metrics) if metrics else {}
    if "model" not in u_by and _number_or_none(record.get("theils_u")) is not None:
        u_by["model"] = float(record["theils_u"])
    model = {"directional_accuracy": record.get("directional_accuracy"), **model, "theils_u": u_by.get("model")}
    formats = column_formats([model])
    status = record.get("status")
    cells = [f"<th scope='row'>{_e(record.get('ticker'))}</th>",
             f"<td><span class='status {_e(status)}'>{_e(status)}</span></td>"]
    if run_dir:
        href = _relative_href(Path(run_dir) / "index.html", out_dir)
        cells.append(f"<td><a href='{_e(href)}'>{_e(Path(run_dir).name)}</a></td>")
    else:
        cells.append("<td>—</td>")
    cells += [f"<td class='num'>{formats[key](model.get(key))}</td>" for key, _, _ in HEADLINE_COLUMNS]
    cells.append(f"<td class='num'>{_ratio(model.get('theils_u'))}</td>")
    baselines = {n: u for n, u in u_by.items() if n != "model" and u is not None}
    best = min(baselines, key=baselines.get) if baselines else None
    cells.append(f"<td>{_e(best)} ({_ratio(baselines[best])})</td>" if best else "<td>—</td>")
    verdict = record.get("verdict") or ""
    beaten = baseline_beats_model(u_by)
    text = _e(verdict) + (f" <span class='beaten'>{_e(beaten)}</span>" if beaten else "")
    if record.get("error"):
        text += f" <span class='error'>{_e(record['error'])}</span>"
    cells.append(f"<td class='verdict-cell'>{text or '—'}</td>")
    return f"<tr>{''.join(cells)}</tr>"


def _relative_href(target: Path, start: Path) -> str:
    try:
        return target.resolve().relative_to(start.resolve()).as_posix()
    except ValueError:
        return target.resolve().as_uri()


# ---------------------------------------------------------------------------------------------- HTML pieces


_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1100px;
       padding: 0 1rem; color: #1a1a1a; line-height: 1.45; }
h1 small { font-weight: normal; color: #555; font-size: 0.55em; }
h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: 0.5rem 0; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: left; vertical-align: top; }
table.headline td, td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.model { background: #eef5ff; } tr.yardstick { color: #555; }
.banner { padding: 0.7rem 1rem; margin: 1rem 0; font-weight: bold; border-radius: 4px; }
.banner.synthetic { background: #fff3cd; border: 2px solid #e0a800; }
.banner.failed { background: #fde2e1; border: 2px solid #d9534f; }
.verdict { font-size: 1.1em; }
.scroll { overflow-x: auto; } table.batch thead th { position: sticky; top: 0; background: #f7f7f7; }
td.verdict-cell { min-width: 22rem; font-size: 0.9em; }
.beaten { background: #fff3cd; padding: 0.4rem 0.7rem; border-left: 4px solid #e0a800; }
.status { padding: 0 0.4rem; border-radius: 3px; font-size: 0.9em; }
.status.ok { background: #d4edda; } .status.failed, .status.interrupted { background: #f8d7da; }
.status.not-run { background: #eee; color: #555; }
.error { color: #a00; font-family: monospace; font-size: 0.9em; }
.missing { color: #666; font-style: italic; }
footer { margin-top: 3rem; color: #777; font-size: 0.85em; }
"""


def _page(title: str, body: str, *, head: str = "") -> str:
    """A whole page; ``head`` goes last in <head> (the plotly.js script tag, when the body draws figures)."""
    return (f"<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>\n<title>{_e(title)}</title>\n"
            f"<style>{_CSS}</style>\n{head}</head>\n<body>\n{body}\n</body>\n</html>\n")


def _section(title: str, content: str) -> str:
    anchor = title.lower().replace(" ", "-")
    return f"<section id='{_e(anchor)}'>\n<h2>{_e(title)}</h2>\n{content}\n</section>"


def _missing(filename: str, made_by: str) -> str:
    return f"<p class='missing'>No {_e(filename)} yet: notebook {_e(made_by)} writes it.</p>"


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _number_or_none(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number else number


def _read_json_or_none(path: Path) -> Any:
    """The JSON at ``path``, or None when missing or unreadable (logged: the page says the file is missing)."""
    if not path.exists():
        return None
    try:
        return read_json(path)
    except (OSError, ValueError) as err:
        log.warning("cannot read %s: %s", path, err)
        return None


__all__ = ["BrokenRunError", "NotebookStatus", "RunSummary", "headline_numbers", "list_runs", "summarize_run",
           "write_batch_summary", "write_index"]
