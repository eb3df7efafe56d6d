// Package localcluster builds and runs a real, throw-away Kubernetes control
// plane on 127.0.0.1 for taskgate's tests and demo: etcd, kube-apiserver,
// kube-controller-manager and kube-scheduler (so the Job, garbage-collector
// and TTL-after-finished controllers run), kwok fake nodes, and the Tekton
// Pipelines controller. cert-manager's controller and cainjector are built
// with the rest but start only when a test asks (StartCertManager).
//
// Every binary is built from a pinned Go module under test/clusterbin into a
// cache directory keyed by the module's go.sum, so a fresh clone reuses what
// an earlier build left. Third-party code is configured, never patched.
package localcluster
