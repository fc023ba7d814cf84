"""Run the notebook series with papermill into a new run folder, export each notebook to HTML, write the index.

One run = one folder under ``reports/`` (``AAPL-2026-11-21T1830-lstm``): its ``config.json`` is written first,
then each notebook executes with ``run_dir`` pointing there, and is saved beside it as ``NN_name.ipynb`` and
``NN_name.html``. A failing notebook stops the run with :class:`NotebookFailed` naming the notebook and cell;
the partial folder stays, with the failed notebook's HTML (traceback included) and an index marking it.

Notebooks whose inputs are ready run at the same time, up to ``workers`` kernels (default: two, or the core
count if smaller): 02 beside 03, 04 beside 05 and 06, 07 beside 08. Which notebook needs which follows from
the run-folder contract (:data:`helpers.runfolder.READS` and :data:`~helpers.runfolder.WRITTEN_BY`), never from
the order. A training notebook keeps about one core busy (small recurrent networks do not spread over cores),
so two kernels use a two-core machine that one kernel leaves half idle.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import functools
import logging
import multiprocessing
import os
import re
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from helpers.atomic import atomic_write_text
from helpers.config import ConfigError, RunConfig
from helpers.plotlyjs import (RENDERER_ENV, RENDERER_NAME, add_figure_html, draws_plotly, figure_trace_types,
                              script_tag, write_plotlyjs)
from helpers.report import NotebookStatus, write_index
from helpers.runfolder import (DEFAULT_REPORTS, PROJECT_ROOT, READS, WRITTEN_BY, RunPaths, new_run_id,
                               unique_run_dir)

log = logging.getLogger(__name__)

NOTEBOOKS = ("01_collect", "02_explore", "03_featurize", "04_model", "05_tune", "06_evaluate", "07_forecast",
             "08_risk")
DEFAULT_NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
ALPHAVANTAGE_KEY_ENV = "ALPHAVANTAGE_API_KEY"
DEFAULT_WORKERS = 2                  # kernels at a time (see the module docstring)
SIDE_BRANCH_NICE = 10                # priority step of a notebook nothing waits on, started beside the chain

# Environment of the notebook kernels: figures without plotly.js (each page loads the run folder's one
# plotly.min.js, see helpers/plotlyjs.py), and TensorFlow's C++ INFO lines off (they would fill the pages).
KERNEL_ENV = {RENDERER_ENV: RENDERER_NAME}
KERNEL_ENV_DEFAULTS = {"TF_CPP_MIN_LOG_LEVEL": "2"}
# TensorFlow start-up lines that TF_CPP_MIN_LOG_LEVEL does not silence (absl prints them before it reads its
# settings): absl's preamble and INFO records such as "oneDNN custom operations are on". Dropped from stderr
# outputs of executed notebooks; warnings and errors (W..., E... records) stay.
_TF_STARTUP_LINE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|I\d{4} [\d:.]+\s+\d+ \S+:\d+\] .*"
    r"|To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags\.)$")
# The kernel's shutdown chatter on its stderr (see kernel_stderr_kept).
_SHUTDOWN_INTERRUPT = re.compile(r"^\[IPKernelApp\] ERROR \| KeyboardInterrupt caught in kernel\.?$")
_LOGGING_ERROR = "--- Logging error ---"
_CLOSED_STREAM = "ValueError: I/O operation on closed file"
# Notebook pages share one stylesheet (JupyterLab's, ~250 kB) beside them instead of a copy each.
NOTEBOOK_CSS = "notebook.css"
_CSS_START, _CSS_END = "<!-- lstm-lab notebook css -->", "<!-- /lstm-lab notebook css -->"

# nbconvert's lab template with each code input in a <details> (foldable) and a "Hide code" button.
_FOLDABLE_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{#- Nothing from the network: no require.js, MathJax, mermaid or widget scripts (no notebook uses them);
    plotly.js from the run folder when the page draws a figure. -#}
{%- block html_head_js_requirejs -%}
{%- if resources.plotlyjs_tag %}{{ resources.plotlyjs_tag }}{% endif -%}
{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block notebook_css -%}
<!-- lstm-lab notebook css -->{{ super() }}<!-- /lstm-lab notebook css -->
{%- endblock notebook_css -%}
{%- block body_header -%}
{{ super() }}
<nav class="lab-report-bar" style="font-family: sans-serif; padding: 0.5rem 1rem; border-bottom: 1px solid #ddd;">
<a href="index.html">&larr; run index</a>
{%- if resources.global_content_filter.include_input %}
<button type="button" id="lab-toggle-code" data-open="true" style="margin-left: 1rem;">Hide code</button>
{%- endif %}
</nav>
{%- endblock body_header -%}
{% block input_group -%}
<details class="lab-code" open><summary style="cursor: pointer; color: #666; font-size: 0.85em;">code</summary>
{{ super() }}
</details>
{%- endblock input_group %}
{% block footer_js %}
{{ super() }}
{%- if resources.global_content_filter.include_input %}
<script>
(function () {
  var button = document.getElementById("lab-toggle-code");
  if (!button) { return; }
  button.addEventListener("click", function () {
    var open = button.getAttribute("data-open") === "true";
    document.querySelectorAll("details.lab-code").forEach(function (d) { d.open = !open; });
    button.setAttribute("data-open", String(!open));
    button.textContent = open ? "Show code" : "Hide code";
  });
})();
</script>
{%- endif %}
{% endblock footer_js %}
"""


