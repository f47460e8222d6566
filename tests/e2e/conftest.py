"""Fixtures of the end-to-end suite: the engine binaries, a control plane, a fake node, a project."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.cluster import Cluster, FakeNode
from harness.engine import EngineMissing, engine_bin_folder

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "tools" / "engine" / "build.sh"
PROJECT_FILES = ("Pulumi.yaml", "__main__.py", "skillship_components", "stacks", "skills", "agents")


@pytest.fixture(scope="session")
def engine_bin(tmp_path_factory) -> Path:
    """The binaries from tools/engine/build.sh (built once, then cached outside the repo), or
    those in the folder SKILLSHIP_ENGINE_BIN names."""
    preset = os.environ.get("SKILLSHIP_ENGINE_BIN")
    if preset:
        given = Path(preset)
    else:
        done = subprocess.run(["bash", str(BUILD)], capture_output=True, text=True)
        if done.returncode != 0:
            pytest.fail(f"tools/engine/build.sh failed:\n{done.stderr[-4000:]}")
        given = Path(done.stdout.strip().splitlines()[-1])
    try:
        return engine_bin_folder(given, tmp_path_factory.mktemp("engine"))
    except EngineMissing as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def cluster(engine_bin, tmp_path_factory):
    control_plane = Cluster(tmp_path_factory.mktemp("cluster"), engine_bin)
    try:
        control_plane.start()
        control_plane.install_istio_crds()
        yield control_plane
    finally:
        control_plane.stop()


@pytest.fixture(scope="session")
def kube(cluster):
    from kubernetes import config

    return config.new_client_from_config(str(cluster.kubeconfig))


@pytest.fixture(scope="session")
def node(cluster, kube):
    from kubernetes import client

    with FakeNode(client.CoreV1Api(kube), tls=(cluster.pki["kubelet.crt"], cluster.pki["kubelet.key"])) as fake:
        yield fake
    assert fake.errors == [], fake.errors


@pytest.fixture(autouse=True)
def fake_node_errors_fail_the_test_they_happen_in(request):
    """The fake node plays in a thread of its own: what goes wrong there fails the test it happened
    in, not, much later, the session's teardown (or another test, as a timeout)."""
    if "node" not in request.fixturenames:
        yield
        return
    fake = request.getfixturevalue("node")
    before = len(fake.errors)
    yield
    assert fake.errors[before:] == [], f"the fake node failed during this test: {fake.errors[before:]}"


@pytest.fixture(scope="session")
def project(tmp_path_factory) -> Path:
    """A copy of the project: Pulumi writes stack files (encryption salt), never into the repo."""
    root = tmp_path_factory.mktemp("project")
    for item in PROJECT_FILES:
        source = REPO / item
        (shutil.copytree if source.is_dir() else shutil.copy)(source, root / item)
    return root


@pytest.fixture(scope="session")
def real_node(tmp_path_factory):
    """A real node (harness/realnode): control plane, registry, BuildKit and node in a sandbox of
    their own. The keeper's report on the way out must show nothing left on the host."""
    from harness.realnode.environment import PreparationFailed, RealNode, prepare
    from harness.realnode.hoststate import reading
    from harness.realnode.sandbox import wait_for_the_host

    try:
        bin_dir, rootfs = prepare()
    except PreparationFailed as exc:
        pytest.fail(str(exc))
    wait_for_the_host()  # another run's keeper may still be putting the host back
    before = reading()
    environment = RealNode(tmp_path_factory.mktemp("realnode"), bin_dir, rootfs)
    with environment:
        yield environment
    assert environment.report.get("left_processes") == [] and environment.report.get("cgroups_removed"), (
        environment.report
    )
    assert reading() == before
