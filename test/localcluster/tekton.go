package localcluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

// TektonVersion is the version of the Tekton Pipelines controller.
const TektonVersion = "v1.15.1"

const tektonNamespace = "tekton-pipelines"

// tektonCRDs reads Tekton's CRDs from the pinned module. Their conversion
// stanza points at Tekton's webhook, which the cluster does not run; without
// it the apiserver serves each stored version as is, and taskgate uses only
// v1.
func tektonCRDs(repoRoot string) ([]*apiextensionsv1.CustomResourceDefinition, error) {
	dir, err := moduleDir(repoRoot, "tekton", "github.com/tektoncd/pipeline")
	if err != nil {
		return nil, err
	}
	files, err := filepath.Glob(filepath.Join(dir, "config", "300-crds", "*.yaml"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("finding Tekton CRDs in %s: %v", dir, err)
	}
	crds := make([]*apiextensionsv1.CustomResourceDefinition, 0, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("reading Tekton CRD: %w", err)
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.Unmarshal(b, crd); err != nil {
			return nil, fmt.Errorf("decoding %s: %w", f, err)
		}
		crd.Spec.Conversion = nil
		crds = append(crds, crd)
	}
	return crds, nil
}

// tektonConfig returns Tekton's namespace and ConfigMaps from the pinned
// module, as one YAML stream.
func tektonConfig(dir string) (string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "config", "100-namespace", "*.yaml"))
	if err != nil {
		return "", fmt.Errorf("finding Tekton namespace: %w", err)
	}
	cms, err := filepath.Glob(filepath.Join(dir, "config", "config-*.yaml"))
	if err != nil {
		return "", fmt.Errorf("finding Tekton ConfigMaps: %w", err)
	}
	var docs []string
	for _, f := range append(files, cms...) {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("reading Tekton config: %w", err)
		}
		doc := string(b)
		if filepath.Base(f) == "config-feature-flags.yaml" {
			if doc, err = keepPodOnCancel(doc); err != nil {
				return "", err
			}
		}
		docs = append(docs, doc)
	}
	return strings.Join(docs, "\n---\n"), nil
}

// keepPodOnCancelOff is the line of Tekton's feature-flags ConfigMap that
// has it delete the pod of a cancelled or timed-out TaskRun, and the logs
// with it.
const keepPodOnCancelOff = `keep-pod-on-cancel: "false"`

// keepPodOnCancel turns on Tekton's keep-pod-on-cancel, as docs/install.md
// asks admins to: Tekton then stops a cancelled or timed-out run's steps
// through its entrypoint and keeps the pod, so that kubectl task logs shows
// what the run printed. It fails when the pinned Tekton's ConfigMap lacks
// the line, so that an upgrade that renames the flag is noticed.
func keepPodOnCancel(featureFlags string) (string, error) {
	if strings.Count(featureFlags, keepPodOnCancelOff) != 1 {
		return "", fmt.Errorf("tekton's feature-flags ConfigMap has no line %s to turn on", keepPodOnCancelOff)
	}
	return strings.Replace(featureFlags, keepPodOnCancelOff, `keep-pod-on-cancel: "true"`, 1), nil
}

func (c *Cluster) startTekton(ctx context.Context, opts Options) error {
	dir, err := moduleDir(opts.RepoRoot, "tekton", "github.com/tektoncd/pipeline")
	if err != nil {
		return err
	}
	config, err := tektonConfig(dir)
	if err != nil {
		return err
	}
	cl, err := c.Client()
	if err != nil {
		return fmt.Errorf("creating client: %w", err)
	}
	if err := applyManifest(ctx, cl, config); err != nil {
		return err
	}
	env := []string{
		"SYSTEM_NAMESPACE=" + tektonNamespace,
		"METRICS_DOMAIN=tekton.dev/pipeline",
		"KUBERNETES_MIN_VERSION=v1.28.0",
		"CONFIG_LOGGING_NAME=config-logging",
		"CONFIG_OBSERVABILITY_NAME=config-observability",
		"CONFIG_FEATURE_FLAGS_NAME=feature-flags",
		"CONFIG_LEADERELECTION_NAME=config-leader-election-controller",
		"CONFIG_DEFAULTS_NAME=config-defaults",
		"CONFIG_SPIRE=config-spire",
		"METRICS_PROMETHEUS_HOST=127.0.0.1",
	}
	// Tekton's servers default to fixed ports; move every one that can be
	// moved. knative's own probe server stays on :8080, inside the
	// cluster's namespace.
	for _, name := range []string{"PROBES_PORT", "PROFILING_PORT", "METRICS_PROMETHEUS_PORT"} {
		port, err := freePort()
		if err != nil {
			return err
		}
		env = append(env, name+"="+port)
	}
	// The image flags are required; under kwok no image is ever pulled.
	img := func(name string) string { return "example.invalid/tekton/" + name + ":" + TektonVersion }
	p, err := c.start("tekton-controller", c.Binaries.Tekton, []string{
		"-kubeconfig=" + c.Kubeconfig,
		"-entrypoint-image=" + img("entrypoint"),
		"-nop-image=" + img("nop"),
		"-sidecarlogresults-image=" + img("sidecarlogresults"),
		"-workingdirinit-image=" + img("workingdirinit"),
		"-shell-image=" + img("busybox"),
		"-shell-image-win=" + img("powershell"),
		// With leader election a restarted controller waits ~30 s for
		// stale leases before it reconciles anything.
		"-disable-ha",
		// client-go's default 5 QPS makes a burst of a thousand
		// PipelineRuns take many minutes to reach their pods.
		"-kube-api-qps=50", "-kube-api-burst=100",
	}, env)
	if err != nil {
		return err
	}
	return p.waitForLog(ctx, "Starting controllers")
}
