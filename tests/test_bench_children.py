"""The measured span of a benchmark child: seconds always, Python calls with --calls."""

from __future__ import annotations

import bench.children as children


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
    assert set(measured) == {"seconds"}
