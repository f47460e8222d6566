"""Cron schedules as a Kubernetes CronJob takes them, and the times they name.

Kubernetes parses `spec.schedule` with the standard parser of robfig/cron (v3): five fields
(minute, hour, day of month, month, day of week), each a list of `*`, `?`, values or ranges, with
an optional `/step`; months and weekdays also by name (JAN, SUN); or one of the descriptors
@yearly, @annually, @monthly, @weekly, @daily, @midnight and @hourly. This module accepts exactly
those, with the same ranges (weekdays 0 to 6, Sunday 0), so a schedule that passes here passes the
API server. Two forms that parser also takes are refused on purpose: `TZ=`/`CRON_TZ=` prefixes,
which the API server refuses since the CronJob has `timeZone`, and `@every <duration>`, which
Kubernetes does not document and whose runs drift from the wall clock.

Day of month and day of week combine as the parser combines them: when either is `*` (or `?`),
a day must match both; when both are restricted, either one.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from zoneinfo import ZoneInfo

DESCRIPTORS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
MONTHS = {name: number for number, name in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split(), 1)}
WEEKDAYS = {name: number for number, name in enumerate("SUN MON TUE WED THU FRI SAT".split())}


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: dict[str, int]


FIELDS = (
    _Field("minute", 0, 59, {}),
    _Field("hour", 0, 23, {}),
    _Field("day of month", 1, 31, {}),
    _Field("month", 1, 12, MONTHS),
    _Field("day of week", 0, 6, WEEKDAYS),
)
# How far ahead `next_run` looks: a day like 31 February never comes, and must not loop forever.
HORIZON_DAYS = 5 * 366


class CronError(ValueError):
    """A schedule Kubernetes would refuse; the message says which part and why."""


@dataclass(frozen=True)
class CronSchedule:
    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool  # day of month was `*` or `?`
    any_weekday: bool  # day of week was `*` or `?`

    def runs_on(self, day: datetime.date) -> bool:
        if day.month not in self.months:
            return False
        by_date = day.day in self.days
        by_weekday = (day.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return by_date and by_weekday
        return by_date or by_weekday


def parse(text: str) -> CronSchedule:
    """The schedule `text` names; raises CronError as Kubernetes would refuse it."""
    spec = text.strip()
    if not spec:
        raise CronError("the schedule is empty")
    if spec.startswith(("TZ=", "CRON_TZ=")):
        raise CronError("a time zone goes in timeZone, not in the schedule (Kubernetes refuses TZ= there)")
    if spec.startswith("@"):
        if spec.startswith("@every"):
            raise CronError("@every is not a schedule Kubernetes documents: write five fields, as */15 * * * *")
        if spec not in DESCRIPTORS:
            raise CronError(f"unknown descriptor {spec!r}: one of {', '.join(DESCRIPTORS)}")
        spec = DESCRIPTORS[spec]
    parts = spec.split()
    if len(parts) != len(FIELDS):
        raise CronError(f"expected exactly 5 fields (minute hour day-of-month month day-of-week), found {len(parts)}")
    parsed = [_parse_field(part, field) for part, field in zip(parts, FIELDS, strict=True)]
    values = [found for found, _ in parsed]
    return CronSchedule(
        text=text.strip(),
        minutes=values[0],
        hours=values[1],
        days=values[2],
        months=values[3],
        weekdays=values[4],
        any_day=parsed[2][1],
        any_weekday=parsed[4][1],
    )


def _parse_field(text: str, field: _Field) -> tuple[frozenset[int], bool]:
    """The field's values, and whether it is a star as the parser counts one: an item `*` or `?`
    with no step above 1 (`*/1` is a star, `*/2` is not)."""
    found: set[int] = set()
    star = False
    for item in text.split(","):
        values = _parse_range(item, field)
        found.update(values)
        star = star or (item.split("/")[0] in ("*", "?") and values.step == 1)
    return frozenset(found), star


def _parse_range(text: str, field: _Field) -> range:
    where = f"{field.name} {text!r}"
    range_part, *step_part = text.split("/")
    if len(step_part) > 1:
        raise CronError(f"{where}: too many slashes")
    if range_part in ("*", "?"):
        low, high = field.low, field.high
    else:
        bounds = range_part.split("-")
        if len(bounds) > 2:
            raise CronError(f"{where}: too many hyphens")
        low = _value(bounds[0], field, where)
        high = _value(bounds[1], field, where) if len(bounds) == 2 else (field.high if step_part else low)
    step = 1
    if step_part:
        if not step_part[0].isdigit() or int(step_part[0]) == 0:
            raise CronError(f"{where}: the step must be a positive whole number")
        step = int(step_part[0])
    if low < field.low:
        raise CronError(f"{where}: {low} is below the least {field.name}, {field.low}")
    if high > field.high:
        raise CronError(f"{where}: {high} is beyond the greatest {field.name}, {field.high}")
    if low > high:
        raise CronError(f"{where}: the range starts after it ends")
    return range(low, high + 1, step)


def _value(text: str, field: _Field, where: str) -> int:
    if text.upper() in field.names:
        return field.names[text.upper()]
    if not text.isdigit():
        names = f" or a name ({', '.join(field.names)})" if field.names else ""
        raise CronError(f"{where}: {text!r} is not a number{names}")
    return int(text)


def next_run(schedule: CronSchedule, after: datetime.datetime, zone: ZoneInfo) -> datetime.datetime | None:
    """The first time after `after` (aware) at which the schedule fires in `zone`, as an aware
    time in UTC; None when no day within HORIZON_DAYS matches (31 February, say). A wall time that
    a clock change skips does not fire; one that it repeats fires once, at its first occurrence."""
    start = after.astimezone(zone)
    for offset in range(HORIZON_DAYS):
        day = start.date() + datetime.timedelta(days=offset)
        if not schedule.runs_on(day):
            continue
        for hour in sorted(schedule.hours):
            for minute in sorted(schedule.minutes):
                local = datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
                if _skipped(local):
                    continue
                moment = local.astimezone(datetime.UTC)
                if moment > after:
                    return moment
    return None


def _skipped(local: datetime.datetime) -> bool:
    """Whether a clock change skips this wall time (it does not survive a round trip through UTC)."""
    back = local.astimezone(datetime.UTC).astimezone(local.tzinfo)
    return back.replace(tzinfo=None) != local.replace(tzinfo=None)
