"""The first lines of every notebook: find the run folder, settle the config, set up plotting.

Each notebook's ``parameters`` cell holds ``run_dir`` and ``overrides`` (a dict of RunConfig fields); papermill
replaces them. ``start_notebook`` checks the overrides through RunConfig before any work, so a bad parameter
stops the notebook in its first cell with a message that names it.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers.config import ConfigError, RunConfig
from helpers.runfolder import DEFAULT_REPORTS, RunPaths

LAB_RUN = DEFAULT_REPORTS / "lab"   # the run folder of interactive sessions


@dataclass(frozen=True)
class NotebookContext:
    config: RunConfig
    paths: RunPaths


def start_notebook(run_dir: str | os.PathLike | None, overrides: dict[str, Any] | None = None,
                   *, creates_config: bool = False) -> NotebookContext:
    """Settle the config for one notebook and return it with the run folder's paths.

    ``creates_config`` (01_collect only): write ``config.json`` from ``overrides`` (on the defaults of the mode
    they name) when it is missing or overrides are given. Other notebooks read ``config.json`` and apply their
    overrides in memory only, so a re-run of one notebook never changes what the others see.
    """
    overrides = dict(overrides or {})
    if not isinstance(overrides, dict):
        raise ConfigError("overrides", overrides, "a dict of RunConfig fields, e.g. {'epochs': 5}")
    paths = RunPaths(Path(run_dir) if run_dir else LAB_RUN)
    paths.root.mkdir(parents=True, exist_ok=True)
    configure_plotting()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", force=True)
    if creates_config and (overrides or not paths.config.exists()):
        mode = overrides.pop("mode", "full")
        config = RunConfig.for_mode(mode, **overrides)
        config.save(paths.config)
    else:
        config = RunConfig.load(paths.config)
        if "mode" in overrides and overrides["mode"] != config.mode:
            raise ConfigError("mode", overrides["mode"],
                              f"the run's mode is {config.mode!r}, set in 01_collect; start a new run to change it")
        overrides.pop("mode", None)
        if overrides:
            config = config.replace(**overrides)
    return NotebookContext(config=config, paths=paths)


def configure_plotting() -> None:
    """Plotly's 'notebook' renderer embeds plotly.js, so figures survive nbconvert's HTML export offline."""
    import plotly.io as pio

    pio.renderers.default = os.environ.get("PLOTLY_RENDERER", "notebook")