class NotebookFailed(RuntimeError):
    """A notebook of the series raised; the run folder is kept as it was when the notebook stopped.

    ``cell_index`` is the 0-based index of the failing cell in the source notebook (None when unknown, e.g.
    the kernel died); ``cell_number`` counts from 1 as a reader does.
    """

    def __init__(self, notebook: str, cell_index: int | None, ename: str, evalue: str, run_dir: str | Path):
        self.notebook = notebook
        self.cell_index = cell_index
        self.ename = ename
        self.evalue = evalue
        self.run_dir = Path(run_dir)
        where = f"at cell {self.cell_number}" if cell_index is not None else "(cell unknown)"
        super().__init__(
            f"notebook {notebook} failed {where}: {ename}: {evalue}\n"
            f"The partial run folder is kept at {self.run_dir}; open {self.run_dir / (notebook + '.html')} "
            f"for the traceback, fix the cause and start a new run.")

    def __reduce__(self):
        # Raised in a worker process and re-raised here: rebuild from the fields, not from the message.
        return NotebookFailed, (self.notebook, self.cell_index, self.ename, self.evalue, str(self.run_dir))

    @property
    def cell_number(self) -> int | None:
        return None if self.cell_index is None else self.cell_index + 1

    @property
    def status(self) -> NotebookStatus:
        return NotebookStatus("failed", cell_number=self.cell_number, error=f"{self.ename}: {self.evalue}")


# ---------------------------------------------------------------------------------------------- checks


def existing_notebooks(notebooks_dir: str | Path | None = None) -> list[str]:
    """The stems of NOTEBOOKS present in ``notebooks_dir`` (default: the project's notebooks/), in series order."""
    folder = Path(notebooks_dir) if notebooks_dir is not None else DEFAULT_NOTEBOOKS_DIR
    return [stem for stem in NOTEBOOKS if (folder / f"{stem}.ipynb").is_file()]


