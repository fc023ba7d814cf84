"""The first lines of every notebook: find the run folder, settle the config, set up plotting and logging.

Each notebook's ``parameters`` cell holds ``run_dir`` and ``overrides`` (a dict of RunConfig fields); papermill
replaces them. ``start_notebook`` checks the overrides through RunConfig before any work, so a bad parameter
stops the notebook in its first cell with a message that names it.

Interactive use (JupyterLab, ``run_dir = ""``): the run folder is ``$LSTM_LAB_RUN`` when set (``make lab
RUN=reports/<id>`` sets it, so any notebook re-runs against a finished run), else ``reports/lab``; a new
interactive run defaults to quick mode, so opening 01 in Lab takes about a minute per notebook at most. A relative
``run_dir`` is read from the repository root, never from ``notebooks/`` where the kernel stands.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers.config import ConfigError, RunConfig
from helpers.runfolder import PROJECT_ROOT, RunPaths

LAB_RUN_ENV = "LSTM_LAB_RUN"          # the run folder of interactive sessions, set by `make lab RUN=...`
LAB_RUN_DEFAULT = Path("reports") / "lab"   # relative to the repository root
INTERACTIVE_MODE = "quick"            # mode of a new run started from JupyterLab (no papermill parameters)
BATCH_MODE = "full"                   # mode of a new run started with a run_dir but no "mode" override


@dataclass(frozen=True)
class NotebookContext:
    config: RunConfig
    paths: RunPaths


def start_notebook(run_dir: str | os.PathLike | None, overrides: dict[str, Any] | None = None,
                   *, creates_config: bool = False) -> NotebookContext:
    """Settle the config for one notebook and return it with the run folder's paths.

    ``creates_config`` (01_collect only): create the run folder and write ``config.json`` from ``overrides``
    (on the defaults of the mode they name; quick when ``run_dir`` is empty) when it is missing or overrides
    are given. Other notebooks need an existing run folder (ConfigError naming the absolute folder otherwise),
    read ``config.json`` and apply their overrides in memory only, so a re-run of one notebook never changes
    what the others see.
    """
    if not isinstance(overrides, (dict, type(None))):
        raise ConfigError("overrides", overrides, "a dict of RunConfig fields, e.g. {'epochs': 5}")
    overrides = dict(overrides or {})
    interactive = not run_dir
    paths = RunPaths(resolve_run_dir(run_dir))
    if creates_config:
        paths.root.mkdir(parents=True, exist_ok=True)
    elif not paths.root.is_dir():
        raise ConfigError("run_dir", str(run_dir or paths.root),
                          f"an existing run folder; {paths.root} does not exist. Run 01_collect first, or "
                          f"point run_dir at a finished run (a path relative to {repository_root()} or absolute), "
                          f"or start JupyterLab with `make lab RUN=reports/<run-id>`")
    configure_plotting()
    configure_logging()
    if creates_config and (overrides or not paths.config.exists()):
        mode = overrides.pop("mode", INTERACTIVE_MODE if interactive else BATCH_MODE)
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


def resolve_run_dir(run_dir: str | os.PathLike | None) -> Path:
    """The absolute run folder: ``run_dir`` as given when absolute, else from the repository root; an empty
    ``run_dir`` means ``$LSTM_LAB_RUN`` (when set) or ``reports/lab``."""
    if not run_dir:
        run_dir = os.environ.get(LAB_RUN_ENV, "").strip() or LAB_RUN_DEFAULT
    path = Path(run_dir).expanduser()
    return path.resolve() if path.is_absolute() else (repository_root() / path).resolve()


def repository_root() -> Path:
    """The folder holding pyproject.toml: the package's own checkout, else the nearest one above the cwd."""
    for candidate in (PROJECT_ROOT, *[Path.cwd(), *Path.cwd().parents]):
        if (candidate / "pyproject.toml").is_file():
            return candidate
    return Path.cwd()


def configure_logging() -> None:
    """Warnings and errors of every logger, one line each; INFO stays out of notebook pages."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", force=True)


def configure_plotting() -> None:
    """Figures as the runner's report renderer when ``$LSTM_LAB_RENDERER`` names it (plotly.js is loaded once
    per run folder by the exported pages), else plotly's 'notebook' renderer (plotly.js inside the output, for
    JupyterLab sessions)."""
    import plotly.io as pio

    from helpers.plotlyjs import INTERACTIVE_RENDERER, RENDERER_ENV, register_renderer

    register_renderer()
    pio.renderers.default = os.environ.get(RENDERER_ENV, "").strip() or INTERACTIVE_RENDERER
