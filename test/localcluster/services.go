package localcluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// networkPackages are the commands the cluster's network needs: util-linux
// makes and enters the namespace, iproute2 sets up its links, and
// kube-proxy's nftables mode runs nft.
var networkPackages = map[string]string{
	"unshare": "util-linux", "nsenter": "util-linux", "ip": "iproute2", "nft": "nftables",
}

func checkNetworkPrerequisites() error {
	if os.Geteuid() != 0 {
		return errors.New("the local cluster runs in a network namespace of its own, which needs root")
	}
	return checkPackages("the cluster's network", networkPackages)
}

// startServices starts kube-proxy and CoreDNS in the cluster's namespace and
// publishes CoreDNS as kube-dns, then waits until a name resolves through
// the kube-dns Service: that needs CoreDNS serving and kube-proxy's rules
// in place.
func (c *Cluster) startServices(ctx context.Context, _ Options) error {
	ports := make([]string, 4)
	for i := range ports {
		var err error
		if ports[i], err = freePort(); err != nil {
			return err
		}
	}
	if _, err := c.start("kube-proxy", c.Binaries.KubeProxy, []string{
		"--kubeconfig=" + c.Kubeconfig, "--hostname-override=" + RealNodeName,
		"--proxy-mode=nftables", "--cluster-cidr=" + PodCIDR,
		// nf_conntrack_max is the machine's; the timeouts kube-proxy sets
		// are the namespace's own.
		"--conntrack-max-per-core=0",
		"--healthz-bind-address=127.0.0.1:" + ports[0], "--metrics-bind-address=127.0.0.1:" + ports[1], "--v=2",
	}, nil); err != nil {
		return err
	}
	corefile := filepath.Join(c.Dir, "Corefile")
	if err := os.WriteFile(corefile, []byte(corefileFor(c.Kubeconfig, ports[2], ports[3])), 0o644); err != nil {
		return fmt.Errorf("writing the Corefile: %w", err)
	}
	coredns, err := c.start("coredns", c.Binaries.CoreDNS, []string{"-conf", corefile}, nil)
	if err != nil {
		return err
	}
	cl, err := c.Client()
	if err != nil {
		return fmt.Errorf("creating client: %w", err)
	}
	if err := applyManifest(ctx, cl, kubeDNSManifest); err != nil {
		return err
	}
	resolver := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return c.network.DialContext(ctx, network, net.JoinHostPort(DNSServiceIP, "53"))
	}}
	var last error
	if err := poll(ctx, func() (bool, error) {
		if err := coredns.exited(); err != nil {
			return false, err
		}
		// Until kube-proxy has the Service's rules, a query goes nowhere
		// and would wait out the resolver's 5 s.
		attempt, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		var addrs []string
		addrs, last = resolver.LookupHost(attempt, "kubernetes.default.svc.cluster.local")
		return slices.Equal(addrs, []string{KubernetesServiceIP}), nil
	}); err != nil {
		return fmt.Errorf("waiting for kubernetes.default.svc.cluster.local to resolve through kube-dns (last: %v): %w", last, err)
	}
	return nil
}

// corefileFor serves the cluster's names on NodeIP. It has no forward
// plugin: a name outside cluster.local fails at once, and no query leaves
// the namespace.
func corefileFor(kubeconfig, healthPort, readyPort string) string {
	return `.:53 {
    bind ` + NodeIP + `
    errors
    health 127.0.0.1:` + healthPort + `
    ready 127.0.0.1:` + readyPort + `
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig ` + kubeconfig + `
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }
    cache 30
    loadbalance
}
`
}

// kubeDNSManifest is the kube-dns Service at the address kubelet gives pods
// as their nameserver, and its endpoint: CoreDNS, a process on the node's
// address rather than a pod, so DNS is up before any pod.
const kubeDNSManifest = `apiVersion: v1
kind: Service
metadata: {name: kube-dns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  clusterIP: ` + DNSServiceIP + `
  ports:
  - {name: dns, port: 53, protocol: UDP, targetPort: 53}
  - {name: dns-tcp, port: 53, protocol: TCP, targetPort: 53}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: kube-dns-coredns
  namespace: kube-system
  labels: {kubernetes.io/service-name: kube-dns, endpointslice.kubernetes.io/managed-by: localcluster.taskgate.dev}
addressType: IPv4
endpoints:
- addresses: [` + NodeIP + `]
  conditions: {ready: true}
ports:
- {name: dns, port: 53, protocol: UDP}
- {name: dns-tcp, port: 53, protocol: TCP}
`

// HTTPClient returns a client whose connections start inside the cluster's
// network namespace, for a test to reach pods and Services.
func (c *Cluster) HTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: c.network.DialContext}}
}
