#!/usr/bin/env bash
# Builds the image builder's pieces from their Go modules (Go module proxy only), into the same
# cache as the engine (tools/engine/build.sh), so one bin folder holds everything pulumi runs:
#   pulumi-resource-docker-build  github.com/pulumi/pulumi-docker-build/provider/cmd/pulumi-resource-docker-build
#   buildkitd, buildctl           github.com/moby/buildkit/cmd/... at the version that provider links
# The wrapper module beside this script pins both (README there). Prints the bin folder on its last line.
# The real-node suite (harness/realnode) runs it; so does .ci/run, before the tests.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../cached-go-build.sh
source "$here/../cached-go-build.sh"
use_shared_go_settings

docker_build_version="0.0.22"  # the pulumi-docker-build Python package pyproject.toml installs: keep them equal
buildkit_version="v0.31.0"     # what that provider's go.mod requires

cached_go_build "$cache" "$here" pulumi-resource-docker-build \
  github.com/pulumi/pulumi-docker-build/provider/cmd/pulumi-resource-docker-build \
  "-X github.com/pulumi/pulumi-docker-build/provider.Version=$docker_build_version"
for command in buildkitd buildctl; do
  cached_go_build "$cache" "$here" "$command" "github.com/moby/buildkit/cmd/$command" \
    "-X github.com/moby/buildkit/version.Version=$buildkit_version -X github.com/moby/buildkit/version.Package=github.com/moby/buildkit"
done
echo "$cache/bin"
