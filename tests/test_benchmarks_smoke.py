"""The benchmark scripts work: each core function at a tiny size, the results files, the skips.

No timing assertions: these prove the benches measure what they say and write what they should, not how fast
anything is.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = PROJECT_ROOT / "benchmarks"
sys.path.insert(0, str(BENCH_DIR))

import bench_end_to_end  # noqa: E402
import bench_skill_panel  # noqa: E402
import bench_training  # noqa: E402
import bench_ensemble  # noqa: E402
import bench_refit  # noqa: E402
import bench_windowing  # noqa: E402
import common  # noqa: E402
import run_all  # noqa: E402


# ---------------------------------------------------------------------- common
def _row(bench: str, status: str = "ok", value: float = 1.5) -> dict:
    return common.make_row(bench, command="python x.py", numbers={"speed": value},
                           targets=[common.target_check("speed", value, ">=", 1.0)], status=status)


def test_record_row_keeps_other_benches_rows(tmp_path):
    results = tmp_path / "results.json"
    common.record_row(_row("windowing"), results)
    common.record_row(_row("training", value=0.5), results)
    common.record_row(_row("windowing", value=2.5), results)
    saved = json.loads(results.read_text())
    assert set(saved) == {"windowing", "training"}
    assert saved["windowing"]["numbers"]["speed"] == 2.5
    assert saved["training"]["numbers"]["speed"] == 0.5


def test_row_records_machine_versions_date_and_command(tmp_path):
    row = _row("windowing")
    assert row["machine"]["cores"] >= 1 and row["machine"]["python"]
    assert "numpy" in row["versions"] and "keras" in row["versions"]
    assert row["date"] and row["command"] == "python x.py"


def test_skipped_row_never_replaces_a_measured_one(tmp_path):
    results = tmp_path / "results.json"
    common.record_row(_row("end_to_end:quick", value=2.0), results)
    common.record_row(_row("end_to_end:quick", status="skipped"), results)
    assert json.loads(results.read_text())["end_to_end:quick"]["status"] == "ok"


def test_results_md_shows_targets_met_and_missed_and_tables(tmp_path):
    results = tmp_path / "results.json"
    common.record_row(_row("windowing", value=3.0), results)
    panel = common.make_row("skill_panel:quick", command="c", numbers={},
                            tables=[{"title": "Skill", "columns": ["series", "U"], "rows": [["AAPL", 0.9987]]}])
    common.record_row(panel, results)
    common.record_row(_row("training", value=0.5), results)
    md = (tmp_path / "RESULTS.md").read_text()
    assert "| windowing | speed >= 1 | 3.000 | yes |" in md
    assert "| training | speed >= 1 | 0.500 | **no** |" in md
    assert "| AAPL | 0.999 |" in md
    assert md.index("## windowing") < md.index("## training") < md.index("## skill_panel:quick")


def test_peak_rss_sees_memory_allocated_inside_the_block():
    with common.PeakRSS() as memory:
        block = np.ones(100 * common.MIB // 8)   # 100 MiB, every page touched
        del block
    assert memory.extra_bytes >= 90 * common.MIB


def test_interleaved_order_alternates_variants():
    assert common.interleaved_order(("a", "b"), 3) == ["a", "b", "b", "a", "a", "b"]


def test_target_check_says_not_measured_without_a_value():
    assert common.target_check("t", None, "<", 3)["met"] is None
    assert common.target_check("t", 2.9, "<", 3)["met"] is True
    assert common.target_check("t", 0.94, ">=", 0.95)["met"] is False


# ---------------------------------------------------------------------- bench 1: windowing
def test_project_and_keras_windowing_yield_the_same_batches():
    windows = bench_windowing.make_generator(rows=400, features=3, window=10)
    ours = list(bench_windowing.project_batches(windows, 32))
    theirs = [(x.numpy(), y.numpy()) for x, y in bench_windowing.keras_dataset(windows, 32)]
    assert len(ours) == len(theirs)
    np.testing.assert_array_equal(np.concatenate([x for x, _ in ours]), np.concatenate([x for x, _ in theirs]))
    np.testing.assert_array_equal(np.concatenate([y for _, y in ours]), np.concatenate([y for _, y in theirs]))


@pytest.mark.parametrize("variant", ["project", "keras"])
def test_windowing_variant_counts_every_window_and_measures_memory(variant):
    out = bench_windowing.measure_variant(variant, rows=2000, features=4, window=10, batch_size=64,
                                          min_seconds=0.0)
    assert out["windows"] == 2000 - 10 + 1
    assert out["epochs"] == 1 and out["windows_per_s"] > 0
    assert out["peak_extra_bytes"] >= 0 and out["input_bytes"] == 2000 * 4 * 4


def test_windowing_bench_runs_each_variant_in_its_own_process(tmp_path):
    row = bench_windowing.run_windowing_bench(rows=1500, features=3, window=10, batch_size=64, cycles=1,
                                              min_seconds=0.0)
    numbers = row["numbers"]
    assert numbers["windows_per_epoch"] == 1500 - 10 + 1
    assert numbers["ratio_project_over_keras"] > 0
    assert [t["name"] for t in row["targets"]][0].startswith("windows/s ratio")


def test_windowing_ratio_pairs_neighbouring_runs():
    def run(variant, rate, peak):
        return {"variant": variant, "rows": 10, "features": 1, "window": 2, "batch_size": 4, "windows": 9,
                "input_bytes": 100, "windows_per_s": rate, "median_epoch_s": 1.0, "setup_s": 0.0,
                "peak_extra_bytes": peak, "kernel_hwm": True}

    runs = [run("project", 100.0, 10), run("keras", 10.0, 300), run("keras", 20.0, 250), run("project", 100.0, 20)]
    row = bench_windowing.summarize(runs)
    assert row["numbers"]["ratio_each_pair"] == [10.0, 5.0]
    assert row["numbers"]["ratio_project_over_keras"] == 7.5
    assert row["numbers"]["ratio_fastest_runs"] == 5.0
    met = {t["name"]: t["met"] for t in row["targets"]}
    assert met["project peak extra memory, x input"] is True        # 20 bytes over a 100-byte input
    assert met["Keras peak extra memory, x input (context)"] is False  # 300 bytes


# ---------------------------------------------------------------------- bench 2: training
@pytest.mark.slow
@pytest.mark.parametrize("variant", ["train_model", "plain_fit"])
def test_training_variant_trains_every_epoch_and_reports_throughput(variant):
    out = bench_training.measure_variant(variant, rows=300, features=3, window=10, units=(4, 4), epochs=2,
                                         batch_size=32)
    assert out["epochs_run"] == 2             # patience above the epochs: nothing stops early
    assert out["train_samples"] > 100 and out["samples_per_s"] > 0


@pytest.mark.slow
def test_a_training_worker_runs_with_the_threads_it_was_given():
    out = common.run_worker(Path(bench_training.__file__),
                            ["--worker", "train_model", "--rows", "300", "--features", "3", "--window", "10",
                             "--units", "4", "--epochs", "1", "--batch-size", "32", "--threads", "1"])
    assert (out["intra_op_threads"], out["inter_op_threads"]) == (1, 1)


def test_training_ratio_is_project_over_plain_between_neighbours():
    def run(variant, rate):
        return {"variant": variant, "rows": 10, "features": 1, "window": 2, "units": [64, 64], "epochs": 3,
                "epochs_run": 3, "batch_size": 64, "train_samples": 7, "val_samples": 1, "fit_s": 1.0,
                "call_s": 1.5, "feed": "arrays", "samples_per_s": rate,
                "cpu_s": 2.0, "samples_per_cpu_s": rate / 2}

    row = bench_training.summarize([run("train_model", 90.0), run("plain_fit", 100.0),
                                    run("plain_fit", 100.0), run("train_model", 100.0)])
    assert row["numbers"]["ratio_each_pair"] == [0.9, 1.0]
    assert row["numbers"]["ratio_fastest_runs"] == 1.0
    assert row["targets"][0]["met"] is True   # median 0.95


@pytest.mark.slow
def test_step_products_are_measured_for_each_layer_including_a_narrowing_one():
    """One rate per layer, keyed by its input and units; a layer wider in than its 4h gate columns (64 -> 8)
    still chains its products."""
    rates = bench_training.measure_step_products(8, 64, (8, 4), steps=20, repeats=1)
    assert list(rates) == ["64x8", "8x4"] and all(r > 0 for r in rates.values())


def test_the_step_products_ceiling_is_reported_beside_the_large_matmul():
    def run(variant, rate):
        return {"variant": variant, "rows": 10, "features": 1, "window": 2, "units": [64, 64], "epochs": 3,
                "epochs_run": 3, "batch_size": 64, "train_samples": 7, "val_samples": 1, "fit_s": 1.0,
                "call_s": 1.5, "feed": "arrays", "samples_per_s": rate, "cpu_s": 2.0, "samples_per_cpu_s": rate / 2,
                "forward_flops_per_sample": 1.0, "useful_gflops_per_s": 20.0}

    matmul = {"variant": "matmul", "gflops": 200.0, "step_products_gflops": {"1x64": 60.0, "64x64": 80.0}}
    row = bench_training.summarize([run("train_model", 90.0), matmul, run("plain_fit", 100.0)])
    assert row["numbers"]["fraction_of_matmul"] == 0.1
    assert row["numbers"]["step_products_fraction_of_matmul"] == {"1x64": 0.3, "64x64": 0.4}


# ---------------------------------------------------------------------- bench 5: the ensemble's shape
@pytest.mark.slow
@pytest.mark.parametrize("variant", bench_ensemble.VARIANTS)
def test_ensemble_variant_trains_every_seed_and_reports_its_time(variant):
    out = bench_ensemble.measure_variant(variant, seeds=2, rows=300, features=3, window=10, units=(4,), epochs=2)
    assert out["seeds"] == 2 and out["seconds"] > 0 and out["seed_samples_per_s"] > 0


def test_ensemble_speedup_is_sequential_over_towers_between_neighbours():
    def run(variant, seconds):
        return {"variant": variant, "seeds": 5, "rows": 10, "features": 1, "window": 2, "units": [4],
                "epochs": 2, "batch_size": 8, "train_samples": 7, "seconds": seconds, "cpu_s": seconds,
                "seed_samples_per_s": 1.0}

    row = bench_ensemble.summarize([run("towers", 10.0), run("sequential", 30.0), run("sequential", 20.0),
                                    run("towers", 10.0)])
    assert row["numbers"]["speedup_each_pair"] == [3.0, 2.0]
    assert row["targets"][0]["met"] is True


# ---------------------------------------------------------------------- bench 7: refits of one architecture
@pytest.mark.slow
def test_refit_variants_give_the_same_forecasts_and_report_each_refit():
    sizes = dict(refits=2, seeds=2, rows=300, features=3, window=10, units=(4,), epochs=2)
    kept, new = (bench_refit.measure_variant(v, **sizes) for v in bench_refit.VARIANTS)
    assert len(kept["refit_s_each"]) == 2 and kept["seconds"] > 0
    assert kept["forecasts_sha256"] == new["forecasts_sha256"]


def test_refit_row_says_when_the_two_ways_disagree():
    def run(variant, seconds, digest="a"):
        return {"variant": variant, "refits": 4, "seeds": 5, "rows": 10, "features": 1, "window": 2, "units": [4],
                "epochs": 2, "batch_size": 8, "seconds": seconds, "cpu_s": seconds, "refit_s_each": [seconds],
                "forecasts_sha256": digest}

    row = bench_refit.summarize([run("kept", 10.0), run("new", 30.0), run("new", 20.0), run("kept", 10.0)])
    assert row["numbers"]["speedup_each_pair"] == [3.0, 2.0]
    assert [t["met"] for t in row["targets"]] == [True, True]
    row = bench_refit.summarize([run("kept", 10.0), run("new", 30.0, digest="b")])
    assert row["numbers"]["identical_forecasts"] is False and row["targets"][1]["met"] is False


def test_a_worker_gets_the_sizes_its_parent_was_given():
    sizes = dict(rows=300, features=3, window=10, units=(8, 4), epochs=2, batch_size=16)
    argv = common.options_argv({"refits": 3, "seeds": 2, **sizes})
    args = bench_refit.build_parser().parse_args(argv)
    assert (args.refits, args.seeds, common.network_sizes(args)) == (3, 2, sizes)
    assert common.network_sizes(bench_ensemble.build_parser().parse_args(common.options_argv(sizes))) == sizes


# ---------------------------------------------------------------------- bench 3: end to end
def test_settle_waits_for_the_load_to_fall_and_no_longer_than_allowed():
    loads = iter([[2.0, 2.0, 2.0], [1.2, 1.9, 2.0], [0.4, 1.8, 2.0]])
    slept = []
    assert common.settle(60, read=lambda: next(loads), sleep=slept.append, poll_s=5) == 10
    assert slept == [5, 5]
    busy = []
    assert common.settle(12, read=lambda: [3.0, 3.0, 3.0], sleep=busy.append, poll_s=5) == 12
    assert busy == [5, 5, 2]
    assert common.settle(60, read=lambda: [0.1, 0.5, 1.0], sleep=busy.append) == 0


def test_time_command_reports_exit_code_and_peak_memory_of_the_child(tmp_path):
    allocate = "import numpy as np; a = np.ones(150 * 2**20 // 8); raise SystemExit(3)"
    out = bench_end_to_end.time_command([sys.executable, "-c", allocate], log_dir=tmp_path)
    assert out["returncode"] == 3
    assert out["max_rss_bytes"] >= 150 * common.MIB
    assert out["wall_s"] > 0


def test_end_to_end_is_skipped_when_the_notebooks_are_missing(tmp_path):
    row = bench_end_to_end.run_end_to_end("quick", notebooks_dir=tmp_path, out_dir=tmp_path / "out")
    assert row["status"] == "skipped" and "01_collect" in row["notes"][0]
    assert not (tmp_path / "out").exists()


def _fake_series_notebook(folder: Path) -> Path:
    """One notebook following the runner's contract that writes a metrics.json into its run folder."""
    params = nbformat.v4.new_code_cell('run_dir = ""\noverrides = {}')
    params.metadata["tags"] = ["parameters"]
    work = nbformat.v4.new_code_cell(
        "import json, pathlib\n"
        "pathlib.Path(run_dir, 'metrics.json').write_text(json.dumps({'theils_u': 1.01, 'verdict': 'fake'}))")
    nb = nbformat.v4.new_notebook(cells=[params, work])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / "01_collect.ipynb")
    return folder


