// Package e2e holds taskgate's tests on a real local control plane: etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler, kwok nodes and the
// Tekton controller, started once per test run by TestMain. Each test works
// in a namespace of its own.
package e2e
