//go:build tools

// Package kube pins the Kubernetes binaries that the local test cluster
// builds at v1.36.3: the control plane (kube-apiserver,
// kube-controller-manager, kube-scheduler), kubectl, and the real node's
// kubelet. kube-proxy is pinned with them for the cluster network.
package kube

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
