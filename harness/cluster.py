"""A real Kubernetes control plane on loopback for the end-to-end tests.

etcd, kube-apiserver and kube-controller-manager, built from their Go modules by
tools/engine/build.sh, run as child processes on free loopback ports. No kubelet runs:
`FakeNode` plays the node: it binds each task pod to itself, moves it to Succeeded or Failed, and
answers the API server's log requests on a kubelet port of its own, as a kubelet answers them. The
real Job controller turns pod phases into Job conditions, the real API server finds the pod's node
and proxies logs, and the pod garbage collector removes pods whose node is gone, as in a real
cluster. Istio's CRDs are installed so the Istio objects we emit are accepted (and checked against
Istio's schemas) by the API server.
"""

from __future__ import annotations

import ctypes
import datetime
import os
import secrets
import signal
import socket
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import yaml
from cryptography.hazmat.primitives import serialization

from harness.pki import certificate as _certificate
from harness.pki import new_key as _key
from harness.pki import pem_key as _pem_key

if TYPE_CHECKING:
    from harness.realnode.sandbox import Sandbox

CONTROLLERS = (
    "job-controller,cronjob-controller,ttl-after-finished-controller,deployment-controller,replicaset-controller,"
    "endpoints-controller,endpointslice-controller,garbage-collector-controller,namespace-controller,"
    "serviceaccount-controller,pod-garbage-collector-controller"
)


