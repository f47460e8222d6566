//go:build tools

// Package tools names the command this wrapper module builds, so `go mod tidy` keeps it. The real
// node runs only its firewall controller: NetworkPolicies enforced with iptables and ipset.
package tools

import _ "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router"
