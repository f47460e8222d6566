#!/usr/bin/env bash
# Builds the real node's pieces the end-to-end suite runs beside the engine (tools/engine/build.sh),
# from Go modules through the Go module proxy, into the same cache:
#   kubelet, kube-scheduler, kube-proxy  k8s.io/kubernetes/cmd/... from the engine's Kubernetes wrapper
#                                        (one version of Kubernetes for the control plane and the node)
#   coredns                              coredns/main.go: CoreDNS v1.15.0 with the plugins cluster DNS needs
#   registry                             github.com/distribution/distribution/v3/cmd/registry
#   pause                                pause/main.go: the pods' sandbox process
#   kube-router                          github.com/cloudnativelabs/kube-router/v2/cmd/kube-router: only its
#                                        firewall runs, enforcing NetworkPolicies (iptables + ipset)
# containerd, runc and the CNI plugins come from Debian (install-packages.sh). Prints the bin folder
# on its last line.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../cached-go-build.sh
source "$here/../cached-go-build.sh"
use_shared_go_settings

for command in kubelet kube-scheduler kube-proxy; do
  cached_go_build "$cache" "$here/../engine/kubernetes" "$command" "k8s.io/kubernetes/cmd/$command"
done
cached_go_build "$cache" "$here/coredns" coredns .
cached_go_build "$cache" "$here/registry" registry github.com/distribution/distribution/v3/cmd/registry
cached_go_build "$cache" "$here/pause" pause .
cached_go_build "$cache" "$here/kube-router" kube-router github.com/cloudnativelabs/kube-router/v2/cmd/kube-router
echo "$cache/bin"
