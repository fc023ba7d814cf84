"""Bench 3, end to end: wall time and peak memory of ``lstm-lab run --source sample`` in quick and full mode.

Runs the whole notebook series exactly as a user would (the console script, a new run folder under
``benchmarks/_work/``), and reports the wall time, the peak resident memory of the largest process in the
tree (``ru_maxrss`` of the waited-for children: the CLI and the notebook kernels), and each notebook's time
as papermill recorded it. Targets: quick < 3 min, full < 20 min.

    python benchmarks/bench_end_to_end.py --modes quick
    python benchmarks/bench_end_to_end.py --modes quick,full
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import common

BENCH = "end_to_end"
TARGET_SECONDS = {"quick": 60, "full": 5 * 60}            # issue 21: five minutes for the full report on 2 cores
EARLIER_TARGET_SECONDS = {"quick": 3 * 60, "full": 20 * 60}  # the first targets (issue 9), kept for context


def lstm_lab_command() -> list[str]:
    """The console script beside this Python (what a user types), else ``python -m helpers``."""
    script = Path(sys.executable).parent / "lstm-lab"
    return [str(script)] if script.exists() else [sys.executable, "-m", "helpers"]


def time_command(cmd: Sequence[str], *, cwd: Path | None = None, env: dict[str, str] | None = None,
                 log_dir: Path | None = None) -> dict[str, Any]:
    """Run ``cmd`` to its end; its wall time, exit code, output tails and the peak RSS of its process tree.

    ``os.wait4`` returns the child's resource usage including its own waited-for children, so ``max_rss_bytes``
    is the largest single process among the command and the kernels it started (not their sum). Output goes to
    files in ``log_dir`` (a pipe could fill and stall a long run).
    """
    log_dir = Path(log_dir or common.WORK_DIR)
    log_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    out_path, err_path = log_dir / f"cmd-{stamp}-{os.getpid()}.out", log_dir / f"cmd-{stamp}-{os.getpid()}.err"
    with open(out_path, "w") as out, open(err_path, "w") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(list(cmd), cwd=cwd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)   # reaped by wait4; tell Popen
    stdout = out_path.read_text(errors="replace")
    stderr = err_path.read_text(errors="replace")
    return {"command": shlex.join(cmd), "wall_s": wall, "returncode": proc.returncode,
            "max_rss_bytes": int(usage.ru_maxrss) * 1024, "user_s": usage.ru_utime, "system_s": usage.ru_stime,
            "stdout": stdout, "stderr_tail": "\n".join(stderr.splitlines()[-20:]),
            "stdout_log": str(out_path), "stderr_log": str(err_path)}


def missing_notebooks(notebooks_dir: Path | None = None) -> list[str]:
    """The series' notebooks that are not there yet (a run without them measures nothing)."""
    from helpers.runner import NOTEBOOKS, existing_notebooks

    present = set(existing_notebooks(notebooks_dir))
    return [n for n in NOTEBOOKS if n not in present]


def notebook_seconds(run_dir: Path) -> dict[str, float | None]:
    """Each executed notebook's duration as papermill recorded it in the notebook's metadata."""
    out: dict[str, float | None] = {}
    for path in sorted(run_dir.glob("[0-9][0-9]_*.ipynb")):
        try:
            meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {}).get("papermill", {})
            out[path.stem] = None if meta.get("duration") is None else round(float(meta["duration"]), 1)
        except (OSError, ValueError):
            out[path.stem] = None
    return out


def checkout_of(ref: str) -> Path:
    """A detached git worktree of ``ref`` under benchmarks/_work (made once, reused): the code to compare with."""
    commit = subprocess.run(["git", "rev-parse", "--short", ref], cwd=common.PROJECT_ROOT, capture_output=True,
                            text=True, check=True).stdout.strip()
    path = common.WORK_DIR / f"before-{commit}"
    if not (path / "helpers").is_dir():
        subprocess.run(["git", "worktree", "add", "--detach", str(path), commit], cwd=common.PROJECT_ROOT,
                       capture_output=True, text=True, check=True)
    return path


