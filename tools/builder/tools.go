//go:build tools

// Package tools names the commands this wrapper module builds, so `go mod tidy` keeps them.
package tools

import (
	_ "github.com/moby/buildkit/cmd/buildctl"
	_ "github.com/moby/buildkit/cmd/buildkitd"
	_ "github.com/pulumi/pulumi-docker-build/provider/cmd/pulumi-resource-docker-build"
)