def select_notebooks(requested: Sequence[str] | None, notebooks_dir: str | Path | None = None) -> list[str]:
    """Resolve a selection (stems like ``"04_model"`` or numbers like ``"04"``/``"4"``) against what exists.

    None selects every existing notebook. Raises ConfigError naming a notebook that is unknown or missing.
    """
    folder = Path(notebooks_dir) if notebooks_dir is not None else DEFAULT_NOTEBOOKS_DIR
    present = existing_notebooks(folder)
    if requested is None:
        if not present:
            raise ConfigError("notebooks_dir", str(folder),
                              f"a folder holding the series' notebooks ({', '.join(n + '.ipynb' for n in NOTEBOOKS)})")
        return present
    chosen = []
    for name in requested:
        stem = _notebook_stem(str(name).strip())
        if stem not in present:
            raise ConfigError("notebooks", name, f"a notebook present in {folder}: {', '.join(present) or 'none'}")
        chosen.append(stem)
    if not chosen:
        raise ConfigError("notebooks", list(requested), f"at least one of {', '.join(present)}")
    return [stem for stem in NOTEBOOKS if stem in chosen]


def _notebook_stem(name: str) -> str:
    name = name.removesuffix(".ipynb")
    if name.isdigit():
        matches = [stem for stem in NOTEBOOKS if int(stem[:2]) == int(name)]
        return matches[0] if matches else name
    return name


def preflight(config: RunConfig, *, kernel_name: str | None = None) -> None:
    """Checks that need no long work, so a run fails in a second rather than after an hour.

    Input files exist, the Alpha Vantage key is set for that source, and the kernel (when named) is
    installed. Raises ConfigError naming the parameter and what to do. (Sentiment without headlines is not an
    error: 03_featurize switches that group off and says so.)
    """
    if config.source == "csv":
        if not config.csv_path:
            raise ConfigError("csv_path", None, "a CSV file of prices when source is 'csv' (--csv PATH)")
        _require_file("csv_path", config.csv_path, "an existing CSV file of prices")
    if config.headlines_path:
        _require_file("headlines_path", config.headlines_path, "an existing CSV of dated headlines (timestamp,text)")
    if config.source == "alphavantage" and not os.environ.get(ALPHAVANTAGE_KEY_ENV, "").strip():
        raise ConfigError("source", "alphavantage",
                          f"an Alpha Vantage API key in the environment: get a free key at "
                          f"https://www.alphavantage.co/support/#api-key, then `export {ALPHAVANTAGE_KEY_ENV}=...`; "
                          f"or choose another source")
    if kernel_name is not None:
        from jupyter_client.kernelspec import find_kernel_specs

        specs = find_kernel_specs()
        if kernel_name not in specs:
            raise ConfigError("kernel_name", kernel_name, f"an installed Jupyter kernel: {', '.join(sorted(specs))}")


LOCAL_SOURCES = ("csv", "sample", "synthetic")


def preflight_history(config: RunConfig) -> int | None:
    """Load and clean the prices of a source that needs no network and check that the whole series can run on
    them (:func:`helpers.validation.check_history`: every split, tuning window, walk-forward refit and residual
    pool), so a series that cannot complete is refused in seconds with the numbers, before any notebook runs.
    Returns the rows needed; None for network sources (01 makes the same check right after downloading)."""
    if config.source not in LOCAL_SOURCES:
        return None
    from helpers.data import load_prices
    from helpers.validation import check_history, clean_prices

    cleaned, _ = clean_prices(load_prices(config).prices)
    return check_history(len(cleaned), config, dates=cleaned.index, columns=list(cleaned.columns))


def _require_file(field: str, value: str, allowed: str) -> None:
    path = Path(value).expanduser()
    if not path.is_file():
        raise ConfigError(field, value, f"{allowed}; {path.resolve()} does not exist")


def with_absolute_paths(config: RunConfig, base: str | Path | None = None) -> RunConfig:
    """The config with csv_path and headlines_path made absolute (relative to ``base``, default the cwd).

    The notebooks run with the notebooks folder as their working directory, so a path the user typed relative
    to where they stand must be pinned down before config.json is written.
    """
    base = Path(base) if base is not None else Path.cwd()
    changes = {}
    for field in ("csv_path", "headlines_path"):
        value = getattr(config, field)
        if value and not Path(value).expanduser().is_absolute():
            changes[field] = str((base / Path(value).expanduser()).resolve())
    return config.replace(**changes) if changes else config


