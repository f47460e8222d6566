"""The real node leaves the host as it found it, also when the suite is killed (harness/realnode).

Runs before the other real-node tests (file order), so that no node of the suite's is up while
it takes its readings.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from harness.realnode.environment import REPO, prepare
from harness.realnode.hoststate import reading
from harness.realnode.sandbox import wait_for_the_host

pytestmark = [pytest.mark.e2e, pytest.mark.realnode, pytest.mark.xdist_group("realnode")]


def test_a_killed_suite_leaves_the_host_as_it_found_it(tmp_path):
    bin_dir, rootfs = prepare()
    wait_for_the_host()
    before = reading()
    held = subprocess.Popen(
        [sys.executable, "-m", "harness.realnode.hold", str(tmp_path), str(bin_dir), str(rootfs)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=open(tmp_path / "hold.log", "wb"),
        text=True,
    )
    try:
        sandbox = held.stdout.readline().strip()
        assert sandbox, (tmp_path / "hold.log").read_text()[-3000:]
        during = reading()
        # It did change the host while it ran: a running pod's cgroups and the node's programs.
        assert any(sandbox in group for group in during["cgroups"]) and during["programs"] != before["programs"]
        # But never the host-wide kernel settings: the kubelet set the sandbox's own copies of them,
        # so not even a SIGKILL of the keeper as well could leave them changed.
        assert during["sysctls"] == before["sysctls"]
    finally:
        held.send_signal(signal.SIGKILL)
        held.wait()
    report_file = tmp_path / "guard-report.json"
    deadline = time.monotonic() + 90
    while not report_file.exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    report = json.loads(report_file.read_text())
    assert report["left_processes"] == [] and report["cgroups_removed"], report
    assert report["sysctls_restored"] == {}, report  # nothing to put back
    assert reading() == before
