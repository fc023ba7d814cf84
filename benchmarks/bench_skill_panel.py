"""Bench 4, forecast skill on a panel: the default pipeline on every series in ``../shared/data/``.

Runs ``lstm-lab batch --csv-dir ../shared/data --mode MODE --only 01,03,05,06`` (quick and/or full), then reads
each run's
``metrics.json`` and ``predictions.csv`` into one table: Theil's U against persistence, directional accuracy
with its 95% Wilson interval, and the Diebold-Mariano p-value against persistence, for the network and for the
ARIMA baseline on the same test rows. There are no targets: a U near 1.00 with wide intervals is the honest
result on daily prices (see /work/shared/FIELD-NOTES.md), and nothing here is tuned to improve it.

Only the notebooks the numbers come from run (collect, featurize, tune, evaluate): 02 (charts), 04 (one model
and the cell comparison) and 07 (the forecast) write nothing 06 reads, and skipping them saves about 3 minutes
per series in full mode. ``--notebooks all`` runs the whole series. ``--series AAPL,WTI`` runs a subset.

Skips cleanly (a 'skipped' row, exit 0) when the shared data folder is absent.

    python benchmarks/bench_skill_panel.py --modes quick
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

import common
from bench_end_to_end import lstm_lab_command, missing_notebooks, time_command

BENCH = "skill_panel"
MODES = ("quick", "full")
# The notebooks whose files 06's numbers depend on: prices (01), features (03), tuned settings (05), 06 itself.
PANEL_NOTEBOOKS = ("01_collect", "03_featurize", "05_tune", "06_evaluate")
COLUMNS = ["series", "status", "test rows", "up days", "model up calls", "model U", "model DA", "model DA 95% CI",
           "model DM p", "ARIMA U", "ARIMA DA", "ARIMA DA 95% CI", "ARIMA DM p", "verdict or error"]


def default_data_dir() -> Path:
    """``PROJECT_ROOT.parent / 'shared' / 'data'``: the development price CSVs beside the project."""
    return common.PROJECT_ROOT.parent / "shared" / "data"


# ---------------------------------------------------------------------- reading one run folder
def forecaster_skill(predictions: pd.DataFrame, name: str) -> dict[str, Any]:
    """U, directional accuracy with its Wilson interval and DM p-value (against persistence) of forecaster
    ``name`` from a run's predictions.csv (columns date, actual, model, persistence, ...; price units)."""
    from helpers import metrics

    if name not in predictions or "persistence" not in predictions:
        return {"theils_u": None, "directional_accuracy": None, "ci": None, "dm_p": None}
    actual = predictions["actual"].to_numpy(float)
    forecast = predictions[name].to_numpy(float)
    previous = predictions["persistence"].to_numpy(float)   # persistence is the previous day's actual
    da = metrics.directional_accuracy(actual, forecast, previous)
    lo, hi = metrics.wilson_interval(da.hits, da.n)
    dm = metrics.diebold_mariano(actual, forecast, previous, horizon=1)
    return {"theils_u": metrics.theils_u(actual, forecast, previous),
            "directional_accuracy": None if math.isnan(da.value) else da.value,
            "ci": [lo, hi], "dm_p": dm.p_value}


def up_shares(predictions: pd.DataFrame, name: str = "model") -> dict[str, float | None]:
    """Share of test days the price rose, and share of days ``name`` forecast a rise.

    A model that calls "up" every day scores the share of up days as its directional accuracy: in a rising
    market that looks like skill (and its interval can exclude 0.5) without being any.
    """
    if name not in predictions or "persistence" not in predictions:
        return {"up_days": None, "up_calls": None}
    previous = predictions["persistence"].to_numpy(float)
    return {"up_days": float(np.mean(predictions["actual"].to_numpy(float) > previous)),
            "up_calls": float(np.mean(predictions[name].to_numpy(float) > previous))}