# ---------------------------------------------------------------------------------------------- running


def run_series(config: RunConfig, *, out_dir: str | Path = DEFAULT_REPORTS, run_id: str | None = None,
               notebooks_dir: str | Path | None = None, notebooks: Sequence[str] | None = None,
               no_code: bool = False, progress: bool = True, kernel_name: str = "python3",
               workers: int | None = None, kernel_env_defaults: Mapping[str, str] | None = None) -> Path:
    """Execute the series (or ``notebooks``, a subset) into a new run folder under ``out_dir``; return it.

    The folder is ``out_dir/<run_id>`` (default ``TICKER-YYYY-MM-DDTHHMM-cell``), suffixed ``-2``, ``-3``, ...
    if taken: runs never overwrite each other. ``config.json`` is written before any notebook runs. Raises
    ConfigError before creating anything when a parameter is bad, NotebookFailed when a notebook raises.
    One run per process at a time: papermill changes the working directory (use helpers.batch for many).
    ``workers``: notebooks at a time (default :func:`default_workers`), each waiting for the notebooks whose
    files it reads (:func:`run_in_dependency_order`). ``kernel_env_defaults``: more environment variables of
    the run's kernels, each set only when unset (a batch's ``LSTM_LAB_SECOND_PROCESS=off``).
    """
    # Absolute, because the notebooks run with the notebooks folder as their working directory: a relative
    # run folder would otherwise be created a second time under notebooks/.
    notebooks_dir = Path(notebooks_dir).resolve() if notebooks_dir is not None else DEFAULT_NOTEBOOKS_DIR
    out_dir = Path(out_dir).resolve()
    config = with_absolute_paths(config)
    workers = default_workers() if workers is None else workers
    if workers < 1:
        raise ConfigError("workers", workers, "a whole number of notebooks at a time >= 1")
    preflight(config, kernel_name=kernel_name)
    stems = select_notebooks(notebooks, notebooks_dir)
    if "01_collect" in stems:
        preflight_history(config)

    paths = RunPaths(_create_run_dir(Path(out_dir), run_id or new_run_id(config.ticker, config.cell)))
    config.save(paths.config)
    write_plotlyjs(paths.root)
    log.info("run folder %s: %s", paths.root, ", ".join(stems))
    statuses: dict[str, NotebookStatus] = {stem: NotebookStatus("not run") for stem in stems}
    try:
        with _kernel_environment(kernel_env_defaults), _progress(stems, config.ticker, progress) as bar, \
                cf.ThreadPoolExecutor(max_workers=1) as exporter:
            # Pages are exported here, in a thread, while the notebooks that waited on this one already run.
            run = functools.partial(run_notebook, notebooks_dir=notebooks_dir, paths=paths,
                                    kernel_name=kernel_name, no_code=no_code)
            exports = []
            for stem, status in run_in_dependency_order(stems, run, workers):
                statuses[stem] = status
                if status.state == "ok":
                    exports.append(exporter.submit(export_html, paths.notebook(stem), paths.notebook_html(stem),
                                                   no_code=no_code))
                if status.state != "interrupted":
                    bar.update(1)
                bar.set_postfix_str(", ".join(s for s, st in statuses.items() if st.state == "interrupted"))
            for done in exports:
                done.result()
    finally:
        write_index(paths.root, config, notebooks_status=statuses)
    return paths.root


def default_workers() -> int:
    """Kernels at a time: two, or one on a one-core machine."""
    return max(1, min(DEFAULT_WORKERS, os.cpu_count() or 1))


def notebook_needs(stems: Sequence[str]) -> dict[str, set[str]]:
    """For each of ``stems``, the ones among them it must wait for: the writers of the files it reads
    (:data:`helpers.runfolder.READS`). A notebook the contract does not know waits for every one before it."""
    needs: dict[str, set[str]] = {}
    for i, stem in enumerate(stems):
        if stem in READS:
            needs[stem] = {WRITTEN_BY[name] for name in READS[stem]} & set(stems[:i])
        else:
            needs[stem] = set(stems[:i])
    return needs


