"""What every benchmark shares: machine and library facts, peak-memory measurement, the results files.

Every bench writes one *row* into ``benchmarks/results.json`` (keyed by bench name, e.g. ``windowing`` or
``end_to_end:quick``) holding the machine, library versions, date, command, load average, numbers and target
checks, then regenerates ``benchmarks/RESULTS.md`` from all rows. Rows of other benches are kept, so benches
can be run one at a time. Ratios are measured side by side in one run (these machines are noisy, and other
work shares the CPU); absolute times are context.

The bench scripts import this module as ``common`` (they run as ``python benchmarks/<script>.py``, which puts
this folder on ``sys.path``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import importlib.metadata
import json
import os
import platform
import shlex
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
RESULTS_JSON = BENCH_DIR / "results.json"
WORK_DIR = BENCH_DIR / "_work"          # run folders of the end-to-end and panel benches (git-ignored)

if str(PROJECT_ROOT) not in sys.path:   # `python benchmarks/x.py` from anywhere still finds helpers/
    sys.path.insert(0, str(PROJECT_ROOT))

from helpers.atomic import atomic_write_json, atomic_write_text  # noqa: E402

# Distributions whose versions change benchmark numbers.
LIBRARIES = ("numpy", "pandas", "tensorflow-cpu", "tensorflow", "keras", "pandas-ta", "papermill", "nbconvert",
             "statsmodels", "scikit-learn")

MIB = 1024 * 1024


# ---------------------------------------------------------------------- machine and versions
def machine_info() -> dict[str, Any]:
    """The machine a number was measured on: CPU model, cores, memory, OS, Python."""
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": round(_meminfo_bytes("MemTotal") / 1024**3, 1) if _meminfo_bytes("MemTotal") else None,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }


def library_versions(names: Sequence[str] = LIBRARIES) -> dict[str, str]:
    """Installed versions of ``names`` (distributions not installed are left out)."""
    out = {}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def load_average() -> list[float]:
    """1, 5 and 15 minute load averages: how busy the shared CPU was (2 cores: above 2 means contention)."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return []


def settle(max_seconds: float, below: float = 0.5, *, poll_s: float = 5.0,
           read: Any = load_average, sleep: Any = time.sleep) -> float:
    """Wait, at most ``max_seconds``, until the 1-minute load average is below ``below``: a measurement then
    starts on an idle machine, not on the tail of the previous run (the average decays with a one-minute time
    constant, so from 2 it takes about 1.5 minutes). Returns the seconds waited; 0 when it was low already."""
    waited = 0.0
    while waited < max_seconds:
        loads = read()
        if not loads or loads[0] < below:
            break
        step = min(poll_s, max_seconds - waited)
        sleep(step)
        waited += step
    return waited


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _meminfo_bytes(key: str) -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


# ---------------------------------------------------------------------- memory
def _status_bytes(key: str) -> int | None:
    """A ``/proc/self/status`` field such as VmRSS or VmHWM, in bytes (None off Linux)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def reset_peak_rss() -> bool:
    """Reset the kernel's RSS high-water mark (VmHWM) of this process; False when the kernel refuses."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


@dataclass
class PeakRSS:
    """Peak resident memory of this process above a baseline, over a block of code.

    Sees every allocation, TensorFlow's included (tracemalloc sees only Python's): on entry the kernel's
    high-water mark is reset and a thread samples VmRSS every ``interval_s``; the peak is the larger of the
    samples and the kernel's VmHWM at exit. ``baseline_bytes`` is VmRSS on entry, so create the input and
    import libraries *before* entering.
    """

    interval_s: float = 0.005
    baseline_bytes: int = 0
    peak_bytes: int = 0
    kernel_hwm: bool = False
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def extra_bytes(self) -> int:
        return max(0, self.peak_bytes - self.baseline_bytes)

    def __enter__(self) -> "PeakRSS":
        self.kernel_hwm = reset_peak_rss()
        self.baseline_bytes = _status_bytes("VmRSS") or 0
        self.peak_bytes = self.baseline_bytes
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, name="peak-rss", daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_bytes = max(self.peak_bytes, _status_bytes("VmRSS") or 0)
            self._stop.wait(self.interval_s)

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.peak_bytes = max(self.peak_bytes, _status_bytes("VmRSS") or 0)
        if self.kernel_hwm:
            self.peak_bytes = max(self.peak_bytes, _status_bytes("VmHWM") or 0)


# ---------------------------------------------------------------------- running measurements
def run_worker(script: Path, argv: Sequence[str], *, timeout_s: float | None = None) -> dict[str, Any]:
    """Run ``python script argv...`` in a fresh process and return the JSON object on its last stdout line.

    One variant per process: its memory peak is its own, and the state one variant leaves behind (TensorFlow's
    allocator, op determinism) cannot colour the next.
    """
    cmd = [sys.executable, str(script), *argv]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"))
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, env=env, cwd=PROJECT_ROOT)
    lines = [ln for ln in done.stdout.splitlines() if ln.strip()]
    if done.returncode != 0 or not lines:
        tail = "\n".join(done.stderr.splitlines()[-15:])
        raise RuntimeError(f"benchmark worker failed (exit {done.returncode}): {shlex.join(cmd)}\n{tail}")
    return json.loads(lines[-1])


