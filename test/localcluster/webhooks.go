package localcluster

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// InstallWebhooks renders the chart's webhook configurations, as shipped,
// for a release in namespace, and registers them with the cluster pointing
// at a local server on 127.0.0.1. The returned options say where the
// manager must serve, and the temporary directory holding its serving
// certificate.
func InstallWebhooks(cfg *rest.Config, repoRoot, namespace string) (*envtest.WebhookInstallOptions, error) {
	out, err := exec.Command("go", "tool", "-modfile="+filepath.Join(repoRoot, "tools", "go.mod"),
		"helm", "template", "taskgate", filepath.Join(repoRoot, "charts", "taskgate"),
		"--namespace", namespace, "--show-only", "templates/webhooks.yaml").Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return nil, fmt.Errorf("rendering the chart's webhooks: %w: %s", err, ee.Stderr)
		}
		return nil, fmt.Errorf("rendering the chart's webhooks: %w", err)
	}
	dir, err := os.MkdirTemp("", "taskgate-webhooks-")
	if err != nil {
		return nil, fmt.Errorf("creating a directory for the webhooks: %w", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "webhooks.yaml")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		return nil, fmt.Errorf("writing webhooks: %w", err)
	}
	// envtest's own choice of port can race outgoing connections; see
	// freePort.
	port, err := freePortNumber()
	if err != nil {
		return nil, err
	}
	hooks := &envtest.WebhookInstallOptions{Paths: []string{path}, LocalServingHost: "127.0.0.1", LocalServingPort: port}
	if err := hooks.Install(cfg); err != nil {
		return nil, fmt.Errorf("installing webhooks: %w", err)
	}
	return hooks, nil
}

// InstallWebhooks registers the chart's webhooks as the package function
// does, for a manager that serves them in this process's network
// namespace: a forwarder inside the cluster's takes the apiserver's calls
// to 127.0.0.1 there. A manager started with ManagerOptions.Cluster serves
// them inside and needs no forwarder: use the package function for it.
func (c *Cluster) InstallWebhooks(namespace string) (*envtest.WebhookInstallOptions, error) {
	hooks, err := InstallWebhooks(c.Config, c.RepoRoot, namespace)
	if err != nil {
		return nil, err
	}
	if _, err := c.ForwardIn(hooks.LocalServingPort); err != nil {
		return nil, err
	}
	return hooks, nil
}
