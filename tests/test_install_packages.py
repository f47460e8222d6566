"""tools/node/install-packages.sh, run against stand-ins for dpkg-query, apt-get and systemctl that
record what they were asked: what a test host is left with is decided by these calls."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

SCRIPT = REPO / "tools/node/install-packages.sh"
PACKAGES = (
    "containerd",
    "runc",
    "containernetworking-plugins",
    "iptables",
    "conntrack",
    "ipset",
    "mmdebstrap",
    "rsync",
)


def _tool(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f'#!/bin/sh\necho "{name} $*" >> "$CALLS"\n{body}\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.fixture
def host(tmp_path):
    """A PATH whose dpkg-query reports the packages listed in $INSTALLED as installed."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _tool(
        bin_dir,
        "dpkg-query",
        'for p in $INSTALLED; do [ "$p" = "$3" ] && { printf "install ok installed"; exit 0; }; done; exit 1',
    )
    _tool(bin_dir, "apt-get", '[ -x "$SKILLSHIP_POLICY_RC_D" ] && echo "policy-rc.d in place" >> "$CALLS"; exit 0')
    _tool(bin_dir, "systemctl", "exit 0")

    def run(installed: tuple[str, ...], *args: str) -> tuple[subprocess.CompletedProcess, list[str]]:
        calls = tmp_path / "calls"
        calls.write_text("")
        env = {
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "CALLS": str(calls),
            "INSTALLED": " ".join(installed),
            "HOME": str(tmp_path),
            "SKILLSHIP_POLICY_RC_D": str(tmp_path / "policy-rc.d"),
        }
        done = subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, env=env)
        return done, calls.read_text().splitlines()

    return run


def test_a_containerd_it_installs_is_left_disabled_and_never_started(host, tmp_path):
    done, calls = host(tuple(p for p in PACKAGES if p != "containerd"))
    assert done.returncode == 0, done.stderr
    assert any(c.startswith("apt-get ") and c.endswith(" containerd") for c in calls), calls
    assert "systemctl disable containerd.service" in calls
    # While apt ran, a policy-rc.d kept maintainer scripts from starting daemons; it is gone after.
    assert calls.count("policy-rc.d in place") == 2  # update, install
    assert not (tmp_path / "policy-rc.d").exists()


def test_a_policy_the_host_has_is_kept(host, tmp_path):
    (tmp_path / "policy-rc.d").write_text("#!/bin/sh\nexit 101\n")
    done, _ = host(tuple(p for p in PACKAGES if p != "ipset"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "policy-rc.d").read_text() == "#!/bin/sh\nexit 101\n"


def test_a_containerd_the_host_had_keeps_its_state(host):
    done, calls = host(tuple(p for p in PACKAGES if p != "ipset"))
    assert done.returncode == 0, done.stderr
    assert not [c for c in calls if c.startswith("systemctl")], calls


def test_check_installs_nothing_and_names_what_is_missing(host):
    done, calls = host(tuple(p for p in PACKAGES if p not in ("ipset", "runc")), "--check")
    assert done.returncode == 1
    assert done.stdout.split() == ["runc", "ipset"]
    assert not [c for c in calls if not c.startswith("dpkg-query")], calls


def test_nothing_missing_runs_nothing(host):
    done, calls = host(PACKAGES)
    assert done.returncode == 0 and "installed" in done.stderr
    assert not [c for c in calls if not c.startswith("dpkg-query")], calls
