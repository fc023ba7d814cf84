"""RunConfig: every choice of a run in one validated, JSON round-tripping dataclass.

A run is reproducible from its ``config.json`` alone. Every notebook reads it; papermill parameters are
checked through :func:`RunConfig.from_overrides` before any work starts, and a bad value raises
:class:`ConfigError` naming the field, the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

SOURCES = ("auto", "yfinance", "csv", "sample", "synthetic", "alphavantage")
TARGETS = ("log_return", "price", "direction")
CELLS = ("lstm", "gru", "rnn")
SCALERS = ("standard", "minmax")
MODES = ("quick", "full")
TUNERS = ("random", "hyperband", "bayesian")
WALK_FORWARD_SCHEMES = ("expanding", "sliding")
FEATURE_GROUPS = (
    "log_return", "sma", "ema", "rsi", "macd", "bbands", "atr", "obv", "stoch",
    "realized_vol", "volume_z", "day_of_week", "sentiment",
)
# Groups that need open/high/low/volume; switched off for close-only data.
OHLCV_FEATURE_GROUPS = ("atr", "obv", "stoch", "volume_z")


# Bar intervals yfinance serves, with how many days back Yahoo keeps them (None: the full history). As yfinance
# users and maintainers report them: 1m up to 7 days per request (one request here), 2m..90m about 60 days,
# 60m/1h about 730 days.
YAHOO_INTERVALS: dict[str, int | None] = {
    "1m": 7, "2m": 60, "5m": 60, "15m": 60, "30m": 60, "60m": 730, "90m": 60, "1h": 730,
    "1d": None, "5d": None, "1wk": None, "1mo": None,
}
# Sources that deliver only daily bars: an interval other than 1d cannot come from them.
DAILY_ONLY_SOURCES = ("alphavantage", "sample", "synthetic")


class ConfigError(ValueError):
    """A run parameter is invalid; the message names the field, the value and what is allowed."""

    def __init__(self, field_name: str, value: Any, allowed: str):
        self.field = field_name
        self.value = value
        self.allowed = allowed
        super().__init__(f"invalid parameter {field_name!r} = {value!r}: {allowed}")


@dataclass(frozen=True)
class RunConfig:
    """Every choice of one run. Construct with keywords; invalid values raise ConfigError."""

    # --- data ---
    ticker: str = "AAPL"
    source: str = "auto"
    csv_path: str | None = None
    csv_date_format: str | None = None   # strftime of the CSV's dates, e.g. "%d.%m.%Y" (only when not detected)
    csv_dayfirst: bool | None = None     # the CSV's dates are day-first (31.12.2020): only for an ambiguous column
    csv_decimal: str | None = None       # the CSV's decimal separator, "." or ",": only when no number shows it
    start: str | None = None             # ISO date, inclusive
    end: str | None = None               # ISO date, inclusive
    interval: str = "1d"
    trading_calendar: str = "auto"       # auto (from the dates and ticker), business, daily, or an exchange: XNYS
    auto_adjust: bool = True             # yfinance: adjust OHLC for splits and dividends
    headlines_path: str | None = None    # CSV of dated headlines (timestamp,text) for sentiment features
    mode: str = "full"

    # --- target and features ---
    target: str = "log_return"
    features: tuple[str, ...] = (
        "log_return", "sma", "ema", "rsi", "macd", "bbands", "atr", "obv", "stoch",
        "realized_vol", "volume_z", "day_of_week",
    )
    sma_lengths: tuple[int, ...] = (10, 20, 50)
    ema_lengths: tuple[int, ...] = (10, 20)
    window: int = 30                     # input time steps per sample
    horizon: int = 1                     # output steps per sample (direct multi-step)
    val_frac: float = 0.15
    test_frac: float = 0.15
    val_start: str | None = None         # ISO date: overrides val_frac when given with test_start
    test_start: str | None = None
    scaler: str = "standard"

    # --- model and training ---
    cell: str = "lstm"
    units: tuple[int, ...] = (64, 32)
    dropout: float = 0.2
    learning_rate: float = 1e-3
    batch_size: int = 64
    epochs: int = 60
    patience: int = 8
    seed: int = 42
    seeds: int = 5                       # models trained per evaluation, seeds seed, seed+1, ...
    compare_cells: tuple[str, ...] = ("lstm", "gru", "rnn")

    # --- tuning ---
    tuner: str = "bayesian"
    max_trials: int = 8                  # a small default budget: make report stays under ~20 minutes
    tune_epochs: int = 15
    tune_time_limit_s: float = 300.0
    tune_windows: tuple[int, ...] = (20, 30, 60)
    tune_units: tuple[int, ...] = (16, 32, 64, 128)   # the layer sizes a search may pick, per layer
    tune_max_layers: int = 4             # a search tries stacks of 1 to this many layers

    # --- evaluation ---
    walk_forward_folds: int = 4
    walk_forward_scheme: str = "expanding"
    retrain_every: int = 250             # walk-forward: refit every k test steps
    cost_bps: float = 5.0                # strategy backtest: cost per unit turnover, basis points
    arima_order: tuple[int, int, int] = (1, 1, 1)

    # --- forecasting ---
    forecast_days: int = 10
    mc_samples: int = 100
    band_levels: tuple[float, ...] = (0.8, 0.95)

    def __post_init__(self) -> None:
        _coerce_sequences(self)
        _validate(self)

    # ------------------------------------------------------------------ construction
    @classmethod
    def for_mode(cls, mode: str = "full", **overrides: Any) -> "RunConfig":
        """The defaults of ``mode`` ('quick': seconds per notebook; 'full': settings to trust) plus overrides."""
        if mode not in MODES:
            raise ConfigError("mode", mode, f"one of {', '.join(MODES)}")
        base: dict[str, Any] = dict(QUICK_PRESET) if mode == "quick" else {}
        base.update(overrides)
        base["mode"] = mode
        return cls.from_overrides(base)

    @classmethod
    def from_overrides(cls, values: dict[str, Any], base: "RunConfig | None" = None) -> "RunConfig":
        """Build from a dict (papermill parameters, CLI --set, JSON), rejecting unknown names and wrong types."""
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ConfigError(unknown[0], values[unknown[0]],
                              f"unknown parameter; known parameters are {', '.join(sorted(known))}")
        hints = typing.get_type_hints(cls)
        parsed = {name: _parse_value(name, hints[name], value) for name, value in values.items()}
        if base is None:
            return cls(**parsed)
        return dataclasses.replace(base, **parsed)

    def replace(self, **changes: Any) -> "RunConfig":
        """A copy with ``changes`` applied and validated."""
        return RunConfig.from_overrides(changes, base=self)

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, allow_nan=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RunConfig":
        return cls.from_overrides(dict(data))

    @classmethod
    def load(cls, path: str | Path) -> "RunConfig":
        """Read a config.json written by :meth:`save`."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no run config at {path}: run notebook 01_collect (or `lstm-lab run`) first")
        return cls.from_dict(json.loads(path.read_text()))

    def save(self, path: str | Path) -> Path:
        """Write atomically as JSON."""
        from helpers.atomic import atomic_write_text

        return atomic_write_text(path, self.to_json() + "\n")

    # ------------------------------------------------------------------ derived
    @property
    def seed_list(self) -> list[int]:
        """The seeds of a seed ensemble: seed, seed+1, ..., seed+seeds-1."""
        return [self.seed + i for i in range(self.seeds)]


