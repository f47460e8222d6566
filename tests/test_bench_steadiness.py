"""The machine-steadiness probe that comes with every program benchmark figure."""

from __future__ import annotations

from bench.steadiness import SLOW, describe, probe, summarise


def test_summary_counts_the_repetitions_that_ran_slow():
    result = summarise([0.10, 0.11, 0.20, 0.12, 0.25])
    assert (result["chunks"], result["fastest"], result["median"], result["slowest"]) == (5, 0.10, 0.12, 0.25)
    assert result["slow_share"] == 2 / 5  # 0.20 and 0.25 are over 1.3x the fastest; 0.12 is not


def test_steady_machine_has_no_slow_share():
    assert summarise([0.1, 0.1, 0.1])["slow_share"] == 0


def test_a_probe_that_was_slow_throughout_is_slow_against_the_run():
    assert summarise([0.2, 0.21, 0.2])["slow_share"] == 0  # alone, it cannot tell
    assert summarise([0.2, 0.21, 0.2], reference=0.1)["slow_share"] == 1  # another probe saw 0.1


def test_description_names_the_range_and_the_slow_share():
    text = describe(summarise([0.10, 0.11, 0.20, 0.12, 0.25]))
    assert (
        "0.100 to 0.250 s" in text
        and "over 5 repetitions" in text
        and f"40% of them ran over {SLOW}× the fastest of the run" in text
    )


def test_probe_times_at_least_five_repetitions():
    result = probe(seconds=0)
    assert result["chunks"] >= 5 and 0 < result["fastest"] <= result["median"] <= result["slowest"]
