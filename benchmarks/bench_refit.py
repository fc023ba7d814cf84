"""Bench 7, refits of one architecture: a kept compiled trainer against a new model per refit.

06's walk-forward refits the run's network several times on growing data (full mode: 5 seed towers). Every
fit used to build and compile a new Keras model, and TensorFlow traced its training step again each time;
helpers.trainers now lends one compiled trainer per architecture, loaded with the fresh model's state. This bench
makes the same K refits (growing training rows, as the walk-forward's parts) both ways in one process:
``kept`` as the product does, ``new`` forgetting the trainer before every fit. Each variant runs in its own
process, in the order A B B A ..., and both must give bit-identical forecasts (checked, reported).

Reported: seconds for the K refits each way, seconds per refit, and the speed-up (new / kept).

    python benchmarks/bench_refit.py --refits 4 --seeds 5
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import common
from bench_ensemble import ensemble_config
from bench_training import make_generator

BENCH = "refit"
VARIANTS = ("kept", "new")


def measure_variant(variant: str, refits: int = 4, seeds: int = 5, rows: int = 3400, features: int = 20,
                    window: int = 60, units: tuple[int, ...] = (64, 32), epochs: int = 3,
                    batch_size: int = 32) -> dict[str, Any]:
    """``refits`` fits of one architecture on growing rows (the last ``refits`` quarters of the last half of
    the series added one by one), in this process; time them and fingerprint their forecasts."""
    from helpers import trainers
    from helpers.network import NetworkForecaster
    from helpers.windows import WindowGenerator

    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}: use one of {', '.join(VARIANTS)}")
    config = ensemble_config(seeds, window, units, epochs, batch_size)   # patience above the epochs
    full = make_generator(rows, features, config)
    ends = [rows // 2 + (rows // 2) * (k + 1) // refits for k in range(refits)]
    digest, each = hashlib.sha256(), []
    started, cpu_started = time.perf_counter(), time.process_time()
    for end in ends:
        if variant == "new":
            trainers.forget_trainers()
        fit_started = time.perf_counter()
        frame = full.frame.iloc[:end]
        windows = WindowGenerator(frame, full.feature_columns, config)
        network = NetworkForecaster(frame, full.feature_columns, config).fit_windows(windows)
        each.append(time.perf_counter() - fit_started)
        digest.update(network.outputs(windows.inputs("test")).tobytes())
    seconds, cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
    return {"variant": variant, "refits": refits, "seeds": seeds, "rows": rows, "features": features,
            "window": window, "units": list(units), "epochs": epochs, "batch_size": batch_size,
            "seconds": seconds, "cpu_s": cpu_s, "refit_s_each": [round(s, 2) for s in each],
            "forecasts_sha256": digest.hexdigest()}


def run_refit_bench(refits: int = 4, seeds: int = 5, cycles: int = 2, **sizes: Any) -> dict[str, Any]:
    """Both variants ``cycles`` times, interleaved, each in its own process; the results row."""
    load_before = common.load_average()
    argv = common.options_argv({"refits": refits, "seeds": seeds, **sizes})
    runs = common.run_interleaved(Path(__file__), VARIANTS, cycles, argv)
    return summarize(runs, load_before=load_before)


def summarize(runs: list[dict[str, Any]], *, load_before: list[float] | None = None) -> dict[str, Any]:
    """The results row: median seconds of each variant, the speed-up per neighbouring pair and its median, and
    whether every run gave the same forecasts."""
    by = {v: [r for r in runs if r["variant"] == v] for v in VARIANTS}
    first = runs[0]
    pairs = [n["seconds"] / k["seconds"] for k, n in zip(by["kept"], by["new"])]
    numbers: dict[str, Any] = {
        "model": f"{first['seeds']} seed towers of a {'x'.join(map(str, first['units']))} stacked LSTM, window "
                 f"{first['window']}, {first['features']} features",
        "refits": first["refits"], "rows": first["rows"], "epochs": first["epochs"],
        "batch_size": first["batch_size"], "runs_per_variant": len(by["kept"]),
        "identical_forecasts": len({r["forecasts_sha256"] for r in runs}) == 1,
    }
    for variant in VARIANTS:
        numbers[variant] = {"seconds_median": common.median([r["seconds"] for r in by[variant]]),
                            "seconds_each_run": [round(r["seconds"], 2) for r in by[variant]],
                            "refit_s_first_run": by[variant][0]["refit_s_each"],
                            "cpu_s_median": common.median([r["cpu_s"] for r in by[variant]])}
    numbers["speedup_new_over_kept"] = common.median(pairs)
    numbers["speedup_each_pair"] = [round(p, 3) for p in pairs]
    targets = [common.target_check("speed-up of a kept trainer over a new model per refit",
                                   numbers["speedup_new_over_kept"], ">=", 1.0),
               common.target_check("forecasts identical both ways (1 = yes)",
                                   float(numbers["identical_forecasts"]), ">=", 1.0)]
    notes = ["Same windows, epochs, batch size and seeds on both sides; patience above the epochs so nothing stops "
             "early. Seconds include building the fresh model, the trainer's compile and trace where it is new, "
             "the validation passes and the deployment model.",
             "Runs are separate processes interleaved A B B A; the speed-up is the median over neighbouring pairs."]
    return common.make_row(BENCH, command=common.command_line(), numbers=numbers, targets=targets, notes=notes,
                           load_before=load_before)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refits", type=int, default=4, help="fits of one architecture (default 4)")
    common.add_network_options(parser, seeds=5, window=60, units="64,32", epochs=3, batch_size=32,
                               variants=VARIANTS)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    sizes = common.network_sizes(args)
    if args.worker:
        print(json.dumps(measure_variant(args.worker, args.refits, args.seeds, **sizes)))
        return 0
    row = run_refit_bench(args.refits, args.seeds, args.cycles, **sizes)
    common.record_and_print(row, record=not args.no_record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
