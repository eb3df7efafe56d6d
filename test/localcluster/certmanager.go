package localcluster

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// CertManagerVersion is the version of the pinned cert-manager module.
const CertManagerVersion = "v1.21.2"

// StartCertManager installs cert-manager's CRDs and starts its controller
// (self-signed and CA Issuers, Certificates) and its cainjector against the
// cluster, each bound to 127.0.0.1 in the cluster's namespace and without
// leader election, and waits
// until both are ready. The cluster does not start them by itself; calling
// this again once they run does nothing. Stop stops them with the rest. Do
// not call it from parallel tests.
func (c *Cluster) StartCertManager(ctx context.Context) error {
	if c.running("cert-manager-controller") && c.running("cert-manager-cainjector") {
		return nil
	}
	if err := c.installCertManagerCRDs(ctx); err != nil {
		return err
	}
	for _, component := range []struct{ name, bin string }{
		{"cert-manager-controller", c.Binaries.CertManagerController},
		{"cert-manager-cainjector", c.Binaries.CertManagerCAInjector},
	} {
		port, err := freePort()
		if err != nil {
			return err
		}
		p, err := c.start(component.name, component.bin, []string{
			"--kubeconfig=" + c.Kubeconfig,
			"--health-probe-bind-address=127.0.0.1:" + port,
		}, nil)
		if err != nil {
			return err
		}
		readyz := "http://127.0.0.1:" + port + "/readyz"
		if err := poll(ctx, func() (bool, error) {
			if err := p.exited(); err != nil {
				return false, err
			}
			resp, err := c.HTTPClient().Get(readyz)
			if err != nil {
				return false, nil
			}
			_ = resp.Body.Close()
			return resp.StatusCode == http.StatusOK, nil
		}); err != nil {
			return fmt.Errorf("waiting for %s: %w", component.name, err)
		}
	}
	return nil
}

// running reports whether the component called name was started and is
// still running.
func (c *Cluster) running(name string) bool {
	for _, p := range c.procs {
		if p.name == name && p.exited() == nil {
			return true
		}
	}
	return false
}

// installCertManagerCRDs applies the CRDs in the pinned module's
// deploy/crds and waits until the apiserver serves them.
func (c *Cluster) installCertManagerCRDs(ctx context.Context) error {
	dir, err := moduleDir(c.RepoRoot, "certmanager", "github.com/cert-manager/cert-manager")
	if err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(dir, "deploy", "crds", "*.yaml"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("finding cert-manager CRDs in %s: %v", dir, err)
	}
	scheme := runtime.NewScheme()
	if err := apiextensionsv1.AddToScheme(scheme); err != nil {
		return fmt.Errorf("building scheme: %w", err)
	}
	cl, err := client.New(c.Config, client.Options{Scheme: scheme})
	if err != nil {
		return fmt.Errorf("creating client: %w", err)
	}
	var names []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("reading cert-manager CRD: %w", err)
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.Unmarshal(b, crd); err != nil {
			return fmt.Errorf("decoding %s: %w", f, err)
		}
		if err := applyManifest(ctx, cl, string(b)); err != nil {
			return err
		}
		names = append(names, crd.Name)
	}
	return poll(ctx, func() (bool, error) {
		for _, name := range names {
			crd := &apiextensionsv1.CustomResourceDefinition{}
			if err := cl.Get(ctx, types.NamespacedName{Name: name}, crd); err != nil {
				return false, nil
			}
			if !established(crd) {
				return false, nil
			}
		}
		return true, nil
	})
}

func established(crd *apiextensionsv1.CustomResourceDefinition) bool {
	for _, cond := range crd.Status.Conditions {
		if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
			return true
		}
	}
	return false
}