@pytest.mark.slow
def test_end_to_end_times_the_cli_run_and_reads_its_run_folder(tmp_path):
    notebooks = _fake_series_notebook(tmp_path / "notebooks")
    row = bench_end_to_end.run_end_to_end("quick", notebooks_dir=notebooks, out_dir=tmp_path / "out",
                                          require_all_notebooks=False)
    numbers = row["numbers"]
    assert row["status"] == "ok", row["notes"]
    assert numbers["exit_code"] == 0 and numbers["wall_s"] > 0
    assert numbers["peak_rss_mib_largest_process"] > 0
    assert set(numbers["notebook_s"]) == {"01_collect"}
    assert numbers["theils_u"] == 1.01
    assert row["targets"][0]["met"] in (True, False)


# ---------------------------------------------------------------------- bench 4: skill panel
def _run_folder(root: Path, ticker: str) -> Path:
    rng = np.random.default_rng(1)
    actual = 100 + np.cumsum(rng.normal(0, 1, 60))
    persistence = np.r_[99.5, actual[:-1]]
    predictions = pd.DataFrame({"date": pd.bdate_range("2020-01-01", periods=60).strftime("%Y-%m-%d"),
                                "actual": actual, "model": persistence + rng.normal(0, 0.1, 60),
                                "persistence": persistence, "arima": persistence + rng.normal(0, 0.2, 60)})
    run_dir = root / f"{ticker}-run"
    run_dir.mkdir(parents=True)
    predictions.to_csv(run_dir / "predictions.csv", index=False)
    metrics = {"theils_u": 1.004, "test": {"model": {"directional_accuracy": 0.51}, "arima": {}},
               "directional_accuracy_ci": [0.38, 0.64], "diebold_mariano": {"statistic": 0.3, "p_value": 0.7},
               "rows": {"test": 60}, "verdict": "no better than persistence"}
    (run_dir / "metrics.json").write_text(json.dumps(metrics))
    return run_dir