def run_in_dependency_order(stems: Sequence[str], run: Callable[[str], None], workers: int
                            ) -> Iterator[tuple[str, NotebookStatus]]:
    """Run ``run(stem)`` for every stem once the ones it needs have finished, ``workers`` at a time (in spawned
    processes when more than one; papermill changes the working directory, so two kernels cannot be driven
    from one process). Yields ``(stem, status)`` as each starts ("interrupted" until it ends) and ends.

    One at a time, they run in series order. Several at a time, among the notebooks ready to start the one with
    the most notebooks waiting on it goes first (05 before 04), so the longest chain never queues behind a
    side branch. After a failure nothing new starts; the running ones finish, then the first failure is
    raised.
    """
    stems = list(stems)
    needs = notebook_needs(stems)
    waiting_on = {stem: sum(stem in _all_needs(other, needs) for other in stems) for stem in stems}
    pending = stems if workers == 1 else sorted(stems, key=lambda stem: (-waiting_on[stem], stems.index(stem)))
    done: set[str] = set()
    failure: NotebookFailed | None = None
    with _notebook_pool(workers) as executor, _notebook_pool(workers, one_per_process=True) as side_executor:
        running: dict[cf.Future, str] = {}
        while pending or running:
            while failure is None and len(running) < workers:
                ready = next((stem for stem in pending if needs[stem] <= done), None)
                if ready is None:
                    break
                pending.remove(ready)
                # A side branch (nothing waits on it) started beside the chain runs at a lower priority: the
                # chain gets the CPU whenever both want it, the side branch every cycle the chain leaves idle.
                side = waiting_on[ready] == 0 and any(waiting_on[other] > 0 for other in running.values())
                future = (side_executor.submit(run, ready, nice=SIDE_BRANCH_NICE) if side
                          else executor.submit(run, ready))
                running[future] = ready
                yield ready, NotebookStatus("interrupted")
            if not running:
                break
            finished, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
            for future in finished:
                stem = running.pop(future)
                try:
                    future.result()
                except NotebookFailed as err:
                    failure = failure or err
                    yield stem, err.status
                    continue
                done.add(stem)
                yield stem, NotebookStatus("ok")
    if failure is not None:
        raise failure


def _all_needs(stem: str, needs: dict[str, set[str]]) -> set[str]:
    out: set[str] = set()
    todo = list(needs[stem])
    while todo:
        other = todo.pop()
        if other not in out:
            out.add(other)
            todo.extend(needs[other])
    return out


def _notebook_pool(workers: int, *, one_per_process: bool = False) -> cf.Executor:
    """Spawned processes for several kernels at a time; this process itself for one (no start-up cost).

    The chain's processes live through the run (papermill imported once); ``one_per_process`` gives each
    notebook a fresh process, for the side branches, whose lower priority must not carry over."""
    if workers == 1:
        return _InlineExecutor()
    # spawn, not fork: a forked child would inherit this process's threads (tqdm, zmq) in an unknown state.
    return cf.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                  max_tasks_per_child=1 if one_per_process else None)


class _InlineExecutor(cf.Executor):
    """An executor that runs each call at submit, in this process (one notebook at a time)."""

    def submit(self, fn, /, *args, **kwargs) -> cf.Future:
        future: cf.Future = cf.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as err:  # handed to the caller through the future
            future.set_exception(err)
        return future


def run_notebook(stem: str, *, notebooks_dir: Path, paths: RunPaths, kernel_name: str, no_code: bool,
                 nice: int = 0) -> None:
    """Execute one notebook of the series into the run folder; a failed one's page is exported here (with its
    traceback), a finished one's by the caller (:func:`run_series`), off the path of the notebooks waiting
    for it. ``nice``: lower this process's priority (and so its kernel's) by that much first; only in a
    process of its own (:func:`run_in_dependency_order` gives it one)."""
    if nice and hasattr(os, "nice"):
        os.nice(nice)
    try:
        execute_notebook(Path(notebooks_dir) / f"{stem}.ipynb", paths, kernel_name=kernel_name)
    except NotebookFailed:
        _export_quietly(paths, stem, no_code)
        raise


