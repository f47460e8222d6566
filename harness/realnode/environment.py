"""Everything the real-node suite runs, brought up in order and taken down in reverse.

`prepare()` gets the pieces (Debian packages, the node's and the builder's binaries, the base
image's root file system), all cached after the first time. `RealNode` then starts, inside one
sandbox: the control plane (etcd, API server, controllers), the registry, a public registry (for
the base image, pulled without a login), BuildKit (publishing the base and pause images), and the
node (containerd, kubelet, kube-proxy, CoreDNS, scheduler, kube-router's firewall).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from harness import REPO
from harness.cluster import CONTROLLERS, Cluster
from harness.realnode.buildkit import BASE_IMAGE, PAUSE_IMAGE, BuildKit
from harness.realnode.node import CONTROLLERS_WITH_NODE, Node
from harness.realnode.registry import Registry
from harness.realnode.sandbox import Sandbox


class PreparationFailed(Exception):
    pass


def _script(path: str) -> str:
    done = subprocess.run(["bash", str(REPO / path)], capture_output=True, text=True)
    if done.returncode != 0:
        raise PreparationFailed(f"{path} failed:\n{done.stderr[-4000:]}")
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


INSTALL_PACKAGES = "tools/node/install-packages.sh"


def prepare() -> tuple[Path, Path]:
    """Builds what is missing into the cache; returns the folder of the node's and builder's binaries
    and the base image's root file system tar. Debian's packages it only checks: a test installs
    nothing on the host (.ci/run and README.md's set-up install them)."""
    check = subprocess.run(["bash", str(REPO / INSTALL_PACKAGES), "--check"], capture_output=True, text=True)
    if check.returncode != 0:
        raise PreparationFailed(
            f"the real node needs Debian packages that are missing ({check.stdout.strip()}): "
            f"install them with `sudo bash {INSTALL_PACKAGES}`"
        )
    # Both build into the one cache (SKILLSHIP_ENGINE_CACHE), so both print the same folder.
    [bin_dir] = {Path(_script(script)) for script in ("tools/builder/build.sh", "tools/node/build.sh")}
    return bin_dir, Path(_script("tools/node/base-image.sh"))


@dataclass
class RealNode:
    directory: Path
    bin_dir: Path
    rootfs: Path
    # Without a node (bench/builds.py): images build and push, Jobs are created and never run.
    with_node: bool = True
    sandbox: Sandbox = field(init=False)
    cluster: Cluster = field(init=False)
    registry: Registry = field(init=False)
    public_registry: Registry = field(init=False)
    buildkit: BuildKit = field(init=False)
    node: Node = field(init=False)
    report: dict = field(default_factory=dict)

    def __enter__(self) -> RealNode:
        self.sandbox = Sandbox(self.directory).start()
        try:
            self.cluster = Cluster(
                self.directory / "cluster",
                self.bin_dir,
                sandbox=self.sandbox,
                controllers=CONTROLLERS_WITH_NODE if self.with_node else CONTROLLERS,
            ).start()
            self.registry = Registry(self.directory / "registry", self.bin_dir, self.sandbox).start()
            self.public_registry = Registry(
                self.directory / "public-registry", self.bin_dir, self.sandbox, public_of=self.registry
            ).start()
            self.buildkit = BuildKit(
                self.directory / "buildkit", self.bin_dir, self.sandbox, self.registry, self.public_registry
            ).start()
            # Debian's Python standing in for the tag the example Dockerfiles name (docs/development.md:
            # "The base image is Debian's Python").
            self.buildkit.publish(
                BASE_IMAGE, 'FROM scratch\nADD rootfs.tar /\nCMD ["python3"]\n', {"rootfs.tar": self.rootfs}
            )
            if not self.with_node:
                return self
            # The pods' sandbox image is preloaded, as a node's image or its provisioning preloads
            # it: the node holds no registry credentials (docs/development.md, "The node").
            pause = self.buildkit.export(
                PAUSE_IMAGE,
                'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n',
                {"pause": self.bin_dir / "pause"},
            )
            self.node = Node(
                self.directory / "node",
                self.bin_dir,
                self.sandbox,
                self.cluster,
                [self.registry, self.public_registry],
                pause,
            ).start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        for piece in ("node", "buildkit", "public_registry", "registry", "cluster"):
            if piece in self.__dict__:
                try:
                    getattr(self, piece).stop()
                except Exception:  # the keeper kills whatever is left
                    pass
        self.report = self.sandbox.stop()

    def pulumi_env(self) -> dict[str, str]:
        """What `pulumi up` needs beside KUBECONFIG: BuildKit's buildx instance, and trust in the
        registry's CA for the docker-build provider's own registry client (refresh, delete)."""
        return {**self.buildkit.env(), "SSL_CERT_FILE": str(self.registry.trust_bundle)}
