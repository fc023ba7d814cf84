"""The prediction ledger: an append-only SQLite record of every forecast issued, scored when the future arrives.

A backtest says how a model *would have* done; the ledger says how it *did*. Each forecast is written when it
is issued (as-of date, target date, horizon, point and bands, which model) and never changed: the forecasts
table has BEFORE UPDATE and BEFORE DELETE triggers that abort, and this class offers no way to edit or remove
a row. Actual prices go to a separate ``realized`` table when they exist; :meth:`Ledger.report` joins the two
into realized errors beside persistence (the as-of close carried forward).

Durability: journal_mode=WAL and synchronous=FULL, every append in one transaction. A crash mid-append (a
killed process, an exception) leaves the database readable with every earlier row; the interrupted batch is
all or nothing. One ledger holds one price series (``realized`` is keyed by date).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import numpy as np
import pandas as pd

from helpers.frequency import has_time_of_day, iso_stamp

SCHEMA_VERSION = 1
KINDS = ("live", "replay")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS forecasts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    issued_at TEXT NOT NULL,                 -- UTC ISO time the row was written
    run_id TEXT NOT NULL,
    model_fingerprint TEXT NOT NULL,         -- sha256 of the model file (or of its weights)
    method TEXT NOT NULL,                    -- 'recursive' or 'direct'
    kind TEXT NOT NULL CHECK (kind IN ('live', 'replay')),  -- replay: re-issued for a past as-of date
    as_of_date TEXT NOT NULL,                -- last date whose close the forecast saw (ISO)
    as_of_close REAL NOT NULL,               -- that close: persistence's forecast
    target_date TEXT NOT NULL CHECK (target_date > as_of_date),
    horizon INTEGER NOT NULL CHECK (horizon >= 1),
    forecast REAL NOT NULL,
    bands TEXT NOT NULL DEFAULT '{}'         -- JSON {"lower_80": .., "upper_80": .., ...}
);
CREATE INDEX IF NOT EXISTS forecasts_by_target ON forecasts (target_date);
CREATE TABLE IF NOT EXISTS realized (
    target_date TEXT PRIMARY KEY,
    actual REAL NOT NULL,
    scored_at TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS forecasts_never_updated BEFORE UPDATE ON forecasts
BEGIN SELECT RAISE(ABORT, 'the forecasts table is append-only: a forecast is never edited'); END;
CREATE TRIGGER IF NOT EXISTS forecasts_never_deleted BEFORE DELETE ON forecasts
BEGIN SELECT RAISE(ABORT, 'the forecasts table is append-only: a forecast is never deleted'); END;
CREATE TRIGGER IF NOT EXISTS realized_never_updated BEFORE UPDATE ON realized
BEGIN SELECT RAISE(ABORT, 'realized prices are append-only: an actual is never edited'); END;
CREATE TRIGGER IF NOT EXISTS realized_never_deleted BEFORE DELETE ON realized
BEGIN SELECT RAISE(ABORT, 'realized prices are append-only: an actual is never deleted'); END;
"""

_COLUMNS = ("issued_at", "run_id", "model_fingerprint", "method", "kind", "as_of_date", "as_of_close",
            "target_date", "horizon", "forecast", "bands")
_REQUIRED = ("run_id", "model_fingerprint", "method", "as_of_date", "as_of_close", "target_date", "horizon",
             "forecast")


