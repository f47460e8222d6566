"""How steady the machine's speed is while a benchmark runs: `python -m bench.steadiness`.

The same piece of pure-Python work is timed over and over. On a quiet dedicated machine every
chunk takes about as long as the fastest one. On a shared virtual machine (this project's CI and
development machines) the speed can flip between states up to 2x apart every second or two, and
then a single run of anything, measured by wall time or by CPU time alike, is off by that much.
"""

from __future__ import annotations

import json
import statistics
import time

SLOW = 1.3  # a chunk this many times the fastest one ran while the machine was slow


def _chunk() -> None:
    """A fixed amount of dictionary and string work (about 0.06 s on this machine when it is fast)."""
    table: dict[int, str] = {}
    for number in range(400_000):
        table[number % 1000] = str(number)


def probe(seconds: float = 5.0) -> dict:
    """Time `_chunk` repeatedly for about `seconds`; CPU time, so only this process counts."""
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(times) < 5:
        start = time.process_time()
        _chunk()
        times.append(time.process_time() - start)
    return summarise(times)


def summarise(times: list[float], reference: float | None = None) -> dict:
    """`reference` is the fastest repetition seen by any probe of the same run: a probe that ran
    entirely while the machine was slow has no fast repetition of its own to compare with."""
    fastest = min(times)
    threshold = SLOW * min(fastest, reference or fastest)
    return {
        "chunks": len(times),
        "fastest": fastest,
        "median": statistics.median(times),
        "slowest": max(times),
        "slow_share": sum(t > threshold for t in times) / len(times),
        "times": times,
    }


def describe(result: dict) -> str:
    return (
        f"a fixed piece of work took {result['fastest']:.3f} to {result['slowest']:.3f} s CPU "
        f"(median {result['median']:.3f}) over {result['chunks']} repetitions; "
        f"{100 * result['slow_share']:.0f}% of them ran over {SLOW}× the fastest of the run"
    )


if __name__ == "__main__":
    outcome = probe()
    print(json.dumps(outcome))
    print(describe(outcome))
