"""The run folder: where every notebook of one run reads and writes its files.

Notebooks hand results to each other only through these files, never through kernel state, so any notebook
can be re-run alone. Paths are named here once; nothing else spells them.

    reports/<run-id>/
        config.json                     the RunConfig of the run
        data/prices.parquet             cleaned daily prices (01)
        data/data_report.json           source chain and every cleaning fix (01)
        data/features.parquet           feature table, warm-up dropped (03)
        data/features.json              feature list, dropped warm-up rows, switched-off groups (03)
        history.json                    training curves of the teaching network (04)
        tuning/                         keras-tuner directory (resumable) and best.json (05)
        model/model.keras               the run's model: the tuned seed ensemble (06), loads with safe_mode
        model/manifest.json             its preprocessing, target, tuning, seeds, fingerprints, versions (06)
        predictions.csv, metrics.json   test-set contract files (06)
        forecast.csv, ledger.sqlite     forecasts ahead and the ledger (07)
        coverage.json                   how often each band held on the test days, with its test (07)
        risk.json                       one-day VaR/ES backtests (08; also under metrics.json "risk")
        NN_name.ipynb, NN_name.html     executed notebooks and their HTML
        index.html                      the report's front page
        plotly.min.js, notebook.css     loaded by every page by relative path (helpers/plotlyjs.py, runner.py)
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REPORTS = PROJECT_ROOT / "reports"

# The contract as data: which notebook writes each file (by its RunPaths name) and which files each notebook
# reads. The runner derives from it which notebooks may run at the same time (helpers.runner.notebook_needs);
# tests check it against every ``paths.require(...)`` and every notebook's code.
WRITTEN_BY: dict[str, str] = {
    "prices": "01_collect", "data_report": "01_collect",
    "features": "03_featurize", "features_meta": "03_featurize",
    "history": "04_model", "model_comparison": "04_model",
    "tuning_dir": "05_tune", "best": "05_tune",
    "model_dir": "06_evaluate", "model_file": "06_evaluate", "manifest": "06_evaluate",
    "predictions": "06_evaluate", "metrics": "06_evaluate",
    "forecast": "07_forecast", "ledger": "07_forecast", "coverage": "07_forecast",
    "risk": "08_risk",
}
READS: dict[str, tuple[str, ...]] = {
    "01_collect": (),
    "02_explore": ("prices", "data_report"),
    "03_featurize": ("prices", "data_report"),
    "04_model": ("features", "features_meta", "data_report"),
    "05_tune": ("features", "features_meta"),
    "06_evaluate": ("features", "features_meta", "data_report", "best"),
    "07_forecast": ("prices", "data_report", "features", "features_meta", "manifest", "model_file"),
    "08_risk": ("features", "features_meta", "manifest", "model_file", "metrics"),
    "09_panel": (),
}


@dataclass(frozen=True)
class RunPaths:
    """Named paths inside one run folder."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @property
    def config(self) -> Path: return self.root / "config.json"
    @property
    def data_dir(self) -> Path: return self.root / "data"
    @property
    def prices(self) -> Path: return self.data_dir / "prices.parquet"
    @property
    def data_report(self) -> Path: return self.data_dir / "data_report.json"
    @property
    def features(self) -> Path: return self.data_dir / "features.parquet"
    @property
    def features_meta(self) -> Path: return self.data_dir / "features.json"
    @property
    def model_dir(self) -> Path: return self.root / "model"
    @property
    def model_file(self) -> Path: return self.model_dir / "model.keras"
    @property
    def manifest(self) -> Path: return self.model_dir / "manifest.json"
    @property
    def history(self) -> Path: return self.root / "history.json"
    @property
    def model_comparison(self) -> Path: return self.root / "model_comparison.json"
    @property
    def tuning_dir(self) -> Path: return self.root / "tuning"
    @property
    def best(self) -> Path: return self.tuning_dir / "best.json"
    @property
    def predictions(self) -> Path: return self.root / "predictions.csv"
    @property
    def metrics(self) -> Path: return self.root / "metrics.json"
    @property
    def forecast(self) -> Path: return self.root / "forecast.csv"
    @property
    def ledger(self) -> Path: return self.root / "ledger.sqlite"
    @property
    def risk(self) -> Path: return self.root / "risk.json"
    @property
    def coverage(self) -> Path: return self.root / "coverage.json"
    @property
    def index(self) -> Path: return self.root / "index.html"

    def notebook(self, stem: str) -> Path:
        return self.root / f"{stem}.ipynb"

    def notebook_html(self, stem: str) -> Path:
        return self.root / f"{stem}.html"

    def require(self, path: Path, made_by: str) -> Path:
        """Return ``path`` or raise FileNotFoundError saying which notebook writes it."""
        if not path.exists():
            raise FileNotFoundError(
                f"{path} is missing: run notebook {made_by} for this run folder ({self.root}) first")
        return path


def new_run_id(ticker: str, cell: str, when: dt.datetime | None = None) -> str:
    """A readable id such as ``AAPL-2026-11-21T1830-lstm``."""
    when = when or dt.datetime.now()
    safe = re.sub(r"[^A-Za-z0-9.-]+", "_", ticker).strip("_") or "run"
    return f"{safe}-{when:%Y-%m-%dT%H%M}-{cell}"


def unique_run_dir(out_dir: str | Path, run_id: str) -> Path:
    """``out_dir/run_id``, suffixed -2, -3, ... so runs never overwrite each other."""
    out_dir = Path(out_dir)
    candidate = out_dir / run_id
    n = 2
    while candidate.exists():
        candidate = out_dir / f"{run_id}-{n}"
        n += 1
    return candidate
