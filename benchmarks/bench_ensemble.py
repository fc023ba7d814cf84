"""Bench 5, the seed ensemble's shape: one model of E parallel towers against E models trained one after another.

The run's network is ``seeds`` copies of the same stacked LSTM; helpers.network trains them as towers of one
Keras model (one pass over the data per epoch, one call). This bench trains the same E seeds both ways on the
same windows, with the same epochs and batch size; early stopping cannot stop either early (patience above
the epochs), so both do the same arithmetic. Each run is its own process, in the order A B B A ..., so
contention and drift hit both sides alike.

Reported: seconds to train all E seeds each way, and the speed-up (sequential seconds / towers seconds; above 1
means the one-model shape is faster).

    python benchmarks/bench_ensemble.py --seeds 5
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import common
from bench_training import make_generator
from helpers.config import RunConfig

BENCH = "ensemble"
VARIANTS = ("towers", "sequential")


def ensemble_config(seeds: int, window: int, units: tuple[int, ...], epochs: int, batch_size: int) -> RunConfig:
    """The run's defaults with a fixed budget: patience above the epochs, so every run trains every epoch."""
    return RunConfig(window=window, units=units, epochs=epochs, batch_size=batch_size, patience=epochs + 10,
                     dropout=0.2, cell="lstm", target="log_return", seed=42, seeds=seeds)


def measure_variant(variant: str, seeds: int = 5, rows: int = 3400, features: int = 20, window: int = 30,
                    units: tuple[int, ...] = (64, 32), epochs: int = 5, batch_size: int = 32) -> dict[str, Any]:
    """Train ``seeds`` seeds as one model of towers or as separate models, in this process; time it."""
    from helpers.network import NetworkForecaster

    config = ensemble_config(seeds, window, units, epochs, batch_size)
    windows = make_generator(rows, features, config)
    started, cpu_started = time.perf_counter(), time.process_time()
    if variant == "towers":
        NetworkForecaster(windows.frame, windows.feature_columns, config).fit_windows(windows)
    elif variant == "sequential":
        for seed in config.seed_list:
            NetworkForecaster(windows.frame, windows.feature_columns, config, seeds=[seed]).fit_windows(windows)
    else:
        raise ValueError(f"unknown variant {variant!r}: use one of {', '.join(VARIANTS)}")
    seconds, cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
    n_train = windows.n_samples("train")
    return {"variant": variant, "seeds": seeds, "rows": rows, "features": features, "window": window,
            "units": list(units), "epochs": epochs, "batch_size": batch_size, "train_samples": n_train,
            "seconds": seconds, "cpu_s": cpu_s, "seed_samples_per_s": seeds * n_train * epochs / seconds}


def run_ensemble_bench(seeds: int = 5, cycles: int = 2, **sizes: Any) -> dict[str, Any]:
    """Both variants ``cycles`` times, interleaved, each in its own process; the results row."""
    load_before = common.load_average()
    argv = common.options_argv({"seeds": seeds, **sizes})
    runs = common.run_interleaved(Path(__file__), VARIANTS, cycles, argv)
    return summarize(runs, load_before=load_before)


def summarize(runs: list[dict[str, Any]], *, load_before: list[float] | None = None) -> dict[str, Any]:
    """The results row: median seconds of each variant, the speed-up per neighbouring pair and its median."""
    by = {v: [r for r in runs if r["variant"] == v] for v in VARIANTS}
    first = runs[0]
    pairs = [s["seconds"] / t["seconds"] for t, s in zip(by["towers"], by["sequential"])]
    numbers: dict[str, Any] = {
        "model": f"{first['seeds']} seeds of a {'x'.join(map(str, first['units']))} stacked LSTM, window "
                 f"{first['window']}, {first['features']} features",
        "train_samples": first["train_samples"], "epochs": first["epochs"], "batch_size": first["batch_size"],
        "runs_per_variant": len(by["towers"]),
    }
    for variant in VARIANTS:
        numbers[variant] = {"seconds_median": common.median([r["seconds"] for r in by[variant]]),
                            "seconds_each_run": [round(r["seconds"], 2) for r in by[variant]],
                            "cpu_s_median": common.median([r["cpu_s"] for r in by[variant]]),
                            "seed_samples_per_s": common.median([r["seed_samples_per_s"] for r in by[variant]])}
    numbers["speedup_sequential_over_towers"] = common.median(pairs)
    numbers["cpu_time_ratio_sequential_over_towers"] = common.median(
        [s["cpu_s"] / t["cpu_s"] for t, s in zip(by["towers"], by["sequential"])])
    numbers["speedup_each_pair"] = [round(p, 3) for p in pairs]
    targets = [common.target_check("speed-up of one model of towers over seeds one after another",
                                   numbers["speedup_sequential_over_towers"], ">=", 1.0)]
    notes = ["Same windows, epochs, batch size and seeds on both sides; patience above the epochs so nothing stops "
             "early. Seconds include building and compiling the models and the per-epoch validation passes.",
             "Runs are separate processes interleaved A B B A; the speed-up is the median over neighbouring pairs."]
    return common.make_row(BENCH, command=common.command_line(), numbers=numbers, targets=targets, notes=notes,
                           load_before=load_before)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    common.add_network_options(parser, seeds=5, window=30, units="64,32", epochs=5, batch_size=32,
                               variants=VARIANTS)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    sizes = common.network_sizes(args)
    if args.worker:
        print(json.dumps(measure_variant(args.worker, args.seeds, **sizes)))
        return 0
    row = run_ensemble_bench(args.seeds, args.cycles, **sizes)
    common.record_and_print(row, record=not args.no_record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