# Quick mode: tiny budgets so a whole series runs in a few minutes (tests, first look).
QUICK_PRESET: dict[str, Any] = {
    "units": (16, 8),
    "epochs": 4,
    "patience": 2,
    "seeds": 2,
    "compare_cells": ("lstm", "gru", "rnn"),
    "max_trials": 2,
    "tune_epochs": 2,
    "tune_time_limit_s": 120.0,
    "tune_windows": (20, 30),
    "tune_units": (8, 16, 32),          # quick stays small: 06 and 07 train whatever the search picks
    "tune_max_layers": 2,
    "tuner": "random",
    "walk_forward_folds": 2,
    "retrain_every": 100000,            # one refit per walk-forward fold
    "mc_samples": 30,
}


# ---------------------------------------------------------------------- validation
def _check(ok: bool, name: str, value: Any, allowed: str) -> None:
    if not ok:
        raise ConfigError(name, value, allowed)


def _is_iso_date(value: str | None) -> bool:
    if value is None:
        return True
    try:
        dt.date.fromisoformat(str(value))
    except ValueError:
        return False
    return True


def _is_date_format(value: str) -> bool:
    """A strftime pattern naming a day, a month and a year that round-trips a date."""
    if not isinstance(value, str) or "%d" not in value or not ({"%m", "%b", "%B"} & _directives(value)) \
            or not ({"%Y", "%y"} & _directives(value)):
        return False
    try:
        sample = dt.datetime(2001, 12, 31)
        return dt.datetime.strptime(sample.strftime(value), value).date() == sample.date()
    except ValueError:
        return False