class Ledger:
    """An append-only ledger of forecasts in the SQLite file ``path`` (created on first use).

    ``append(rows)`` records forecasts; ``score(prices)`` records actual closes for target dates that have
    one; ``report()`` gives realized errors beside persistence; ``forecasts()`` and ``realized()`` read the
    tables. There is deliberately no method to change or remove a forecast.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)
            conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
                         (str(SCHEMA_VERSION),))
            conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('created_at', ?)", (_now(),))

    # ------------------------------------------------------------------ connections
    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection in autocommit mode (transactions are explicit), durable settings, always closed."""
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
        try:
            conn.execute("PRAGMA synchronous=FULL")
            yield conn
        finally:
            conn.close()

    # ------------------------------------------------------------------ writing
    def append(self, rows: Iterable[Mapping[str, Any]] | pd.DataFrame) -> int:
        """Record forecasts in one transaction; returns how many. All or nothing: a bad row or an
        interruption leaves none of this batch and every earlier row.

        Each row needs ``run_id, model_fingerprint, method, as_of_date, as_of_close, target_date, horizon,
        forecast``; optional ``kind`` ('live' default, 'replay' for forecasts re-issued for a past date),
        ``issued_at`` (default now, UTC) and band columns ``lower_XX`` / ``upper_XX`` (or a ``bands`` dict).
        """
        records = rows.to_dict("records") if isinstance(rows, pd.DataFrame) else rows
        issued_at = _now()
        placeholders = ", ".join("?" for _ in _COLUMNS)
        sql = f"INSERT INTO forecasts ({', '.join(_COLUMNS)}) VALUES ({placeholders})"
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                cursor = conn.executemany(sql, (_forecast_values(r, issued_at) for r in records))
                count = cursor.rowcount
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return int(count)

    def score(self, prices: pd.DataFrame | pd.Series) -> int:
        """Record the actual close of every forecast target date that ``prices`` has (only those); returns how
        many new dates were recorded. A date already recorded keeps its first value (the ledger is never
        rewritten). ``prices``: a prices frame with ``close`` or a close Series, indexed by date."""
        close = prices["close"] if isinstance(prices, pd.DataFrame) else prices
        close = close.dropna()
        # intraday bars matched with their time; a midnight bar under either spelling (older ledgers wrote
        # the date alone)
        by_date = {_iso_date(d, series): float(v) for d, v in close.items() for series in (None, close.index)}
        scored_at = _now()
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                waiting = [r[0] for r in conn.execute(
                    "SELECT DISTINCT f.target_date FROM forecasts f LEFT JOIN realized r "
                    "ON f.target_date = r.target_date WHERE r.target_date IS NULL")]
                known = [(d, by_date[d], scored_at) for d in waiting if d in by_date]
                conn.executemany("INSERT OR IGNORE INTO realized (target_date, actual, scored_at) VALUES (?, ?, ?)",
                                 known)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return len(known)

    # ------------------------------------------------------------------ reading
    def forecasts(self) -> pd.DataFrame:
        """Every forecast row as issued, oldest first, bands expanded to ``lower_XX`` / ``upper_XX`` columns."""
        with self._connect() as conn:
            frame = pd.read_sql_query("SELECT * FROM forecasts ORDER BY id", conn)
        return _expand_bands(frame)

    def realized(self) -> pd.DataFrame:
        """The recorded actual closes: ``target_date, actual, scored_at``."""
        with self._connect() as conn:
            return pd.read_sql_query("SELECT * FROM realized ORDER BY target_date", conn)

    def __len__(self) -> int:
        with self._connect() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM forecasts").fetchone()[0])

    def report(self) -> pd.DataFrame:
        """Realized errors of the scored forecasts beside persistence, by target date.

        One row per scored forecast (a forecast re-issued with the same model, method, kind, as-of date and
        horizon counts once: the first issued). Columns: the forecast's fields, ``actual``, ``persistence``
        (the as-of close), ``error`` and ``persistence_error`` (actual minus forecast), their absolute values,
        and ``inside_XX`` (1.0/0.0) per band. Empty when nothing is scored yet.
        """
        with self._connect() as conn:
            frame = pd.read_sql_query(
                "SELECT f.*, r.actual FROM forecasts f JOIN realized r ON f.target_date = r.target_date "
                "WHERE f.id IN (SELECT MIN(id) FROM forecasts GROUP BY model_fingerprint, method, kind, "
                "as_of_date, horizon) ORDER BY f.target_date, f.horizon, f.id", conn)
        frame = _expand_bands(frame)
        frame["persistence"] = frame["as_of_close"]
        frame["error"] = frame["actual"] - frame["forecast"]
        frame["persistence_error"] = frame["actual"] - frame["persistence"]
        frame["abs_error"] = frame["error"].abs()
        frame["abs_persistence_error"] = frame["persistence_error"].abs()
        for name in _band_names(frame):
            lo, hi = frame[f"lower_{name}"], frame[f"upper_{name}"]
            inside = ((frame["actual"] >= lo) & (frame["actual"] <= hi)).astype(float)
            frame[f"inside_{name}"] = inside.where(lo.notna() & hi.notna())
        return frame

    def summary(self, by: tuple[str, ...] = ("method", "horizon")) -> pd.DataFrame:
        """Per group of :meth:`report`: ``n``, ``rmse``, ``persistence_rmse``, ``theils_u`` and the band
        coverages (``coverage_XX``), the realized counterpart of the backtest's table."""
        report = self.report()
        columns = [*by, "n", "rmse", "persistence_rmse", "theils_u"]
        if report.empty:
            return pd.DataFrame(columns=columns)
        rows = []
        for keys, group in report.groupby(list(by), sort=True):
            keys = keys if isinstance(keys, tuple) else (keys,)
            rmse = math.sqrt(float(np.mean(group["error"] ** 2)))
            p_rmse = math.sqrt(float(np.mean(group["persistence_error"] ** 2)))
            row = dict(zip(by, keys), n=len(group), rmse=rmse, persistence_rmse=p_rmse,
                       theils_u=rmse / p_rmse if p_rmse > 0 else math.nan)
            for name in _band_names(group):
                row[f"coverage_{name}"] = float(group[f"inside_{name}"].mean())
            rows.append(row)
        return pd.DataFrame(rows)