def execute_notebook(source: Path, paths: RunPaths, *, kernel_name: str = "python3") -> Path:
    """Run one notebook with papermill into the run folder (cwd: the notebook's folder); return the output.

    Parameters: ``run_dir`` = the run folder, ``overrides`` = {} (the config is already in config.json).
    Raises NotebookFailed naming the source notebook's cell that raised.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    stem = source.stem
    output = paths.notebook(stem)
    # The kernel is stopped at once when the last cell has run (shutdown_kernel="immediate"): every file a
    # notebook writes is complete when its cell ends (atomic writes), and a process that has loaded TensorFlow
    # takes about 1.2 s to tear its modules down on a graceful exit, which the next notebook would wait for.
    try:
        with kernel_stderr_filtered() as stderr_fd:
            papermill.execute_notebook(str(source), str(output),
                                       parameters={"run_dir": str(paths.root), "overrides": {}},
                                       kernel_name=kernel_name, cwd=str(source.parent), progress_bar=False,
                                       log_output=False, extra_arguments=kernel_arguments(kernel_name),
                                       kernel_manager_class=kernel_manager_class(stderr_fd),
                                       shutdown_kernel="immediate")
    except PapermillExecutionError as err:
        cell_index = _source_cell_index(output, err.cell_index)
        raise NotebookFailed(stem, cell_index, err.ename, _first_line(err.evalue), paths.root) from err
    except Exception as err:  # kernel died, timed out, failed to start: no cell error output to read
        raise NotebookFailed(stem, _running_cell_index(output), type(err).__name__, _first_line(str(err)),
                             paths.root) from err
    finally:
        _quiet_saved_notebook(output)
    return output


def drop_startup_chatter(nb: Any) -> int:
    """Remove TensorFlow's start-up lines (``_TF_STARTUP_LINE``) from the notebook's stderr outputs, in place;
    return how many lines went. Outputs left empty are removed."""
    dropped = 0
    for cell in nb.cells:
        kept = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                lines = out.get("text", "").splitlines(keepends=True)
                quiet = [line for line in lines if not _TF_STARTUP_LINE.match(line.rstrip("\r\n"))]
                dropped += len(lines) - len(quiet)
                if not "".join(quiet).strip():
                    continue
                out["text"] = "".join(quiet)
            kept.append(out)
        if "outputs" in cell:
            cell["outputs"] = kept
    return dropped


def _quiet_saved_notebook(output: Path) -> None:
    """Rewrite the executed notebook without TensorFlow's start-up chatter (a failure here only logs)."""
    import nbformat

    try:
        nb = nbformat.read(output, as_version=4)
        if drop_startup_chatter(nb):
            atomic_write_text(output, nbformat.writes(nb))
    except Exception as err:  # papermill saved nothing readable: the run's own error says more
        log.debug("could not tidy %s: %s", output, err)


def kernel_arguments(kernel_name: str) -> list[str]:
    """Command-line arguments for an IPython kernel: log errors only.

    ipykernel 7 warns on every start that its local TCP sockets are unencrypted; the kernel listens on
    127.0.0.1 only, and seven such warnings per run would bury the runner's own messages. Kernels that are
    not ipykernel get no arguments (they would not know the option).
    """
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        argv = KernelSpecManager().get_kernel_spec(kernel_name).argv
    except NoSuchKernel:
        return []   # papermill reports the missing kernel itself
    return ["--IPKernelApp.log_level=ERROR"] if any("ipykernel" in part for part in argv) else []


