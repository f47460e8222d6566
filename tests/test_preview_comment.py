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


def test_a_preview_past_the_limit_is_cut_to_fit_with_its_code_block_closed_and_a_note():
    parts = [_preview("dev.1", 800), _preview("dev.2", 800)]
    whole = "\n".join(parts)
    assert len(whole) > COMMENT_LIMIT
    text = comment_text(parts)
    assert len(text) <= COMMENT_LIMIT
    assert text.startswith("### `pulumi preview` of stack `dev.1`: 800 to create")
    assert text.count("```") % 2 == 0  # every block the cut opened is closed
    assert text.rstrip().endswith(
        f"of {len(whole):,} characters to fit a comment: the whole preview is the job's `pulumi-preview` artifact.*"
    )
    assert whole.startswith(text.split("\n\n*Cut at")[0].removesuffix("\n```"))