# ---------------------------------------------------------------------- rows
def forecast_rows(forecast: pd.DataFrame, *, run_id: str, model_fingerprint: str, as_of_date: Any = None,
                  as_of_close: float | None = None, kind: str = "live") -> list[dict[str, Any]]:
    """Ledger rows from a forecast table (``helpers.forecast.forecast_frame``: date, forecast, bands, horizon,
    method), issued as of ``as_of_date`` whose close was ``as_of_close``; a table with its own ``as_of_date``
    and ``as_of_close`` columns (``helpers.forecast.forecasts_as_of``) needs neither."""
    rows = []
    for record in forecast.to_dict("records"):
        row = {"run_id": run_id, "model_fingerprint": model_fingerprint, "kind": kind,
               "as_of_date": record.get("as_of_date", as_of_date),
               "as_of_close": record.get("as_of_close", as_of_close), "target_date": record["date"],
               "horizon": record["horizon"], "forecast": record["forecast"], "method": record["method"]}
        row.update({k: v for k, v in record.items() if k.startswith(("lower_", "upper_"))})
        rows.append(row)
    return rows


def record_forecasts(ledger: "Ledger", tables: Mapping[str, tuple[pd.DataFrame, str]], *, run_id: str,
                     kind: str = "live", as_of_date: Any = None, as_of_close: float | None = None) -> int:
    """Append several forecast tables at once: ``{name: (table, model fingerprint)}``; returns rows added.
    Each row carries its own model's fingerprint, so forecasts of different models never mix in the scores."""
    added = 0
    for table, fingerprint in tables.values():
        added += ledger.append(forecast_rows(table, run_id=run_id, model_fingerprint=fingerprint, kind=kind,
                                             as_of_date=as_of_date, as_of_close=as_of_close))
    return added


def _forecast_values(row: Mapping[str, Any], issued_at: str) -> tuple:
    """One row checked and ordered as ``_COLUMNS``; a bad row raises ValueError naming the field."""
    missing = [k for k in _REQUIRED if k not in row or _is_missing(row[k])]
    if missing:
        raise ValueError(f"ledger row lacks {', '.join(missing)}: every forecast needs "
                         f"{', '.join(_REQUIRED)} ({dict(row)})")
    kind = row.get("kind") or "live"
    if kind not in KINDS:
        raise ValueError(f"ledger row has kind {kind!r}: use one of {', '.join(KINDS)}")
    bands = dict(row.get("bands") or {})
    bands.update({k: row[k] for k in row if str(k).startswith(("lower_", "upper_"))})
    bands = {k: (None if _is_missing(v) else float(v)) for k, v in bands.items()}
    # a forecast within a day, or from or to a bar with a time of day, is of intraday bars: both keep their time
    pair = [pd.Timestamp(row["as_of_date"]), pd.Timestamp(row["target_date"])]
    intraday = has_time_of_day(pair) or (pair[1] - pair[0]) % pd.Timedelta(days=1) != pd.Timedelta(0)
    as_of, target = (iso_stamp(when, intraday) for when in pair)
    if target <= as_of:
        raise ValueError(f"ledger row forecasts {target} as of {as_of}: the target date must come after "
                         "the as-of date")
    return (row.get("issued_at") or issued_at, str(row["run_id"]), str(row["model_fingerprint"]),
            str(row["method"]), kind, as_of, float(row["as_of_close"]), target, int(row["horizon"]),
            float(row["forecast"]), json.dumps(bands, sort_keys=True))


def _expand_bands(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    bands = [json.loads(text) if text else {} for text in frame.get("bands", pd.Series(dtype=str))]
    names = sorted({k for b in bands for k in b}, key=_band_sort_key)
    for name in names:
        frame[name] = [np.nan if b.get(name) is None else float(b[name]) for b in bands]
    for column in ("as_of_date", "target_date"):
        if column in frame.columns:
            frame[column] = pd.to_datetime(frame[column], format="ISO8601")   # dates, or dates with a time
    return frame.drop(columns=["bands"], errors="ignore")


def _band_names(frame: pd.DataFrame) -> list[str]:
    return [c[len("lower_"):] for c in frame.columns if c.startswith("lower_") and f"upper_{c[6:]}" in frame]


def _band_sort_key(name: str) -> tuple[float, str]:
    level = name.split("_", 1)[-1]
    try:
        return float(level), name
    except ValueError:
        return math.inf, name


def _iso_date(value: Any, of: Any = None) -> str:
    """A bar's timestamp as stored: the date, with the time of day of an intraday bar (``of``: its series)."""
    return iso_stamp(value, of)


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
