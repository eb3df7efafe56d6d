// Package e2e holds taskgate's tests on a real local control plane: etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler, kwok nodes, a
// real node (kubelet, containerd, runc), kube-proxy, CoreDNS and the Tekton
// controller, in a network namespace of the harness's own, started once
// per test run by TestMain. Each test works in a namespace of its own.
//
// What a process does (exit codes, env and files as it sees them, memory
// limits, signals on cancel and timeout, logs, image users against the
// security context) is tested on the real node, in namespaces from
// newRealNodeNamespace, and every such test checks with
// localcluster.CheckRealPod that kubelet alone wrote its pod's status.
// So is what crosses the network: pod to pod, Services by address, node
// port and name, a webhook the apiserver calls through a Service, a pod's
// in-cluster config, and a Task that migrates a real PostgreSQL. The test
// process sits outside the cluster's namespace and reaches its addresses
// only through cluster.DialContext and cluster.HTTPClient; the in-process
// manager's webhooks are reached through localcluster's forwarder.
// kwok's simulated pods stay for what needs many pods or a scripted
// outcome rather than a process: hundreds of Tasks for IDs, the cap and
// bursts, the fault tests (manager, leader and apiserver restarts, which
// need runs that outlive them at a chosen length), and the TTL and policy
// tests, where only the API objects matter.
package e2e
