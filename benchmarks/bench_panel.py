"""Bench 5, panel: the pooled network at scale, and the 14-ticker real panel end to end.

``panel:synthetic``: one study period of a synthetic panel (default 500 tickers, window 240, 750 training and
250 trading days, the paper's 25-cell LSTM): training samples per second over the epochs run, scoring
samples per second, and the peak extra resident memory (RSS, TensorFlow included) against what
materialising every window would take. Windows stream from one float32 array; the target is that the peak
stays below the materialised windows' size.

``panel:quick``, ``panel:full``: ``lstm-lab panel --csv ../shared/data/panel/US14-close.csv --mode M``: wall
time, peak RSS of the process tree, and the headline numbers of its panel_metrics.json (a measurement, not
a goal). Skipped when the shared data folder is absent.

    python benchmarks/bench_panel.py --only synthetic                    # ~2-5 min on 2 cores
    python benchmarks/bench_panel.py --only synthetic --tickers 50 --no-record   # a quick look
    python benchmarks/bench_panel.py --only real --modes quick           # ~5-10 min
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


import common
from bench_end_to_end import lstm_lab_command, time_command

BENCH = "panel"
REAL_PANEL = common.PROJECT_ROOT.parent / "shared" / "data" / "panel" / "US14-close.csv"


def measure_study_period(n_tickers: int = 500, *, window: int = 240, train_days: int = 750, trade_days: int = 250,
                         epochs: int = 1, units: tuple[int, ...] = (25,), batch_size: int = 512,
                         seed: int = 0) -> dict[str, Any]:
    """Train and score one study period of a synthetic ``n_tickers`` panel in this process; time and memory."""
    from helpers.panel_config import PanelConfig
    from helpers.panel_data import align_panel
    from helpers.panel_model import score_samples, train_period
    from helpers.panel_synthetic import synthetic_panel_closes
    from helpers.panel_windows import PanelWindows, study_periods

    n_days = train_days + trade_days + 1
    panel = align_panel(synthetic_panel_closes(n_days, n_tickers, rho=0.05, seed=seed))
    returns = panel.returns().to_numpy()
    config = PanelConfig(window=window, train_days=train_days, trade_days=trade_days, units=units, epochs=epochs,
                         patience=epochs, batch_size=batch_size, seed=seed)
    period = study_periods(len(returns), train_days, trade_days)[0]
    with common.PeakRSS() as memory:
        windows = PanelWindows(returns, period, window, config.target)
        with common.timed() as fit_time:
            model, fit = train_period(windows, config)
        origins, tickers = windows.samples("trade")
        with common.timed() as score_time:
            score_samples(model, windows, origins, tickers)
    train_samples = (fit["samples_fit"] + fit["samples_val"]) * len(fit["history"]["loss"])
    all_windows = windows.samples("train")[0].size + origins.size
    return {"tickers": n_tickers, "window": window, "epochs": len(fit["history"]["loss"]),
            "train_samples_per_s": train_samples / fit_time["seconds"], "score_samples_per_s": origins.size / score_time["seconds"],
            "train_seconds": fit_time["seconds"], "score_seconds": score_time["seconds"],
            "peak_extra_mib": memory.extra_bytes / common.MIB, "returns_array_mib": windows.data_.nbytes / common.MIB,
            "materialised_windows_mib": all_windows * window * 4 / common.MIB}


def run_synthetic(n_tickers: int = 500, epochs: int = 1, window: int = 240) -> dict[str, Any]:
    load = common.load_average()
    numbers = measure_study_period(n_tickers, epochs=epochs, window=window)
    target = common.target_check("peak extra memory / materialised windows", numbers["peak_extra_mib"] /
                                 numbers["materialised_windows_mib"], "<", 1.0)
    return common.make_row(f"{BENCH}:synthetic", command=common.command_line(), numbers=numbers, targets=[target],
                           load_before=load,
                           notes=["One study period (750 train + 250 trade days), LSTM 25 cells, batch 512, windows "
                                  "streamed from one float32 array by PanelBatches (gathered per batch)."])


def run_real(mode: str) -> dict[str, Any]:
    """``lstm-lab panel`` on the 14-ticker panel in ``mode``; time, memory and headline numbers."""
    bench = f"{BENCH}:{mode}"
    if not REAL_PANEL.exists():
        return common.make_row(bench, command=common.command_line(), numbers={}, status="skipped",
                               notes=[f"{REAL_PANEL} is absent"])
    load = common.load_average()
    out = common.WORK_DIR / f"panel-{mode}"
    cmd = [*lstm_lab_command(), "panel", "--csv", str(REAL_PANEL), "--mode", mode, "--out", str(out)]
    done = time_command(cmd, cwd=common.PROJECT_ROOT, log_dir=out)
    if done["returncode"] != 0:
        return common.make_row(bench, command=done["command"], numbers={"wall_s": done["wall_s"]}, status="failed",
                               notes=[done["stderr_tail"][-500:]], load_before=load)
    run_dir = Path(done["stdout"].strip().splitlines()[-1]).parent
    metrics = json.loads((run_dir / "panel_metrics.json").read_text())
    numbers = {"wall_s": done["wall_s"], "max_rss_mib": done["max_rss_bytes"] / common.MIB,
               **headline(metrics)}
    return common.make_row(bench, command=done["command"], numbers=numbers, load_before=load,
                           tables=[era_table(metrics)],
                           notes=[metrics["verdict"], metrics["about"]["survivorship"], f"run folder: {run_dir}"])


def headline(metrics: dict[str, Any]) -> dict[str, Any]:
    """The model's IC, accuracy and long/short numbers from a panel_metrics.json."""
    ls = metrics["long_short"]
    return {"ic_mean": metrics["ic"]["mean"], "ic_ci": metrics["ic"]["ci"], "accuracy": metrics["accuracy"]["mean"],
            "accuracy_ci": metrics["accuracy"]["ci"], "long_short_bp_before_costs": ls["before_costs"]["mean"] * 1e4,
            "long_short_bp_after_costs": ls["after_costs"]["mean"] * 1e4, "sharpe_before_costs": ls["before_costs"]["sharpe"],
            "sharpe_after_costs": ls["after_costs"]["sharpe"], "p_value_random": ls["p_value_random"]}