def run_end_to_end(mode: str, *, ticker: str = "AAPL", source: str = "sample", out_dir: Path | None = None,
                   notebooks_dir: Path | None = None, require_all_notebooks: bool = True,
                   extra_args: Sequence[str] = (), code: Path | None = None, label: str = "",
                   settle_s: float = 0.0) -> dict[str, Any]:
    """Time ``lstm-lab run --ticker T --source S --mode MODE`` into ``out_dir``; return the results row
    ``end_to_end:MODE`` (status 'skipped' when the series' notebooks are not all there). ``settle_s``: first
    wait up to that long for the machine to be idle (:func:`common.settle`).

    ``code``: another checkout of the project (:func:`checkout_of`) whose helpers and notebooks run instead,
    with this environment's libraries; the row is then ``end_to_end:MODE:LABEL``."""
    bench = f"{BENCH}:{mode}" + (f":{label}" if label else "")
    settled_s = common.settle(settle_s)
    load_before = common.load_average()
    out_dir = Path(out_dir or common.WORK_DIR / (f"e2e-{mode}" + (f"-{label}" if label else "")))
    program = lstm_lab_command() if code is None else [sys.executable, "-m", "helpers"]
    if code is not None:
        notebooks_dir = Path(code) / "notebooks"
    cmd = [*program, "run", "--ticker", ticker, "--source", source, "--mode", mode,
           "--out", str(out_dir), "--quiet", *extra_args]
    if notebooks_dir is not None:
        cmd += ["--notebooks-dir", str(notebooks_dir)]
    shown = "lstm-lab " + shlex.join(cmd[len(program):])
    if code is not None:
        shown = f"PYTHONPATH={_relative(Path(code))} {shown}"
    missing = missing_notebooks(notebooks_dir)
    if missing and require_all_notebooks:
        return common.make_row(bench, command=shown, numbers={}, status="skipped", load_before=load_before,
                               notes=[f"not run: notebook(s) {', '.join(missing)} do not exist yet"])
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    if code is not None:
        env["PYTHONPATH"] = str(code)   # the kernels inherit it: the other checkout's helpers everywhere
    timing = time_command(cmd, cwd=Path(code) if code is not None else common.PROJECT_ROOT, env=env,
                          log_dir=out_dir)
    lines = [ln for ln in timing["stdout"].splitlines() if ln.strip()]
    run_dir = Path(lines[-1]).parent if lines else None
    numbers: dict[str, Any] = {
        "mode": mode, "ticker": ticker, "source": source, "exit_code": timing["returncode"],
        "wall_s": timing["wall_s"], "wall_min": timing["wall_s"] / 60,
        "peak_rss_mib_largest_process": timing["max_rss_bytes"] / common.MIB,
        "cpu_s_children": timing["user_s"] + timing["system_s"],
    }
    if settle_s:
        numbers["settled_s"] = settled_s
    notes = ["Peak memory is ru_maxrss of the waited-for process tree: the largest single process (CLI or a "
             "notebook kernel), not a sum.",
             "cpu_s_children / wall_s above the core count cannot happen; far below it means waiting "
             "(on other work sharing the CPU, or on I/O)."]
    if run_dir is not None and run_dir.is_dir():
        numbers["run_dir"] = _relative(run_dir)
        numbers["notebook_s"] = notebook_seconds(run_dir)
        metrics_path = run_dir / "metrics.json"
        if metrics_path.exists():
            metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
            numbers["theils_u"] = metrics.get("theils_u")
            numbers["verdict"] = metrics.get("verdict")
    status = "ok" if timing["returncode"] == 0 else "failed"
    if status == "failed":
        notes.append(f"the run failed (exit {timing['returncode']}): {timing['stderr_tail'][-600:]}")
    value = timing["wall_s"] if status == "ok" else None
    targets = [] if label else [
        common.target_check(f"{mode} run wall time, s (issue 21 target)", value, "<", TARGET_SECONDS[mode]),
        common.target_check(f"{mode} run wall time, s (issue 9 target)", value, "<", EARLIER_TARGET_SECONDS[mode])]
    return common.make_row(bench, command=shown, numbers=numbers, targets=targets, notes=notes, status=status,
                           load_before=load_before)


def _relative(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(common.PROJECT_ROOT))
    except ValueError:
        return str(path)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default="quick,full", help="comma-separated: quick, full (default both)")
    parser.add_argument("--ticker", default="AAPL")
    parser.add_argument("--source", default="sample")
    parser.add_argument("--fresh", action="store_true", help="delete earlier runs under benchmarks/_work/e2e-* first")
    parser.add_argument("--no-record", action="store_true", help="print the rows, leave results.json alone")
    parser.add_argument("--before", default=None, metavar="REF",
                        help="also time the code of git REF (a worktree under benchmarks/_work), right before the "
                             "current code in each mode: before and after side by side, at the same load")
    parser.add_argument("--settle", type=float, default=0.0, metavar="SECONDS",
                        help="before each run, wait up to SECONDS for the 1-minute load average to fall below "
                             "0.5, so no run starts on the tail of the previous one (default: no wait)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    bad = [m for m in modes if m not in TARGET_SECONDS]
    if bad:
        print(f"unknown mode(s) {bad}: use quick, full", file=sys.stderr)
        return 2
    failed = False
    for mode in modes:
        if args.fresh:
            shutil.rmtree(common.WORK_DIR / f"e2e-{mode}", ignore_errors=True)
        before = None
        if args.before:
            before = run_end_to_end(mode, ticker=args.ticker, source=args.source, code=checkout_of(args.before),
                                    label="before", settle_s=args.settle)
            before["numbers"]["ref"] = args.before
            common.record_and_print(before, record=not args.no_record,
                                    shown={"bench": before["bench"], "status": before["status"], **before["numbers"]})
        row = run_end_to_end(mode, ticker=args.ticker, source=args.source, settle_s=args.settle)
        if before is not None and before["status"] == "ok" and row["status"] == "ok":
            row["numbers"]["before_ref"] = args.before
            row["numbers"]["before_wall_s"] = before["numbers"]["wall_s"]
            row["numbers"]["speedup_before_over_after"] = before["numbers"]["wall_s"] / row["numbers"]["wall_s"]
            row["notes"].append(f"Before: the code of {args.before} timed right before this run, same machine and "
                                f"libraries (row end_to_end:{mode}:before).")
        failed |= row["status"] == "failed"
        common.record_and_print(row, record=not args.no_record,
                                shown={"bench": row["bench"], "status": row["status"], **row["numbers"],
                                       "notes": row["notes"]})
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
