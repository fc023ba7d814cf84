"""The parameters cell's defaults in JupyterLab: quick mode for a new interactive run, run_dir read from the
repository root (never from notebooks/), a missing run folder refused with the folder named, LSTM_LAB_RUN
(`make lab RUN=...`) honoured, and pages free of INFO lines."""

from __future__ import annotations

import json
import logging

import nbformat
import papermill
from papermill.translators import PythonTranslator
import pytest

from helpers.config import ConfigError, RunConfig
from helpers.notebook import LAB_RUN_ENV, repository_root, resolve_run_dir, start_notebook
from helpers.runfolder import PROJECT_ROOT
from tests.test_runner import RECORD_CONFIG, write_notebook

NOTEBOOKS = sorted((PROJECT_ROOT / "notebooks").glob("*.ipynb"))


@pytest.fixture
def lab_run(tmp_path, monkeypatch):
    """An interactive session's run folder, as `make lab RUN=...` sets it."""
    monkeypatch.setenv(LAB_RUN_ENV, str(tmp_path / "lab"))
    return tmp_path / "lab"


def test_an_interactive_first_notebook_starts_a_quick_run(lab_run):
    ctx = start_notebook("", {}, creates_config=True)
    assert ctx.paths.root == lab_run.resolve()
    assert ctx.config.mode == "quick" and RunConfig.load(lab_run / "config.json").mode == "quick"


def test_a_run_dir_given_without_a_mode_keeps_the_full_default(tmp_path):
    assert start_notebook(tmp_path / "run", {}, creates_config=True).config.mode == "full"


def test_interactive_notebooks_open_the_run_make_lab_names(lab_run):
    start_notebook(str(lab_run), {"mode": "full", "ticker": "MSFT"}, creates_config=True)
    later = start_notebook("", {})
    assert later.config.mode == "full" and later.config.ticker == "MSFT"


def test_a_relative_run_dir_is_read_from_the_repository_root_not_the_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert repository_root() == PROJECT_ROOT
    assert resolve_run_dir("reports/some-run") == PROJECT_ROOT / "reports" / "some-run"
    assert resolve_run_dir(tmp_path / "abs") == tmp_path / "abs"
    monkeypatch.delenv(LAB_RUN_ENV, raising=False)
    assert resolve_run_dir("") == PROJECT_ROOT / "reports" / "lab"


def test_a_missing_run_folder_is_refused_naming_the_folder_it_looked_in(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as caught:
        start_notebook("reports/no-such-run-18", {})
    message = str(caught.value)
    assert caught.value.field == "run_dir"
    assert str(PROJECT_ROOT / "reports" / "no-such-run-18") in message and "01_collect" in message
    assert not (PROJECT_ROOT / "reports" / "no-such-run-18").exists()
    assert not (tmp_path / "reports").exists()


@pytest.fixture
def restore_logging():
    """start_notebook reconfigures the root logger (as a notebook's first cell must); put it back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_notebooks_log_warnings_but_not_info(tmp_path, capsys, restore_logging):
    start_notebook(tmp_path / "run", {"mode": "quick"}, creates_config=True)
    logging.getLogger("helpers.data").info("an INFO line")
    logging.getLogger("helpers.data").warning("a warning line")
    err = capsys.readouterr().err
    assert "an INFO line" not in err and "WARNING helpers.data: a warning line" in err


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_parameters_cell_is_empty_for_lab_and_says_quick_mode(path):
    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1
    assert 'run_dir = ""' in cells[0].source and "overrides = {}" in cells[0].source
    assert "quick" in cells[0].source and "repository root" in cells[0].source
    parsed = PythonTranslator.inspect(cells[0])        # papermill reads both (a stray "=" in a comment breaks it)
    assert [p.name for p in parsed] == ["run_dir", "overrides"]


@pytest.mark.slow
def test_a_notebook_executed_without_parameters_runs_a_quick_run(tmp_path, lab_run):
    """As JupyterLab runs it: papermill injects nothing, so run_dir is "" and the mode is quick."""
    source = write_notebook(tmp_path / "nb" / "01_collect.ipynb", [RECORD_CONFIG.replace("run_dir", "str(ctx.paths.root)")])
    papermill.execute_notebook(str(source), str(tmp_path / "out.ipynb"), kernel_name="python3",
                               cwd=str(source.parent), progress_bar=False)
    seen = json.loads((lab_run / "seen.json").read_text())
    assert seen["mode"] == "quick"