def run_skill(run_dir: Path) -> dict[str, Any]:
    """The network's numbers as metrics.json states them, and ARIMA's: U and DA from metrics.json, its
    interval and DM p-value computed from predictions.csv the same way evaluate.py computes the network's.
    Also the share of up days and of the network's up calls (see :func:`up_shares`)."""
    from helpers.atomic import read_json

    metrics_json = read_json(run_dir / "metrics.json")
    test = metrics_json.get("test", {})
    model = {"theils_u": metrics_json.get("theils_u"),
             "directional_accuracy": (test.get("model") or {}).get("directional_accuracy"),
             "ci": metrics_json.get("directional_accuracy_ci"),
             "dm_p": (metrics_json.get("diebold_mariano") or {}).get("p_value")}
    arima = {"theils_u": None, "directional_accuracy": None, "ci": None, "dm_p": None}
    ups = {"up_days": None, "up_calls": None}
    predictions_path = run_dir / "predictions.csv"
    if predictions_path.exists():
        predictions = pd.read_csv(predictions_path)
        arima = forecaster_skill(predictions, "arima")
        ups = up_shares(predictions, "model")
    stated_u = (metrics_json.get("theils_u_by_forecaster") or {}).get("arima")
    if stated_u is not None:
        arima["theils_u"] = stated_u
    if (test.get("arima") or {}).get("directional_accuracy") is not None:
        arima["directional_accuracy"] = test["arima"]["directional_accuracy"]
    return {"test_rows": (metrics_json.get("rows") or {}).get("test"), "model": model, "arima": arima,
            "verdict": metrics_json.get("verdict"), **ups}


def panel_table_rows(batch_rows: Sequence[dict[str, Any]]) -> list[list[Any]]:
    """One table row per series from the batch summary's rows (ticker, status, run_dir, error)."""
    out = []
    for row in batch_rows:
        ticker, status, run_dir = row.get("ticker"), row.get("status"), row.get("run_dir")
        if status != "ok" or not run_dir or not (Path(run_dir) / "metrics.json").exists():
            error = row.get("error") or "no metrics.json"
            out.append([ticker, status or "failed"] + [None] * (len(COLUMNS) - 3) + [str(error)[:200]])
            continue
        skill = run_skill(Path(run_dir))
        m, a = skill["model"], skill["arima"]
        out.append([ticker, "ok", skill["test_rows"], skill["up_days"], skill["up_calls"], m["theils_u"],
                    m["directional_accuracy"], m["ci"], m["dm_p"], a["theils_u"], a["directional_accuracy"],
                    a["ci"], a["dm_p"], skill["verdict"]])
    return out


def read_batch_summary(out_dir: Path) -> list[dict[str, Any]]:
    """The rows of the newest ``batch-*.csv`` the batch command wrote in ``out_dir`` (empty when none)."""
    summaries = sorted(Path(out_dir).glob("batch-*.csv"), key=lambda p: p.stat().st_mtime)
    if not summaries:
        return []
    frame = pd.read_csv(summaries[-1], dtype={"ticker": str})
    return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
            for r in frame.to_dict("records")]


# ---------------------------------------------------------------------- the bench
def select_series(data_dir: Path, series: Sequence[str] | None, into: Path) -> Path:
    """The folder of CSVs to run: ``data_dir`` itself, or (``series`` given) a folder ``into`` of links to the
    named files only. An unknown name is an error that lists the series there are."""
    if not series:
        return data_dir
    available = {p.stem: p for p in sorted(data_dir.glob("*.csv"))}
    unknown = [name for name in series if name not in available]
    if unknown:
        raise ValueError(f"no CSV for series {', '.join(unknown)} in {data_dir}; there are: "
                         f"{', '.join(available) or 'none'}")
    into.mkdir(parents=True, exist_ok=True)
    for name in series:
        link = into / available[name].name
        if not link.exists():
            link.symlink_to(available[name].resolve())
    return into


