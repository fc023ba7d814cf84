"""Bench 1, windowing: the project's sliding-view batches against keras.utils.timeseries_dataset_from_array.

Both sides window the same float32 array (default 1,000,000 rows x 16 features, window 60, batch 256) and
iterate one full epoch of ``(x, y)`` batches. The project's side is ``WindowGenerator.batches('all', ...)``:
a strided view of the scaled array and one copy per batch. Each variant runs in its own process, in the order
A B B A ..., so its memory peak is its own and CPU contention hits both alike.

Reported: windows per second of each, their ratio (project / Keras; target >= 1.0), and the peak extra
resident memory over the input (target < 2x the input), measured by RSS (TensorFlow's allocations included).

    python benchmarks/bench_windowing.py                 # full size, 2 cycles (A B B A)
    python benchmarks/bench_windowing.py --rows 20000    # a quick look
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd

import common
from helpers.config import RunConfig
from helpers.windows import WindowGenerator

BENCH = "windowing"
VARIANTS = ("project", "keras")
RATIO_TARGET = 1.0
MEMORY_TARGET_X_INPUT = 2.0


# ---------------------------------------------------------------------- the data
def make_generator(rows: int, features: int, window: int, seed: int = 0) -> WindowGenerator:
    """A WindowGenerator over a synthetic frame of ``rows`` x ``features`` standard-normal features and a
    positive random-walk close. The dates are minutes: 1M business days would run past pandas' year 2262."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2000-01-03", periods=rows, freq="min", name="date")
    values = rng.standard_normal((rows, features)).astype(np.float32)
    frame = pd.DataFrame(values, index=dates, columns=[f"f{i}" for i in range(features)])
    frame["close"] = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, rows)))
    config = RunConfig(window=window, horizon=1)
    return WindowGenerator(frame, list(frame.columns[:-1]), config)