def interleaved_order(variants: Sequence[str], cycles: int) -> list[str]:
    """A B, B A, A B, ... (``cycles`` times): each variant runs early and late alike, cancelling drift."""
    order: list[str] = []
    for i in range(cycles):
        order.extend(variants if i % 2 == 0 else list(reversed(variants)))
    return order


def run_interleaved(script: Path, variants: Sequence[str], cycles: int, argv: Sequence[str]) -> list[dict[str, Any]]:
    """Each of ``variants`` ``cycles`` times, each run its own ``script --worker VARIANT argv...`` process, in
    the order :func:`interleaved_order` gives; the workers' results in that order."""
    return [run_worker(script, ["--worker", variant, *argv]) for variant in interleaved_order(variants, cycles)]


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def target_check(name: str, value: float | None, op: str, bound: float, unit: str = "") -> dict[str, Any]:
    """A target and whether ``value`` meets it: ``op`` is '>=' or '<'. ``met`` is None when not measured."""
    if op not in (">=", "<"):
        raise ValueError(f"unknown comparison {op!r}: use '>=' or '<'")
    met = None if value is None else (value >= bound if op == ">=" else value < bound)
    return {"name": name, "value": value, "target": f"{op} {bound:g}{unit}", "met": met}


@contextmanager
def timed() -> Iterator[dict[str, float]]:
    """``with timed() as t: ...`` then ``t['seconds']``: wall time by perf_counter."""
    out: dict[str, float] = {}
    started = time.perf_counter()
    try:
        yield out
    finally:
        out["seconds"] = time.perf_counter() - started


# ---------------------------------------------------------------------- results.json and RESULTS.md
def make_row(bench: str, *, command: str, numbers: dict[str, Any], targets: Sequence[dict[str, Any]] = (),
             tables: Sequence[dict[str, Any]] = (), notes: Sequence[str] = (), status: str = "ok",
             load_before: Sequence[float] | None = None) -> dict[str, Any]:
    """One bench's record: what ran, where, when, with which libraries, and what it measured.

    ``tables``: ``[{"title", "columns", "rows"}]`` for per-series results; ``status``: 'ok', 'skipped' or
    'failed' (then ``notes`` say why).
    """
    return {
        "bench": bench,
        "status": status,
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "command": command,
        "machine": machine_info(),
        "versions": library_versions(),
        "load_average": {"before": list(load_before or []), "after": load_average()},
        "numbers": numbers,
        "targets": list(targets),
        "tables": list(tables),
        "notes": list(notes),
    }


def record_row(row: dict[str, Any], results_json: Path | None = None) -> Path:
    """Merge ``row`` into results.json under its bench name (other benches' rows kept), and re-render the
    RESULTS.md beside it. ``results_json`` defaults to ``benchmarks/results.json``.

    A 'skipped' row never replaces a measured one (a bench that could not run leaves the last numbers in
    place). A lock file serialises concurrent writers; the JSON and Markdown are written atomically.
    """
    results_json = Path(results_json or RESULTS_JSON)
    results_json.parent.mkdir(parents=True, exist_ok=True)
    lock_path = results_json.parent / "_work" / f"{results_json.name}.lock"   # _work/ is git-ignored
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        results = load_results(results_json)
        previous = results.get(row["bench"])
        if row.get("status") == "skipped" and previous and previous.get("status") != "skipped":
            return results_json
        results[row["bench"]] = row
        atomic_write_json(results_json, results)
        atomic_write_text(results_json.with_name("RESULTS.md"), render_results_md(results))
    return results_json


def record_and_print(row: dict[str, Any], *, record: bool = True, shown: dict[str, Any] | None = None) -> None:
    """The end of every bench's ``main``: record the row (unless ``--no-record``) and print its numbers (or
    ``shown``) as JSON."""
    if record:
        record_row(row)
    print(json.dumps(row["numbers"] if shown is None else shown, indent=2, default=str))


def load_results(results_json: Path | None = None) -> dict[str, Any]:
    """The rows in results.json (default ``benchmarks/results.json``; an empty dict when there is none yet)."""
    path = Path(results_json or RESULTS_JSON)
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path} should hold an object keyed by bench name; delete it and re-run the benches")
    return data


# The order benches appear in RESULTS.md; unknown names follow alphabetically.
BENCH_ORDER = ("windowing", "training", "end_to_end:quick", "end_to_end:full", "skill_panel:quick",
               "skill_panel:full")


