"""In which order a stack's tasks run: a job mapped to another job runs after it.

Both functions walk without recursion: an agent may chain more jobs than Python's recursion limit.
"""

from __future__ import annotations

import graphlib
from collections.abc import Collection, Mapping


def run_order(after: Mapping[str, Collection[str]]) -> list[str]:
    """Every key after the keys it runs after; among keys free to go, name order. `after` has no
    loops (see `loops`)."""
    sorter = graphlib.TopologicalSorter(after)
    sorter.prepare()
    ordered: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        ordered.extend(ready)
        sorter.done(*ready)
    return ordered


def loops(after: Mapping[str, Collection[str]]) -> list[list[str]]:
    """Each loop found, as keys each followed by one that waits for it, back to the first; jobs in a
    loop can never start."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    found: list[list[str]] = []
    for root in sorted(after):
        if root in state:
            continue
        state[root] = 1
        path = [root]
        pending = [iter(after[root])]
        while pending:
            previous = next(pending[-1], None)
            if previous is None:
                state[path.pop()] = 2
                pending.pop()
            elif state.get(previous) == 1:
                found.append(list(reversed(path[path.index(previous) :] + [previous])))
            elif previous not in state:
                state[previous] = 1
                path.append(previous)
                pending.append(iter(after.get(previous, ())))
    return found
