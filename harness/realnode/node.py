"""A real node inside the sandbox: containerd + runc, the kubelet, kube-proxy, CoreDNS, kube-scheduler,
and kube-router's firewall.

Pods get real network from the CNI bridge plugin (10.244.0.0/24 on `cni0`); Services route through
kube-proxy's iptables rules; cluster DNS is CoreDNS on the node's address, answering Service names
from the API server. NetworkPolicies hold: kube-router runs only its firewall controller, which
turns them into iptables chains and ipsets (bridge netfilter makes traffic between two pods of
the bridge pass through them), as a user's enforcing network would.

All of it lives in the sandbox's namespaces and cgroups (sandbox.py), so its rules, links and mounts
never touch the host's. containerd, runc, the CNI plugins and ipset are Debian's
(tools/node/install-packages.sh); the rest is built by tools/node/build.sh.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import yaml

from harness.cluster import CONTROLLERS, SERVICE_SUBNET, Cluster, free_port, spawn_tied
from harness.realnode.registry import Registry
from harness.realnode.sandbox import Sandbox

NODE_NAME = "skillship-node"
POD_SUBNET = "10.244.0.0/24"
CNI_PLUGINS = Path("/usr/lib/cni")
# A real node also needs the controller that lifts the not-ready taint the kubelet registers with.
CONTROLLERS_WITH_NODE = CONTROLLERS + ",node-lifecycle-controller,root-ca-certificate-publisher-controller"
CONTAINERD_SOCKET = "/run/containerd/containerd.sock"  # inside the sandbox: a tmpfs of its own
# kube-router's top chain for traffic between pods: once it is in FORWARD, policies are enforced.
POLICY_CHAIN = "KUBE-ROUTER-FORWARD"


class Node:
    def __init__(
        self,
        directory: Path,
        bin_dir: Path,
        sandbox: Sandbox,
        cluster: Cluster,
        registries: list[Registry],
        pause: tuple[str, Path],
    ) -> None:
        """`pause`: the sandbox image's name and its archive, which the node preloads."""
        self.directory = directory
        self.bin_dir = bin_dir
        self.sandbox = sandbox
        self.cluster = cluster
        self.registries = registries
        self.pause_image, self.pause_archive = pause
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, timeout: float = 120) -> Node:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._spawn("containerd", ["/usr/bin/containerd", "--config", str(self._containerd_config())])
        self._wait_for(lambda: Path(f"/proc/{self.sandbox.pid}/root{CONTAINERD_SOCKET}").exists(), "containerd", 30)
        self._preload(self.pause_archive)
        kubeconfig = str(self.cluster.kubeconfig)
        self._spawn(
            "kube-scheduler",
            [
                str(self.bin_dir / "kube-scheduler"),
                "--kubeconfig",
                kubeconfig,
                "--authentication-kubeconfig",
                kubeconfig,
                "--authorization-kubeconfig",
                kubeconfig,
                "--leader-elect=false",
                "--bind-address",
                "127.0.0.1",
                "--secure-port",
                str(free_port()),
                "--v=0",
            ],
        )
        self._spawn(
            "kubelet",
            [
                str(self.bin_dir / "kubelet"),
                "--config",
                str(self._kubelet_config()),
                "--kubeconfig",
                kubeconfig,
                "--hostname-override",
                NODE_NAME,
                "--node-ip",
                self.sandbox.NODE_IP,
                "--root-dir",
                "/var/lib/kubelet",
                "--v=1",
            ],
        )
        self._spawn(
            "kube-proxy",
            [
                str(self.bin_dir / "kube-proxy"),
                "--kubeconfig",
                kubeconfig,
                "--hostname-override",
                NODE_NAME,
                "--proxy-mode",
                "iptables",
                "--cluster-cidr",
                POD_SUBNET,
                "--bind-address",
                self.sandbox.NODE_IP,
                # No conntrack tuning: those settings are not all per namespace.
                "--conntrack-max-per-core",
                "0",
                "--conntrack-min",
                "0",
                "--conntrack-tcp-timeout-established",
                "0",
                "--conntrack-tcp-timeout-close-wait",
                "0",
                "--healthz-bind-address",
                f"127.0.0.1:{free_port()}",
                "--metrics-bind-address",
                f"127.0.0.1:{free_port()}",
                "--v=0",
            ],
        )
        corefile = self.directory / "Corefile"
        corefile.write_text(
            f"cluster.local:53 {{\n  bind {self.sandbox.NODE_IP}\n  errors\n"
            f"  kubernetes cluster.local {{\n    kubeconfig {kubeconfig} e2e\n  }}\n}}\n"
        )
        self._spawn("coredns", [str(self.bin_dir / "coredns"), "-conf", str(corefile)])
        self._wait_ready(timeout)
        # The firewall reads its node object at start, so it starts once the kubelet registered it.
        self._spawn(
            "kube-router",
            [
                str(self.bin_dir / "kube-router"),
                "--kubeconfig",
                kubeconfig,
                "--hostname-override",
                NODE_NAME,
                "--run-firewall=true",
                "--run-router=false",
                "--run-service-proxy=false",
                "--service-cluster-ip-range",
                SERVICE_SUBNET,
                "--health-port=0",
                "--metrics-port=0",
                "--v=1",
            ],
        )
        self._wait_for(self._policies_enforced, "kube-router's firewall", 60)
        return self

    def serve_outside(self, address: str, port: int) -> None:
        """A host beyond the cluster's pods for egress tests: `address` on the node's bridge, with an
        HTTP server on `port`. Pods reach it through their gateway, as they would reach a host of
        the user's network; it goes with the sandbox."""
        self.sandbox.run(["ip", "addr", "add", f"{address}/32", "dev", "node0"], check=True)
        root = self.directory / f"served-{address}"
        root.mkdir(exist_ok=True)
        argv = ["python3", "-m", "http.server", "--bind", address, "--directory", str(root), str(port)]
        self._spawn(f"http-{address}", argv)
        self._wait_for(lambda: self._listening(address, port), f"the server on {address}:{port}", 30)

    def _listening(self, address: str, port: int) -> bool:
        done = self.sandbox.run(["ss", "-Htln", f"src {address}:{port}"], capture_output=True, text=True)
        return bool(done.stdout.strip())

    def _policies_enforced(self) -> bool:
        done = self.sandbox.run(["iptables", "-S", "FORWARD"], capture_output=True, text=True)
        return done.returncode == 0 and f"-j {POLICY_CHAIN}" in done.stdout

    def _preload(self, archive: Path) -> None:
        """An image into the CRI's namespace of containerd, as a node's provisioning preloads one."""
        done = subprocess.run(
            self.sandbox.command(
                [
                    "/usr/bin/ctr",
                    "--address",
                    CONTAINERD_SOCKET,
                    "--namespace",
                    "k8s.io",
                    "images",
                    "import",
                    str(archive),
                ]
            ),
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"ctr images import {archive} failed: {done.stderr[-2000:]}")

    def _spawn(self, name: str, argv: list[str]) -> None:
        log = open(self.directory / f"{name}.log", "wb")
        self.processes[name] = spawn_tied(self.sandbox.command(argv), log)

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.directory / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def _wait_for(self, condition, what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited early:\n{self.log_tail(name)}")
            if condition():
                return
            time.sleep(0.5)
        raise RuntimeError(f"{what} was not ready within {timeout} s")

    def _wait_ready(self, timeout: float) -> None:
        from kubernetes import client, config

        api = client.CoreV1Api(config.new_client_from_config(str(self.cluster.kubeconfig)))

        def ready() -> bool:
            try:
                node = api.read_node(NODE_NAME)
            except client.exceptions.ApiException:
                return False
            return any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])

        try:
            self._wait_for(ready, f"node {NODE_NAME}", timeout)
        except RuntimeError as exc:
            raise RuntimeError(
                f"{exc}\nkubelet:\n{self.log_tail('kubelet')}\ncontainerd:\n{self.log_tail('containerd')}"
            ) from None

    def _containerd_config(self) -> Path:
        cni = self.directory / "cni"
        cni.mkdir(exist_ok=True)
        (cni / "10-skillship.conflist").write_text(
            json.dumps(
                {
                    "cniVersion": "0.4.0",
                    "name": "skillship-e2e",
                    "plugins": [
                        {
                            "type": "bridge",
                            "bridge": "cni0",
                            "isGateway": True,
                            "ipMasq": False,
                            "hairpinMode": True,
                            "ipam": {
                                "type": "host-local",
                                "ranges": [[{"subnet": POD_SUBNET}]],
                                "routes": [{"dst": "0.0.0.0/0"}],
                                "dataDir": str(self.directory / "ipam"),
                            },
                        }
                    ],
                }
            )
        )
        # HTTPS with the suite's CA: without a hosts.toml, containerd speaks plain HTTP to loopback.
        for registry in self.registries:
            hosts = self.directory / "certs.d" / registry.host
            hosts.mkdir(parents=True, exist_ok=True)
            (hosts / "hosts.toml").write_text(
                f'server = "https://{registry.host}"\n'
                f'[host."https://{registry.host}"]\n  capabilities = ["pull", "resolve"]\n'
                f'  ca = "{registry.ca_file}"\n'
            )
        cri = 'plugins."io.containerd.grpc.v1.cri"'
        config = self.directory / "containerd.toml"
        config.write_text(f"""version = 2
root = "{self.directory / "containerd"}"
state = "/run/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
                    "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs",
                    "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "{CONTAINERD_SOCKET}"
[{cri}]
  sandbox_image = "{self.pause_image}"
  # Root here lacks CAP_SYS_RESOURCE: without this every sandbox fails to start.
  restrict_oom_score_adj = true
  [{cri}.containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [{cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
  [{cri}.cni]
    bin_dir = "{CNI_PLUGINS}"
    conf_dir = "{cni}"
  # The node trusts the registry's CA and holds no credentials: every pull of a task's image
  # authenticates with the pull Secret its ServiceAccount names.
  [{cri}.registry]
    config_path = "{self.directory / "certs.d"}"
""")
        config.chmod(0o600)
        return config

    def _kubelet_config(self) -> Path:
        pki = self.cluster.pki
        resolv = self.directory / "resolv.conf"
        resolv.write_text("")
        config = {
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "kind": "KubeletConfiguration",
            # Kubernetes 1.34 still runs on cgroup v1 when told to; these machines have v1.
            "failCgroupV1": False,
            "cgroupDriver": "cgroupfs",
            "cgroupRoot": f"/{self.sandbox.name}",
            "containerRuntimeEndpoint": f"unix://{CONTAINERD_SOCKET}",
            "address": self.sandbox.NODE_IP,
            "port": free_port(),
            "readOnlyPort": 0,
            "healthzBindAddress": "127.0.0.1",
            "healthzPort": free_port(),
            "tlsCertFile": str(pki["kubelet.crt"]),
            "tlsPrivateKeyFile": str(pki["kubelet.key"]),
            "authentication": {
                "anonymous": {"enabled": False},
                "webhook": {"enabled": False},
                "x509": {"clientCAFile": str(pki["ca.crt"])},
            },
            "authorization": {"mode": "AlwaysAllow"},
            "clusterDNS": [self.sandbox.NODE_IP],
            "clusterDomain": "cluster.local",
            "resolvConf": str(resolv),
            "failSwapOn": False,
            "serializeImagePulls": False,
            "localStorageCapacityIsolation": False,
            "nodeStatusUpdateFrequency": "4s",
            "syncFrequency": "5s",
            "evictionHard": {"memory.available": "100Mi", "nodefs.available": "2%", "imagefs.available": "2%"},
            "imageGCHighThresholdPercent": 99,
            "imageGCLowThresholdPercent": 98,
        }
        path = self.directory / "kubelet.yaml"
        path.write_text(yaml.safe_dump(config))
        return path

    def stop(self) -> None:
        for process in reversed(self.processes.values()):
            if process.poll() is None:
                process.terminate()
        for process in reversed(self.processes.values()):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
