"""The plan `skillship-pipeline` made, handed to the programs its engines run.

A stage reads, validates and plans the whole workspace once. Each stack's program would do it all
again (a shard's program reads every skill to find its share and its wiring: 1.5 s at 1,000
skills, for a change that deploys 60): instead the stage writes its plan to a file of its own
for the length of its engine runs and names it in SKILLSHIP_PLANNED, and the program takes its
share of that plan when the plan was made for its project, its settings and its secrets' names.
Anything else (no file, an unreadable one, other settings: `pulumi up` run by hand, a stack set up
another way) and the program plans as it always does.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from skillship.plan.model import DeploymentPlan
from skillship.stack.settings import StackSettings

PLANNED_ENV = "SKILLSHIP_PLANNED"
_FORMAT = 1  # of the file: a reader of another format plans for itself


@dataclass(frozen=True)
class _Planned:
    format: int
    project: str
    secret_properties: dict[str, list[str]]
    plan: DeploymentPlan


@contextmanager
def handed(
    plan: DeploymentPlan, project: Path, secret_properties: Mapping[str, Collection[str]] | None
) -> Iterator[None]:
    """SKILLSHIP_PLANNED names a file holding `plan` while the block runs (for the programs run
    in this process and for its children); afterwards, neither is left."""
    previous = os.environ.get(PLANNED_ENV)
    with tempfile.TemporaryDirectory(prefix="skillship-planned-") as folder:
        path = Path(folder) / "plan.pickle"
        record = _Planned(_FORMAT, str(project.resolve()), _names(secret_properties), plan)
        path.write_bytes(pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL))
        os.environ[PLANNED_ENV] = str(path)
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop(PLANNED_ENV, None)
            else:
                os.environ[PLANNED_ENV] = previous


def planned_share(
    project: Path, settings: StackSettings, secret_properties: Mapping[str, Collection[str]] | None
) -> DeploymentPlan | None:
    """The share of the handed plan that the stack of `settings` deploys, when a plan was handed for
    this project, these settings and these secrets' names; None otherwise."""
    path = os.environ.get(PLANNED_ENV)
    if not path:
        return None
    try:
        # Written by this user's pipeline, in a folder only it may write, a moment ago.
        record = pickle.loads(Path(path).read_bytes())
    except Exception:  # anything else than the pipeline's plan: the program plans for itself
        return None
    if (
        not isinstance(record, _Planned)
        or record.format != _FORMAT
        or record.project != str(project.resolve())
        or record.secret_properties != _names(secret_properties)
    ):
        return None
    # The plan was made for the environment; a shard's settings are its own but for their index.
    if record.plan.settings.model_copy(update={"shard": settings.shard}) != settings:
        return None
    return record.plan.share(settings)


def _names(secret_properties: Mapping[str, Collection[str]] | None) -> dict[str, list[str]]:
    return {skill: sorted(names) for skill, names in sorted((secret_properties or {}).items())}
