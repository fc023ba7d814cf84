"""The prediction ledger: append-only forecasts, crash safety, scoring only what has happened, the report."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from helpers.ledger import Ledger, forecast_rows
from helpers.runfolder import PROJECT_ROOT


def rows(as_of: str = "2024-01-05", close: float = 100.0, targets=("2024-01-08", "2024-01-09", "2024-01-10"),
         method: str = "recursive", kind: str = "live") -> list[dict]:
    return [{"run_id": "run-1", "model_fingerprint": "abc123", "method": method, "kind": kind,
             "as_of_date": as_of, "as_of_close": close, "target_date": target, "horizon": i + 1,
             "forecast": close + i + 1, "lower_80": close - 2, "upper_80": close + 3}
            for i, target in enumerate(targets)]


def closes(values: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame({"close": list(values.values())}, index=pd.DatetimeIndex(list(values), name="date"))


@pytest.fixture
def ledger(tmp_path) -> Ledger:
    return Ledger(tmp_path / "ledger.sqlite")


def test_appended_forecasts_read_back_as_issued(ledger):
    assert ledger.append(rows()) == 3
    table = ledger.forecasts()
    assert len(ledger) == 3
    assert table["forecast"].tolist() == [101.0, 102.0, 103.0]
    assert table["horizon"].tolist() == [1, 2, 3]
    assert table["lower_80"].tolist() == [98.0] * 3 and table["upper_80"].tolist() == [103.0] * 3
    assert table["issued_at"].notna().all() and (table["kind"] == "live").all()


def test_the_api_offers_no_way_to_edit_or_delete(ledger):
    public = [name for name in dir(ledger) if not name.startswith("_")]
    forbidden = ("update", "delete", "remove", "edit", "drop", "clear", "replace", "set", "truncate", "execute")
    assert not [name for name in public if any(word in name.lower() for word in forbidden)]
    assert set(public) == {"append", "score", "forecasts", "realized", "report", "summary", "path"}


@pytest.mark.parametrize("statement", ["UPDATE forecasts SET forecast = 0", "DELETE FROM forecasts",
                                       "UPDATE realized SET actual = 0", "DELETE FROM realized"])
def test_raw_sql_cannot_change_or_remove_a_row(ledger, statement):
    ledger.append(rows())
    ledger.score(closes({"2024-01-08": 101.5}))
    conn = sqlite3.connect(ledger.path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute(statement)
    conn.rollback()
    conn.close()
    assert ledger.forecasts()["forecast"].tolist() == [101.0, 102.0, 103.0]
    assert ledger.realized()["actual"].tolist() == [101.5]


def test_durable_settings_wal_journal(ledger):
    conn = sqlite3.connect(ledger.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_exception_mid_append_keeps_earlier_rows_and_none_of_the_batch(ledger):
    ledger.append(rows())

    def batch_that_breaks():
        yield from rows(as_of="2024-01-10", targets=("2024-01-11", "2024-01-12"))
        raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        ledger.append(batch_that_breaks())
    assert len(ledger) == 3
    assert (ledger.forecasts()["as_of_date"] == pd.Timestamp("2024-01-05")).all()


def test_bad_row_rejects_the_whole_batch_naming_the_field(ledger):
    good, bad = rows(as_of="2024-01-10", targets=("2024-01-11", "2024-01-12"))
    del bad["as_of_close"]
    with pytest.raises(ValueError, match="as_of_close"):
        ledger.append([good, bad])
    assert len(ledger) == 0


def test_a_target_on_or_before_the_as_of_date_is_refused(ledger):
    with pytest.raises(ValueError, match="must come after"):
        ledger.append(rows(as_of="2024-01-08", targets=("2024-01-08",)))


CRASHING_WRITER = textwrap.dedent("""
    import sys, time
    from helpers.ledger import Ledger

    ledger = Ledger(sys.argv[1])
    base = dict(run_id="run-1", model_fingerprint="abc", method="recursive", as_of_close=100.0, horizon=1,
                forecast=101.0)
    ledger.append([dict(base, as_of_date="2024-01-0%d" % d, target_date="2024-01-0%d" % (d + 1))
                   for d in (2, 3, 4)])

    def endless():
        day = 0
        while True:
            day += 1
            yield dict(base, as_of_date="2029-12-31", target_date=f"2030-01-{1 + day % 28:02d}")
            if day == 50:
                print("MID-TRANSACTION", flush=True)
                time.sleep(600)

    ledger.append(endless())
