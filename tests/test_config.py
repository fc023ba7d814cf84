"""RunConfig: validation names the field, JSON round trip, modes, papermill-style loose values."""

import json

import pytest

from helpers.config import ConfigError, RunConfig
from helpers.notebook import start_notebook


def test_json_round_trip_gives_an_equal_config(tmp_path):
    config = RunConfig.for_mode("quick", ticker="MSFT", units=[32, 16], window=20)
    config.save(tmp_path / "config.json")
    assert RunConfig.load(tmp_path / "config.json") == config
    assert json.loads((tmp_path / "config.json").read_text())["units"] == [32, 16]


@pytest.mark.parametrize("field, value, words", [
    ("window", "abc", "whole number"),
    ("window", 1, "2 to 1000"),
    ("cell", "transformer", "lstm, gru, rnn"),
    ("target", "returns", "log_return, price, direction"),
    ("dropout", 0.95, "below 0.9"),
    ("units", [8, 8, 8, 8, 8], "1 to 4 layer sizes"),
    ("source", "bloomberg", "auto, yfinance"),
    ("features", ["rsi", "astrology"], "feature groups"),
    ("start", "2020-13-01", "ISO date"),
    ("epochs", True, "whole number"),
])
def test_bad_value_error_names_field_value_and_what_is_allowed(field, value, words):
    with pytest.raises(ConfigError) as err:
        RunConfig.from_overrides({field: value})
    message = str(err.value)
    assert repr(field) in message and words in message
    assert err.value.field == field


def test_unknown_parameter_is_rejected_with_the_known_names():
    with pytest.raises(ConfigError, match="unknown parameter") as err:
        RunConfig.from_overrides({"windwo": 30})
    assert "window" in str(err.value)


def test_csv_source_needs_a_path():
    with pytest.raises(ConfigError, match="csv_path"):
        RunConfig(source="csv")


def test_loose_cli_values_are_parsed_to_field_types():
    config = RunConfig.from_overrides({"window": "20", "dropout": "0.1", "units": "32,16",
                                       "auto_adjust": "false", "start": "None"})
    assert (config.window, config.dropout, config.units, config.auto_adjust, config.start) == (
        20, 0.1, (32, 16), False, None)


def test_quick_mode_shrinks_budgets_and_overrides_win():
    quick = RunConfig.for_mode("quick", epochs=7)
    full = RunConfig.for_mode("full")
    assert quick.epochs == 7 and quick.seeds < full.seeds and quick.mode == "quick"
    assert full == RunConfig(mode="full")


def test_seed_list_counts_up_from_seed():
    assert RunConfig(seed=7, seeds=3).seed_list == [7, 8, 9]


def test_notebook_start_writes_config_once_and_later_overrides_stay_in_memory(tmp_path):
    first = start_notebook(tmp_path, {"mode": "quick", "epochs": 3}, creates_config=True)
    later = start_notebook(tmp_path, {"epochs": 9})
    assert first.config.epochs == 3 and later.config.epochs == 9
    assert RunConfig.load(tmp_path / "config.json").epochs == 3


def test_notebook_cannot_switch_mode_after_collect(tmp_path):
    start_notebook(tmp_path, {"mode": "quick"}, creates_config=True)
    with pytest.raises(ConfigError, match="mode"):
        start_notebook(tmp_path, {"mode": "full"})
