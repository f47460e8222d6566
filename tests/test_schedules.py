"""Schedules (skillship:schedules): the cron expression as Kubernetes takes it, the stack file's
checks at their lines, the CronJob in place of the Job, and a scheduled skill's state."""

from __future__ import annotations

import datetime
import json
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from harness.project import cli_in
from harness.schemas import schema_errors
from skillship.checks.validation import load_workspace
from skillship.manifests import stack_objects
from skillship.plan import PlanError, plan_deployment
from skillship.stack.cron import CronError, next_run, parse
from skillship.stack.settings import StackSettings
from skillship.tasks.schedules import SCHEDULED, schedule_row, schedule_summary

UTC = datetime.UTC
NIGHTLY = {"hello": {"cron": "0 3 * * *", "timeZone": "Europe/Berlin"}}


# --- the cron expression ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "minutes", "hours", "days", "months", "weekdays"),
    [
        ("*/15 * * * *", {0, 15, 30, 45}, set(range(24)), set(range(1, 32)), set(range(1, 13)), set(range(7))),
        ("0 3 * * *", {0}, {3}, set(range(1, 32)), set(range(1, 13)), set(range(7))),
        ("5,35 8-17/3 1 JAN-mar mon-FRI", {5, 35}, {8, 11, 14, 17}, {1}, {1, 2, 3}, {1, 2, 3, 4, 5}),
        ("0 0 ? * SUN", {0}, {0}, set(range(1, 32)), set(range(1, 13)), {0}),
        ("10/20 * * * *", {10, 30, 50}, set(range(24)), set(range(1, 32)), set(range(1, 13)), set(range(7))),
        ("@hourly", {0}, set(range(24)), set(range(1, 32)), set(range(1, 13)), set(range(7))),
        ("@weekly", {0}, {0}, set(range(1, 32)), set(range(1, 13)), {0}),
        ("@yearly", {0}, {0}, {1}, {1}, set(range(7))),
    ],
)
def test_a_schedule_kubernetes_takes_is_read_field_by_field(text, minutes, hours, days, months, weekdays):
    found = parse(text)
    assert (found.minutes, found.hours, found.days, found.months, found.weekdays) == (
        minutes,
        hours,
        days,
        months,
        weekdays,
    )


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "empty"),
        ("* * * *", "expected exactly 5 fields"),
        ("* * * * * *", "found 6"),  # seconds: not Kubernetes' parser
        ("60 * * * *", "60 is beyond the greatest minute, 59"),
        ("* 24 * * *", "beyond the greatest hour"),
        ("* * 0 * *", "0 is below the least day of month, 1"),
        ("* * 32 * *", "beyond the greatest day of month"),
        ("* * * 13 *", "beyond the greatest month"),
        ("* * * * 7", "7 is beyond the greatest day of week, 6"),  # robfig: Sunday is 0 only
        ("*/0 * * * *", "the step must be a positive whole number"),
        ("1-2-3 * * * *", "too many hyphens"),
        ("*/2/3 * * * *", "too many slashes"),
        ("5-1 * * * *", "starts after it ends"),
        ("x * * * *", "'x' is not a number"),
        ("* * * JANUARY *", "or a name (JAN, FEB"),
        ("L * * * *", "not a number"),
        ("@every 1h", "@every is not a schedule Kubernetes documents"),
        ("@often", "unknown descriptor"),
        ("TZ=Europe/Berlin 0 3 * * *", "goes in timeZone"),
        ("CRON_TZ=UTC 0 3 * * *", "goes in timeZone"),
    ],
)
def test_a_schedule_kubernetes_refuses_is_refused_saying_why(text, says):
    with pytest.raises(CronError) as raised:
        parse(text)
    assert says in str(raised.value)


_item = st.one_of(
    st.just("*"),
    st.integers(0, 59).map(str),
    st.tuples(st.integers(0, 29), st.integers(30, 59)).map(lambda p: f"{p[0]}-{p[1]}"),
    st.integers(1, 30).map(lambda n: f"*/{n}"),
)


