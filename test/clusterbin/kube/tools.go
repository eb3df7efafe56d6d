//go:build tools

// Package kube pins the Kubernetes control-plane binaries that the local
// test cluster builds: kube-apiserver, kube-controller-manager and
// kube-scheduler at v1.36.3.
package kube

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
