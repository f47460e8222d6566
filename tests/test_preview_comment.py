"""The preview comment skillship-pipeline writes for a pull request fits GitHub's limit."""

from __future__ import annotations

from skillship_pipeline.engine import Outcome
from skillship_pipeline.stages import COMMENT_LIMIT, _summary, comment_text


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
