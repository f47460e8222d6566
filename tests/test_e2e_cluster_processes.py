"""The e2e control plane's processes die with the test process, even when it is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from harness.cluster import spawn_tied

REPO = Path(__file__).resolve().parents[1]
PARENT = """
import subprocess, time
from harness.cluster import spawn_tied
child = spawn_tied(["sleep", "120"], subprocess.DEVNULL)
print(child.pid, flush=True)
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie waiting for init to reap it is dead


def test_a_killed_test_process_takes_its_control_plane_with_it():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], cwd=REPO, stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    try:
        assert _alive(child)
        parent.send_signal(signal.SIGKILL)  # no finally, no atexit: only the kernel can clean up
        parent.wait()
        deadline = time.monotonic() + 10
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(child), "the child outlived its killed parent"
    finally:
        if _alive(child):
            os.kill(child, signal.SIGKILL)


def test_a_living_test_process_keeps_its_child_running():
    child = spawn_tied(["sleep", "30"], subprocess.DEVNULL)
    try:
        time.sleep(0.2)
        assert child.poll() is None
        assert os.getpgid(child.pid) == child.pid  # its own session, so stop() can signal the group
    finally:
        child.kill()
        child.wait()
