//go:build tools

// Package tools names the command this wrapper module builds, so `go mod tidy` keeps it.
package tools

import _ "github.com/pulumi/pulumi-kubernetes/provider/v4/cmd/pulumi-resource-kubernetes"
