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


def _state_of_dev() -> list[dict]:
    """The resources of the dev stack as the program declares them (urn, type, parent,
    dependencies, inputs), the shape of an exported state's."""
    from tests.support.program import run_program, stack_config

    run = run_program("dev", stack_config("dev"))
    assert run.error is None, run.error
    return [
        {k: r[k] for k in ("urn", "type", "parent", "dependencies", "inputs")} | {"custom": r["custom"]}
        for r in run.resources
    ]


def test_a_moved_skill_leaves_the_state_whole_and_alone():
    from skillship_pipeline.state import without_skills

    resources = _state_of_dev()
    kept, dropped = without_skills(resources, {"consumer"})
    by_urn = {r["urn"]: r for r in resources}
    labels = [((by_urn[u]["inputs"].get("metadata") or {}).get("labels") or {}) for u in dropped]
    # its objects, its components, nothing of another skill
    assert {"skillship:index:SkillDaemon"} <= {by_urn[u]["type"] for u in dropped}
    assert {label.get("skillship.io/skill") for label in labels} - {None} == {"consumer"}
    for resource in kept:
        assert (resource["inputs"].get("metadata") or {}).get("labels", {}).get("skillship.io/skill") != "consumer"
        assert resource["parent"] not in dropped
        assert not set(resource["dependencies"]) & dropped  # producer's job waited for consumer's daemon
    assert len(kept) + len(dropped) == len(resources)
    waited = [r for r in resources if set(r["dependencies"]) & dropped and r["urn"] not in dropped]
    assert waited, "the example's producer waits for the consumer daemon: the case under test"
    assert without_skills(resources, {"no-such-skill"}) == (resources, set())
