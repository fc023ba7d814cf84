"""Bench 2, training throughput: the project's ``train_model`` against plain ``model.fit`` on arrays.

The same 2x64 stacked LSTM (window 60) on the same synthetic windows, the same epochs, batch size and
validation data; early stopping cannot stop either early (patience larger than the epochs), so both do the
same work. ``train_model`` adds seeding with op determinism, the callbacks, and materialising the windows
from the generator's views inside its timing; plain ``fit`` gets arrays built beforehand. Each run is its own
process, in the order A B B A ..., so contention and drift hit both sides alike.

Reported: training samples per second of each (samples x epochs / fit seconds, validation passes included),
and the ratio (project / plain; target >= 0.95). Beside them, the distance to the machine's limit: the useful
arithmetic of ``train_model`` in GFLOP/s (:func:`lstm_forward_flops`: the gate products of every LSTM step and
the head, x3 for a training sample's forward and backward pass, x1 for a validation sample) against one large
float32 matrix product (``matmul``, 2048 x 2048, the same TensorFlow and threads) measured in the same run,
as a fraction (target >= 0.40), for one run and for two runs side by side; beside it, the same machine's speed on
this network's own per-step products run back to back (:func:`measure_step_products`), the ceiling of that
fraction for a network of this shape. ``--threads N`` sets TensorFlow's
intra-op and inter-op threads of the training runs (a row of its own, ``training:threadsN``).
``--with-deterministic-plain`` adds plain ``fit`` with TensorFlow's op determinism switched on, to tell the cost
of determinism from the cost of the feed.

    python benchmarks/bench_training.py
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import common
from helpers.config import RunConfig

BENCH = "training"
VARIANTS = ("train_model", "plain_fit")
DETERMINISTIC_PLAIN = "plain_fit_deterministic"
MATMUL = "matmul"
RATIO_TARGET = 0.95
FLOP_FRACTION_TARGET = 0.40
MATMUL_SIZE = 2048
BACKWARD_FACTOR = 3          # forward + backward of a training sample: about three forward passes


def lstm_forward_flops(window: int, features: int, units: tuple[int, ...], horizon: int = 1) -> float:
    """Useful floating-point operations of one forward pass of a stacked LSTM over one window.

    Per layer and time step, the four gates multiply the input and the previous state by their weights:
    ``2 x 4h x (d + h)`` operations (a multiply and an add per weight), d the layer's input size and h its
    units; every layer runs all ``window`` steps. The Dense head adds ``2 x h_last x horizon``. Elementwise
    gate work (sigmoids, tanh, the cell update) is left out: it is small beside the products and not what a
    matrix unit measures.
    """
    flops, d = 0.0, int(features)
    for h in units:
        flops += window * 2 * 4 * h * (d + h)
        d = h
    return flops + 2 * d * horizon


def measure_matmul(size: int = MATMUL_SIZE, repeats: int = 10) -> dict[str, Any]:
    """GFLOP/s of a large float32 matrix product with TensorFlow's default threads (the best of ``repeats``)."""
    import tensorflow as tf

    a = tf.random.uniform((size, size), dtype=tf.float32, seed=1)
    b = tf.random.uniform((size, size), dtype=tf.float32, seed=2)
    tf.linalg.matmul(a, b).numpy()   # warm-up
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        tf.linalg.matmul(a, b).numpy()
        best = min(best, time.perf_counter() - started)
    return {"variant": MATMUL, "size": size, "seconds_best": best, "gflops": 2 * size ** 3 / best / 1e9}


