"""A skill's schedule in a stack (`skillship:schedules`): a CronJob in place of the task's Job.

Checked as the API server checks a CronJob: the cron expression by Kubernetes' own rules
(skillship.stack.cron), the time zone against the tz database, the rest by type and range.
Which skills may be scheduled (a job the stack deploys, not chained after or before another job)
is checked with the workspace (skillship.plan.deployment).
"""

from __future__ import annotations

import zoneinfo
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from skillship.stack.cron import CronSchedule, parse

# Names Go's time.LoadLocation takes that do not name one zone: Kubernetes refuses "Local", and
# "localtime" is the host's own zone, whatever that is on the cluster's nodes.
NOT_ZONES = frozenset({"local", "localtime"})


class Schedule(BaseModel):
    """One skill's schedule; keys as in the stack file."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    cron: str
    time_zone: str = Field(default="UTC", alias="timeZone")
    # What a run does when the last one still runs: Forbid skips it, Replace stops the last one.
    concurrency: Literal["Forbid", "Replace", "Allow"] = "Forbid"
    # A run missed by more than this (the controller was down, say) is skipped, not started late.
    starting_deadline_seconds: int | None = Field(default=None, alias="startingDeadlineSeconds", ge=0)
    suspend: bool = False

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        parse(value)  # a CronError is a ValueError: pydantic reports its message
        return value.strip()

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        if value.lower() in NOT_ZONES or not _known_zone(value):
            raise ValueError(f"{value!r} is not a time zone of the tz database (as Europe/Berlin, UTC)")
        return value

    @property
    def parsed(self) -> CronSchedule:
        return parse(self.cron)

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


def _known_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):  # ValueError: a path, not a key
        return False
    return True
