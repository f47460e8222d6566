"""skillship_pipeline.sharded: a child per shard stack, its log lines passed on with the stack's
name, its outcome read whatever its size, and a child that dies without one reported as failed."""

from __future__ import annotations

import sys
from collections import Counter

from skillship_pipeline.engine import Outcome
from skillship_pipeline.sharded import outcome_as_json, outcome_from_json, run_one

BIG = Outcome(True, "x" * 2_000_000, {"same": 3}, Counter({("create", "kubernetes:batch/v1:Job"): 2}))


def _child(script: str):
    return lambda stack, operation: [sys.executable, "-c", script]


def test_an_outcome_bigger_than_a_pipe_and_a_long_log_both_arrive(tmp_path):
    """A child writing megabytes of outcome while the parent reads its log must not hang."""
    import json

    document = json.dumps(outcome_as_json(BIG))
    script = (
        "import sys\n"
        "for i in range(20000): print('line', i, file=sys.stderr)\n"
        f"sys.stdout.write(open({str(tmp_path / 'doc.json')!r}).read())\n"
    )
    (tmp_path / "doc.json").write_text(document)
    lines: list[str] = []
    outcome = run_one(tmp_path, "dev.2", "up", lines.append, command=_child(script))
    assert outcome == BIG
    assert lines[0] == "$ pulumi up --stack dev.2" and lines[1] == "[dev.2] line 0" and len(lines) == 20001


def test_a_child_that_dies_without_an_outcome_is_a_failure(tmp_path):
    outcome = run_one(tmp_path, "dev.3", "preview", lambda line: None, command=_child("raise SystemExit(7)"))
    assert not outcome.ok and "exit code 7" in outcome.error and "dev.3" in outcome.error


def test_outcomes_survive_their_json():
    assert outcome_from_json(outcome_as_json(BIG)) == BIG
