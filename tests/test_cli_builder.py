"""`skillship builder`: a buildx `remote` builder written without docker, for CI jobs with a BuildKit
service. What it writes is what buildx (and so the docker-build provider) reads; the real node's
GitLab run (tests/e2e/test_installed_project.py) builds through one."""

from __future__ import annotations

import json
import socket
import threading

import pytest
from typer.testing import CliRunner

from skillship.cli import app
from skillship.images.buildx import BuilderError, Endpoint, config_dir, remote_instance, write_remote_builder

runner = CliRunner()


@pytest.fixture
def listening(tmp_path):
    """A unix socket that accepts connections, as a BuildKit daemon's does."""
    path = tmp_path / "buildkitd.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(8)
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                server.accept()[0].close()
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield path
    stop.set()
    thread.join()
    server.close()


def test_the_builder_is_written_as_buildx_writes_a_remote_one_and_made_current(tmp_path, listening):
    buildx = tmp_path / "buildx"
    done = runner.invoke(app, ["builder", f"unix://{listening}", "--json"], env={"BUILDX_CONFIG": str(buildx)})
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert report["name"] == "skillship" and report["current"] is True and report["waitedSeconds"] >= 0
    instance = json.loads((buildx / "instances/skillship").read_text())
    assert instance["Driver"] == "remote" and instance["Name"] == "skillship"
    assert [node["Endpoint"] for node in instance["Nodes"]] == [f"unix://{listening}"]
    assert json.loads((buildx / "current").read_text()) == {"Key": "", "Name": "skillship", "Global": True}


def test_no_use_leaves_the_current_builder_alone_and_a_second_write_replaces_the_first(tmp_path):
    buildx = tmp_path / "buildx"
    write_remote_builder(buildx, "team", Endpoint.parse("tcp://buildkitd:1234"))
    done = runner.invoke(
        app,
        ["builder", "tcp://other:1234", "--name", "team", "--no-use", "--timeout", "0"],
        env={"BUILDX_CONFIG": str(buildx)},
    )
    assert done.exit_code == 0, done.output
    assert json.loads((buildx / "instances/team").read_text())["Nodes"][0]["Endpoint"] == "tcp://other:1234"
    assert json.loads((buildx / "current").read_text())["Name"] == "team"  # from the first write
    assert sorted(p.name for p in (buildx / "instances").iterdir()) == ["team"]  # no temporary left


def test_the_endpoint_comes_from_buildkit_host_as_buildctl_takes_it(tmp_path, listening):
    buildx = tmp_path / "buildx"
    done = runner.invoke(app, ["builder"], env={"BUILDX_CONFIG": str(buildx), "BUILDKIT_HOST": f"unix://{listening}"})
    assert done.exit_code == 0, done.output
    assert "builder skillship builds with unix://" in done.stderr


@pytest.mark.parametrize(
    "endpoint",
    [
        "buildkitd:1234",
        "http://buildkitd:1234",
        "tcp://buildkitd",
        "tcp://buildkitd:0",
        "tcp://buildkitd:70000",
        "tcp://-bad:1234",
        "tcp://buildkitd:1234\n",
        "unix://relative/buildkitd.sock",
        "docker-container://buildkitd",
        "",
    ],
)
def test_what_is_not_a_buildkit_address_is_a_usage_error_that_writes_nothing(tmp_path, endpoint):
    buildx = tmp_path / "buildx"
    done = runner.invoke(app, ["builder", endpoint, "--timeout", "0", "--json"], env={"BUILDX_CONFIG": str(buildx)})
    assert done.exit_code == 2, done.output
    assert "is not a BuildKit address" in json.loads(done.stdout)["error"]
    assert not buildx.exists()


@pytest.mark.parametrize("name", ["", "-lead", "a/b", "../up", "sp ace"])
def test_a_name_buildx_would_not_take_is_refused(tmp_path, name):
    buildx = tmp_path / "buildx"
    done = runner.invoke(
        app, ["builder", "tcp://buildkitd:1234", "--name", name, "--timeout", "0"], env={"BUILDX_CONFIG": str(buildx)}
    )
    assert done.exit_code == 2 and "is not a builder name" in done.stderr
    assert not (buildx / "instances").exists() or not any((buildx / "instances").iterdir())


def test_a_daemon_that_does_not_answer_fails_after_the_timeout_and_writes_nothing(tmp_path):
    buildx = tmp_path / "buildx"
    done = runner.invoke(
        app,
        ["builder", f"unix://{tmp_path}/none.sock", "--timeout", "0.3", "--json"],
        env={"BUILDX_CONFIG": str(buildx)},
    )
    assert done.exit_code == 1, done.output
    assert "no BuildKit answers at unix://" in json.loads(done.stdout)["error"]
    assert not buildx.exists()


def test_a_tcp_daemon_is_waited_for_until_it_listens(tmp_path):
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    server.close()  # nothing listens yet

    def listen_later() -> None:
        late = socket.create_server(("127.0.0.1", port))
        late.accept()[0].close()
        late.close()

    timer = threading.Timer(0.6, listen_later)
    timer.start()
    try:
        done = runner.invoke(
            app,
            ["builder", f"tcp://127.0.0.1:{port}", "--timeout", "20", "--json"],
            env={"BUILDX_CONFIG": str(tmp_path)},
        )
    finally:
        timer.join()
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["waitedSeconds"] >= 0.5


def test_buildx_finds_its_folder_as_docker_does(tmp_path):
    assert config_dir({"BUILDX_CONFIG": "/b", "DOCKER_CONFIG": "/d", "HOME": "/h"}) == type(tmp_path)("/b")
    assert config_dir({"DOCKER_CONFIG": "/d", "HOME": "/h"}) == type(tmp_path)("/d/buildx")
    assert config_dir({"HOME": "/h"}) == type(tmp_path)("/h/.docker/buildx")


def test_an_ipv6_literal_is_an_address_and_the_instance_keeps_it_as_given():
    endpoint = Endpoint.parse("tcp://[::1]:1234")
    assert remote_instance("b", endpoint)["Nodes"][0]["Endpoint"] == "tcp://[::1]:1234"
    with pytest.raises(BuilderError):
        Endpoint.parse("tcp://[::1]")
