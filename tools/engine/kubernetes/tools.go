//go:build tools

// Package tools names the commands this wrapper module builds, so `go mod tidy` keeps them: the
// control plane the end-to-end suite always runs, and the node's pieces the real-node suite adds.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
