package localcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

// RegistryHost is where the cluster's registry listens inside the cluster's
// network namespace, for the real node's containerd to pull from: an image
// reference such as RegistryHost+"/taskgate/taskgate@sha256:..." works in
// a pod spec as it would with any registry. The namespace is the cluster's
// own, so the fixed port cannot collide with the machine's.
const RegistryHost = "127.0.0.1:5000"

// Registry is an in-memory OCI registry (go-containerregistry's
// pkg/registry) that the process owning the cluster serves, reached from
// both sides of the cluster's network namespace: the real node pulls at
// RegistryHost inside it, and a test or tool pushes at Addr on the
// machine's loopback. Both are loopback addresses, so nothing it serves
// leaves the machine; images live only as long as the cluster.
type Registry struct {
	// Addr is host:port on 127.0.0.1 in the machine's network namespace,
	// for pushing: the repository and digest are the same at RegistryHost.
	Addr string

	server *http.Server
}

// Registry is the cluster's registry, or nil without Options.RealNode (no
// node of the cluster pulls images then).
func (c *Cluster) Registry() *Registry { return c.registry }

// startRegistry serves the registry on RegistryHost inside the cluster's
// namespace and on a free port of 127.0.0.1 outside it. containerd learns
// to use plain HTTP for RegistryHost from registryHostsTOML.
func (c *Cluster) startRegistry(_ context.Context, opts Options) error {
	inside, err := c.network.listen(RegistryHost)
	if err != nil {
		return fmt.Errorf("listening on %s in the cluster's namespace: %w", RegistryHost, err)
	}
	outside, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = inside.Close()
		return fmt.Errorf("listening on 127.0.0.1 for the registry: %w", err)
	}
	r := &Registry{
		Addr: outside.Addr().String(),
		server: &http.Server{
			// The registry logs every request; a pull is dozens of them.
			Handler:           registry.New(registry.Logger(log.New(io.Discard, "", 0))),
			ReadHeaderTimeout: 10 * time.Second,
		},
	}
	for _, l := range []net.Listener{inside, outside} {
		go func() {
			if err := r.server.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				opts.Logf("the registry on %s stopped: %v", l.Addr(), err)
			}
		}()
	}
	c.registry = r
	return nil
}

// stop closes both listeners and every connection.
func (r *Registry) stop() {
	if r != nil {
		_ = r.server.Close()
	}
}

// registryHostsTOML is containerd's hosts.toml for RegistryHost: plain
// HTTP, pull and resolve only, so containerd neither tries TLS nor falls
// back to any other host.
func registryHostsTOML() string {
	return `server = "http://` + RegistryHost + `"

[host."http://` + RegistryHost + `"]
  capabilities = ["pull", "resolve"]
`
}
