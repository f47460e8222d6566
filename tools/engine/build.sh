#!/usr/bin/env bash
# Builds the engine pieces the end-to-end tests run, from their Go modules (Go module proxy only):
#   pulumi                      github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
#   pulumi-resource-kubernetes  github.com/pulumi/pulumi-kubernetes/provider/v4/cmd/pulumi-resource-kubernetes
#   kube-apiserver              k8s.io/kubernetes/cmd/kube-apiserver
#   kube-controller-manager     k8s.io/kubernetes/cmd/kube-controller-manager
#   etcd                        go.etcd.io/etcd/server/v3
# Each comes from a wrapper module beside this script (README there). Binaries are cached in
# $SKILLSHIP_ENGINE_CACHE (default ~/.cache/skillship-engine), keyed by the wrapper's go.mod and
# go.sum and the build's flags (tools/cached-go-build.sh), so a warm run only checks that they are
# there; any number of callers may run it at once. Prints the bin folder on its last line.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../cached-go-build.sh
source "$here/../cached-go-build.sh"
use_shared_go_settings

build() {  # build WRAPPER OUTPUT PACKAGE [LDFLAGS] [PREPARE]
  cached_go_build "$cache" "$here/$1" "${@:2}"
}

provider_version="4.0.0-20260115033456-f47bc2d6f199"

# The provider's main package embeds its schema with the release version stamped in; upstream makes
# that file with `go generate` before building. Do the same on a copy of the main package, inside
# the wrapper's temporary work folder (the module cache is read-only).
prepare_provider() {
  local source
  # `go list -m` names the folder only once the module is downloaded: download it first.
  go mod download github.com/pulumi/pulumi-kubernetes/provider/v4
  source="$(go list -m -f '{{.Dir}}' github.com/pulumi/pulumi-kubernetes/provider/v4)/cmd/pulumi-resource-kubernetes"
  [ -f "$source/main.go" ] || { echo "provider sources not found at $source" >&2; return 1; }
  mkdir -p cmd/pulumi-resource-kubernetes
  cp "$source"/{main.go,generate.go,schema.json,terraform-mapping.json} cmd/pulumi-resource-kubernetes/
  chmod -R u+w cmd
  (cd cmd/pulumi-resource-kubernetes && VERSION="$provider_version" go run generate.go)
}
build etcd etcd go.etcd.io/etcd/server/v3
build kubernetes kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
build kubernetes kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager
build pulumi pulumi github.com/pulumi/pulumi/pkg/v3/cmd/pulumi \
  "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v3.274.1"
build provider pulumi-resource-kubernetes ./cmd/pulumi-resource-kubernetes \
  "-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$provider_version" prepare_provider
echo "$cache/bin"