def _is_calendar(value: str) -> bool:
    if value == "auto":
        return True
    from helpers.calendar import check_calendar_name

    try:
        check_calendar_name(value)
    except (ValueError, ImportError):
        return False
    return True


def _directives(value: str) -> set[str]:
    return {value[i:i + 2] for i in range(len(value) - 1) if value[i] == "%"}


def _check_finite_numbers(cfg: RunConfig) -> None:
    """NaN and infinity are no setting (and not JSON): refuse them in every number field, naming it."""
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        items = value if isinstance(value, tuple) else (value,)
        for item in items:
            if isinstance(item, float) and not math.isfinite(item):
                raise ConfigError(f.name, value, "a finite number (not NaN or infinity)")


def _coerce_sequences(cfg: RunConfig) -> None:
    """Lists from JSON become tuples so the frozen config stays hashable and compares equal after a round trip."""
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if isinstance(value, list):
            object.__setattr__(cfg, f.name, tuple(value))


def _validate(c: RunConfig) -> None:
    _check_finite_numbers(c)
    _check(isinstance(c.ticker, str) and c.ticker.strip() != "" and len(c.ticker) <= 32 and " " not in c.ticker,
           "ticker", c.ticker, "a non-empty symbol without spaces, e.g. 'AAPL', 'BTC-USD', '^GSPC'")
    _check(c.source in SOURCES, "source", c.source, f"one of {', '.join(SOURCES)}")
    _check(c.source != "csv" or bool(c.csv_path), "csv_path", c.csv_path, "a path to a CSV file when source='csv'")
    _check(c.csv_date_format is None or _is_date_format(c.csv_date_format), "csv_date_format", c.csv_date_format,
           "a strftime pattern with %d, %m (or %b) and %Y (or %y), e.g. '%d.%m.%Y', or None to detect")
    _check(c.csv_decimal in (None, ".", ","), "csv_decimal", c.csv_decimal,
           "'.' (1,234.5), ',' (1.234,5) or None to detect from the numbers")
    _check(c.csv_dayfirst is None or c.csv_date_format is None, "csv_dayfirst", c.csv_dayfirst,
           "None when csv_date_format is given (the format already fixes the order)")
    for name in ("start", "end", "val_start", "test_start"):
        _check(_is_iso_date(getattr(c, name)), name, getattr(c, name), "an ISO date YYYY-MM-DD or None")
    if c.start and c.end:
        _check(c.start < c.end, "end", c.end, f"a date after start ({c.start})")
    _check(c.interval in YAHOO_INTERVALS, "interval", c.interval,
           f"one of {', '.join(YAHOO_INTERVALS)} (yfinance's bar sizes; a CSV's bars are read from its timestamps)")
    _check(c.interval == "1d" or c.source not in DAILY_ONLY_SOURCES, "interval", c.interval,
           f"'1d' with source {c.source!r} (daily bars only); other intervals come from source yfinance or auto, "
           "or a CSV of such bars")
    _check(_is_calendar(c.trading_calendar), "trading_calendar", c.trading_calendar,
           "auto (weekends from the dates, the exchange from the ticker), business (weekdays), daily (every day), "
           "or an exchange code known to exchange_calendars, e.g. XNYS, XLON, XETR")
    _check(c.mode in MODES, "mode", c.mode, f"one of {', '.join(MODES)}")
    _check(c.target in TARGETS, "target", c.target, f"one of {', '.join(TARGETS)}")
    bad = [f for f in c.features if f not in FEATURE_GROUPS]
    _check(not bad, "features", list(c.features), f"feature groups from {', '.join(FEATURE_GROUPS)}")
    _check(len(c.features) > 0, "features", list(c.features), "at least one feature group")
    _check(all(isinstance(n, int) and n >= 2 for n in c.sma_lengths), "sma_lengths", c.sma_lengths,
           "whole numbers >= 2")
    _check(all(isinstance(n, int) and n >= 2 for n in c.ema_lengths), "ema_lengths", c.ema_lengths,
           "whole numbers >= 2")
    _check(2 <= c.window <= 1000, "window", c.window, "a whole number from 2 to 1000")
    _check(1 <= c.horizon <= 60, "horizon", c.horizon, "a whole number from 1 to 60")
    _check(0.0 < c.val_frac < 0.5, "val_frac", c.val_frac, "a fraction between 0 and 0.5")
    _check(0.0 < c.test_frac < 0.5, "test_frac", c.test_frac, "a fraction between 0 and 0.5")
    _check(c.val_frac + c.test_frac < 0.8, "test_frac", c.test_frac,
           "val_frac + test_frac below 0.8, so at least 20% of rows train the model")
    _check((c.val_start is None) == (c.test_start is None), "test_start", c.test_start,
           "given together with val_start (both dates or neither)")
    if c.val_start and c.test_start:
        _check(c.val_start < c.test_start, "test_start", c.test_start, f"a date after val_start ({c.val_start})")
    _check(c.scaler in SCALERS, "scaler", c.scaler, f"one of {', '.join(SCALERS)}")
    _check(c.cell in CELLS, "cell", c.cell, f"one of {', '.join(CELLS)}")
    _check(1 <= len(c.units) <= 4 and all(isinstance(u, int) and 1 <= u <= 1024 for u in c.units),
           "units", list(c.units), "1 to 4 layer sizes, each a whole number from 1 to 1024")
    _check(0.0 <= c.dropout < 0.9, "dropout", c.dropout, "a rate from 0 to below 0.9")
    _check(0.0 < c.learning_rate <= 1.0, "learning_rate", c.learning_rate, "a positive number up to 1")
    _check(1 <= c.batch_size <= 65536, "batch_size", c.batch_size, "a whole number from 1 to 65536")
    _check(1 <= c.epochs <= 10000, "epochs", c.epochs, "a whole number from 1 to 10000")
    _check(0 <= c.patience <= 1000, "patience", c.patience, "a whole number from 0 to 1000")
    _check(0 <= c.seed < 2**31, "seed", c.seed, "a whole number from 0 to 2**31-1")
    _check(1 <= c.seeds <= 100, "seeds", c.seeds, "a whole number from 1 to 100")
    _check(all(x in CELLS for x in c.compare_cells), "compare_cells", list(c.compare_cells),
           f"cells from {', '.join(CELLS)}")
    _check(c.tuner in TUNERS, "tuner", c.tuner, f"one of {', '.join(TUNERS)}")
    _check(1 <= c.max_trials <= 10000, "max_trials", c.max_trials, "a whole number from 1 to 10000")
    _check(1 <= c.tune_epochs <= 10000, "tune_epochs", c.tune_epochs, "a whole number from 1 to 10000")
    _check(c.tune_time_limit_s > 0, "tune_time_limit_s", c.tune_time_limit_s, "a positive number of seconds")
    _check(len(c.tune_windows) > 0 and all(2 <= w <= 1000 for w in c.tune_windows), "tune_windows",
           list(c.tune_windows), "window lengths from 2 to 1000")
    _check(len(c.tune_units) > 0 and all(isinstance(u, int) and 1 <= u <= 1024 for u in c.tune_units),
           "tune_units", list(c.tune_units), "layer sizes, each a whole number from 1 to 1024")
    _check(1 <= c.tune_max_layers <= 4, "tune_max_layers", c.tune_max_layers, "a whole number from 1 to 4 "
           "(the most layers `units` allows)")
    _check(1 <= c.walk_forward_folds <= 100, "walk_forward_folds", c.walk_forward_folds,
           "a whole number from 1 to 100")
    _check(c.walk_forward_scheme in WALK_FORWARD_SCHEMES, "walk_forward_scheme", c.walk_forward_scheme,
           f"one of {', '.join(WALK_FORWARD_SCHEMES)}")
    _check(c.retrain_every >= 1, "retrain_every", c.retrain_every, "a whole number of steps >= 1")
    _check(0.0 <= c.cost_bps <= 1000.0, "cost_bps", c.cost_bps, "basis points from 0 to 1000")
    _check(len(c.arima_order) == 3 and all(0 <= x <= 5 for x in c.arima_order), "arima_order",
           list(c.arima_order), "three whole numbers (p, d, q), each from 0 to 5")
    _check(1 <= c.forecast_days <= 250, "forecast_days", c.forecast_days, "a whole number from 1 to 250")
    _check(2 <= c.mc_samples <= 10000, "mc_samples", c.mc_samples, "a whole number from 2 to 10000")
    _check(len(c.band_levels) > 0 and all(0.0 < b < 1.0 for b in c.band_levels), "band_levels",
           list(c.band_levels), "coverage levels strictly between 0 and 1, e.g. [0.8, 0.95]")