@given(st.lists(_item, min_size=1, max_size=4))
def test_any_list_of_minutes_is_read_as_the_union_of_its_items(items):
    expected: set[int] = set()
    for item in items:
        if item == "*":
            expected |= set(range(60))
        elif item.startswith("*/"):
            expected |= set(range(0, 60, int(item[2:])))
        elif "-" in item:
            low, high = map(int, item.split("-"))
            expected |= set(range(low, high + 1))
        else:
            expected.add(int(item))
    assert parse(f"{','.join(items)} * * * *").minutes == expected


def _at(text: str, after: datetime.datetime, zone: str = "UTC") -> datetime.datetime | None:
    return next_run(parse(text), after, ZoneInfo(zone))


def test_the_next_run_is_in_the_schedules_time_zone():
    after = datetime.datetime(2026, 12, 6, 20, 0, tzinfo=UTC)
    assert _at("0 3 * * *", after, "Europe/Berlin") == datetime.datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # CET
    summer = datetime.datetime(2026, 7, 6, 20, 0, tzinfo=UTC)
    assert _at("0 3 * * *", summer, "Europe/Berlin") == datetime.datetime(2026, 7, 7, 1, 0, tzinfo=UTC)  # CEST
    assert _at("*/15 * * * *", after) == datetime.datetime(2026, 12, 6, 20, 15, tzinfo=UTC)  # strictly after


def test_a_wall_time_a_clock_change_skips_does_not_run_and_a_repeated_one_runs_once():
    # 29 March 2026, Berlin: 02:00 becomes 03:00; 25 October: 03:00 becomes 02:00 again.
    spring = datetime.datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    assert _at("30 2 * * *", spring, "Europe/Berlin") == datetime.datetime(2026, 3, 30, 0, 30, tzinfo=UTC)
    autumn = datetime.datetime(2026, 10, 24, 12, 0, tzinfo=UTC)
    first = _at("30 2 * * *", autumn, "Europe/Berlin")
    assert first == datetime.datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST, the first of the two
    assert _at("30 2 * * *", first, "Europe/Berlin") == datetime.datetime(2026, 10, 26, 1, 30, tzinfo=UTC)


def test_day_of_month_and_day_of_week_combine_as_kubernetes_combines_them():
    after = datetime.datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    # Both restricted: either one (the 13th, or any Friday: 4 December 2026 is a Friday).
    assert _at("0 0 13 * FRI", after) == datetime.datetime(2026, 12, 4, 0, 0, tzinfo=UTC)
    # Day of month `*`: both must match, so only Fridays.
    assert _at("0 0 * * FRI", after) == datetime.datetime(2026, 12, 4, 0, 0, tzinfo=UTC)
    # Day of week `*`: only the 13th.
    assert _at("0 0 13 * *", after) == datetime.datetime(2026, 12, 13, 0, 0, tzinfo=UTC)
    assert _at("0 0 29 2 *", after) == datetime.datetime(2028, 2, 29, 0, 0, tzinfo=UTC)
    assert _at("0 0 31 2 *", after) is None  # never: no loop without end


# --- the stack file ----------------------------------------------------------------------------


def _with_schedules(project, stack: str, schedules) -> None:
    path = project / "stacks" / f"Pulumi.{stack}.yaml"
    config = yaml.safe_load(path.read_text())
    config["config"]["skillship:schedules"] = schedules
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def _line_of(project, stack: str, text: str) -> int:
    lines = (project / "stacks" / f"Pulumi.{stack}.yaml").read_text().splitlines()
    return next(number for number, line in enumerate(lines, 1) if text in line)


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("cron", "0 3 * *", "expected exactly 5 fields"),
        ("cron", "0 3 * * 7", "beyond the greatest day of week"),
        ("timeZone", "Mars/Olympus", "'Mars/Olympus' is not a time zone of the tz database"),
        ("timeZone", "Local", "'Local' is not a time zone"),
        ("timeZone", "../../etc/passwd", "is not a time zone"),
        ("concurrency", "Sometimes", "'Forbid', 'Replace' or 'Allow'"),
        ("startingDeadlineSeconds", -1, "greater than or equal to 0"),
        ("suspend", "perhaps", "valid boolean"),
        ("every", "night", "unknown setting"),
    ],
)
def test_a_bad_schedule_is_refused_at_its_line_and_key_and_nothing_is_rendered(project, field, value, says):
    schedule = {"cron": "0 3 * * *", field: value}
    _with_schedules(project, "dev", {"hello": schedule})
    result = cli_in(project, "render", "--stack", "dev", "--out", "out")
    assert result.exit_code == 2, result.output
    line = _line_of(project, "dev", f"{field}:")
    assert f"stacks/Pulumi.dev.yaml:{line}: skillship:schedules.hello.{field}: " in result.output
    assert says in result.output
    assert not (project / "out").exists()


