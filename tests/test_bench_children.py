"""The measured span of a benchmark child: seconds and collector passes always, Python calls with
--calls."""

from __future__ import annotations

import gc

import pytest

import bench.children as children
from skillship import gcpolicy


def _leaf() -> None:
    pass


def test_timed_span_counts_the_calls_made_inside_it(monkeypatch):
    monkeypatch.setattr(children, "COUNT_CALLS", True)
    few, many = {}, {}
    with children._timed(few):
        _leaf()
    with children._timed(many):
        for _ in range(500):
            _leaf()
    assert many["calls"] - few["calls"] == 499
    assert many["seconds"] > 0


def test_calls_are_counted_only_when_asked(monkeypatch):
    monkeypatch.setattr(children, "COUNT_CALLS", False)
    measured = {}
    with children._timed(measured):
        _leaf()
    assert set(measured) == {"seconds", "collections", "gc_seconds"}


def test_timed_span_counts_the_collector_passes_inside_it():
    measured = {}
    gc.disable()  # only the passes asked for below, none triggered by allocations
    try:
        with children._timed(measured):
            gc.collect()
            gc.collect()
        gc.collect()  # after the span: not counted
    finally:
        gc.enable()
    assert measured["collections"] == 2
    assert 0 < measured["gc_seconds"] <= measured["seconds"]
    assert children._CollectorClock not in {type(c) for c in gc.callbacks}


def test_children_run_on_skillships_collector_schedule_unless_told(monkeypatch):
    saved = gc.get_threshold()
    monkeypatch.setattr(gcpolicy, "tune_for_batch_run", gcpolicy.tune_for_batch_run)  # restored afterwards
    try:
        gc.set_threshold(700, 10, 10)
        children.use_collector_schedule(default=False)
        assert gc.get_threshold() == (gcpolicy.YOUNG_THRESHOLD, 10, gcpolicy.FULL_THRESHOLD)

        gc.set_threshold(700, 10, 10)
        children.use_collector_schedule(default=True)
        gcpolicy.tune_for_batch_run()  # what the program's __main__.py calls
        assert gc.get_threshold() == (700, 10, 10)
    finally:
        gc.set_threshold(*saved)


@pytest.mark.parametrize("argv", [[], ["--calls"], ["render", "only-one-argument"], ["no-such-kind", "x"]])
def test_a_wrong_command_line_prints_the_usage_and_exits_2(argv, capsys):
    assert children.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: python -m bench.children")
    assert "program-floor RECORD" in err


def test_render_and_its_floor_report_phases_that_add_up_to_the_span(tmp_path):
    from bench.generate import generate_workspace

    workspace = tmp_path / "ws"
    generate_workspace(workspace, 3)
    ours = children.render(workspace, tmp_path / "out")
    floor = children.render_floor(workspace, tmp_path / "floor", ours["objects"], ours["bytes"] // ours["objects"])
    assert list(ours["phases"]) == ["read and validate", "plan, digests included", "build objects", "write files"]
    assert list(floor["phases"]) == ["parse YAML", "hash files", "write files"]
    [floor_folder] = tmp_path.glob("floor-*")
    floor_files = list(floor_folder.iterdir())
    assert len(floor_files) == ours["objects"]  # as many files as render wrote, as many bytes
    assert abs(sum(f.stat().st_size for f in floor_files) - ours["bytes"]) < ours["objects"]
    for result in (ours, floor):
        assert all(seconds >= 0 for seconds in result["phases"].values())
        assert sum(result["phases"].values()) <= result["seconds"]
        assert sum(result["phases"].values()) >= result["seconds"] - 0.05  # the laps cover the span


def test_both_floors_declare_exactly_the_resources_the_program_declared(tmp_path):
    """The program, its floor and the floor run as a program of its own, each in a child process
    as bench.run runs them: the same number of registered resources, the stack included."""
    import json
    import os
    import subprocess
    import sys

    from bench.run import REPO, workspace

    root = workspace(tmp_path, 2)
    record = tmp_path / "declared.json"

    def child(*args: str) -> dict:
        done = subprocess.run(
            [sys.executable, "-m", "bench.children", *args],
            cwd=REPO,
            capture_output=True,
            text=True,
            env={**os.environ, "SKILLSHIP_CACHE_DIR": "off"},
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return json.loads(done.stdout)

    program = child("program", str(root), str(record))
    assert program["resources"] > 10
    assert child("program-floor", str(record))["resources"] == program["resources"]
    assert child("program-floor-as-program", str(record))["resources"] == program["resources"]
