"""The preview comment skillship-pipeline writes for a pull request fits GitHub's limit."""

from __future__ import annotations

from skillship_pipeline.engine import Outcome
from skillship_pipeline.stages import COMMENT_LIMIT, Report, _summary, _unchanged_preview, comment_text


def _preview(stack: str, lines: int) -> str:
    output = "\n".join(f"    + kubernetes:core/v1:ConfigMap skill-{n} create" for n in range(lines))
    return _summary(stack, Outcome(True, output, changes={"create": lines}))


def test_a_small_preview_is_the_comment_unchanged():
    parts = [_preview("dev.1", 3), _preview("dev.2", 2)]
    assert comment_text(parts) == "\n".join(parts)


def test_a_preview_past_the_limit_keeps_every_stacks_heading_and_start_closed_and_says_so():
    parts = [_preview(f"dev.{n}", 400) for n in range(1, 9)] + [_preview("dev.9", 5)]
    whole = "\n".join(parts)
    assert len(whole) > COMMENT_LIMIT
    text = comment_text(parts)
    assert len(text) <= COMMENT_LIMIT
    for n in range(1, 10):
        assert f"### `pulumi preview` of stack `dev.{n}`:" in text
    assert "skill-0 create" in text.split("`dev.2`")[1]  # each keeps the start of its preview
    assert text.count("```") % 2 == 0  # every block the cut opened is closed
    assert text.rstrip().endswith(
        f"({len(whole):,} characters in all): the whole preview is the job's `pulumi-preview` artifact.*"
    )


# What the engine reports of a preview: every resource's step, with its parent (urn:pulumi:...).
def _urn(types: str, name: str) -> str:
    return f"urn:pulumi:dev::team-jobs::{types}::{name}"


WORKSPACE = _urn("skillship:index:Workspace", "skillship")
PRODUCER = _urn("skillship:index:Workspace$skillship:index:SkillJob", "skillship-producer")
PRODUCER_IMAGE = _urn("skillship:index:Workspace$skillship:index:SkillImage", "skillship-producer")
HELLO = _urn("skillship:index:Workspace$skillship:index:SkillJob", "skillship-hello")


def _steps(*changed: tuple[str, str, str, str | None]):
    from skillship_pipeline.changes import Step

    return [Step(op, urn, kind, parent) for op, urn, kind, parent in changed]


def test_a_changed_resource_is_traced_up_to_the_workload_it_belongs_to():
    from skillship_pipeline.changes import touched_workloads

    job = _urn("skillship:index:Workspace$skillship:index:SkillJob$kubernetes:batch/v1:Job", "skillship-producer-job")
    image = _urn("skillship:index:Workspace$skillship:index:SkillImage$docker-build:index:Image", "x-image")
    namespace = _urn("skillship:index:Workspace$kubernetes:core/v1:Namespace", "skillship-namespace")
    same = [
        ("same", WORKSPACE, "skillship:index:Workspace", None),
        ("same", PRODUCER, "skillship:index:SkillJob", WORKSPACE),
        ("same", HELLO, "skillship:index:SkillJob", WORKSPACE),
        ("same", PRODUCER_IMAGE, "skillship:index:SkillImage", WORKSPACE),
    ]
    assert touched_workloads(_steps(*same, ("replace", job, "kubernetes:batch/v1:Job", PRODUCER))) == {"producer"}
    assert touched_workloads(_steps(*same, ("update", image, "docker-build:index:Image", PRODUCER_IMAGE))) == {
        "producer"
    }
    assert touched_workloads(_steps(*same, ("create", HELLO, "skillship:index:SkillJob", WORKSPACE))) == {"hello"}
    # Shared objects belong to no skill; unchanged steps touch nothing; a deletion counts.
    assert touched_workloads(_steps(*same, ("update", namespace, "kubernetes:core/v1:Namespace", WORKSPACE))) == set()
    assert touched_workloads(_steps(*same, ("same", job, "kubernetes:batch/v1:Job", PRODUCER))) == set()
    assert touched_workloads(_steps(*same, ("delete", job, "kubernetes:batch/v1:Job", PRODUCER))) == {"producer"}


def test_a_step_whose_parent_the_engine_did_not_report_is_judged_by_its_urn():
    from skillship_pipeline.changes import touched_workloads

    orphan = _urn("skillship:index:SkillDaemon$kubernetes:apps/v1:Deployment", "skillship-consumer-deployment")
    assert touched_workloads(_steps(("update", orphan, "kubernetes:apps/v1:Deployment", None))) == set()
    daemon = _urn("skillship:index:Workspace$skillship:index:SkillDaemon", "skillship-consumer")
    assert touched_workloads(_steps(("update", orphan, "kubernetes:apps/v1:Deployment", daemon))) == {"consumer"}


def test_the_comment_draws_the_skills_a_change_touches_and_what_is_wired_to_them(tmp_path):
    from harness.project import copy_project
    from skillship.stack.stackfiles import load_stack
    from skillship_pipeline.stages import Context, _change_drawing

    project = copy_project(tmp_path / "team-jobs")
    context = Context(project, load_stack(project, "dev"), None, 0, lambda line: None)
    touched, drawing = _change_drawing(context, {"producer"})
    assert touched == {"producer"}
    assert drawing.startswith("Skills this changes: `producer`; what is wired to them:\n\n```mermaid\n")
    mermaid = drawing.split("```mermaid\n", 1)[1].split("```", 1)[0]
    assert "producer" in mermaid and "consumer" in mermaid and "hello" not in mermaid
    comment = _summary("dev", Outcome(True, "  ~ kubernetes:batch/v1:Job update", {"update": 1}), drawing)
    assert comment.index("```mermaid") < comment.index("~ kubernetes:batch/v1:Job update")
    assert comment.count("```") % 2 == 0
    assert _change_drawing(context, set()) == (set(), "")


def test_a_stack_not_previewed_says_why_in_the_comment():
    report = Report("preview", "dev")
    report.step("preview", 0, stack="dev.1", skipped=True, reason="unchanged since update 12 (2026-12-06)")
    skipped = _summary("dev.1", _unchanged_preview(report, "dev.1"))
    assert "of stack `dev.1`: no changes" in skipped and "not previewed: unchanged since update 12" in skipped
    # Under --skill, a stack that deploys none of the skills asked for is left out, and says so.
    assert "not previewed: it deploys none of the skills asked for" in _summary(
        "dev.2", _unchanged_preview(report, "dev.2")
    )
