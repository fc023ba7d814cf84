"""fanout.alongside: work in a second process beside the caller's, its result, its failures, and its end."""

from __future__ import annotations

import os
import time

import pytest

from helpers.fanout import BackgroundWorkFailed, alongside


def _square_and_pid(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


def _raise_value_error() -> None:
    raise ValueError("bad fold")


def _die() -> None:
    os._exit(3)


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


@pytest.mark.parametrize("background", [True, False])
def test_the_result_is_the_same_in_a_second_process_or_in_this_one(background):
    with alongside(_square_and_pid, 7, background=background) as result:
        value, pid = result()
    assert value == 49
    assert (pid != os.getpid()) == background


def test_an_error_in_the_second_process_is_raised_to_the_caller():
    with pytest.raises(ValueError, match="bad fold"):
        with alongside(_raise_value_error, background=True) as result:
            result()


def test_a_process_that_dies_without_a_result_says_so_with_its_exit_code():
    with pytest.raises(BackgroundWorkFailed, match="exit code 3"):
        with alongside(_die, background=True) as result:
            result()


def test_when_the_block_fails_the_second_process_is_stopped_not_waited_for():
    start = time.perf_counter()
    with pytest.raises(RuntimeError, match="ensemble failed"):
        with alongside(_sleep, 120, background=True):
            raise RuntimeError("ensemble failed")
    assert time.perf_counter() - start < 60


def _print_lines() -> int:
    for i in range(3):
        print(f"part {i + 1}/3 done", flush=True)
    return 3


def test_what_the_second_process_prints_is_printed_by_the_caller(capsys):
    with alongside(_print_lines, background=True) as result:
        assert result() == 3
    assert capsys.readouterr().out.splitlines() == ["part 1/3 done", "part 2/3 done", "part 3/3 done"]


def test_a_second_process_is_wanted_on_several_cores_unless_switched_off(monkeypatch):
    from helpers.fanout import SECOND_PROCESS_ENV, second_process_wanted

    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.delenv(SECOND_PROCESS_ENV, raising=False)
    assert second_process_wanted()
    monkeypatch.setenv(SECOND_PROCESS_ENV, "off")
    assert not second_process_wanted()
    with alongside(_square_and_pid, 3) as result:          # left to it: this process
        assert result() == (9, os.getpid())
    monkeypatch.setenv(SECOND_PROCESS_ENV, "Auto ")
    assert second_process_wanted()
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    assert not second_process_wanted()
    monkeypatch.setenv(SECOND_PROCESS_ENV, "no")
    with pytest.raises(ValueError, match="LSTM_LAB_SECOND_PROCESS='no': use 'auto'"):
        second_process_wanted()