def _source_cell_index(output: Path, executed_index: int) -> int:
    """Map papermill's cell index (counted in the executed notebook, injected-parameters cell included)
    to the source notebook's cell index."""
    import nbformat

    try:
        nb = nbformat.read(output, as_version=4)
    except Exception:
        return executed_index
    executed = [c for c in nb.cells if "papermill-error-cell-tag" not in c.get("metadata", {}).get("tags", [])]
    injected = sum(1 for c in executed[:executed_index]
                   if "injected-parameters" in c.get("metadata", {}).get("tags", []))
    return executed_index - injected


def _running_cell_index(output: Path) -> int | None:
    """The source index of the cell papermill last marked running or failed, if the output was saved."""
    import nbformat

    try:
        nb = nbformat.read(output, as_version=4)
    except Exception:
        return None
    index = 0
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if "injected-parameters" in tags or "papermill-error-cell-tag" in tags:
            continue
        if cell.get("metadata", {}).get("papermill", {}).get("status") in ("running", "failed"):
            return index
        index += 1
    return None


def _first_line(text: str) -> str:
    lines = [line for line in str(text).strip().splitlines() if line.strip()]
    return lines[0] if lines else ""


def _create_run_dir(out_dir: Path, run_id: str) -> Path:
    """Claim a fresh folder for the run (two processes starting the same minute get different folders)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    while True:
        candidate = unique_run_dir(out_dir, run_id)
        try:
            candidate.mkdir(exist_ok=False)
            return candidate
        except FileExistsError:
            continue


@contextlib.contextmanager
def kernel_stderr_filtered(stream: Any = None) -> Iterator[int]:
    """A pipe for a kernel process's own stderr that passes every line to ``stream`` (default ``sys.stderr``)
    except TensorFlow's start-up lines; yields the pipe's write end.

    ipykernel echoes what a kernel's C++ code writes to its stderr onto the stderr it was started with, which is
    the terminal of ``lstm-lab run``: absl's preamble and the oneDNN line twice per notebook, which neither
    TF_CPP_MIN_LOG_LEVEL nor any other setting silences (absl prints them before reading its settings).
    """
    read_fd, write_fd = os.pipe()

    def pump() -> None:
        with os.fdopen(read_fd, "r", encoding="utf-8", errors="replace") as pipe:
            for line in kernel_stderr_kept(pipe):
                out = stream if stream is not None else sys.stderr
                out.write(line)
                out.flush()

    thread = threading.Thread(target=pump, name="kernel-stderr", daemon=True)
    thread.start()
    try:
        yield write_fd
    finally:
        os.close(write_fd)              # the kernel has exited: the pump reads to the end and stops
        thread.join(timeout=10)


def kernel_stderr_kept(lines: Iterable[str]) -> Iterator[str]:
    """The lines of a kernel's own stderr worth a user's terminal: all but TensorFlow's start-up lines and the
    kernel's shutdown chatter.

    At the end of every notebook jupyter_client interrupts the kernel before asking it to shut down, so
    ipykernel logs "KeyboardInterrupt caught in kernel" (at ERROR level) when nothing was running; and asyncio,
    finding the kernel's tasks still pending as it exits, logs through an output stream already closed, which
    Python's logging reports as a "--- Logging error ---" block ending in "Arguments: ...". Such a block is
    dropped only when its error is that closed stream; any other logging error is passed on whole.
    """
    block: list[str] = []
    for line in lines:
        bare = line.rstrip("\r\n")
        if block:
            block.append(line)
            if bare.startswith("Arguments:"):
                if not any(_CLOSED_STREAM in held for held in block):
                    yield from block
                block = []
        elif bare == _LOGGING_ERROR:
            block = [line]
        elif not (_TF_STARTUP_LINE.match(bare) or _SHUTDOWN_INTERRUPT.match(bare)):
            yield line
    yield from block        # a block cut short by the kernel's exit is not known to be chatter


def kernel_manager_class(stderr_fd: int) -> type:
    """jupyter_client's kernel manager, starting the kernel with its stderr on ``stderr_fd``."""
    from jupyter_client.manager import AsyncKernelManager

    class FilteredStderrKernelManager(AsyncKernelManager):
        async def start_kernel(self, **kw: Any) -> None:
            kw.setdefault("stderr", stderr_fd)
            await super().start_kernel(**kw)

    return FilteredStderrKernelManager