def _plan(project, stack: str = "dev"):
    from skillship.stack.stackfiles import load_stack, stack_file_lines

    config = load_stack(project, stack)
    workspace, _ = load_workspace(project)
    return plan_deployment(workspace, config.settings, project_dir=project, stack_file=stack_file_lines(project, stack))


@pytest.mark.parametrize(
    ("schedules", "extra", "code", "says"),
    [
        (
            {"nobody": {"cron": "@daily"}},
            {},
            "stack-unknown-skill",
            "names skill 'nobody', which is not in the workspace",
        ),
        ({"producer": {"cron": "@daily"}}, {"skillship:skills": ["hello"]}, "schedule-not-deployed", "does not deploy"),
        ({"consumer": {"cron": "@daily"}}, {}, "schedule-daemon", "a daemon serves all the time"),
    ],
)
def test_a_schedule_the_workspace_cannot_take_is_refused_at_the_skills_key(project, schedules, extra, code, says):
    _with_schedules(project, "dev", schedules)
    path = project / "stacks" / "Pulumi.dev.yaml"
    config = yaml.safe_load(path.read_text())
    config["config"].update(extra)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    with pytest.raises(PlanError) as raised:
        _plan(project)
    [problem] = [d for d in raised.value.diagnostics if d.code == code]
    assert says in problem.message
    assert problem.line == _line_of(project, "dev", f"  {next(iter(schedules))}:")


def test_a_job_an_agent_chains_with_another_job_cannot_be_scheduled(tmp_path):
    from skillship.scaffold import create_skill
    from tests.test_wiring import _write_chain

    for name in ("first", "second"):
        create_skill(skills_dir=tmp_path / "skills", name=name, kind="job")
    _write_chain(tmp_path, ["first", "second"], closed=False)
    workspace, _ = load_workspace(tmp_path)
    for scheduled, says in (("first", "runs before 'second'"), ("second", "runs after 'first'")):
        settings = StackSettings.from_config(
            "chain", {"target": "render", "buildImages": False, "schedules": {scheduled: {"cron": "@daily"}}}
        )
        with pytest.raises(PlanError) as raised:
            plan_deployment(workspace, settings, project_dir=tmp_path)
        [problem] = [d for d in raised.value.diagnostics if d.code == "schedule-chained"]
        assert says in problem.message and "cannot be scheduled" in problem.message


# --- the CronJob ---------------------------------------------------------------------------------


def test_render_of_a_scheduled_skill_writes_one_cronjob_and_no_job_valid_under_strict_schemas(project):
    _with_schedules(project, "dev", NIGHTLY)
    result = cli_in(project, "render", "--stack", "dev", "--out", "out", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    kinds = [(o["kind"], o["name"]) for o in report["objects"]]
    assert ("CronJob", "hello") in kinds
    assert not [name for kind, name in kinds if kind == "Job" and name.startswith("hello-")]
    assert [name for kind, name in kinds if kind == "Job" and name.startswith("producer-")]  # the others stay tasks
    [path] = (project / "out").glob("*-cronjob-hello.yaml")
    cron_job = yaml.safe_load(path.read_text())
    assert schema_errors(cron_job) == []
    spec = cron_job["spec"]
    assert (spec["schedule"], spec["timeZone"], spec["concurrencyPolicy"], spec["suspend"]) == (
        "0 3 * * *",
        "Europe/Berlin",
        "Forbid",
        False,
    )
    assert spec["jobTemplate"]["metadata"]["labels"]["skillship.io/task"] == SCHEDULED
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "hello" and pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["restartPolicy"] == "Never"
    [activation] = [e for e in pod["containers"][0]["env"] if e["name"] == "SKILLSHIP_ACTIVATION_ID"]
    assert activation == {
        "name": "SKILLSHIP_ACTIVATION_ID",
        "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['batch.kubernetes.io/job-name']"}},
    }


