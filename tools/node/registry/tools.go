//go:build tools

// Package tools names the command this wrapper module builds, so `go mod tidy` keeps it.
package tools

import _ "github.com/distribution/distribution/v3/cmd/registry"