def test_panel_table_takes_the_model_from_metrics_json_and_scores_arima_on_the_same_rows(tmp_path):
    from helpers import metrics

    run_dir = _run_folder(tmp_path, "AAPL")
    rows = bench_skill_panel.panel_table_rows([
        {"ticker": "AAPL", "status": "ok", "run_dir": str(run_dir), "error": None},
        {"ticker": "WTI", "status": "failed", "run_dir": None, "error": "NotebookFailed: 03_featurize cell 4"},
    ])
    cols = bench_skill_panel.COLUMNS
    aapl = dict(zip(cols, rows[0]))
    assert aapl["model U"] == 1.004 and aapl["model DA"] == 0.51 and aapl["model DM p"] == 0.7
    p = pd.read_csv(run_dir / "predictions.csv")
    assert aapl["ARIMA U"] == pytest.approx(metrics.theils_u(p.actual, p.arima, p.persistence))
    lo, hi = aapl["ARIMA DA 95% CI"]
    assert lo <= aapl["ARIMA DA"] <= hi
    assert 0 <= aapl["ARIMA DM p"] <= 1
    assert aapl["up days"] == pytest.approx(np.mean(p.actual > p.persistence))
    assert aapl["model up calls"] == pytest.approx(np.mean(p.model > p.persistence))
    wti = dict(zip(cols, rows[1]))
    assert wti["status"] == "failed" and "03_featurize" in wti["verdict or error"]