def measure_step_products(batch_size: int, features: int, units: tuple[int, ...], steps: int = 2000,
                          repeats: int = 5) -> dict[str, float]:
    """GFLOP/s of each LSTM layer's per-step product, ``(batch x (d + h)) @ ((d + h) x 4h)``, run back to back
    ``steps`` times inside one traced loop, each product feeding the next as a recurrence does (best of
    ``repeats``): the most a loop over this network's steps could reach if it did nothing but these products.
    Keys ``"<d>x<h>"``."""
    import tensorflow as tf

    out, d = {}, int(features)
    for h in units:
        k, n = d + int(h), 4 * int(h)
        start = tf.random.uniform((batch_size, k), dtype=tf.float32, seed=1)
        weights = tf.random.uniform((k, n), dtype=tf.float32, seed=2) * 0.01

        @tf.function
        def chain(a, weights=weights, k=k, n=n):
            # the product's 4h columns, repeated when the next input (d + h) is wider, cut to d + h
            step = lambda i, a: (i + 1, tf.tile(tf.linalg.matmul(a, weights), [1, -(-k // n)])[:, :k])  # noqa: E731
            return tf.while_loop(lambda i, a: i < steps, step, (tf.constant(0), a))[1]

        chain(start).numpy()   # trace and warm up
        best = float("inf")
        for _ in range(repeats):
            started = time.perf_counter()
            chain(start).numpy()
            best = min(best, time.perf_counter() - started)
        out[f"{d}x{h}"] = 2 * batch_size * k * n * steps / best / 1e9
        d = int(h)
    return out


def make_generator(rows: int, features: int, config: RunConfig, seed: int = 0):
    """A WindowGenerator over ``rows`` business days of ``features`` noise features and a random-walk close,
    split 70/15/15 by target date as the config says."""
    from helpers.windows import WindowGenerator

    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("1990-01-01", periods=rows, name="date")
    frame = pd.DataFrame(rng.standard_normal((rows, features)), index=dates,
                         columns=[f"f{i}" for i in range(features)])
    frame["close"] = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, rows)))
    return WindowGenerator(frame, list(frame.columns[:-1]), config)


def bench_config(window: int, units: tuple[int, ...], epochs: int, batch_size: int) -> RunConfig:
    """The run parameters both sides share; patience above the epochs so every run trains all epochs."""
    return RunConfig(window=window, units=units, epochs=epochs, batch_size=batch_size, patience=epochs + 10,
                     dropout=0.2, cell="lstm", target="log_return", seed=42)


def measure_variant(variant: str, rows: int, features: int, window: int = 60, units: tuple[int, ...] = (64, 64),
                    epochs: int = 3, batch_size: int = 64) -> dict[str, Any]:
    """Train once with ``variant`` ('train_model', 'plain_fit' or 'plain_fit_deterministic') in this process;
    return samples per second over the fit (validation passes included) and the whole call's wall time."""
    import keras

    from helpers.models import build_stacked_rnn
    from helpers.train import compile_model, set_seed, train_model

    config = bench_config(window, units, epochs, batch_size)
    windows = make_generator(rows, features, config)
    n_train = windows.n_samples("train")
    started = time.perf_counter()
    if variant == "train_model":
        cpu_started = time.process_time()
        result = train_model(windows, config, verbose=0)
        cpu_s = time.process_time() - cpu_started
        fit_s, epochs_run, feed = result.seconds, result.epochs_run, result.feed
    elif variant in ("plain_fit", DETERMINISTIC_PLAIN):
        x_train = np.ascontiguousarray(windows.inputs("train"))
        y_train = np.ascontiguousarray(windows.labels("train"))
        x_val = np.ascontiguousarray(windows.inputs("val"))
        y_val = np.ascontiguousarray(windows.labels("val"))
        started = time.perf_counter()   # the arrays are the plain side's given, not its cost
        if variant == DETERMINISTIC_PLAIN:
            set_seed(config.seed)
        else:
            keras.utils.set_random_seed(config.seed)
        model = build_stacked_rnn("lstm", units, config.dropout, windows.horizon, windows.window,
                                  windows.n_features)
        compile_model(model, config.learning_rate, config.target)
        fit_started, cpu_started = time.perf_counter(), time.process_time()
        history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, shuffle=True,
                            validation_data=(x_val, y_val), verbose=0)
        fit_s, cpu_s = time.perf_counter() - fit_started, time.process_time() - cpu_started
        epochs_run, feed = len(history.history["loss"]), "arrays (pre-built)"
    else:
        raise ValueError(f"unknown variant {variant!r}: use one of {', '.join(VARIANTS + (DETERMINISTIC_PLAIN,))}")
    call_s = time.perf_counter() - started
    import tensorflow as tf

    threads = {"intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),   # 0: TF's choice
               "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads()}
    forward = lstm_forward_flops(window, windows.n_features, units, windows.horizon)
    useful = forward * epochs_run * (BACKWARD_FACTOR * n_train + windows.n_samples("val"))
    return {
        "useful_gflops_per_s": useful / fit_s / 1e9, "forward_flops_per_sample": forward,
        "variant": variant, "rows": rows, "features": features, "window": window, "units": list(units),
        "epochs": epochs, "epochs_run": epochs_run, "batch_size": batch_size, "train_samples": n_train,
        "val_samples": windows.n_samples("val"), "fit_s": fit_s, "call_s": call_s, "feed": feed,
        "samples_per_s": n_train * epochs_run / fit_s, "cpu_s": cpu_s,
        "samples_per_cpu_s": n_train * epochs_run / cpu_s, **threads,
    }


def run_training_bench(rows: int = 20_000, features: int = 16, window: int = 60, units: tuple[int, ...] = (64, 64),
                       epochs: int = 3, batch_size: int = 64, cycles: int = 2,
                       with_deterministic_plain: bool = False, threads: int | None = None) -> dict[str, Any]:
    """Run the variants ``cycles`` times in alternating order, each in its own process; return the results row.
    ``threads``: TensorFlow's intra-op and inter-op threads in the training workers (default: its own choice);
    the matmul keeps the defaults, since it measures the machine's limit."""
    load_before = common.load_average()
    variants = VARIANTS + ((DETERMINISTIC_PLAIN,) if with_deterministic_plain else ())
    argv = common.options_argv(dict(rows=rows, features=features, window=window, units=units, epochs=epochs,
                                    batch_size=batch_size, **({"threads": threads} if threads else {})))
    runs = []
    for variant in common.interleaved_order(variants, cycles):
        runs.append(common.run_worker(Path(__file__), ["--worker", variant, *argv]))
        if variant == "train_model":   # the machine's limit, measured next to each train_model run
            runs.append(common.run_worker(Path(__file__), ["--worker", MATMUL, *argv]))
    return summarize(runs, pair=run_side_by_side(["--worker", "train_model", *argv]), load_before=load_before,
                     threads=threads)


def run_side_by_side(argv: Sequence[str], n: int = 2) -> list[dict[str, Any]]:
    """``n`` workers started together, each in its own process: how the product trains (06's ensemble beside
    its walk-forward, 05's trials beside the default run, two notebooks at a time)."""
    with cf.ThreadPoolExecutor(max_workers=n) as pool:
        futures = [pool.submit(common.run_worker, Path(__file__), list(argv)) for _ in range(n)]
        return [future.result() for future in futures]


def summarize(runs: list[dict[str, Any]], *, pair: list[dict[str, Any]] | None = None,
              load_before: list[float] | None = None, threads: int | None = None) -> dict[str, Any]:
    """The results row from the workers' measurements (in the order they ran); ``pair``: train_model runs
    that ran side by side (:func:`run_side_by_side`). A row with ``threads`` set is recorded apart
    (``training:threads<N>``), beside the row with TensorFlow's own thread settings."""
    matmuls = [r for r in runs if r["variant"] == MATMUL]
    runs = [r for r in runs if r["variant"] != MATMUL]
    first = runs[0]
    variants = list(dict.fromkeys(r["variant"] for r in runs))
    by = {v: [r for r in runs if r["variant"] == v] for v in variants}
    numbers: dict[str, Any] = {
        "model": f"{'x'.join(map(str, first['units']))} stacked LSTM, dropout 0.2, Dense(1)",
        "rows": first["rows"], "features": first["features"], "window": first["window"],
        "train_samples": first["train_samples"], "val_samples": first["val_samples"],
        "epochs": first["epochs"], "batch_size": first["batch_size"], "runs_per_variant": len(by[variants[0]]),
        "tensorflow_threads": f"{threads} intra-op, {threads} inter-op" if threads else "TensorFlow's defaults",
    }
    for variant in variants:
        rs = by[variant]
        numbers[variant] = {
            "samples_per_s": common.median([r["samples_per_s"] for r in rs]),
            "samples_per_s_each_run": [round(r["samples_per_s"], 1) for r in rs],
            "fit_s_each_run": [round(r["fit_s"], 2) for r in rs],
            "call_s_median": common.median([r["call_s"] for r in rs]),
            "samples_per_cpu_s": common.median([r["samples_per_cpu_s"] for r in rs]),
            "feed": rs[0]["feed"], "epochs_run": rs[0]["epochs_run"],
        }
    pair_ratios = [a["samples_per_s"] / b["samples_per_s"] for a, b in zip(by["train_model"], by["plain_fit"])]
    ratio = common.median(pair_ratios)
    numbers["ratio_train_model_over_plain_fit"] = ratio
    numbers["ratio_each_pair"] = [round(r, 3) for r in pair_ratios]
    # timeit's reasoning: other work only ever slows a run down, so the fastest runs are the least disturbed.
    numbers["ratio_fastest_runs"] = (max(r["samples_per_s"] for r in by["train_model"])
                                     / max(r["samples_per_s"] for r in by["plain_fit"]))
    cpu_ratios = [a["samples_per_cpu_s"] / b["samples_per_cpu_s"] for a, b in zip(by["train_model"], by["plain_fit"])]
    numbers["cpu_time_ratio_train_model_over_plain_fit"] = common.median(cpu_ratios)
    if DETERMINISTIC_PLAIN in by:
        det = [a["samples_per_s"] / b["samples_per_s"] for a, b in zip(by[DETERMINISTIC_PLAIN], by["plain_fit"])]
        numbers["ratio_deterministic_plain_over_plain_fit"] = common.median(det)
    targets = [common.target_check("samples/s ratio, train_model / plain fit", ratio, ">=", RATIO_TARGET)]
    if matmuls:
        useful = common.median([r["useful_gflops_per_s"] for r in by["train_model"]])
        limit = common.median([r["gflops"] for r in matmuls])
        numbers["forward_flops_per_sample"] = first["forward_flops_per_sample"]
        numbers["train_model_useful_gflops_per_s"] = useful
        numbers["matmul_gflops_per_s"] = limit
        numbers["matmul_gflops_each_run"] = [round(r["gflops"], 1) for r in matmuls]
        numbers["fraction_of_matmul"] = useful / limit
        targets.append(common.target_check("useful FLOP/s of train_model / large-matmul FLOP/s", useful / limit,
                                           ">=", FLOP_FRACTION_TARGET))
        steps = [r["step_products_gflops"] for r in matmuls if "step_products_gflops" in r]
        if steps:
            step_limit = {shape: common.median([s[shape] for s in steps]) for shape in steps[0]}
            numbers["step_products_gflops_per_s"] = step_limit
            numbers["step_products_fraction_of_matmul"] = {shape: v / limit for shape, v in step_limit.items()}
        if pair:
            # The runs overlap from start to end within a few seconds of start-up, so their rates add up.
            together = sum(r["useful_gflops_per_s"] for r in pair)
            numbers["side_by_side_runs"] = len(pair)
            numbers["side_by_side_useful_gflops_each_run"] = [round(r["useful_gflops_per_s"], 1) for r in pair]
            numbers["side_by_side_useful_gflops_per_s"] = together
            numbers["side_by_side_fraction_of_matmul"] = together / limit
    notes = [
        "Samples per second = training samples x epochs / seconds inside fit (validation passes included, "
        "first-epoch graph tracing included on both sides); train_model's time also includes materialising "
        "the windows from the generator's views.",
        "Every run is its own process, variants interleaved (A B B A ...); ratios are taken between "
        "neighbouring runs (the target is checked on their median). ratio_fastest_runs compares each side's "
        "fastest run, the least disturbed by other work. The CPU-time ratio (samples per CPU-second of the "
        "process) is less sensitive to other work sharing the machine, but blind to a loss of parallelism.",
        f"Useful FLOP/s = forward FLOPs per window (2 x 4h x (d + h) per LSTM layer and step, plus the head) x "
        f"({BACKWARD_FACTOR} x training samples + validation samples) x epochs / fit seconds; the limit is a "
        f"{MATMUL_SIZE} x {MATMUL_SIZE} float32 matmul (best of 10) in its own process after each train_model run.",
        "Step products: each LSTM layer's per-step product (batch x (d + h)) @ ((d + h) x 4h), keyed d x h, run "
        "back to back 2,000 times in one traced loop, each feeding the next as a recurrence does (best of 5, in "
        "the matmul's process): what a loop over this network's steps reaches doing nothing but its products, "
        "the ceiling for the fraction at this shape on this machine.",
        "Side by side: train_model runs started together in separate processes, their useful GFLOP/s added. "
        "One fit of this small network keeps about one core busy whatever TensorFlow's thread settings (one "
        "intra-op and one inter-op thread train as fast as the defaults), so the second core is used by a second "
        "fit, as the product does, not by threads within one.",
    ]
    return common.make_row(f"{BENCH}:threads{threads}" if threads else BENCH, command=common.command_line(),
                           numbers=numbers, targets=targets, notes=notes, load_before=load_before)


def set_threads(threads: int) -> None:
    """TensorFlow's intra-op and inter-op thread pools at ``threads`` each; before any op runs in this process."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000, help="business days of synthetic data (default 20000)")
    parser.add_argument("--features", type=int, default=16)
    parser.add_argument("--window", type=int, default=60)
    parser.add_argument("--units", default="64,64", help="layer sizes (default 64,64)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--cycles", type=int, default=2, help="A B pairs, alternating order (default 2: A B B A)")
    parser.add_argument("--with-deterministic-plain", action="store_true",
                        help="also run plain fit with op determinism on (splits determinism from feed costs)")
    parser.add_argument("--threads", type=int, default=None,
                        help="TensorFlow intra-op and inter-op threads of the training runs (default: TensorFlow's "
                             "own); recorded as the row training:threads<N>")
    parser.add_argument("--no-record", action="store_true", help="print the row, leave results.json alone")
    parser.add_argument("--worker", choices=VARIANTS + (DETERMINISTIC_PLAIN, MATMUL), help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    units = common.parse_units(args.units)
    if args.worker == MATMUL:
        print(json.dumps({**measure_matmul(),
                          "step_products_gflops": measure_step_products(args.batch_size, args.features, units)}))
        return 0
    if args.worker:
        if args.threads:
            set_threads(args.threads)
        print(json.dumps(measure_variant(args.worker, args.rows, args.features, args.window, units, args.epochs,
                                         args.batch_size)))
        return 0
    if args.threads is not None and args.threads < 1:
        raise SystemExit("--threads must be at least 1")
    row = run_training_bench(args.rows, args.features, args.window, units, args.epochs, args.batch_size,
                             args.cycles, args.with_deterministic_plain, args.threads)
    common.record_and_print(row, record=not args.no_record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