# ---------------------------------------------------------------------- parsing of loose values
def _parse_value(name: str, hint: Any, value: Any) -> Any:
    """Turn a JSON / CLI / papermill value into the field's type, or raise ConfigError naming the field."""
    origin = get_origin(hint)
    args = get_args(hint)
    expected = _describe(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null", "")):
            if type(None) in args:
                return None
        inner = [a for a in args if a is not type(None)]
        return _parse_value(name, inner[0], value)
    if origin is tuple:
        if isinstance(value, str):
            text = value.strip()
            try:
                value = json.loads(text) if text.startswith("[") else [v for v in text.split(",") if v.strip()]
            except json.JSONDecodeError:
                raise ConfigError(name, value, f"expected {expected}") from None
        if not isinstance(value, (list, tuple)):
            raise ConfigError(name, value, f"expected {expected}")
        item_type = args[0]
        return tuple(_parse_scalar(name, item_type, v, expected) for v in value)
    return _parse_scalar(name, hint, value, expected)


def _parse_scalar(name: str, hint: Any, value: Any, expected: str) -> Any:
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
        raise ConfigError(name, value, f"expected {expected}")
    if hint is int:
        if isinstance(value, bool):
            raise ConfigError(name, value, f"expected {expected}")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise ConfigError(name, value, f"expected {expected}")
    if hint is float:
        if isinstance(value, bool):
            raise ConfigError(name, value, f"expected {expected}")
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value.strip())
            except ValueError:
                pass
        raise ConfigError(name, value, f"expected {expected}")
    if hint is str:
        if isinstance(value, str):
            return value.strip()
        if isinstance(value, (dt.date, dt.datetime)):
            return value.isoformat()[:10]
        raise ConfigError(name, value, f"expected {expected}")
    return value


def _describe(hint: Any) -> str:
    origin = get_origin(hint)
    args = get_args(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return f"{_describe(inner[0])} or None"
    if origin is tuple:
        return f"a list of {_describe(args[0])}"
    if origin is Literal:
        return f"one of {args}"
    return {int: "a whole number", float: "a number", str: "text", bool: "true or false"}.get(hint, str(hint))