def test_skill_panel_is_skipped_when_the_shared_data_is_absent(tmp_path):
    row = bench_skill_panel.run_skill_panel("quick", data_dir=tmp_path / "no-such-data", out_dir=tmp_path / "o")
    assert row["status"] == "skipped" and "no price CSVs" in row["notes"][0]


def test_panel_runs_only_the_named_series_and_the_notebooks_its_numbers_come_from(tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    for name in ("AAPL", "WTI", "SPY"):
        (data / f"{name}.csv").write_text("date,close\n2020-01-02,1\n")
    seen = {}

    def fake_time_command(cmd, **kwargs):
        seen["cmd"] = cmd
        return {"wall_s": 1.0, "returncode": 0, "max_rss_bytes": 1, "stderr_tail": ""}

    monkeypatch.setattr(bench_skill_panel, "time_command", fake_time_command)
    row = bench_skill_panel.run_skill_panel("quick", data_dir=data, out_dir=tmp_path / "o", series=["WTI", "AAPL"])
    cmd = seen["cmd"]
    csv_dir = Path(cmd[cmd.index("--csv-dir") + 1])
    assert sorted(p.name for p in csv_dir.glob("*.csv")) == ["AAPL.csv", "WTI.csv"]
    assert cmd[cmd.index("--only") + 1] == "01,03,05,06"
    assert row["numbers"]["series_requested"] == ["WTI", "AAPL"]
    with pytest.raises(ValueError, match="no CSV for series MSFT.*AAPL, SPY, WTI"):
        bench_skill_panel.run_skill_panel("quick", data_dir=data, out_dir=tmp_path / "o2", series=["MSFT"])
    bench_skill_panel.run_skill_panel("quick", data_dir=data, out_dir=tmp_path / "o3", notebooks=None)
    assert "--only" not in seen["cmd"] and Path(seen["cmd"][seen["cmd"].index("--csv-dir") + 1]) == data


def test_panel_notebooks_are_the_ones_06_reads_from():
    """06 reads 01's prices via 03's features and 05's best.json; if the panel skipped one of those, or 06
    started reading another notebook's file, the panel's numbers would not be the pipeline's."""
    import re

    notebooks = ["01_collect", "03_featurize", "05_tune", "06_evaluate"]
    assert list(bench_skill_panel.PANEL_NOTEBOOKS) == notebooks
    source = (PROJECT_ROOT / "helpers" / "evaluate.py").read_text() + (
        PROJECT_ROOT / "notebooks" / "06_evaluate.ipynb").read_text()
    required_from = set(re.findall(r'require\([^,]+, "(\d\d_[a-z]+)"\)', source))
    assert required_from <= set(notebooks)


def test_rescore_rereads_the_recorded_run_folders_without_rerunning(tmp_path):
    results = tmp_path / "results.json"
    run_dir = _run_folder(tmp_path / "panel", "AAPL")
    pd.DataFrame([{"ticker": "AAPL", "status": "ok", "run_dir": str(run_dir), "error": None}]).to_csv(
        tmp_path / "panel" / "batch-1.csv", index=False)
    old = common.make_row("skill_panel:quick", command="lstm-lab batch ...",
                          numbers={"wall_s": 99.0, "out_dir": str(tmp_path / "panel")},
                          tables=[{"title": "old", "columns": ["series"], "rows": [["AAPL"]]}])
    common.record_row(old, results)
    row = bench_skill_panel.rescore_recorded("quick", results)
    assert row["numbers"]["wall_s"] == 99.0 and row["numbers"]["series_ok"] == 1
    assert row["tables"][0]["columns"] == bench_skill_panel.COLUMNS
    assert "no re-run" in row["notes"][-1]


def test_read_batch_summary_takes_the_batch_csv_with_blank_cells_as_none(tmp_path):
    pd.DataFrame([{"ticker": "AAPL", "status": "ok", "run_dir": "/x", "verdict": "v", "theils_u": 1.0,
                   "directional_accuracy": 0.5, "error": None}]).to_csv(tmp_path / "batch-1.csv", index=False)
    rows = bench_skill_panel.read_batch_summary(tmp_path)
    assert rows == [{"ticker": "AAPL", "status": "ok", "run_dir": "/x", "verdict": "v", "theils_u": 1.0,
                     "directional_accuracy": 0.5, "error": None}]


# ---------------------------------------------------------------------- run_all
def test_run_all_records_a_failing_bench_and_runs_the_rest(tmp_path, monkeypatch):
    monkeypatch.setattr(common, "RESULTS_JSON", tmp_path / "results.json")

    def broken(args):
        raise RuntimeError("worker died")

    monkeypatch.setitem(run_all.RUNNERS, "windowing", broken)
    monkeypatch.setitem(run_all.RUNNERS, "training", lambda args: [_row("training")])
    assert run_all.main(["--only", "windowing,training"]) == 1
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["windowing"]["status"] == "failed" and "worker died" in saved["windowing"]["notes"][0]
    assert saved["training"]["status"] == "ok"
    assert (tmp_path / "RESULTS.md").exists()


def test_run_all_rejects_an_unknown_bench_name():
    with pytest.raises(SystemExit):
        run_all.build_parser().parse_args(["--only", "windowing,speed"])


def test_lstm_forward_flops_counts_the_gate_products_of_every_layer_and_step():
    # one layer, d=3 inputs, h=4 units, 10 steps: 10 x 2 x 16 x 7 = 2240, plus the head 2 x 4 x 1
    assert bench_training.lstm_forward_flops(10, 3, (4,)) == 2240 + 8
    # a second layer sees the first one's 4 units: 10 x 2 x 8 x (4 + 2) = 960 more, head 2 x 2
    assert bench_training.lstm_forward_flops(10, 3, (4, 2)) == 2240 + 960 + 4


def test_the_fraction_of_the_machines_limit_is_useful_over_matmul_flops():
    def run(variant, rate):
        return {"variant": variant, "rows": 10, "features": 1, "window": 2, "units": [64, 64], "epochs": 3,
                "epochs_run": 3, "batch_size": 64, "train_samples": 7, "val_samples": 1, "fit_s": 1.0,
                "call_s": 1.5, "feed": "arrays", "samples_per_s": rate, "cpu_s": 2.0, "samples_per_cpu_s": rate / 2,
                "useful_gflops_per_s": rate / 10, "forward_flops_per_sample": 1.0}

    matmul = {"variant": "matmul", "gflops": 50.0}
    row = bench_training.summarize([run("train_model", 200.0), matmul, run("plain_fit", 100.0),
                                    run("plain_fit", 100.0), run("train_model", 100.0), dict(matmul, gflops=30.0)])
    assert row["numbers"]["fraction_of_matmul"] == pytest.approx(15.0 / 40.0)
    assert row["targets"][1]["met"] is False and row["targets"][1]["value"] == pytest.approx(0.375)
    assert "side_by_side_fraction_of_matmul" not in row["numbers"]
    paired = bench_training.summarize([run("train_model", 200.0), matmul, run("plain_fit", 100.0)],
                                      pair=[run("train_model", 120.0), run("train_model", 80.0)])
    # two runs side by side: 12 + 8 useful GFLOP/s against the 50 GFLOP/s matmul
    assert paired["numbers"]["side_by_side_useful_gflops_per_s"] == pytest.approx(20.0)
    assert paired["numbers"]["side_by_side_fraction_of_matmul"] == pytest.approx(0.4)
    assert (row["bench"], row["numbers"]["tensorflow_threads"]) == ("training", "TensorFlow's defaults")
    one = bench_training.summarize([run("train_model", 200.0), matmul, run("plain_fit", 100.0)], threads=1)
    assert (one["bench"], one["numbers"]["tensorflow_threads"]) == ("training:threads1", "1 intra-op, 1 inter-op")


@pytest.mark.slow
def test_the_matmul_reference_reports_gflops():
    out = bench_training.measure_matmul(size=256, repeats=2)
    assert out["gflops"] > 0 and out["size"] == 256