def test_the_cronjob_template_is_the_job_the_stack_would_otherwise_run(project):
    """The same pod, message and deadlines: only the activation id comes from each run's Job."""
    unscheduled = {o["kind"]: o for o in stack_objects(_plan(project)) if o["metadata"]["name"].startswith("hello")}
    _with_schedules(project, "dev", NIGHTLY)
    scheduled = {o["kind"]: o for o in stack_objects(_plan(project)) if o["metadata"]["name"].startswith("hello")}
    job, template = unscheduled["Job"]["spec"], scheduled["CronJob"]["spec"]["jobTemplate"]["spec"]
    assert "Job" not in scheduled
    strip = [e for e in job["template"]["spec"]["containers"][0]["env"] if e["name"] != "SKILLSHIP_ACTIVATION_ID"]
    job["template"]["spec"]["containers"][0]["env"] = strip
    kept = template["template"]["spec"]["containers"][0]["env"]
    template["template"]["spec"]["containers"][0]["env"] = [e for e in kept if e["name"] != "SKILLSHIP_ACTIVATION_ID"]
    assert template == job


def test_a_long_action_name_is_shortened_to_the_52_characters_a_cronjob_may_have(project):
    from skillship.checks.names import cron_job_name

    assert cron_job_name("hello") == "hello"
    long = "a-very-long-skill-name-that-teams-do-write-sometimes-for-real"
    assert len(cron_job_name(long)) == 52 and cron_job_name(long) != cron_job_name(long + "-2")


# --- the state of a scheduled skill --------------------------------------------------------------


def _run(name: str, created: str, status: dict) -> dict:
    return {
        "metadata": {"name": name, "creationTimestamp": created, "labels": {"skillship.io/task": SCHEDULED}},
        "status": status,
    }


FAILED_RUN = {
    "conditions": [
        {
            "type": "Failed",
            "status": "True",
            "reason": "BackoffLimitExceeded",
            "message": "Job has reached the specified backoff limit",
        }
    ]
}
DONE_RUN = {"conditions": [{"type": "Complete", "status": "True"}], "succeeded": 1}


def test_the_stack_output_of_a_schedule_gives_its_clock_its_times_and_its_latest_run():
    from skillship.stack.schedules import Schedule

    summary = schedule_summary(
        skill="hello",
        cron_job="hello",
        namespace="skillship",
        schedule=Schedule.model_validate(NIGHTLY["hello"]),
        status={"last_schedule_time": "2026-12-06T02:00:00Z", "lastSuccessfulTime": None, "active": [{"name": "x"}]},
        latest_run=_run("hello-29420160", "2026-12-06T02:00:00Z", FAILED_RUN),
    )
    assert summary == {
        "skill": "hello",
        "cronJob": "hello",
        "namespace": "skillship",
        "schedule": "0 3 * * *",
        "timeZone": "Europe/Berlin",
        "suspended": False,
        "lastScheduleTime": "2026-12-06T02:00:00+00:00",
        "lastSuccessfulTime": None,
        "running": 1,
        "lastRun": {
            "job": "hello-29420160",
            "state": "Failed",
            "reason": "BackoffLimitExceeded: Job has reached the specified backoff limit",
        },
    }


def test_a_status_row_judges_a_schedule_by_its_latest_run_and_says_when_it_runs_next():
    cron_job = {
        "metadata": {"name": "hello"},
        "spec": {"schedule": "0 3 * * *", "timeZone": "Europe/Berlin", "suspend": False},
        "status": {"lastScheduleTime": "2026-12-06T02:00:00Z"},
    }
    runs = [
        _run("hello-29418720", "2026-12-05T02:00:00Z", FAILED_RUN),  # an old failure, put right since
        _run("hello-29420160", "2026-12-06T02:00:00Z", DONE_RUN),
    ]
    now = datetime.datetime(2026, 12, 6, 20, 0, tzinfo=UTC)
    row = schedule_row(cron_job, runs, "hello", now)
    assert (row.last_run_job, row.last_run_state, row.next_run) == (
        "hello-29420160",
        "Succeeded",
        "2026-12-07T02:00:00+00:00",
    )
    suspended = schedule_row({**cron_job, "spec": {**cron_job["spec"], "suspend": True}}, [], "hello", now)
    assert suspended.next_run is None and suspended.last_run_state is None