""")


def test_killed_process_mid_append_leaves_readable_db_with_earlier_rows(tmp_path):
    path = tmp_path / "ledger.sqlite"
    script = tmp_path / "writer.py"
    script.write_text(CRASHING_WRITER)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    child = subprocess.Popen([sys.executable, str(script), str(path)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert child.stdout.readline().strip() == "MID-TRANSACTION"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL
    reopened = Ledger(path)
    assert len(reopened) == 3
    assert reopened.forecasts()["target_date"].dt.year.eq(2024).all()
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    reopened.append(rows(as_of="2024-02-01", targets=("2024-02-02",)))   # and it still takes new rows
    assert len(reopened) == 4


def test_score_fills_only_target_dates_that_have_data(ledger):
    ledger.append(rows())
    recorded = ledger.score(closes({"2024-01-05": 100.0, "2024-01-08": 101.0, "2024-01-09": 99.0}))
    assert recorded == 2
    realized = ledger.realized()
    assert realized["target_date"].tolist() == ["2024-01-08", "2024-01-09"]   # not the as-of date, not 01-10
    report = ledger.report()
    assert report["target_date"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-08", "2024-01-09"]


def test_intraday_forecasts_are_stored_and_scored_with_the_time_of_their_midnight_bar(ledger):
    ledger.append(rows(as_of="2024-01-01 22:00:00", targets=("2024-01-01 23:00:00", "2024-01-02 00:00:00")))
    ledger.append(rows(as_of="2024-01-01 00:00:00", targets=("2024-01-01 01:00:00",), method="direct"))
    stored = ledger.forecasts()
    assert sorted(pd.to_datetime(stored["target_date"]).dt.hour) == [0, 1, 23]
    with sqlite3.connect(ledger.path) as conn:
        texts = {d for row in conn.execute("SELECT as_of_date, target_date FROM forecasts") for d in row}
    assert "2024-01-02 00:00:00" in texts and "2024-01-01 00:00:00" in texts and "2024-01-02" not in texts
    hourly = pd.date_range("2024-01-01", periods=30, freq="h")
    assert ledger.score(pd.DataFrame({"close": range(30)}, index=pd.DatetimeIndex(hourly, name="date"))) == 3
    realized = ledger.realized().set_index("target_date")["actual"]
    assert realized["2024-01-02 00:00:00"] == 24.0 and realized["2024-01-01 23:00:00"] == 23.0


def test_score_never_rewrites_a_recorded_actual(ledger):
    ledger.append(rows())
    ledger.score(closes({"2024-01-08": 101.0}))
    assert ledger.score(closes({"2024-01-08": 555.0, "2024-01-10": 104.0})) == 1
    assert ledger.realized().set_index("target_date")["actual"].to_dict() == {"2024-01-08": 101.0,
                                                                             "2024-01-10": 104.0}


def test_report_puts_realized_error_beside_persistence(ledger):
    ledger.append(rows())
    ledger.score(closes({"2024-01-08": 102.0, "2024-01-09": 104.0}))
    report = ledger.report().set_index("horizon")
    assert report.loc[1, "persistence"] == 100.0
    assert report.loc[1, "error"] == pytest.approx(1.0) and report.loc[1, "persistence_error"] == pytest.approx(2.0)
    assert report.loc[1, "inside_80"] == 1.0 and report.loc[2, "inside_80"] == 0.0
    summary = ledger.summary().set_index("horizon")
    assert summary.loc[1, "theils_u"] == pytest.approx(0.5)
    assert summary.loc[2, "coverage_80"] == 0.0


def test_report_counts_a_reissued_forecast_once(ledger):
    ledger.append(rows())
    ledger.append(rows())          # the same job ran twice
    ledger.score(closes({"2024-01-08": 102.0}))
    assert len(ledger) == 6
    assert len(ledger.report()) == 1


def test_forecast_rows_from_a_forecast_table(ledger):
    table = pd.DataFrame({"date": pd.to_datetime(["2024-01-08", "2024-01-09"]), "forecast": [101.0, 102.0],
                          "lower_80": [99.0, 98.0], "upper_80": [103.0, 104.0], "horizon": [1, 2],
                          "method": ["direct", "direct"]})
    ledger.append(forecast_rows(table, as_of_date=pd.Timestamp("2024-01-05"), as_of_close=100.0, run_id="r",
                                model_fingerprint="f", kind="replay"))
    stored = ledger.forecasts()
    assert stored["kind"].tolist() == ["replay", "replay"] and stored["upper_80"].tolist() == [103.0, 104.0]


def test_reopening_keeps_rows_and_triggers(tmp_path):
    path: Path = tmp_path / "ledger.sqlite"
    Ledger(path).append(rows())
    again = Ledger(path)
    assert len(again) == 3
    triggers = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type='trigger'")}
    assert {"forecasts_never_updated", "forecasts_never_deleted"} <= triggers


def test_cli_score_records_actuals_from_a_csv(tmp_path, capsys):
    from helpers.cli import main
    from helpers.runfolder import RunPaths

    paths = RunPaths(tmp_path / "run")
    Ledger(paths.ledger).append(rows())
    csv = tmp_path / "new.csv"
    csv.write_text("Date,Close\n2024-01-05,100\n2024-01-08,102\n2024-01-09,104\n")
    assert main(["score", "--run", str(paths.root), "--csv", str(csv)]) == 0
    out, err = capsys.readouterr()
    assert out.strip().splitlines()[-1] == str(paths.ledger)
    assert "recorded 2 new actual price(s)" in err
    assert len(Ledger(paths.ledger).report()) == 2


def test_cli_score_without_a_ledger_is_a_bad_parameter(tmp_path, capsys):
    from helpers.cli import main

    csv = tmp_path / "new.csv"
    csv.write_text("Date,Close\n2024-01-05,100\n")
    assert main(["score", "--run", str(tmp_path), "--csv", str(csv)]) == 2
    assert "ledger" in capsys.readouterr().err
