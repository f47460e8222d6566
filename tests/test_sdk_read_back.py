"""What the SDK turns into values of each Kubernetes object the engine answers with: only the
outputs the program reads (a Job's status), while the engine still gets every input.

The resources are registered in this process under the SDK's own mocks, which answer like the
provider: the live object, with fields nobody declared (managed fields, defaults, a uid)."""

from __future__ import annotations

import asyncio
import copy
import sys
from typing import Any

import pulumi
import pulumi.runtime
import pytest
from pulumi.runtime import rpc
from pulumi.runtime.settings import SETTINGS
from pulumi.runtime.sync_await import _sync_await

from skillship_components.kubernetes import BuiltIn, IstioObject, declare
from skillship_components.sdk.read_back import NotReadBack, ReadBackOnly, read_back_only_what_is_used
from skillship_components.sdk.switches import DEBUG_VARIABLE as KEEP_VARIABLE

STATUS = {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}
JOB = {
    "apiVersion": "batch/v1",
    "kind": "Job",
    "metadata": {"name": "hello", "namespace": "dev", "labels": {"app": "hello"}},
    "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "task", "image": "hello:1"}]}}},
}
ACCOUNT = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "hello", "namespace": "dev"}}
SIDECAR = {
    "apiVersion": "networking.istio.io/v1",
    "kind": "Sidecar",
    "metadata": {"name": "hello", "namespace": "dev"},
    "spec": {"outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"}},
}


class LiveObjects(pulumi.runtime.Mocks):
    """Answers as the Kubernetes provider does: the object as the API server keeps it."""

    def __init__(self) -> None:
        self.inputs: dict[str, dict[str, Any]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.inputs[args.name] = copy.deepcopy(args.inputs)
        live = copy.deepcopy(args.inputs)
        metadata = live.setdefault("metadata", {})
        metadata.update(uid="0b1c", resourceVersion="7", managedFields=[{"manager": "pulumi-kubernetes"}])
        if args.typ == "kubernetes:batch/v1:Job":
            live["spec"]["backoffLimit"] = 6  # a default the API server fills in
            live["status"] = STATUS
        return [f"{args.name}-id", live]

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}, None


@pytest.fixture
def sdk(monkeypatch):
    """The SDK under mocks, on an event loop of its own (a test before it in this process may have
    run and closed one, as `asyncio.run` does); whatever a test changes of it is undone after it."""
    monkeypatch.setattr(rpc, "resolve_outputs", rpc.resolve_outputs)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    mocks = LiveObjects()
    pulumi.runtime.set_mocks(mocks, project="skillship", stack="dev", preview=False)
    yield mocks
    with SETTINGS.lock:
        SETTINGS.outputs.clear()  # tied to this loop: no later wait for outputs may wait on them
    asyncio.set_event_loop(None)
    loop.close()


def _declare_all(prefix: str = "hello") -> tuple[BuiltIn, BuiltIn, pulumi.CustomResource]:
    options = pulumi.ResourceOptions()
    job = declare(f"{prefix}-job", JOB, options)
    account = declare(f"{prefix}-account", ACCOUNT, options)
    sidecar = declare(f"{prefix}-sidecar", SIDECAR, options)
    assert isinstance(job, BuiltIn) and isinstance(account, BuiltIn) and isinstance(sidecar, IstioObject)
    return job, account, sidecar


def _value(output: pulumi.Output[Any]) -> Any:
    return _sync_await(output.future())


def _resolved(*resources: pulumi.CustomResource) -> None:
    """Wait until the SDK has resolved every output of each resource (it does all of one at once)."""
    _value(pulumi.Output.all(*(r.id for r in resources)))