def era_table(metrics: dict[str, Any]) -> dict[str, Any]:
    """Model and baselines, every era: IC, accuracy, long/short bp a day before/after costs, Sharpe, p."""
    rows = []
    eras = {"all days": {"model": metrics, **metrics["baselines"]}, **metrics.get("by_era", {})}
    for era, rankings in eras.items():
        for name, judged in rankings.items():
            if not isinstance(judged, dict) or "ic" not in judged:
                continue
            ls = judged["long_short"]
            rows.append([era, name, judged["ic"]["mean"], judged["ic"]["ci"], judged["accuracy"]["mean"],
                         ls["before_costs"]["mean"] * 1e4, ls["after_costs"]["mean"] * 1e4,
                         ls["before_costs"]["sharpe"], ls["after_costs"]["sharpe"], ls.get("p_value_random")])
    return {"title": "Rankings on the same days (long/short in bp a day)",
            "columns": ["days", "ranking", "IC", "IC 95%", "accuracy", "L/S before", "L/S after", "Sharpe before",
                        "Sharpe after", "p random"], "rows": rows}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="synthetic,real", help="synthetic, real or both (default both)")
    parser.add_argument("--modes", default="quick", help="modes of the real panel: quick, full (default quick)")
    parser.add_argument("--tickers", type=int, default=500, help="tickers of the synthetic panel (default 500)")
    parser.add_argument("--epochs", type=int, default=1, help="epochs of the synthetic study period (default 1)")
    parser.add_argument("--window", type=int, default=240, help="window of the synthetic study period (default 240)")
    parser.add_argument("--no-record", action="store_true", help="print the rows, leave results.json alone")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    parts = {p.strip() for p in args.only.split(",")}
    rows = []
    if "synthetic" in parts:
        rows.append(run_synthetic(args.tickers, args.epochs, args.window))
    if "real" in parts:
        rows += [run_real(mode.strip()) for mode in args.modes.split(",") if mode.strip()]
    for row in rows:
        if not args.no_record:
            common.record_row(row)
        print(json.dumps({"bench": row["bench"], "status": row["status"], **row["numbers"]}, default=str))
    return 1 if any(r["status"] == "failed" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
