"""`egressNetworks`: where a stack limits egress, each skill's pods may connect only to DNS, the
daemons its records go to, istiod when proxies are injected, and the networks the stack names.
The real node enforces what these build (tests/e2e/test_real_node.py, NetworkPolicies)."""

from __future__ import annotations

import pytest

from harness.schemas import schema_errors
from skillship.stack.settings import SettingsError, StackSettings
from tests.test_wiring import find, objects

CONSUMER_PODS = {"skillship.io/stack": "wired", "skillship.io/action": "consumer"}
DNS = {"ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]}


def _egress(found: list[dict]) -> dict[str, dict]:
    return {
        o["metadata"]["name"]: o for o in found if o["kind"] == "NetworkPolicy" and "Egress" in o["spec"]["policyTypes"]
    }


def test_unset_declares_no_egress_policy_so_kubernetes_admits_any_egress():
    found, _ = objects(istioMode="none")
    assert _egress(found) == {}


def test_every_skill_reaches_dns_and_the_named_networks_and_a_sender_its_receiver_on_its_port():
    found, _ = objects(istioMode="none", egressNetworks=["10.20.0.0/16", "203.0.113.7/32"])
    policies = _egress(found)
    jobs = {o["metadata"]["labels"]["skillship.io/skill"]: o for o in found if o["kind"] == "Job"}
    assert {p["metadata"]["labels"]["skillship.io/skill"] for p in policies.values()} == {*jobs, "consumer"}
    networks = {"to": [{"ipBlock": {"cidr": "10.20.0.0/16"}}, {"ipBlock": {"cidr": "203.0.113.7/32"}}]}
    producer = next(p for p in policies.values() if p["metadata"]["labels"]["skillship.io/skill"] == "producer")
    # Each policy selects its own workload's pods.
    producer_pods = jobs["producer"]["spec"]["template"]["metadata"]["labels"]
    assert producer["spec"]["podSelector"]["matchLabels"].items() <= producer_pods.items()
    assert producer["spec"]["egress"] == [
        DNS,
        {
            "to": [
                {"podSelector": {"matchLabels": {"skillship.io/stack": "wired", "skillship.io/action": "consumer"}}}
            ],
            "ports": [{"protocol": "TCP", "port": 5000}],
        },
        networks,
    ]
    # The receiver's selector is the one its Deployment's pods carry.
    consumer_pods = find(found, "Deployment", "consumer")["spec"]["template"]["metadata"]["labels"]
    assert producer["spec"]["egress"][1]["to"][0]["podSelector"]["matchLabels"].items() <= consumer_pods.items()
    hello = next(p for p in policies.values() if p["metadata"]["labels"]["skillship.io/skill"] == "hello")
    assert hello["spec"]["egress"] == [DNS, networks]
    assert find(found, "NetworkPolicy", "consumer-egress")["spec"]["egress"] == [DNS, networks]
    assert [e for o in policies.values() for e in schema_errors(o)] == []


def test_an_empty_list_leaves_only_dns_and_receivers():
    found, _ = objects(istioMode="none", egressNetworks=[])
    hello = next(p for p in _egress(found).values() if p["metadata"]["labels"]["skillship.io/skill"] == "hello")
    assert hello["spec"]["egress"] == [DNS]


@pytest.mark.parametrize("mode", ["sidecar", "native"])
def test_injected_proxies_may_reach_istiod(mode):
    found, _ = objects(istioMode=mode, egressNetworks=[])
    istiod = {
        "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "istio-system"}}}],
        "ports": [{"protocol": "TCP", "port": 15012}],
    }
    assert all(istiod in p["spec"]["egress"] for p in _egress(found).values())


def test_in_ambient_mode_a_sender_may_also_reach_its_receivers_hbone_port():
    found, _ = objects(istioMode="ambient", egressNetworks=[])
    producer = next(p for p in _egress(found).values() if p["metadata"]["labels"]["skillship.io/skill"] == "producer")
    [to_receiver] = [rule for rule in producer["spec"]["egress"] if "to" in rule]
    assert to_receiver["ports"] == [{"protocol": "TCP", "port": 5000}, {"protocol": "TCP", "port": 15008}]
    assert not any("namespaceSelector" in peer for rule in producer["spec"]["egress"] for peer in rule.get("to", []))


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (["10.0.0.1/8"], "'10.0.0.1/8' is not a network in CIDR notation"),
        (["example.com"], "'example.com' is not a network in CIDR notation"),
        (["10.0.0.0/8\n"], "is not a network in CIDR notation"),
        (["10.0.0.1"], "'10.0.0.1' needs its prefix length, such as 10.0.0.1/32"),
        ("10.0.0.0/8", "Input should be a valid list"),
        ([7], "Input should be a valid string"),
    ],
)
def test_a_bad_network_is_named(value, fragment):
    with pytest.raises(SettingsError, match="skillship:egressNetworks") as caught:
        StackSettings.from_config("s", {"target": "render", "egressNetworks": value})
    assert fragment in str(caught.value)
