"""``make bench``: run the benchmarks, record each into results.json and regenerate RESULTS.md.

    python benchmarks/run_all.py                                  # everything (hours: see README.md)
    python benchmarks/run_all.py --only windowing,training        # the two micro-benchmarks (~15-30 min)
    python benchmarks/run_all.py --only end_to_end --modes quick  # one quick run of the series
    python benchmarks/run_all.py --list

Benches run one after another (never two at once: they would slow each other down). One that cannot run
(notebooks or data missing) records a 'skipped' row and the rest go on; the exit code is 1 if any failed.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from typing import Any, Callable

import common

BENCHES = ("windowing", "training", "ensemble", "refit", "end_to_end", "skill_panel", "panel")
DEFAULT_MODES = ("quick", "full")


def _windowing(args: argparse.Namespace) -> list[dict[str, Any]]:
    from bench_windowing import run_windowing_bench

    return [run_windowing_bench(cycles=args.cycles)]


def _training(args: argparse.Namespace) -> list[dict[str, Any]]:
    from bench_training import run_training_bench

    return [run_training_bench(cycles=args.cycles, with_deterministic_plain=True)]


def _ensemble(args: argparse.Namespace) -> list[dict[str, Any]]:
    from bench_ensemble import run_ensemble_bench

    return [run_ensemble_bench(cycles=args.cycles)]


def _refit(args: argparse.Namespace) -> list[dict[str, Any]]:
    from bench_refit import run_refit_bench

    return [run_refit_bench(cycles=args.cycles)]


def _end_to_end(args: argparse.Namespace) -> list[dict[str, Any]]:
    from bench_end_to_end import run_end_to_end

    return [run_end_to_end(mode) for mode in args.modes]


def _skill_panel(args: argparse.Namespace) -> list[dict[str, Any]]:
    from bench_skill_panel import run_skill_panel, split_names

    series = split_names(args.panel_series) or None
    return [run_skill_panel(mode, workers=args.workers, series=series) for mode in args.modes]


def _panel(args: argparse.Namespace) -> list[dict[str, Any]]:
    from bench_panel import run_real, run_synthetic

    return [run_synthetic(), *(run_real(mode) for mode in args.modes)]


RUNNERS: dict[str, Callable[[argparse.Namespace], list[dict[str, Any]]]] = {
    "windowing": _windowing, "training": _training, "ensemble": _ensemble, "refit": _refit,
    "end_to_end": _end_to_end,
    "skill_panel": _skill_panel, "panel": _panel,
}


def _names(value: str, allowed: tuple[str, ...], what: str) -> list[str]:
    names = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [n for n in names if n not in allowed]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown {what} {unknown or value!r}: choose from {', '.join(allowed)}")
    return names


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Run the benchmarks into benchmarks/results.json and RESULTS.md.")
    parser.add_argument("--only", type=lambda v: _names(v, BENCHES, "bench"), default=list(BENCHES),
                        metavar="NAMES", help=f"comma-separated benches (default all): {', '.join(BENCHES)}")
    parser.add_argument("--modes", type=lambda v: _names(v, DEFAULT_MODES, "mode"), default=list(DEFAULT_MODES),
                        help="modes of end_to_end and skill_panel (default quick,full)")
    parser.add_argument("--cycles", type=int, default=2, help="A B pairs of the micro-benchmarks (default 2)")
    parser.add_argument("--workers", type=int, default=1, help="parallel runs of the skill panel (default 1)")
    parser.add_argument("--panel-series", default="", metavar="NAMES",
                        help="comma-separated series of the skill panel, e.g. AAPL,WTI (default every CSV)")
    parser.add_argument("--list", action="store_true", help="list the benches and exit")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.list:
        print("\n".join(BENCHES))
        return 0
    failed = []
    for name in args.only:
        started = time.perf_counter()
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        try:
            rows = RUNNERS[name](args)
        except Exception:  # one broken bench must not lose the others' results
            traceback.print_exc()
            rows = [common.make_row(name, command=common.command_line(), numbers={}, status="failed",
                                    notes=[traceback.format_exc(limit=3).strip().splitlines()[-1]])]
        for row in rows:
            common.record_row(row)
            if row["status"] == "failed":
                failed.append(row["bench"])
            verdicts = {True: "met", False: "MISSED", None: "not measured"}
            said = [f"{t['name']} {t['target']}: {verdicts[t['met']]}" for t in row["targets"]]
            if row["status"] != "ok":
                said += row["notes"][-1:]
            print(f"[bench] {row['bench']}: {row['status']} ({time.perf_counter() - started:.0f} s) "
                  + "; ".join(said), file=sys.stderr)
    print(f"results: {common.RESULTS_JSON.with_name('RESULTS.md')}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
