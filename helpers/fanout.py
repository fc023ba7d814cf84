"""Where independent work runs: local spawned processes, or the executor of an existing Dask cluster.

One place for the fan-out of ``lstm-lab batch`` (one run per ticker) and the panel's study periods.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing
from collections.abc import Iterator

from helpers.config import ConfigError

DASK_CONNECT_TIMEOUT_S = 10.0


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
