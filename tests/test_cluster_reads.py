"""What `skillship status`, `logs` and the gate read from the cluster: the API server's JSON as it
sent it, through the official client without its models (whose round trip cost seconds at a
thousand Jobs), and an answer that is not JSON refused in one line."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from skillship.cli.cluster import Cluster, ClusterError

JOB = {
    "metadata": {"name": "job-hello-1", "creationTimestamp": "2026-12-07T02:00:00Z", "labels": {"a": "b"}},
    "status": {"succeeded": 1, "startTime": "2026-12-07T02:00:01Z", "completionTime": "2026-12-07T02:00:05Z"},
}


class _Answers(BaseHTTPRequestHandler):
    bodies: dict[str, bytes] = {}
    asked: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        self.asked.append(self.path)
        body = self.bodies[self.path.split("?")[0]]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def cluster(tmp_path: Path):
    from kubernetes import client, config

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answers)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{server.server_port}"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "ctx",
            }
        )
    )
    configuration = client.Configuration()
    config.load_kube_config(str(kubeconfig), client_configuration=configuration, persist_config=False)
    configuration.retries = False
    _Answers.asked.clear()
    yield Cluster(client.ApiClient(configuration), "ns", "dev", "ctx")
    server.shutdown()


def test_jobs_and_pods_come_back_as_the_api_server_sent_them(cluster):
    _Answers.bodies = {
        "/apis/batch/v1/namespaces/ns/jobs": json.dumps({"kind": "JobList", "items": [JOB]}).encode(),
        "/api/v1/namespaces/ns/pods": json.dumps({"kind": "PodList", "items": None}).encode(),
        "/apis/batch/v1/namespaces/ns/jobs/job-hello-1": json.dumps(JOB).encode(),
    }
    assert cluster.jobs() == [JOB]  # times as the API writes them: parsed by skillship.tasks, not the client
    assert cluster.pods("x=y") == []
    assert cluster.job("job-hello-1") == JOB
    assert _Answers.asked[0] == "/apis/batch/v1/namespaces/ns/jobs?labelSelector=skillship.io/stack%3Ddev"


def test_an_answer_that_is_not_json_is_a_cluster_error_naming_the_request(cluster):
    _Answers.bodies = {"/apis/batch/v1/namespaces/ns/jobs": b"<html>a proxy's login page</html>"}
    with pytest.raises(ClusterError, match=r"^listing the Jobs of namespace ns: the API server's answer is not JSON"):
        cluster.jobs()