def run_skill_panel(mode: str, *, data_dir: Path | None = None, out_dir: Path | None = None, workers: int = 1,
                    notebooks_dir: Path | None = None, require_all_notebooks: bool = True,
                    series: Sequence[str] | None = None, notebooks: Sequence[str] | None = PANEL_NOTEBOOKS,
                    extra_args: Sequence[str] = ()) -> dict[str, Any]:
    """Run the batch over every CSV in ``data_dir`` (or the named ``series``) in ``mode``, running
    ``notebooks`` (None: all); return the results row ``skill_panel:MODE``."""
    bench = f"{BENCH}:{mode}"
    load_before = common.load_average()
    data_dir = Path(data_dir or default_data_dir())
    out_dir = Path(out_dir or common.WORK_DIR / f"panel-{mode}-{time.strftime('%Y%m%dT%H%M%S')}")
    shown_dir = data_dir
    cmd_tail = ["--mode", mode, "--out", str(out_dir), "--workers", str(workers), "--quiet"]
    if notebooks:
        cmd_tail += ["--only", ",".join(n.split("_")[0] for n in notebooks)]
    cmd_tail += list(extra_args)
    if notebooks_dir is not None:
        cmd_tail += ["--notebooks-dir", str(notebooks_dir)]
    if not data_dir.is_dir() or not any(data_dir.glob("*.csv")):
        shown = "lstm-lab " + shlex.join(["batch", "--csv-dir", str(shown_dir), *cmd_tail])
        return common.make_row(bench, command=shown, numbers={}, status="skipped", load_before=load_before,
                               notes=[f"not run: no price CSVs at {data_dir}"])
    csv_dir = select_series(data_dir, series, out_dir / "selected-series")
    cmd = [*lstm_lab_command(), "batch", "--csv-dir", str(csv_dir), *cmd_tail]
    shown = "lstm-lab " + shlex.join(cmd[len(lstm_lab_command()):])
    missing = missing_notebooks(notebooks_dir)
    if missing and require_all_notebooks:
        return common.make_row(bench, command=shown, numbers={}, status="skipped", load_before=load_before,
                               notes=[f"not run: notebook(s) {', '.join(missing)} do not exist yet"])
    timing = time_command(cmd, cwd=common.PROJECT_ROOT, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"),
                          log_dir=out_dir)
    rows = panel_table_rows(read_batch_summary(out_dir))
    numbers = {
        "mode": mode, "workers": workers, "notebooks": list(notebooks) if notebooks else "all",
        "series_requested": list(series) if series else "all",
        "wall_s": timing["wall_s"], "wall_min": timing["wall_s"] / 60, "exit_code": timing["returncode"],
        "peak_rss_mib_largest_process": timing["max_rss_bytes"] / common.MIB,
        **panel_numbers(rows), "out_dir": str(out_dir),
    }
    notes = list(PANEL_NOTES)
    status = "ok" if numbers["series_ok"] else "failed"
    if not rows:
        notes.append(f"no batch summary was written (exit {timing['returncode']}): {timing['stderr_tail'][-600:]}")
    return common.make_row(bench, command=shown, numbers=numbers, tables=[panel_table(mode, rows)], notes=notes,
                           status=status, load_before=load_before)


PANEL_NOTES = (
    "U: RMSE over persistence's RMSE on the same test rows (below 1 beats persistence). DA: share of days "
    "whose direction was called right, with its 95% Wilson interval. DM p: Diebold-Mariano (HLN) p-value "
    "of equal squared error against persistence.",
    "up days: share of test days the close rose; model up calls: share of days the network forecast a rise. "
    "A network that calls 'up' every day scores the share of up days as its DA: in a rising market its "
    "interval can exclude 0.5 without any skill.",
    "The network's numbers are metrics.json's (a seed ensemble in both modes); ARIMA's interval and DM "
    "p-value are computed from predictions.csv with helpers.metrics, as evaluate.py does for the network.",
    "Reference (FIELD-NOTES.md, a careful 2x50 LSTM): U 0.995-1.008 and DA 0.44-0.54 on these series.",
)