def project_batches(windows: WindowGenerator, batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The project's path: every origin with a full window, one copy per batch from the strided view."""
    return windows.batches("all", batch_size)


def keras_dataset(windows: WindowGenerator, batch_size: int):
    """Keras's path on the same float32 array and the same labels: targets[i] belongs to the window starting
    at row i, i.e. ending at origin ``i + window - 1``, which is ``labels('all')[i]``."""
    import keras

    return keras.utils.timeseries_dataset_from_array(
        windows.data_, targets=windows.labels("all"), sequence_length=windows.window, batch_size=batch_size,
        shuffle=False)


def iterate_epoch(batches) -> int:
    """Pull every batch of one epoch; return the number of windows seen."""
    n = 0
    for x, _ in batches:
        n += int(x.shape[0])
    return n


# ---------------------------------------------------------------------- one variant, in this process
def measure_variant(variant: str, rows: int, features: int, window: int, batch_size: int,
                    min_seconds: float = 2.0, max_epochs: int = 50) -> dict[str, Any]:
    """Time full epochs of ``variant`` ('project' or 'keras') until ``min_seconds`` have passed (at least one),
    and the peak resident memory above the input while building the batches and iterating.

    Run it in a fresh process for a clean memory peak (``--worker``); the input array and the libraries are
    in memory before the baseline is taken.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}: use one of {', '.join(VARIANTS)}")
    if variant == "keras":
        import keras  # noqa: F401  (import cost and memory are not windowing)
    windows = make_generator(rows, features, window)
    gc.collect()
    epochs: list[float] = []
    n_windows = 0
    with common.PeakRSS() as memory:
        started = time.perf_counter()
        dataset = keras_dataset(windows, batch_size) if variant == "keras" else None
        setup_s = time.perf_counter() - started
        while not epochs or (sum(epochs) < min_seconds and len(epochs) < max_epochs):
            started = time.perf_counter()
            batches = dataset if variant == "keras" else project_batches(windows, batch_size)
            n_windows = iterate_epoch(batches)
            epochs.append(time.perf_counter() - started)
    epoch_s = common.median(epochs)
    return {
        "variant": variant, "rows": rows, "features": features, "window": window, "batch_size": batch_size,
        "input_bytes": int(windows.data_.nbytes), "windows": n_windows, "epochs": len(epochs),
        "epoch_seconds": epochs, "median_epoch_s": epoch_s, "setup_s": setup_s,
        "windows_per_s": n_windows / epoch_s if epoch_s > 0 else float("inf"),
        "peak_extra_bytes": memory.extra_bytes, "baseline_bytes": memory.baseline_bytes,
        "kernel_hwm": memory.kernel_hwm,
    }


# ---------------------------------------------------------------------- the bench: variants side by side
def run_windowing_bench(rows: int = 1_000_000, features: int = 16, window: int = 60, batch_size: int = 256,
                        cycles: int = 2, min_seconds: float = 2.0) -> dict[str, Any]:
    """Run both variants ``cycles`` times in A B B A order, each in its own process; return the results row."""
    load_before = common.load_average()
    argv = ["--rows", str(rows), "--features", str(features), "--window", str(window),
            "--batch-size", str(batch_size), "--min-seconds", str(min_seconds)]
    runs = [common.run_worker(Path(__file__), ["--worker", variant, *argv])
            for variant in common.interleaved_order(VARIANTS, cycles)]
    return summarize(runs, load_before=load_before)


def summarize(runs: list[dict[str, Any]], *, load_before: list[float] | None = None) -> dict[str, Any]:
    """The results row from the workers' measurements (in the order they ran)."""
    by = {v: [r for r in runs if r["variant"] == v] for v in VARIANTS}
    input_bytes = runs[0]["input_bytes"]
    numbers: dict[str, Any] = {
        "rows": runs[0]["rows"], "features": runs[0]["features"], "window": runs[0]["window"],
        "batch_size": runs[0]["batch_size"], "windows_per_epoch": runs[0]["windows"],
        "input_mib": input_bytes / common.MIB, "runs_per_variant": len(by["project"]),
    }
    for variant, label in (("project", "project_sliding_view"), ("keras", "keras_timeseries_dataset")):
        rs = by[variant]
        peak = max(r["peak_extra_bytes"] for r in rs)
        numbers[label] = {
            "windows_per_s": common.median([r["windows_per_s"] for r in rs]),
            "epoch_s_each_run": [round(r["median_epoch_s"], 4) for r in rs],
            "setup_s": common.median([r["setup_s"] for r in rs]),
            "peak_extra_mib": peak / common.MIB, "peak_extra_x_input": peak / input_bytes,
        }
    # Ratios of neighbouring runs (A with the B beside it) share the machine's state of the moment.
    pair_ratios = [a["windows_per_s"] / b["windows_per_s"]
                   for a, b in zip(by["project"], by["keras"])]
    ratio = common.median(pair_ratios)
    numbers["ratio_project_over_keras"] = ratio
    numbers["ratio_each_pair"] = [round(r, 1) for r in pair_ratios]
    numbers["ratio_fastest_runs"] = (max(r["windows_per_s"] for r in by["project"])
                                     / max(r["windows_per_s"] for r in by["keras"]))
    project_x = numbers["project_sliding_view"]["peak_extra_x_input"]
    keras_x = numbers["keras_timeseries_dataset"]["peak_extra_x_input"]
    targets = [
        common.target_check("windows/s ratio, project / Keras", ratio, ">=", RATIO_TARGET),
        common.target_check("project peak extra memory, x input", project_x, "<", MEMORY_TARGET_X_INPUT, "x"),
        common.target_check("Keras peak extra memory, x input (context)", keras_x, "<", MEMORY_TARGET_X_INPUT, "x"),
    ]
    notes = [
        "Each run is its own process (variants interleaved A B B A); memory is peak RSS above the baseline "
        "taken after the input array and the libraries are loaded, so TensorFlow's allocations count.",
        "The project side copies each batch out of a strided view (WindowGenerator.batches); Keras builds a "
        "tf.data pipeline over the same array and labels.",
        "A batch of the project's side is about 1 MB; its peak can read lower because glibc reuses heap pages "
        "freed while the input was built (they are already resident).",
    ]
    if not all(r["kernel_hwm"] for r in runs):
        notes.append("The kernel's peak-RSS reset was unavailable: peaks come from 5 ms VmRSS sampling only.")
    return common.make_row(BENCH, command=common.command_line(), numbers=numbers, targets=targets, notes=notes,
                           load_before=load_before)


# ---------------------------------------------------------------------- command line
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=16)
    parser.add_argument("--window", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--cycles", type=int, default=2, help="A B pairs, alternating order (default 2: A B B A)")
    parser.add_argument("--min-seconds", type=float, default=2.0,
                        help="repeat epochs of a variant until this much time has passed (at least one epoch)")
    parser.add_argument("--no-record", action="store_true", help="print the row, leave results.json alone")
    parser.add_argument("--worker", choices=VARIANTS, help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.worker:
        print(json.dumps(measure_variant(args.worker, args.rows, args.features, args.window, args.batch_size,
                                         args.min_seconds)))
        return 0
    row = run_windowing_bench(args.rows, args.features, args.window, args.batch_size, args.cycles,
                              args.min_seconds)
    common.record_and_print(row, record=not args.no_record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
