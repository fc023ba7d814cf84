"""PanelConfig: every choice of one pooled (cross-sectional) run, validated like RunConfig.

A panel run trains one network on the windows of every ticker of a study period (Fischer & Krauss 2018:
750 training days, then 250 trading days, rolled by 250). The config says where the panel comes from
(one wide CSV, a folder of per-ticker CSVs, or tickers through the price cache and yfinance), how study
periods are cut, the network, and how the ranking is evaluated. It round-trips through
``panel_config.json`` in the run folder, and a bad value raises :class:`helpers.config.ConfigError` naming
the field, the value and what is allowed, before any work starts.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers.config import MODES, ConfigError, RunConfig, _check, _coerce_sequences, _is_iso_date

PANEL_TARGETS = ("classification", "regression")
PANEL_CONFIG_FILE = "panel_config.json"


@dataclass(frozen=True)
class PanelConfig:
    """Every choice of one panel run. Construct with keywords; invalid values raise ConfigError."""

    # --- data: exactly one of csv_path (wide), csv_dir, tickers, universe_path ---
    csv_path: str | None = None          # one wide CSV: a date column and one close column per ticker
    csv_dir: str | None = None           # a folder of per-ticker CSVs (ticker = file name)
    tickers: tuple[str, ...] = ()        # symbols loaded through the price cache and yfinance
    universe_path: str | None = None     # a universe file (tickers plus an as-of date), see panel_data
    start: str | None = None             # ISO date, inclusive
    end: str | None = None
    mode: str = "full"

    # --- study periods, inputs, target ---
    window: int = 240                    # input days per sequence (the paper's 240)
    train_days: int = 750                # days of each study period the network trains on
    trade_days: int = 250                # days it then trades; periods roll forward by this many
    max_periods: int | None = None       # keep only the last n study periods (None: all)
    target: str = "classification"       # above the next day's cross-sectional median, or next-day return
    val_frac: float = 0.2                # last share of the training days: early stopping's validation rows

    # --- the network (the series' builder) ---
    cell: str = "lstm"
    units: tuple[int, ...] = (25,)
    dropout: float = 0.1
    learning_rate: float = 1e-3
    batch_size: int = 512
    epochs: int = 30
    patience: int = 5
    seed: int = 42
    dask_address: str | None = None      # run study periods as tasks on this Dask scheduler (tcp://host:8786)

    # --- evaluation ---
    top_k: int = 5                       # long the k best-ranked, short the k worst, each day
    cost_bps: float = 5.0                # cost per half-turn, basis points of the traded weight
    random_draws: int = 1000             # random rankings: the portfolio's yardstick distribution
    split_year: int = 2010               # results before and from this year (the paper's edge vanished after)
    single_ticker_reports: str | None = None   # a reports/ folder: each ticker's own single-ticker U beside the pooled

    def __post_init__(self) -> None:
        _coerce_sequences(self)
        _validate(self)

    # ------------------------------------------------------------------ construction
    @classmethod
    def for_mode(cls, mode: str = "full", **overrides: Any) -> "PanelConfig":
        """The defaults of ``mode`` ('quick': a few minutes on 14 tickers; 'full': the paper's settings)."""
        _check(mode in MODES, "mode", mode, f"one of {', '.join(MODES)}")
        return cls.from_overrides({**(PANEL_QUICK_PRESET if mode == "quick" else {}), **overrides, "mode": mode})

    # RunConfig's parser is generic over a dataclass's fields and type hints (unknown names and wrong types
    # raise ConfigError naming the field): reused as is, not copied.
    from_overrides = classmethod(RunConfig.from_overrides.__func__)

    def replace(self, **changes: Any) -> "PanelConfig":
        """A copy with ``changes`` applied and validated."""
        return PanelConfig.from_overrides(changes, base=self)

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def load(cls, path: str | Path) -> "PanelConfig":
        """Read a panel_config.json written by :meth:`save`."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no panel config at {path}: start the run with `lstm-lab panel` or give "
                                    f"notebook 09_panel its data in `overrides` (csv_path, csv_dir or tickers)")
        return cls.from_overrides(json.loads(path.read_text()))

    def save(self, path: str | Path) -> Path:
        """Write atomically as JSON."""
        from helpers.atomic import atomic_write_text

        return atomic_write_text(path, json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")

    @property
    def data_source(self) -> str:
        """'csv', 'csv_dir', 'universe' or 'tickers': where this panel comes from."""
        for name, value in (("csv", self.csv_path), ("csv_dir", self.csv_dir), ("universe", self.universe_path),
                            ("tickers", self.tickers)):
            if value:
                return name
        return "none"


# Quick mode: about ten minutes on the 14-ticker panel's 31 study periods (60-day sequences, shorter training
# blocks, a small network, few epochs); full mode is Fischer & Krauss's 240 / 750 / 250 with 25 cells.
PANEL_QUICK_PRESET: dict[str, Any] = {
    "window": 60,
    "train_days": 500,
    "trade_days": 250,
    "units": (16,),
    "epochs": 4,
    "patience": 2,
    "random_draws": 300,
}


NETWORK_FIELDS = ("cell", "units", "dropout", "learning_rate", "batch_size", "epochs", "patience", "seed")


def _validate(c: PanelConfig) -> None:
    given = [n for n, v in (("csv_path", c.csv_path), ("csv_dir", c.csv_dir), ("tickers", c.tickers),
                            ("universe_path", c.universe_path)) if v]
    _check(len(given) <= 1, given[-1] if given else "csv_path", getattr(c, given[-1]) if given else None,
           f"one data source only, got {', '.join(given)}: pick one of csv_path, csv_dir, tickers, universe_path")
    _check(all(isinstance(t, str) and t.strip() and " " not in t for t in c.tickers), "tickers", list(c.tickers),
           "symbols without spaces, e.g. AAPL,MSFT")
    for name in ("start", "end"):
        _check(_is_iso_date(getattr(c, name)), name, getattr(c, name), "an ISO date YYYY-MM-DD or None")
    if c.start and c.end:
        _check(c.start < c.end, "end", c.end, f"a date after start ({c.start})")
    _check(c.mode in MODES, "mode", c.mode, f"one of {', '.join(MODES)}")
    _check(2 <= c.window <= 1000, "window", c.window, "a whole number of days from 2 to 1000")
    _check(c.train_days >= 2 * c.window, "train_days", c.train_days,
           f"at least 2 x window ({2 * c.window}): the first `window` training days only feed the first sequence")
    _check(1 <= c.trade_days <= 5000, "trade_days", c.trade_days, "a whole number of days from 1 to 5000")
    _check(c.max_periods is None or c.max_periods >= 1, "max_periods", c.max_periods, "None or a whole number >= 1")
    _check(c.target in PANEL_TARGETS, "target", c.target, f"one of {', '.join(PANEL_TARGETS)}")
    _check(0.0 < c.val_frac < 0.5, "val_frac", c.val_frac, "a fraction between 0 and 0.5")
    # The network's fields mean what they mean in RunConfig, and are checked by it (same names, same messages).
    RunConfig(**{name: getattr(c, name) for name in NETWORK_FIELDS})
    _check(1 <= c.top_k <= 1000, "top_k", c.top_k, "a whole number of stocks per side from 1 to 1000")
    _check(0.0 <= c.cost_bps <= 1000.0, "cost_bps", c.cost_bps, "basis points per half-turn from 0 to 1000")
    _check(10 <= c.random_draws <= 100000, "random_draws", c.random_draws, "a whole number from 10 to 100000")
    _check(1900 <= c.split_year <= 2100, "split_year", c.split_year, "a year such as 2010")
