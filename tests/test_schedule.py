"""Which notebooks may run at the same time: the needs derived from the run-folder contract, the scheduler that
honours them, and the contract checked against the code that reads the files."""

from __future__ import annotations

import concurrent.futures as cf
import json
import re
import threading
import time
from pathlib import Path

import pytest

from helpers import runner
from helpers.runfolder import PROJECT_ROOT, READS, WRITTEN_BY
from helpers.runner import NOTEBOOKS, NotebookFailed, notebook_needs, run_in_dependency_order


def test_the_series_needs_follow_the_files_each_notebook_reads():
    needs = notebook_needs(NOTEBOOKS)
    assert needs["01_collect"] == set()
    assert needs["02_explore"] == needs["03_featurize"] == {"01_collect"}
    assert needs["04_model"] == {"01_collect", "03_featurize"}
    assert needs["05_tune"] == {"03_featurize"}
    assert needs["06_evaluate"] == {"01_collect", "03_featurize", "05_tune"}
    assert needs["07_forecast"] == {"01_collect", "03_featurize", "06_evaluate"}
    assert needs["08_risk"] == {"03_featurize", "06_evaluate"}


def test_needs_only_name_selected_notebooks_and_an_unknown_one_waits_for_all_before_it():
    assert notebook_needs(["01_collect", "06_evaluate"]) == {"01_collect": set(), "06_evaluate": {"01_collect"}}
    assert notebook_needs(["01_collect", "02_explore", "99_extra"])["99_extra"] == {"01_collect", "02_explore"}


class _Recorder:
    """A fake notebook run: sleeps, records start and end times, fails for the stems in ``fail``."""

    def __init__(self, seconds: float = 0.05, fail: tuple[str, ...] = (), longer: dict[str, float] | None = None):
        self.seconds, self.fail, self.longer = seconds, fail, longer or {}
        self.start: dict[str, float] = {}
        self.end: dict[str, float] = {}
        self.nice: dict[str, int] = {}
        self.lock = threading.Lock()

    def __call__(self, stem: str, nice: int = 0) -> None:
        with self.lock:
            self.start[stem] = time.perf_counter()
            self.nice[stem] = nice
        time.sleep(self.longer.get(stem, self.seconds))
        with self.lock:
            self.end[stem] = time.perf_counter()
        if stem in self.fail:
            raise NotebookFailed(stem, 2, "ValueError", "fake", "/tmp/run")


@pytest.fixture
def thread_pool(monkeypatch):
    """Kernels' processes replaced by threads, so the fake run function need not cross a process boundary."""
    monkeypatch.setattr(runner, "_notebook_pool", lambda workers, **_: cf.ThreadPoolExecutor(max_workers=workers))


def test_two_at_a_time_no_notebook_starts_before_what_it_reads_is_written(thread_pool):
    record = _Recorder(longer={"04_model": 1.0})
    events = list(run_in_dependency_order(NOTEBOOKS, record, workers=2))
    needs = notebook_needs(NOTEBOOKS)
    for stem in NOTEBOOKS:
        assert all(record.end[other] <= record.start[stem] for other in needs[stem]), stem
    # Orders are read from the scheduler's own events (a notebook handed out, a notebook done), not from the
    # threads' clocks: two pools' threads start in either order (within 10 microseconds on CI).
    order = [(stem, status.state == "interrupted") for stem, status in events]
    handed_out = [stem for stem, started in order if started]
    assert order.index(("03_featurize", True)) < order.index(("02_explore", False))     # side by side
    assert handed_out.index("05_tune") < handed_out.index("04_model")                    # the longer chain first
    assert order.index(("06_evaluate", True)) < order.index(("04_model", False))        # 06 does not wait for 04
    running = 0
    for stem, status in events:
        running += 1 if status.state == "interrupted" else -1
        assert 0 <= running <= 2
    assert {stem for stem, status in events if status.state == "ok"} == set(NOTEBOOKS)
    # Side branches started beside the chain yield the CPU to it; the chain and the last two do not.
    assert {stem for stem, nice in record.nice.items() if nice} == {"02_explore", "04_model"}


def test_one_at_a_time_runs_in_series_order_in_this_process():
    record = _Recorder(seconds=0.0)
    order = [stem for stem, status in run_in_dependency_order(NOTEBOOKS, record, workers=1)
             if status.state == "ok"]
    assert order == list(NOTEBOOKS)
    assert all(record.end[a] <= record.start[b] for a, b in zip(order, order[1:]))


def test_after_a_failure_nothing_new_starts_and_the_failure_is_raised(thread_pool):
    record = _Recorder(fail=("03_featurize",))
    seen = {}
    with pytest.raises(NotebookFailed) as caught:
        for stem, status in run_in_dependency_order(NOTEBOOKS, record, workers=2):
            seen[stem] = status.state
    assert caught.value.notebook == "03_featurize"
    assert seen["03_featurize"] == "failed" and seen["02_explore"] == "ok"
    assert not {"04_model", "05_tune", "06_evaluate"} & set(record.start)


def test_a_notebook_failure_survives_the_trip_between_processes():
    import pickle

    failure = NotebookFailed("06_evaluate", 4, "ValueError", "bad", "/tmp/run")
    copy = pickle.loads(pickle.dumps(failure))
    assert (copy.notebook, copy.cell_number, copy.ename, copy.evalue, copy.run_dir) == \
        ("06_evaluate", 5, "ValueError", "bad", Path("/tmp/run"))
    assert str(copy) == str(failure)


# ---------------------------------------------------------------------------------------------- the contract
def _sources() -> dict[str, str]:
    """Every helper module's and every notebook's code, by file name."""
    out = {p.name: p.read_text() for p in (PROJECT_ROOT / "helpers").glob("*.py")}
    for path in (PROJECT_ROOT / "notebooks").glob("*.ipynb"):
        cells = json.loads(path.read_text())["cells"]
        out[path.name] = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    return out


def test_every_require_names_the_notebook_the_contract_says_writes_the_file():
    pattern = re.compile(r"require\(\s*paths\.(\w+)\s*,\s*\\?[\"'](\d\d_\w+)\\?[\"']")
    found = [(name, path, stem) for name, text in _sources().items() for path, stem in pattern.findall(text)]
    assert len(found) >= 5
    for name, path, stem in found:
        assert WRITTEN_BY.get(path) == stem, f"{name}: paths.{path} is said to be written by {stem}"


def test_every_file_a_notebook_names_from_another_notebook_is_among_what_it_reads():
    writers = set(WRITTEN_BY.values())
    for path in (PROJECT_ROOT / "notebooks").glob("*.ipynb"):
        stem = path.stem
        if stem not in READS:
            continue
        code = _sources()[path.name]
        named = set(re.findall(r"paths\.(\w+)", code)) & set(WRITTEN_BY)
        others = {p for p in named if WRITTEN_BY[p] != stem and WRITTEN_BY[p] in writers}
        assert others <= set(READS[stem]), f"{stem} names {sorted(others - set(READS[stem]))} but READS omits them"
