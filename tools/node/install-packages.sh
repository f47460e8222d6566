#!/usr/bin/env bash
# Installs the real node's pieces that come from Debian, when missing: containerd (1.6), runc, the
# CNI plugins (/usr/lib/cni), iptables and conntrack for kube-proxy, ipset for kube-router's
# firewall, mmdebstrap for the base image; and rsync, with which gitlab-ci-local copies the project
# for each job it runs (tools/gitlab-ci-local).
# Nothing is started or enabled: the suite runs them itself, inside its own namespaces.
# With --check it installs nothing: it names what is missing and exits 1 (the real-node fixture's
# check: tests install nothing on the host; .ci/run and README.md run this script).
set -euo pipefail
packages=(containerd runc containernetworking-plugins iptables conntrack ipset mmdebstrap rsync)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "  node packages: installed" >&2
  exit 0
fi
if [ "${1:-}" = "--check" ]; then
  echo "${missing[*]}"
  exit 1
fi
echo "  node packages: installing ${missing[*]} ..." >&2
export DEBIAN_FRONTEND=noninteractive
# policy-rc.d: a package's maintainer scripts must not start its daemon on the host.
policy="${SKILLSHIP_POLICY_RC_D:-/usr/sbin/policy-rc.d}"  # another path only for its own tests
created_policy=0
if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; created_policy=1; fi
trap '[ "$created_policy" = 1 ] && rm -f "$policy"' EXIT
# Two callers at once (pytest workers) wait for apt's own lock rather than fail on it.
apt-get -o DPkg::Lock::Timeout=300 update -qq
apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >&2
# policy-rc.d kept containerd from starting, but its package still enabled the service for the
# next boot: a test host must not start a container runtime by itself. Only when this script
# installed it: a containerd the machine had before keeps its own state.
for package in "${missing[@]}"; do
  if [ "$package" = containerd ] && command -v systemctl >/dev/null; then
    systemctl disable containerd.service >&2  # works on the unit links with or without systemd running
  fi
done
