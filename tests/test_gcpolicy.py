"""The collector schedule of Skillship's entry points: the CLI and the Pulumi program."""

from __future__ import annotations

import gc

import pytest

import skillship.cli as cli
from skillship.gcpolicy import FULL_THRESHOLD, YOUNG_THRESHOLD, tune_for_batch_run
from tests.support.program import run_program, stack_config


@pytest.fixture
def threshold():
    """Each test starts from CPython's default schedule and leaves the process as it found it."""
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*saved)


def test_young_and_full_passes_become_rarer_and_the_middle_ratio_stays(threshold):
    gc.set_threshold(700, 7, 9)
    tune_for_batch_run()
    assert gc.get_threshold() == (YOUNG_THRESHOLD, 7, FULL_THRESHOLD)


def test_a_threshold_raised_further_is_kept(threshold):
    gc.set_threshold(50_000, 10, 10)
    tune_for_batch_run()
    assert gc.get_threshold() == (50_000, 10, FULL_THRESHOLD)


@pytest.mark.parametrize("chosen", [(0, 10, 10), (50_000, 20, 500)], ids=["collection off", "already rarer"])
def test_a_schedule_someone_chose_is_kept(threshold, chosen):
    gc.set_threshold(*chosen)
    tune_for_batch_run()
    assert gc.get_threshold() == chosen


def test_a_disabled_collector_stays_disabled(threshold):
    gc.disable()
    try:
        tune_for_batch_run()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_cli_tunes_the_collector_before_any_command_runs(threshold, monkeypatch):
    seen = []
    monkeypatch.setattr(cli, "app", lambda: seen.append(gc.get_threshold()))
    cli.main()
    assert seen == [(YOUNG_THRESHOLD, 10, FULL_THRESHOLD)]


def test_the_pulumi_program_tunes_the_collector():
    run = run_program("local", stack_config("local"))
    assert run.error is None, run.error
    assert run.gc_threshold == (YOUNG_THRESHOLD, 10, FULL_THRESHOLD)
