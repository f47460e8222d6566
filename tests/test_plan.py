"""Where the workspace meets a stack's settings: messages, properties, secrets and their errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from skillship.checks.validation import load_workspace
from skillship.manifests import stack_objects
from skillship.plan import PlanError, plan_deployment, secret_env_name
from skillship.stack.settings import StackSettings
from skillship_runtime.contract import ARGV_MESSAGE_LIMIT, MESSAGE_LIMIT
from tests.conftest import REPO


def plan(root: Path = REPO, secrets=None, **values):
    workspace, diagnostics = load_workspace(root)
    assert diagnostics.ok
    settings = StackSettings.from_config("test", {"target": "render", "buildImages": False, **values})
    return plan_deployment(workspace, settings, project_dir=root, secret_properties=secrets)


def test_one_task_per_job_action_and_daemons_are_not_jobs():
    assert [t.key for t in plan().tasks] == ["hello", "producer"]


def test_message_comes_from_invoke_by_default_and_properties_merge():
    hello = plan(properties={"hello": {"greeting": "Hi"}}).task("hello")
    envelope = hello.envelope
    assert envelope["payload"] == {"name": "world"}
    assert envelope["properties"] == {"greeting": "Hi"}
    assert envelope["skillName"] == "hello" and envelope["outputName"] == "response"
    assert set(envelope) >= {"activationId", "channelId", "sessionId", "projectId", "agentName", "headers"}


def test_stack_message_as_object_or_file(example_copy):
    assert plan(messages={"hello": {"payload": {"name": "stack"}}}).task("hello").envelope["payload"] == {
        "name": "stack"
    }
    assert plan(messages={"hello": {"name": "bare"}}).task("hello").envelope["payload"] == {"name": "bare"}
    message = example_copy / "messages" / "m.json"
    message.parent.mkdir()
    message.write_text(json.dumps({"payload": {"name": "file"}}))
    assert plan(example_copy, messages={"hello": "messages/m.json"}).task("hello").envelope["payload"] == {
        "name": "file"
    }
    assert plan(example_copy, messages={"hello": str(message)}).task("hello").envelope["payload"] == {"name": "file"}


def test_a_stack_message_outside_the_project_is_never_read(example_copy, tmp_path):
    outside = tmp_path / "elsewhere.json"
    outside.write_text(json.dumps({"payload": {"name": "stolen"}}))
    for given in (str(outside), "../elsewhere.json"):
        with pytest.raises(PlanError, match="outside the project folder"):
            plan(example_copy, messages={"hello": given})


@pytest.mark.parametrize(
    "message, problem",
    [
        ({"payload": 1, "properties": ["a"]}, "'properties' must be an object, not list"),
        ({"payload": 1, "headers": "x"}, "'headers' must be an object, not str"),
        ({"payload": 1, "agentName": 7}, "'agentName' must be a string, not int"),
    ],
)
def test_a_stack_message_of_the_wrong_shape_is_a_plan_problem_not_a_crash(message, problem):
    with pytest.raises(PlanError) as caught:
        plan(messages={"hello": message})
    assert any(problem in p for p in caught.value.problems), caught.value.problems


def test_a_new_message_is_a_new_task_with_a_new_name():
    first = plan().task("hello")
    second = plan(messages={"hello": {"payload": {"name": "other"}}}).task("hello")
    assert first.job_name != second.job_name and first.activation_id != second.activation_id
    assert plan().task("hello").job_name == first.job_name  # and the same message keeps its name


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ({"skills": ["ghost"]}, "skillship:skills names skill 'ghost'"),
        ({"messages": {"ghost": {}}}, "skillship:messages names skill 'ghost'"),
        ({"properties": {"hello": {"colour": "red"}}}, "sets 'colour', which skill 'hello' does not declare"),
        (
            {"properties": {"hello": {"api.token": "x"}}},
            "is a secure property: set it with `pulumi config set --secret",
        ),
        ({"images": {"ghost/x": "img"}}, "skillship:images names 'ghost/x'"),
        ({"messages": {"hello": "missing.json"}}, "cannot be read"),
    ],
)
def test_stack_problems_are_reported(values, fragment):
    with pytest.raises(PlanError) as caught:
        plan(**values)
    assert any(fragment in p for p in caught.value.problems), caught.value.problems


def test_every_problem_at_once():
    with pytest.raises(PlanError) as caught:
        plan(skills=["ghost", "hello"], properties={"hello": {"colour": "red"}})
    assert len(caught.value.problems) == 2


def test_unknown_secret_is_reported():
    with pytest.raises(PlanError, match="'greeting', which is not a secure property"):
        plan(secrets={"hello": ["greeting"]})


def test_required_properties_need_a_value(example_copy):
    skill = example_copy / "skills/hello/skill.yaml"
    skill.write_text(
        skill.read_text().replace("    required: false\n    secure: true", "    required: true\n    secure: true")
    )
    with pytest.raises(PlanError, match="requires property 'api.token'"):
        plan(example_copy)
    assert plan(example_copy, secrets={"hello": ["api.token"]}).task("hello").secure_properties == ("api.token",)


def test_large_messages_travel_in_a_config_map():
    big = {"payload": {"blob": "x" * (ARGV_MESSAGE_LIMIT + 10)}}
    result = plan(messages={"hello": big})
    hello = result.task("hello")
    assert hello.message_in_file
    objects = {
        o["kind"]: o
        for o in stack_objects(result)
        if o["metadata"].get("labels", {}).get("skillship.io/skill") == "hello"
    }
    config_map = objects["ConfigMap"]
    assert (
        config_map["immutable"] is True and json.loads(config_map["data"]["message.json"])["payload"] == big["payload"]
    )
    pod = objects["Job"]["spec"]["template"]["spec"]
    assert pod["containers"][0]["args"] == ["@/var/run/skillship/message/message.json"]
    assert {"name": "message", "configMap": {"name": config_map["metadata"]["name"]}} in pod["volumes"]


def test_huge_messages_are_refused():
    with pytest.raises(PlanError, match=f"at most {MESSAGE_LIMIT}"):
        plan(messages={"hello": {"payload": "x" * MESSAGE_LIMIT}})


def test_sidecar_mode_warns_when_the_entrypoint_cannot_stop_the_proxy(example_copy):
    assert plan(example_copy, istioMode="sidecar").warnings == ()  # the examples run under the runtime
    dockerfile = example_copy / "skills/hello/actions/hello/Dockerfile"
    plain = 'ENTRYPOINT ["python", "/app/main.py"]'
    dockerfile.write_text(
        dockerfile.read_text().replace('ENTRYPOINT ["python", "-m", "skillship_runtime", "/app/main.py"]', plain)
    )
    [warning] = plan(example_copy, istioMode="sidecar").warnings
    assert "skill 'hello'" in warning.message and "never completes" in warning.message
    lines = dockerfile.read_text().splitlines()
    assert (warning.code, warning.file, warning.line) == ("proxy-stop", str(dockerfile), lines.index(plain) + 1)
    dockerfile.write_text(dockerfile.read_text().replace(plain, 'ENTRYPOINT ["scuttle", "python", "/app/main.py"]'))
    assert plan(example_copy, istioMode="sidecar").warnings == ()
    assert plan(example_copy, istioMode="native").warnings == ()


def test_secret_environment_names():
    assert secret_env_name("api.token") == "SKILLSHIP_SECRET_API_TOKEN"
    assert secret_env_name("headers.X-Custom") == "SKILLSHIP_SECRET_HEADERS_X_CUSTOM"


def test_images_keep_full_registry_paths_and_prefix_bare_names():
    variants = REPO / "tests/fixtures/cortex-variants"
    result = plan(variants, registry="reg.example.com/team", messages={"routed": {"payload": {}}})
    assert result.task("cortex/simplejob-skill").repository == "reg.example.com/team/c12e/simplejob"
    assert result.task("routed").repository == "reg.example.com/team/routed-worker"


def test_a_skill_with_two_jobs_is_checked_once(example_copy):
    skill = example_copy / "skills/hello/skill.yaml"
    skill.write_text(skill.read_text().replace("tags:\n", "  - name: second\n    type: job\n    command: []\ntags:\n"))
    second = example_copy / "skills/hello/actions/second"
    second.mkdir()
    (second / "Dockerfile").write_text("FROM scratch\n")
    assert [t.key for t in plan(example_copy).tasks] == ["hello/hello", "hello/second", "producer"]
    with pytest.raises(PlanError) as caught:
        plan(example_copy, properties={"hello": {"colour": "red"}})
    assert len(caught.value.problems) == 1  # not once per job action


def test_an_unreadable_build_context_is_a_plan_problem_naming_the_file():
    """Nothing is planned from a context that cannot be read: the problem names the file and why."""
    from skillship.images.digest import ContextError

    def digester(context: Path):
        raise ContextError(str(context / "main.py"), "Permission denied")

    loaded, _ = load_workspace(REPO)
    settings = StackSettings.from_config("test", {"target": "render", "buildImages": False})
    with pytest.raises(PlanError) as caught:
        plan_deployment(loaded, settings, project_dir=REPO, digester=digester)
    hello = [d for d in caught.value.diagnostics if d.file.startswith("skills/hello/")]
    assert [(d.code, d.file, d.message) for d in hello] == [
        (
            "build-context",
            "skills/hello/actions/hello/main.py",
            "build context skills/hello/actions/hello: Permission denied",
        )
    ]


def _agent_sets(example_copy: Path, agent_level: str, for_producer: str) -> None:
    agent = example_copy / "agents/stream.yaml"
    text = agent.read_text().replace(
        "properties: []\n", f"properties:\n  - name: record.prefix\n    value: {agent_level}\n"
    )
    text = text.replace(
        "  - skillName: producer\n    refId: producer-1\n",
        "  - skillName: producer\n    refId: producer-1\n"
        f"    properties:\n      - name: record.prefix\n        value: {for_producer}\n",
    )
    agent.write_text(text)


def test_an_agents_values_reach_its_skills_between_their_defaults_and_the_stacks(example_copy):
    """skill default < the agent's < its entry for the skill < the stack's; agentName is set."""
    producer = plan(example_copy).task("producer")
    assert producer.envelope["properties"]["record.prefix"] == "record"  # the skill's default
    assert producer.envelope["agentName"] == "stream"
    _agent_sets(example_copy, "from-agent", "for-producer")
    assert plan(example_copy).task("producer").envelope["properties"]["record.prefix"] == "for-producer"
    staged = plan(example_copy, properties={"producer": {"record.prefix": "from-stack"}}).task("producer")
    assert staged.envelope["properties"]["record.prefix"] == "from-stack"
    assert plan(example_copy).task("producer").job_name != producer.job_name  # other values, another task
    assert plan(example_copy).task("hello").envelope["agentName"] == ""  # in no agent


def test_a_skill_in_two_agents_runs_for_neither_and_is_told(example_copy):
    second = example_copy / "agents/second.yaml"
    second.write_text((example_copy / "agents/stream.yaml").read_text().replace("name: stream", "name: second", 1))
    _agent_sets(example_copy, "from-agent", "for-producer")
    result = plan(example_copy)
    assert result.task("producer").envelope["agentName"] == ""
    assert result.task("producer").envelope["properties"]["record.prefix"] == "record"
    [warning] = [w for w in result.warnings if w.code == "several-agents" and "'producer'" in w.message]
    assert warning.file.endswith("skills/producer/skill.yaml") and "'second', 'stream'" in warning.message


def test_headers_properties_are_the_messages_headers(example_copy):
    skill = example_copy / "skills/hello/skill.yaml"
    skill.write_text(
        skill.read_text().replace(
            "properties:\n", "properties:\n  - name: headers.X-Trace\n    type: String\n    defaultValue: abc\n", 1
        )
    )
    message = example_copy / "skills/hello/invoke/request/message.json"
    message.write_text(json.dumps({"payload": {"name": "world"}, "headers": {"X-From": "message"}}))
    envelope = plan(example_copy).task("hello").envelope
    assert envelope["headers"] == {"X-From": "message", "X-Trace": "abc"}
    assert "headers.X-Trace" not in envelope["properties"]