SERVICE_SUBNET = "10.96.0.0/24"  # Services' cluster IPs (the node's kube-router needs it too)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Cluster:
    """A running control plane. `kubeconfig` works for kubectl, the Kubernetes client and Pulumi."""

    directory: Path
    bin_dir: Path
    # With a sandbox (harness/realnode), every process runs inside it, and its API server port is
    # forwarded to the host's loopback, so one kubeconfig serves the tests and the node alike.
    sandbox: Sandbox | None = None
    controllers: str = CONTROLLERS
    kubeconfig: Path = field(init=False)
    processes: list[subprocess.Popen] = field(default_factory=list)

    def start(self, *, timeout: float = 120) -> Cluster:
        self.directory.mkdir(parents=True, exist_ok=True)
        pki = self._pki()
        etcd_port, peer_port, api_port, cm_port = (free_port() for _ in range(4))
        self._spawn(
            "etcd",
            [
                "--data-dir",
                str(self.directory / "etcd"),
                "--name",
                "e2e",
                "--listen-client-urls",
                f"http://127.0.0.1:{etcd_port}",
                "--advertise-client-urls",
                f"http://127.0.0.1:{etcd_port}",
                "--listen-peer-urls",
                f"http://127.0.0.1:{peer_port}",
                "--initial-advertise-peer-urls",
                f"http://127.0.0.1:{peer_port}",
                "--initial-cluster",
                f"e2e=http://127.0.0.1:{peer_port}",
                "--unsafe-no-fsync",
                "--log-level",
                "warn",
            ],
        )
        self._spawn(
            "kube-apiserver",
            [
                "--etcd-servers",
                f"http://127.0.0.1:{etcd_port}",
                "--bind-address",
                "127.0.0.1",
                "--advertise-address",
                "127.0.0.1",
                "--secure-port",
                str(api_port),
                "--tls-cert-file",
                str(pki["serving.crt"]),
                "--tls-private-key-file",
                str(pki["serving.key"]),
                "--kubelet-certificate-authority",
                str(pki["ca.crt"]),
                "--kubelet-preferred-address-types",
                "InternalIP",
                "--kubelet-client-certificate",
                str(pki["kubelet-client.crt"]),
                "--kubelet-client-key",
                str(pki["kubelet-client.key"]),
                "--token-auth-file",
                str(pki["tokens.csv"]),
                "--authorization-mode",
                "RBAC",
                "--service-account-issuer",
                "https://kubernetes.default.svc.cluster.local",
                "--service-account-key-file",
                str(pki["sa.pub"]),
                "--service-account-signing-key-file",
                str(pki["sa.key"]),
                "--api-audiences",
                "https://kubernetes.default.svc.cluster.local",
                "--service-cluster-ip-range",
                SERVICE_SUBNET,
                "--allow-privileged=false",
                "--enable-priority-and-fairness=false",
                "--profiling=false",
                "--v=0",
            ],
        )
        self.server = f"https://127.0.0.1:{api_port}"
        if self.sandbox:
            self.sandbox.forward(api_port)
        self.pki = pki
        self.kubeconfig = self._write_kubeconfig(pki)
        self._wait_ready(timeout)
        self._spawn(
            "kube-controller-manager",
            [
                "--kubeconfig",
                str(self.kubeconfig),
                "--authentication-kubeconfig",
                str(self.kubeconfig),
                "--authorization-kubeconfig",
                str(self.kubeconfig),
                "--leader-elect=false",
                "--bind-address",
                "127.0.0.1",
                "--secure-port",
                str(cm_port),
                "--controllers",
                self.controllers,
                "--service-account-private-key-file",
                str(pki["sa.key"]),
                "--root-ca-file",
                str(pki["ca.crt"]),
                "--use-service-account-credentials=false",
                "--concurrent-job-syncs",
                "5",
                "--v=0",
            ],
        )
        return self

    def install_istio_crds(self) -> None:
        """Istio's CRDs (of the oldest Istio supported), so the API server accepts and checks the
        Istio objects Skillship declares."""
        from kubernetes import client, config

        from harness.schemas import ISTIO_API_VERSIONS, istio_crd_file

        api = client.ApiextensionsV1Api(config.new_client_from_config(str(self.kubeconfig)))
        for crd in yaml.safe_load_all(istio_crd_file(ISTIO_API_VERSIONS[0]).read_text()):
            if crd and crd.get("kind") == "CustomResourceDefinition":
                api.create_custom_resource_definition(crd)

    def _pki(self) -> dict[str, Path]:
        pki = self.directory / "pki"
        pki.mkdir(exist_ok=True)
        ca_key, serving_key, sa_key = _key(), _key(), _key()
        ca = _certificate("skillship-e2e-ca", ca_key, ca=True)
        serving = _certificate("kube-apiserver", serving_key, ca_key, ca.subject, ca=False, ips=("127.0.0.1",))
        kubelet_key, client_key = _key(), _key()
        node_ips = ("127.0.0.1", self.sandbox.NODE_IP) if self.sandbox else ("127.0.0.1",)
        kubelet = _certificate("node", kubelet_key, ca_key, ca.subject, ca=False, ips=node_ips)
        # How the API server proves itself to a kubelet (logs, the proxy to pods): a client
        # certificate of the cluster's CA, which the real kubelet authenticates and authorizes.
        client = _certificate(
            "kube-apiserver-kubelet-client", client_key, ca_key, ca.subject, ca=False, organization="system:masters"
        )
        self.token = secrets.token_hex(24)
        files = {
            "ca.crt": ca.public_bytes(serialization.Encoding.PEM),
            "serving.crt": serving.public_bytes(serialization.Encoding.PEM),
            "serving.key": _pem_key(serving_key),
            "kubelet.crt": kubelet.public_bytes(serialization.Encoding.PEM),
            "kubelet.key": _pem_key(kubelet_key),
            "kubelet-client.crt": client.public_bytes(serialization.Encoding.PEM),
            "kubelet-client.key": _pem_key(client_key),
            "sa.key": _pem_key(sa_key),
            "sa.pub": sa_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
            # The tests act as a cluster admin; the token exists only for this cluster's lifetime.
            "tokens.csv": f'{self.token},skillship-e2e,skillship-e2e,"system:masters"\n'.encode(),
        }
        paths = {}
        for name, data in files.items():
            paths[name] = pki / name
            paths[name].write_bytes(data)
            paths[name].chmod(0o600)
        return paths

    def _write_kubeconfig(self, pki: dict[str, Path]) -> Path:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "e2e",
            "clusters": [
                {"name": "e2e", "cluster": {"server": self.server, "certificate-authority": str(pki["ca.crt"])}}
            ],
            "users": [{"name": "e2e", "user": {"token": self.token}}],
            "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": "e2e"}}],
        }
        path = self.directory / "kubeconfig"
        path.write_text(yaml.safe_dump(config))
        path.chmod(0o600)
        return path

    def _spawn(self, binary: str, args: list[str]) -> None:
        log = open(self.directory / f"{binary}.log", "ab")
        argv = [str(self.bin_dir / binary), *args]
        self.processes.append(spawn_tied(self.sandbox.command(argv) if self.sandbox else argv, log))

    def restart_apiserver(self, *, down_seconds: float = 3, timeout: float = 60) -> None:
        """The API server killed (as a crashed control plane or a lost control-plane node ends it:
        its clients' connections and watches break at once) and started again on the same etcd
        and port, down for at least `down_seconds`."""
        [process] = [p for p in self.processes if any(arg.endswith("/kube-apiserver") for arg in p.args)]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        self.processes.remove(process)
        time.sleep(down_seconds)
        log = open(self.directory / "kube-apiserver.log", "ab")
        self.processes.append(spawn_tied(process.args, log))
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        import ssl
        import urllib.request

        context = ssl.create_default_context(cafile=str(self.directory / "pki" / "ca.crt"))
        request = urllib.request.Request(f"{self.server}/readyz", headers={"Authorization": f"Bearer {self.token}"})
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            for process in self.processes:
                if process.poll() is not None:
                    binary = Path(
                        next(arg for arg in process.args if "/" in arg and Path(arg).parent == self.bin_dir)
                    ).name
                    raise RuntimeError(f"{binary} exited early: {self.log_tail(binary)}")
            try:
                with urllib.request.urlopen(request, context=context, timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError as exc:
                last = str(exc)
            time.sleep(0.3)
        raise RuntimeError(f"kube-apiserver was not ready within {timeout} s ({last})")

    def log_tail(self, binary: str, lines: int = 30) -> str:
        path = self.directory / f"{binary}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in reversed(self.processes):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def spawn_tied(argv: list[str], log) -> subprocess.Popen:
    """Start a control-plane process in a session of its own (stop() signals its whole group) that
    the kernel kills when this process dies. `stop()` covers a test run that ends; this covers one
    that is killed (a CI timeout, SIGKILL), which otherwise leaves etcd and the API server running,
    holding ports and CPU. Call it from the thread that lives as long as the process should: the
    signal follows the thread that started the child."""
    parent = os.getpid()

    def die_with_parent() -> None:  # runs in the child, between fork and exec
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the signal was set
            os._exit(1)

    return subprocess.Popen(
        argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent
    )


class _KubeletLogs(BaseHTTPRequestHandler):
    """The kubelet's /containerLogs endpoint, as the API server calls it for `pods/log`, with the
    kubelet's answers: 400 for a container the pod does not have, or for `previous` when the
    container never restarted (task pods never do); with `follow`, the stream stays open while the
    pod is held and ends with it."""

    node: FakeNode

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        url = urlsplit(self.path)
        parts = url.path.strip("/").split("/")
        if len(parts) != 4 or parts[0] != "containerLogs":
            self.send_error(404)
            return
        _, namespace, pod, container = parts
        query = parse_qs(url.query)
        previous = query.get("previous", ["false"])[0] == "true"
        follow = query.get("follow", ["false"])[0] == "true"
        self.node.log_requests.append((namespace, pod, container, previous))
        spec = self.node.api.read_namespaced_pod(pod, namespace).spec
        if container not in [c.name for c in spec.containers]:
            return self._refuse(f"container {container} is not valid for pod {pod}")
        if previous:  # the kubelet's words (pkg/kubelet/kubelet_pods.go)
            return self._refuse(f'previous terminated container "{container}" in pod "{pod}" not found')
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()  # no length: the body ends when the connection does, as a stream
        first, last = self.node.log_lines(pod, container)
        self._line(first)
        while follow and self.node.held(namespace, pod):
            time.sleep(0.1)
        self._line(last)

    def _line(self, line: str) -> None:
        self.wfile.write(f"{line}\n".encode())
        self.wfile.flush()

    def _refuse(self, message: str) -> None:
        body = message.encode()
        self.send_response(400)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


class FakeNode:
    """Plays the kubelet for task pods: binds each new pod to itself, ends it with the outcome set
    for its namespace and skill, and serves its container logs.

    Outcomes: "succeed" (default), "fail", "hold" (stays Running), "pending" (never scheduled),
    "vanish" (bound to a node that no longer exists, then Succeeded: its logs are gone). Pods of
    a ReplicaSet (daemons) run and turn ready, whatever the outcome. What goes wrong in its loop is
    kept in `errors`; the suite fails the test during which it happened.
    """

    NAME = "fake-node"
    GONE = "departed-node"

    def __init__(self, api, *, tls: tuple[Path, Path], interval: float = 0.2) -> None:
        self.api = api
        self.outcomes: dict[tuple[str, str], str] = {}  # (namespace, skill label) -> outcome
        self.interval = interval
        self.log_requests: list[tuple[str, str, str, bool]] = []
        self._next_ip = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fake-node", daemon=True)
        self.errors: list[str] = []
        handler = type("Handler", (_KubeletLogs,), {"node": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(tls[0]), str(tls[1]))
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._server_thread = threading.Thread(target=self._server.serve_forever, name="fake-kubelet", daemon=True)

    @staticmethod
    def log_lines(pod: str, container: str) -> tuple[str, str]:
        """What a pod's container "printed", first and last: known to the tests, different per pod
        and container."""
        return f"{pod}/{container}: starting", f"{pod}/{container}: done"

    def outcome(self, pod) -> str:
        return self.outcomes.get((pod.metadata.namespace, pod.metadata.labels["skillship.io/skill"]), "succeed")

    def held(self, namespace: str, name: str) -> bool:
        """Whether the pod still runs because its outcome is "hold" (and the node still plays)."""
        if self._stop.is_set():
            return False
        from kubernetes.client.exceptions import ApiException

        try:
            pod = self.api.read_namespaced_pod(name, namespace)
        except ApiException:
            return False
        return pod.status.phase == "Running" and self.outcome(pod) == "hold"

    def __enter__(self) -> FakeNode:
        self._server_thread.start()
        self.api.create_node({"metadata": {"name": self.NAME, "labels": {"skillship.io/e2e": "fake-node"}}})
        self.api.patch_node_status(
            self.NAME,
            {
                "status": {
                    "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                    "daemonEndpoints": {"kubeletEndpoint": {"Port": self._server.server_address[1]}},
                    "conditions": [
                        {"type": "Ready", "status": "True", "reason": "FakeNode", "message": "played by the tests"}
                    ],
                }
            },
        )
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._server.shutdown()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._step()
            except Exception as exc:  # keep playing; the tests see what went wrong
                self.errors.append(repr(exc))
            self._stop.wait(self.interval)

    def _bind(self, pod, node: str) -> None:
        body = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": pod.metadata.name},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node},
        }
        # The client cannot read a Binding back (a known quirk of its model): take the raw answer.
        self.api.create_namespaced_pod_binding(pod.metadata.name, pod.metadata.namespace, body, _preload_content=False)

    def _step(self) -> None:
        from kubernetes.client.exceptions import ApiException

        for pod in self.api.list_pod_for_all_namespaces(label_selector="skillship.io/skill").items:
            try:
                self._play(pod)
            except ApiException as exc:
                if exc.status != 404:  # a pod deleted meanwhile (its Job's retention, a destroy) is fine
                    raise

    def _play(self, pod) -> None:
        if pod.metadata.deletion_timestamp:
            # The kubelet confirms a bound pod's deletion once its containers stopped.
            self.api.delete_namespaced_pod(pod.metadata.name, pod.metadata.namespace, grace_period_seconds=0)
            return
        if pod.status.phase in ("Succeeded", "Failed"):
            return
        outcome = self.outcome(pod)
        if outcome == "pending":
            return
        if not pod.spec.node_name:
            self._bind(pod, self.GONE if outcome == "vanish" else self.NAME)
        now = datetime.datetime.now(datetime.UTC).isoformat()
        containers = pod.spec.containers
        if any(owner.kind == "ReplicaSet" for owner in pod.metadata.owner_references or []):
            outcome = "serve"  # a daemon's pod: it runs, ready, until deleted
        if outcome in ("hold", "serve"):
            if pod.status.phase != "Running":
                self._next_ip += 1
                self._patch(
                    pod,
                    {
                        "phase": "Running",
                        "startTime": now,
                        "hostIP": "127.0.0.1",
                        "podIP": f"10.244.{self._next_ip // 250}.{self._next_ip % 250 + 1}",
                        "containerStatuses": [
                            {
                                "name": c.name,
                                "image": c.image,
                                "imageID": "",
                                "ready": True,
                                "restartCount": 0,
                                "started": True,
                                "state": {"running": {"startedAt": now}},
                            }
                            for c in containers
                        ],
                    },
                    now,
                    ready=True,
                )
            return
        code, phase, reason = (1, "Failed", "Error") if outcome == "fail" else (0, "Succeeded", "Completed")
        self._patch(
            pod,
            {
                "phase": phase,
                "startTime": now,
                "containerStatuses": [
                    {
                        "name": c.name,
                        "image": c.image,
                        "imageID": "",
                        "ready": False,
                        "restartCount": 0,
                        "started": False,
                        "state": {
                            "terminated": {"exitCode": code, "reason": reason, "startedAt": now, "finishedAt": now}
                        },
                    }
                    for c in containers
                ],
            },
            now,
        )

    def _patch(self, pod, status: dict, now: str, *, ready: bool = False) -> None:
        status["conditions"] = [{"type": "PodScheduled", "status": "True", "lastTransitionTime": now}]
        if ready:
            status["conditions"] += [
                {"type": kind, "status": "True", "lastTransitionTime": now}
                for kind in ("Initialized", "ContainersReady", "Ready")
            ]
        self.api.patch_namespaced_pod_status(pod.metadata.name, pod.metadata.namespace, {"status": status})