def render_results_md(results: dict[str, Any]) -> str:
    """RESULTS.md: a summary table of every target, then one section per bench with its numbers and tables."""
    names = [n for n in BENCH_ORDER if n in results] + sorted(n for n in results if n not in BENCH_ORDER)
    lines = ["# Benchmark results", "",
             "Generated by `python benchmarks/run_all.py` from `benchmarks/results.json`; do not edit by hand. "
             "Ratios are measured side by side in one run; absolute numbers depend on the machine and on what "
             "else it was doing (see each bench's load average: above the core count means contention).", "",
             "## Targets", "", "| bench | target | measured | met |", "|---|---|---|---|"]
    for name in names:
        row = results[name]
        if row.get("status") != "ok" and not row.get("targets"):
            lines.append(f"| {name} | - | {row.get('status')} | - |")
        for t in row.get("targets", []):
            met = {True: "yes", False: "**no**", None: "not measured"}[t.get("met")]
            lines.append(f"| {name} | {t['name']} {t['target']} | {_fmt(t.get('value'))} | {met} |")
    for name in names:
        lines += [""] + _render_row(name, results[name])
    return "\n".join(lines) + "\n"


def _render_row(name: str, row: dict[str, Any]) -> list[str]:
    machine = row.get("machine", {})
    versions = ", ".join(f"{k} {v}" for k, v in row.get("versions", {}).items())
    load = row.get("load_average", {})
    out = [f"## {name}", "",
           f"- status: {row.get('status')}; date: {row.get('date')}",
           f"- command: `{row.get('command')}`",
           f"- machine: {machine.get('cpu')}, {machine.get('cores')} cores, {machine.get('memory_gib')} GiB, "
           f"{machine.get('os')}, Python {machine.get('python')}",
           f"- libraries: {versions}",
           f"- load average (1, 5, 15 min) before: {load.get('before')}, after: {load.get('after')}"]
    numbers = row.get("numbers") or {}
    if numbers:
        out += ["", "| quantity | value |", "|---|---|"]
        out += [f"| {k} | {_fmt(v)} |" for k, v in _flatten(numbers)]
    for table in row.get("tables", []):
        out += ["", f"**{table.get('title', '')}**", "",
                "| " + " | ".join(table["columns"]) + " |", "|" + "---|" * len(table["columns"])]
        out += ["| " + " | ".join(_fmt(v) for v in r) + " |" for r in table["rows"]]
    if row.get("notes"):
        out += [""] + [f"- {note}" for note in row["notes"]]
    return out


def _flatten(numbers: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out = []
    for key, value in numbers.items():
        label = f"{prefix}{key}"
        if isinstance(value, dict):
            out += _flatten(value, label + ".")
        else:
            out.append((label, value))
    return out


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value != value:
            return "-"
        if abs(value) >= 1e5:
            return f"{value:,.0f}"
        if abs(value) >= 100:
            return f"{value:.1f}"
        # Three decimals from 0.01 up: Theil's U of 0.9996 and 1.0004 must not both print as "1".
        return f"{value:.3f}" if abs(value) >= 0.01 else f"{value:.3g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return str(value).replace("|", "\\|").replace("\n", " ")


def add_network_options(parser: Any, *, seeds: int, window: int, units: str, epochs: int, batch_size: int,
                        variants: Sequence[str]) -> None:
    """The options of the benches that train one network two ways on synthetic windows (ensemble, refit): its
    data and shape, the interleaved cycles, ``--no-record`` and the hidden ``--worker VARIANT``."""
    parser.add_argument("--seeds", type=int, default=seeds, help=f"seed towers (default {seeds})")
    parser.add_argument("--rows", type=int, default=3400, help="rows of synthetic features (default 3400, AAPL)")
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--window", type=int, default=window)
    parser.add_argument("--units", default=units)
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--batch-size", type=int, default=batch_size)
    parser.add_argument("--cycles", type=int, default=2, help="A B pairs (default 2)")
    parser.add_argument("--no-record", action="store_true", help="print the row, leave results.json alone")
    parser.add_argument("--worker", choices=tuple(variants), help=argparse.SUPPRESS)


def parse_units(text: str) -> tuple[int, ...]:
    """A ``--units`` option's layer sizes: ``"64,32"`` -> ``(64, 32)``."""
    return tuple(int(u) for u in text.split(",") if u.strip())


def network_sizes(args: Any) -> dict[str, Any]:
    """The data and network options :func:`add_network_options` parsed, as keyword arguments."""
    return dict(rows=args.rows, features=args.features, window=args.window, units=parse_units(args.units),
                epochs=args.epochs, batch_size=args.batch_size)


def options_argv(options: dict[str, Any]) -> list[str]:
    """Keyword arguments back into command-line options for a worker process (``units=(64, 32)`` ->
    ``--units 64,32``)."""
    return [a for k, v in options.items()
            for a in (f"--{k.replace('_', '-')}", ",".join(map(str, v)) if isinstance(v, (tuple, list)) else str(v))]


def command_line() -> str:
    """How this process was started, for the row's ``command``."""
    script = Path(sys.argv[0])
    try:
        script = script.resolve().relative_to(PROJECT_ROOT)
    except ValueError:
        pass
    return shlex.join(["python", str(script), *sys.argv[1:]])
