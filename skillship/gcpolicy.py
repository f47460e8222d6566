"""How often the garbage collector runs in a process that builds a large object graph and exits.

Loading 1,000 skills, or declaring their 8,000 Pulumi resources, allocates millions of objects
that nearly all live until the process ends. CPython's default schedule runs a young pass every
700 net allocations, a middle one every 10 young ones and a full pass every 10 middle ones (once
the old generation has also grown by a quarter), so it keeps walking objects that are never
garbage. At 1,000 skills that was over 40% of the Pulumi program's time under mocks and 15% of
`render`'s (`git show c9d0bba:bench/README.md`, "What changed the numbers").

The collector stays on: the Pulumi SDK makes reference cycles (futures and their callbacks) that
must still be freed, so only the schedule changes. Peak memory did not move (`git show c9d0bba:bench/README.md`).
"""

from __future__ import annotations

import gc

# A young pass every 10,000 net allocations: at most 10,000 young objects wait for one.
YOUNG_THRESHOLD = 10_000
# A full pass every 100 middle passes: each walks the whole heap (1.5 s at 1,000 skills), and in
# these runs the heap is nearly all live objects.
FULL_THRESHOLD = 100


def tune_for_batch_run() -> None:
    """Collect less often. Thresholds someone already raised, or a disabled collector, are kept."""
    young, middle, full = gc.get_threshold()
    if young == 0:  # automatic collection is off: someone chose that
        return
    gc.set_threshold(max(young, YOUNG_THRESHOLD), middle, max(full, FULL_THRESHOLD))
