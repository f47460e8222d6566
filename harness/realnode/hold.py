"""`python -m harness.realnode.hold DIR BIN_DIR ROOTFS`: bring the real node up, run a pod that keeps
running, print "ready", and wait to be killed. The test that kills it (SIGKILL: no clean-up code
of this process runs) then checks that the keeper put the host back all the same.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from harness.realnode.buildkit import BASE_IMAGE
from harness.realnode.environment import RealNode


def main(directory: Path, bin_dir: Path, rootfs: Path) -> None:
    from kubernetes import client, config

    environment = RealNode(directory, bin_dir, rootfs).__enter__()
    api = client.CoreV1Api(config.new_client_from_config(str(environment.cluster.kubeconfig)))
    # The base image is in the public registry, which anyone may pull from.
    api.create_namespaced_pod(
        "default",
        {
            "metadata": {"name": "held"},
            "spec": {
                "containers": [
                    {
                        "name": "sleeper",
                        "image": f"{environment.public_registry.host}/{BASE_IMAGE}",
                        "command": ["sleep", "3600"],
                    }
                ],
            },
        },
    )
    deadline = time.monotonic() + 120
    while api.read_namespaced_pod("held", "default").status.phase != "Running":
        if time.monotonic() > deadline:
            raise SystemExit("the held pod did not start")
        time.sleep(0.5)
    print(environment.sandbox.name, flush=True)
    time.sleep(3600)


if __name__ == "__main__":
    main(*map(Path, sys.argv[1:4]))
