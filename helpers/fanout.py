"""Where independent work runs: local spawned processes, or the executor of an existing Dask cluster.

One place for the fan-out of ``lstm-lab batch`` (one run per ticker), the panel's study periods, and work
that runs beside the caller's own (:func:`alongside`: 06's walk-forward refits while the run's ensemble trains).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing
import io
import os
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

from helpers.config import ConfigError

DASK_CONNECT_TIMEOUT_S = 10.0
# Set to "off" where the cores are already shared out (see second_process_wanted); "auto" or unset otherwise.
SECOND_PROCESS_ENV = "LSTM_LAB_SECOND_PROCESS"


@contextlib.contextmanager
def work_executor(workers: int, dask_address: str | None) -> Iterator[cf.Executor]:
    """A concurrent.futures executor: spawned processes, or a Dask client's executor (cluster left running)."""
    if dask_address is None:
        # spawn, not fork: a forked child would inherit the parent's threads (tqdm, zmq) in an unknown state.
        with cf.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            yield pool
        return
    try:
        from dask.distributed import Client
    except ImportError as err:
        raise ConfigError("dask", dask_address, "dask[distributed] installed: pip install 'dask[distributed]'") from err
    try:
        client = Client(dask_address, timeout=f"{DASK_CONNECT_TIMEOUT_S}s")
    except OSError as err:
        raise ConfigError("dask", dask_address,
                          f"the address of a running Dask scheduler, e.g. tcp://127.0.0.1:8786 ({err})") from err
    try:
        # pure=False: two configs that compare equal (the same ticker twice) are still two runs.
        with client.get_executor(pure=False) as executor:
            yield executor
    finally:
        client.close()


def second_process_wanted() -> bool:
    """Whether :func:`alongside` starts a second process when its caller leaves the choice to it: when the
    machine has more than one core, unless ``LSTM_LAB_SECOND_PROCESS=off``.

    ``off`` is for where the cores are already shared out: a batch running tickers side by side sets it for
    its runs. There a second process would only add its start-up (a Python and a TensorFlow import, about 5
    CPU-seconds) to work that already fills the cores. The numbers are the same either way: each fit seeds
    itself.
    """
    setting = os.environ.get(SECOND_PROCESS_ENV, "auto").strip().lower()
    if setting not in ("auto", "off"):
        raise ValueError(f"{SECOND_PROCESS_ENV}={os.environ[SECOND_PROCESS_ENV]!r}: use 'auto' (a second process "
                         f"when the machine has more than one core) or 'off', or unset it")
    return setting == "auto" and (os.cpu_count() or 1) > 1


@contextlib.contextmanager
def alongside(fn: Callable[..., Any], /, *args: Any, background: bool | None = None,
              **kwargs: Any) -> Iterator[Callable[[], Any]]:
    """Run ``fn(*args, **kwargs)`` while the ``with`` block runs; yield a function returning its result.

    In a spawned process when ``background`` (default: :func:`second_process_wanted`), so a training that
    keeps one core busy leaves the other to ``fn``; in this process, when the result is first asked for,
    otherwise. ``fn`` and its arguments must be picklable (a module-level function); what it prints
    is printed here as it comes. The process is stopped, not waited for, when the block raises; if it ends
    without a result (it could not start, or died), asking for the result raises :class:`BackgroundWorkFailed`
    saying so.
    """
    if background is None:
        background = second_process_wanted()
    if not background:
        cache: list[Any] = []

        def result() -> Any:
            if not cache:
                cache.append(fn(*args, **kwargs))
            return cache[0]

        yield result
        return
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_send_result, args=(send, fn, args, kwargs), daemon=True)
    process.start()
    send.close()
    outcome: list[tuple[bool, Any]] = []
    relay = threading.Thread(target=_relay, args=(receive, outcome), daemon=True)
    relay.start()

    def result() -> Any:
        relay.join()
        if not outcome:
            process.join()
            raise BackgroundWorkFailed(
                f"{getattr(fn, '__name__', fn)} ran in a second process that ended without a result (exit code "
                f"{process.exitcode}). A script that calls this must guard its top level with "
                f"`if __name__ == \"__main__\":` (multiprocessing's spawn imports it again), or pass "
                f"background=False to run it in this process.")
        ok, value = outcome[0]
        if not ok:
            raise value
        return value

    try:
        yield result
    finally:
        if process.is_alive():
            process.terminate()
        process.join()
        relay.join(timeout=5)
        receive.close()


def _relay(receive: Any, outcome: list) -> None:
    """The caller's side of :func:`alongside`: print what the second process prints (so its progress lines
    land in the notebook cell, not the terminal the kernel started from), then keep its outcome."""
    while True:
        try:
            kind, *payload = receive.recv()
        except (EOFError, OSError):
            return
        if kind == "out":
            sys.stdout.write(payload[0])
            sys.stdout.flush()
        else:
            outcome.append((payload[0], payload[1]))
            return


class BackgroundWorkFailed(RuntimeError):
    """Work started by :func:`alongside` ended without a result."""


class _PipeWriter(io.TextIOBase):
    """The second process's stdout: each write goes to the caller as ``("out", text)``."""

    def __init__(self, send: Any):
        self._send = send

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if text:
            self._send.send(("out", text))
        return len(text)


def _send_result(send: Any, fn: Callable[..., Any], args: tuple, kwargs: dict) -> None:
    """The second process of :func:`alongside`: run ``fn`` with its printed output relayed, then send
    ``("done", True, result)`` or ``("done", False, error)``."""
    sys.stdout = _PipeWriter(send)
    try:
        payload = ("done", True, fn(*args, **kwargs))
    except Exception as err:  # handed to the parent, which raises it
        payload = ("done", False, err)
    send.send(payload)
    send.close()