def test_a_job_reads_back_its_status_and_nothing_else_while_the_engine_gets_every_input(sdk):
    assert read_back_only_what_is_used({}) is True
    job, account, sidecar = _declare_all()
    assert _value(job.status) == STATUS
    # The rest is not read back: reading it is a mistake, named, not a None that is not the cluster's.
    for resource, name in ((job, "metadata"), (job, "spec"), (account, "metadata"), (sidecar, "spec")):
        with pytest.raises(NotReadBack, match=rf"output '{name}' is not read back: .*add '{name}' to its read_back"):
            getattr(resource, name)
        assert not hasattr(resource, name)
    with pytest.raises(AttributeError, match="no attribute 'nothing'") as raised:
        job.nothing  # noqa: B018  (an attribute no resource has: the usual error)
    assert not isinstance(raised.value, NotReadBack)
    _resolved(job, account, sidecar)
    assert _value(job.urn) and _value(job.id) == "hello-job-id"  # the resource itself is whole
    # What the engine was sent is the whole object, as before.
    assert sdk.inputs["hello-job"]["spec"] == JOB["spec"]
    assert sdk.inputs["hello-job"]["metadata"] == JOB["metadata"]
    assert sdk.inputs["hello-sidecar"]["spec"] == SIDECAR["spec"]


def test_the_sdk_turns_into_values_only_the_fields_read_back(sdk, monkeypatch):
    answered: list[set[str]] = []  # the top-level fields of each engine answer the SDK made values of
    real = rpc.deserialize_properties

    def recording(props, *args, **kwargs):
        caller = sys._getframe(1)
        # The engine's answers for the objects declared (not the mock engine reading inputs, and not
        # the root stack, which the first test of a process to run a program registers).
        resource = caller.f_locals.get("res")
        if caller.f_code.co_name == "resolve_outputs" and isinstance(resource, pulumi.CustomResource):
            answered.append(set(props.fields))
        return real(props, *args, **kwargs)

    monkeypatch.setattr(rpc, "deserialize_properties", recording)
    _resolved(*_declare_all("shipped"))
    shipped = list(answered)
    answered.clear()
    read_back_only_what_is_used({})
    _resolved(*_declare_all("read-back"))
    # As shipped: the Job's whole live object, the ServiceAccount's, the Sidecar's.
    assert sorted(map(sorted, shipped)) == [
        ["apiVersion", "kind", "metadata"],
        ["apiVersion", "kind", "metadata", "spec"],
        ["apiVersion", "kind", "metadata", "spec", "status"],
    ]
    # Read back: the Job's status, and nothing of the other two.
    assert sorted(map(sorted, answered)) == [[], [], ["status"]]


def test_as_shipped_the_sdk_makes_values_of_the_whole_live_object(sdk):
    # The reference the change is measured against: every field the provider returns, and inputs.
    job, account, _ = _declare_all()
    metadata = _value(job.metadata)
    assert metadata["managedFields"] == [{"manager": "pulumi-kubernetes"}] and metadata["uid"] == "0b1c"
    assert _value(job.spec)["backoffLimit"] == 6
    assert _value(account.metadata)["name"] == "hello"


def test_a_resource_that_does_not_say_what_it_reads_back_is_read_back_whole(sdk):
    read_back_only_what_is_used({})

    class Plain(pulumi.CustomResource):
        def __init__(self, name: str) -> None:
            super().__init__("kubernetes:core/v1:ConfigMap", name, {"metadata": {"name": name}, "data": None})

    plain = Plain("plain")
    assert _value(plain.metadata)["uid"] == "0b1c"


def test_it_is_done_once_and_the_debug_variable_keeps_the_sdk_as_it_ships(monkeypatch):
    monkeypatch.setattr(rpc, "resolve_outputs", rpc.resolve_outputs)
    shipped = rpc.resolve_outputs
    assert read_back_only_what_is_used({KEEP_VARIABLE: "1"}) is False
    assert rpc.resolve_outputs is shipped
    assert read_back_only_what_is_used({}) is True and read_back_only_what_is_used({}) is True
    assert isinstance(rpc.resolve_outputs, ReadBackOnly) and rpc.resolve_outputs.resolve_outputs is shipped


def test_the_sdk_resolves_outputs_through_the_rpc_module():
    """The change reaches every registration because the SDK's resource module calls
    `rpc.resolve_outputs` through the module; a module holding the function by name would not."""
    from pulumi.runtime import resource

    assert resource.rpc is rpc
    assert all(value is not rpc.resolve_outputs for value in vars(resource).values())