def panel_table(mode: str, rows: list[list[Any]]) -> dict[str, Any]:
    return {"title": f"Skill on the panel, {mode} mode (one-step next close, test rows)", "columns": COLUMNS,
            "rows": rows}


def panel_numbers(rows: list[list[Any]]) -> dict[str, Any]:
    """Counts and medians over the panel's table rows."""
    ok = [dict(zip(COLUMNS, r)) for r in rows if r[1] == "ok"]
    model_u = [r["model U"] for r in ok if r["model U"] is not None]
    arima_u = [r["ARIMA U"] for r in ok if r["ARIMA U"] is not None]
    return {
        "series": len(rows), "series_ok": len(ok),
        "model_u_median": float(np.median(model_u)) if model_u else None,
        "arima_u_median": float(np.median(arima_u)) if arima_u else None,
        "model_beats_persistence_at_5pct": sum(1 for r in ok if _significant_win(r["model U"], r["model DM p"])),
        "model_loses_to_persistence_at_5pct": sum(1 for r in ok if _significant_loss(r["model U"], r["model DM p"])),
    }


def rescore_recorded(mode: str, results_json: Path | None = None) -> dict[str, Any]:
    """Re-read the run folders of the recorded ``skill_panel:MODE`` row with this script's current table (no
    re-run: timing and command stay as measured); return the updated row."""
    bench = f"{BENCH}:{mode}"
    row = common.load_results(results_json).get(bench)
    if not row or not (row.get("numbers") or {}).get("out_dir"):
        raise ValueError(f"no recorded {bench} row with an out_dir to re-read; run the bench first")
    rows = panel_table_rows(read_batch_summary(Path(row["numbers"]["out_dir"])))
    row["numbers"].update(panel_numbers(rows))
    row["tables"] = [panel_table(mode, rows)]
    row["notes"] = list(PANEL_NOTES) + [f"table re-read from the run folders on "
                                        f"{time.strftime('%Y-%m-%dT%H:%M:%S')} (no re-run)"]
    return row


def _significant_win(u: float | None, p: float | None) -> bool:
    return u is not None and p is not None and u < 1 and p < 0.05


def _significant_loss(u: float | None, p: float | None) -> bool:
    return u is not None and p is not None and u > 1 and p < 0.05


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default="quick,full", help="comma-separated: quick, full (default both)")
    parser.add_argument("--data-dir", type=Path, default=None, help="folder of price CSVs (default ../shared/data)")
    parser.add_argument("--workers", type=int, default=1,
                        help="runs at a time (default 1: each run's TensorFlow already uses every core)")
    parser.add_argument("--series", default="", help="comma-separated CSV names to run, e.g. AAPL,WTI (default all)")
    parser.add_argument("--notebooks", default=",".join(PANEL_NOTEBOOKS),
                        help="notebooks to run, or 'all' (default: the four 06's numbers depend on)")
    parser.add_argument("--rescore", action="store_true",
                        help="re-read the run folders of the recorded rows (no re-run) and record the new table")
    parser.add_argument("--no-record", action="store_true", help="print the rows, leave results.json alone")
    return parser


def split_names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    bad = [m for m in modes if m not in MODES]
    if bad:
        print(f"unknown mode(s) {bad}: use quick, full", file=sys.stderr)
        return 2
    failed = False
    for mode in modes:
        if args.rescore:
            row = rescore_recorded(mode)
        else:
            row = run_skill_panel(mode, data_dir=args.data_dir, workers=args.workers, series=split_names(args.series),
                                  notebooks=None if args.notebooks == "all" else split_names(args.notebooks))
        failed |= row["status"] == "failed"
        common.record_and_print(row, record=not args.no_record,
                                shown={"bench": row["bench"], "status": row["status"], **row["numbers"],
                                       "table": row["tables"], "notes": row["notes"]})
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
