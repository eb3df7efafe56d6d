// Package localcluster builds and runs a real, throw-away Kubernetes cluster
// in a network namespace of its own for taskgate's tests and demo: etcd,
// kube-apiserver, kube-controller-manager and kube-scheduler (so the Job,
// garbage-collector and TTL-after-finished controllers run), kwok fake
// nodes, the Tekton Pipelines controller, kube-proxy, CoreDNS and, with
// Options.RealNode, one real node.
// cert-manager's controller and cainjector are built with the rest but
// start only when a test asks (StartCertManager).
//
// Every Go binary is built from a pinned Go module under test/clusterbin into
// a cache directory keyed by the module's go.sum, so a fresh clone reuses
// what an earlier build left. Third-party code is configured, never patched.
//
// # Simulated and real pods
//
// kwok's nodes simulate their pods: exit codes, run times and logs are
// scripted by annotations (AnnotationExitCode, AnnotationRunTime,
// AnnotationLogsFile), and thousands of pods cost almost nothing. kwok
// manages only nodes annotated kwok.x-k8s.io/node=fake, never the real
// node: with --manage-all-nodes it sometimes wrote the status of the real
// node's live pods.
//
// The real node, RealNodeName, is kubelet (built from k8s.io/kubernetes,
// the control plane's module and version) with containerd 1.6 and runc
// from Debian 12, pinned in hack/install-node-packages.sh. Debian's
// packages rather than the containerd and runc Go modules: runc needs cgo
// and libseccomp to build, containerd's shim and ctr are three more builds
// of a large module, and Debian's are the builds this machine's kind was
// proven with (../shared/research/real_node.md), installed in seconds
// rather than built in minutes. Its pods run real processes: kubelet
// alone writes their status, which CheckRealPod asserts.
//
// Pods reach the real node only from namespaces annotated with
// RealNodeAnnotations, through the apiserver's PodNodeSelector and
// PodTolerationRestriction admission plugins; the node's taint keeps every
// other pod on kwok. The harness builds each image the node runs with
// go-containerregistry (package nodeimage) and imports it into containerd,
// and the namespace has no route out, so a pull from any registry but the
// cluster's own would fail at once instead of leaving the machine.
//
// The cluster's registry (Cluster.Registry) is for images a test ships as
// an admin would, such as the manager's for the chart: go-containerregistry's
// in-memory pkg/registry, served by the process that owns the cluster on
// two loopback listeners, RegistryHost (127.0.0.1:5000) inside the
// cluster's namespace, where containerd pulls over plain HTTP as its
// hosts.toml says, and a free port of 127.0.0.1 outside, for pushes. A pod
// names RegistryHost/repository@digest. A pod that serves webhooks, such
// as the chart's manager, is called by the apiserver through its Service:
// the apiserver runs inside the namespace, so its connections to the
// ClusterIP go through kube-proxy's rules like any node's.
//
// # The cluster's network
//
// Every component runs in one network namespace that the harness makes
// (../shared/research/cluster_netns.md), with no link to the outside: only
// loopback, the real node's bridge cni0 and its pods' veths, and no
// default route. So pods, Services and the apiserver use ordinary cluster
// addresses (NodeIP, PodCIDR, ServiceCIDR) and nothing can leave the
// machine by construction. Pods on the real node get addresses of their
// own on the bridge from Debian's CNI plugins; kube-proxy (nftables mode,
// from the control plane's module) serves Services; CoreDNS (a main of our
// own with the plugins a cluster's names need, no forwarder) serves
// cluster.local as kube-dns. The apiserver listens on every address of the
// namespace, advertises NodeIP behind the Service "kubernetes", and serves
// a certificate the harness makes for the names in-cluster clients use.
//
// envtest starts etcd and the apiserver itself, so they start from an OS
// thread that has joined the namespace; everything else enters it with
// nsenter. The machine's own namespace reaches the cluster through
// forwarders on 127.0.0.1 that dial from such a thread (Cluster.Forward):
// the kubeconfig names 127.0.0.1 and works from both sides. A webhook that
// a test serves in its own process gets the reverse
// (Cluster.InstallWebhooks); a manager started with ManagerOptions.Cluster
// runs inside and needs none.
//
// The machine is left as it was found. kubelet and containerd share one
// private mount namespace, where tmpfs covers the paths they hard-code
// (/var/lib/kubelet, /run/containerd, /var/log/pods, ...) and files bound
// over the sysctls kubelet writes take its writes. Tear-down deletes the node's pods while kubelet
// runs, stops kubelet and containerd, kills whatever is left in the mount
// namespace or kubelet's cgroups, and removes the Node, its Lease, the
// cgroups and the scratch directory; the cluster's stop then kills
// whatever is left in its network namespace. The cluster needs root.
package localcluster