@contextlib.contextmanager
def _kernel_environment(defaults: Mapping[str, str] | None = None) -> Iterator[None]:
    """Set KERNEL_ENV (and KERNEL_ENV_DEFAULTS and ``defaults`` when unset) for the kernels started inside;
    restore after."""
    defaults = {**KERNEL_ENV_DEFAULTS, **(defaults or {})}
    saved = {k: os.environ.get(k) for k in (*KERNEL_ENV, *defaults)}
    os.environ.update(KERNEL_ENV)
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def _progress(stems: Sequence[str], ticker: str, enabled: bool) -> Iterator[Any]:
    from tqdm.auto import tqdm

    bar = tqdm(total=len(stems), desc=ticker, unit="notebook", file=sys.stderr, disable=not enabled, leave=True)
    try:
        yield bar
    finally:
        bar.close()


# ---------------------------------------------------------------------------------------------- HTML export


def export_html(notebook_path: str | Path, html_path: str | Path, *, no_code: bool = False) -> Path:
    """Export an executed notebook to HTML (lab template), code inputs foldable, or left out with ``no_code``.

    The page loads nothing from the network: plotly.js and JupyterLab's stylesheet are files beside it
    (``plotly.min.js``, ``notebook.css``, written once per folder) loaded by relative path, so the folder
    opens offline, from a zip, anywhere. Figures stored as plotly JSON (the report renderer) are drawn from it.
    """
    import jinja2
    import nbformat

    from nbconvert import HTMLExporter

    notebook_path, html_path = Path(notebook_path), Path(html_path)
    exporter = HTMLExporter(template_name="lab",
                            extra_loaders=[jinja2.DictLoader({"foldable.html.j2": _FOLDABLE_TEMPLATE})],
                            template_file="foldable.html.j2", exclude_input=no_code,
                            exclude_input_prompt=no_code, exclude_output_prompt=no_code)
    nb = nbformat.read(notebook_path, as_version=4)
    drop_startup_chatter(nb)
    add_figure_html(nb)
    resources: dict[str, Any] = {"metadata": {"name": notebook_path.stem}}
    if draws_plotly(nbformat.writes(nb)):
        write_plotlyjs(html_path.parent, figure_trace_types(nb))
        resources["plotlyjs_tag"] = script_tag()
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    return atomic_write_text(html_path, _share_notebook_css(body, html_path.parent))


def _share_notebook_css(page: str, folder: Path) -> str:
    """The page with its inline JupyterLab stylesheet moved to ``folder/notebook.css`` (written when it differs)
    and linked by relative path."""
    start, end = page.find(_CSS_START), page.find(_CSS_END)
    if start < 0 or end < start:
        return page
    block = page[start + len(_CSS_START):end]
    css = "\n".join(re.findall(r"<style[^>]*>(.*?)</style>", block, flags=re.DOTALL))
    target = folder / NOTEBOOK_CSS
    if not target.is_file() or target.read_text(encoding="utf-8") != css:
        atomic_write_text(target, css)
    link = f'<link rel="stylesheet" href="{NOTEBOOK_CSS}">'
    return page[:start] + link + page[end + len(_CSS_END):]


def _export_quietly(paths: RunPaths, stem: str, no_code: bool) -> None:
    """Export a failed notebook's HTML if papermill saved it; a failed export must not hide the failure."""
    if not paths.notebook(stem).exists():
        return
    try:
        export_html(paths.notebook(stem), paths.notebook_html(stem), no_code=no_code)
    except Exception as err:
        log.warning("could not export %s to HTML: %s", paths.notebook(stem), err)
