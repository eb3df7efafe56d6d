package localcluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// KubernetesVersion is the version of the control-plane binaries.
const KubernetesVersion = "v1.36.3"

// Binaries are the paths of the executables a cluster runs.
type Binaries struct {
	Etcd, APIServer, ControllerManager, Scheduler, Kubectl, Kwok, Tekton string
	// Kubelet runs the real node (Cluster.StartRealNode). The Tekton
	// entrypoint, nop and workingdirinit binaries go into the images its
	// TaskRun pods run there.
	Kubelet string
	// KubeProxy and CoreDNS give the cluster its Services and DNS.
	KubeProxy, CoreDNS                                string
	TektonEntrypoint, TektonNop, TektonWorkingDirInit string
	// CertManagerController and CertManagerCAInjector run only when a test
	// asks for cert-manager (Cluster.StartCertManager).
	CertManagerController, CertManagerCAInjector string
}

// Dir returns the directory that holds etcd, kube-apiserver and kubectl,
// the layout envtest expects.
func (b Binaries) Dir() string { return filepath.Dir(b.APIServer) }

// binaryModule is one pinned Go module under test/clusterbin and the
// commands built from it.
type binaryModule struct {
	dir      string            // under test/clusterbin
	packages map[string]string // output name -> package path
	ldflags  string
	// sources are directories of the module's own Go code; their files
	// join the cache key, since go.sum does not cover them.
	sources []string
}

var binaryModules = []binaryModule{
	{
		dir: "kube",
		packages: map[string]string{
			"kube-apiserver":          "k8s.io/kubernetes/cmd/kube-apiserver",
			"kube-controller-manager": "k8s.io/kubernetes/cmd/kube-controller-manager",
			"kube-scheduler":          "k8s.io/kubernetes/cmd/kube-scheduler",
			"kubectl":                 "k8s.io/kubernetes/cmd/kubectl",
			"kubelet":                 "k8s.io/kubernetes/cmd/kubelet",
			"kube-proxy":              "k8s.io/kubernetes/cmd/kube-proxy",
		},
		// Without a real version clients that parse it, Tekton among them,
		// refuse to start ("Invalid character(s) found in build meta data").
		ldflags: "-X k8s.io/component-base/version.gitVersion=" + KubernetesVersion +
			" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=36" +
			" -X k8s.io/component-base/version.gitTreeState=clean" +
			" -X k8s.io/client-go/pkg/version.gitVersion=" + KubernetesVersion +
			" -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=36",
	},
	{dir: "etcd", packages: map[string]string{"etcd": "go.etcd.io/etcd/server/v3"}},
	{
		dir:      "coredns",
		packages: map[string]string{"coredns": "github.com/taskgate/taskgate/test/clusterbin/coredns/coredns"},
		sources:  []string{"coredns"},
	},
	{dir: "kwok", packages: map[string]string{"kwok": "sigs.k8s.io/kwok/cmd/kwok"}},
	{dir: "tekton", packages: map[string]string{
		"tekton-controller":     "github.com/tektoncd/pipeline/cmd/controller",
		"tekton-entrypoint":     "github.com/tektoncd/pipeline/cmd/entrypoint",
		"tekton-nop":            "github.com/tektoncd/pipeline/cmd/nop",
		"tekton-workingdirinit": "github.com/tektoncd/pipeline/cmd/workingdirinit",
	}},
	{
		// cert-manager's library module; the proxy serves no cmd/ modules,
		// so the module wires the controllers itself (see its mains).
		dir: "certmanager",
		packages: map[string]string{
			"cert-manager-controller": "github.com/taskgate/taskgate/test/clusterbin/certmanager/controller",
			"cert-manager-cainjector": "github.com/taskgate/taskgate/test/clusterbin/certmanager/cainjector",
		},
		sources: []string{"controller", "cainjector"},
	},
}

// CacheDir is where built binaries are kept: $TASKGATE_CACHE, or
// taskgate/clusterbin under the user's cache directory.
func CacheDir() (string, error) {
	if d := os.Getenv("TASKGATE_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("finding the user cache directory: %w", err)
	}
	return filepath.Join(d, "taskgate", "clusterbin"), nil
}

// BuildBinaries builds every binary the cluster needs, unless the cache
// already holds a build of the same pinned versions, and returns their
// paths. repoRoot is the taskgate checkout.
func BuildBinaries(ctx context.Context, repoRoot string, log func(format string, args ...any)) (Binaries, error) {
	cache, err := CacheDir()
	if err != nil {
		return Binaries{}, err
	}
	// etcd, kube-apiserver and kubectl must share one directory for envtest.
	assets := filepath.Join(cache, "assets")
	if err := os.MkdirAll(assets, 0o755); err != nil {
		return Binaries{}, fmt.Errorf("creating %s: %w", assets, err)
	}
	paths := map[string]string{}
	for _, m := range binaryModules {
		modDir := filepath.Join(repoRoot, "test", "clusterbin", m.dir)
		key, err := moduleKey(modDir, m.ldflags, m.sources)
		if err != nil {
			return Binaries{}, err
		}
		out := filepath.Join(cache, m.dir+"-"+key)
		if !complete(out, m.packages) {
			log("building %s binaries into %s (a cold build takes minutes)", m.dir, out)
			if err := buildModule(ctx, modDir, out, m); err != nil {
				return Binaries{}, err
			}
		}
		for name := range m.packages {
			p := filepath.Join(out, name)
			paths[name] = p
			if name == "etcd" || name == "kube-apiserver" || name == "kubectl" {
				link := filepath.Join(assets, name)
				_ = os.Remove(link)
				if err := os.Symlink(p, link); err != nil {
					return Binaries{}, fmt.Errorf("linking %s: %w", link, err)
				}
				paths[name] = link
			}
		}
	}
	return Binaries{
		Etcd:              paths["etcd"],
		APIServer:         paths["kube-apiserver"],
		ControllerManager: paths["kube-controller-manager"],
		Scheduler:         paths["kube-scheduler"],
		Kubectl:           paths["kubectl"],
		Kwok:              paths["kwok"],
		Tekton:            paths["tekton-controller"],
		Kubelet:           paths["kubelet"],
		KubeProxy:         paths["kube-proxy"],
		CoreDNS:           paths["coredns"],

		TektonEntrypoint:     paths["tekton-entrypoint"],
		TektonNop:            paths["tekton-nop"],
		TektonWorkingDirInit: paths["tekton-workingdirinit"],

		CertManagerController: paths["cert-manager-controller"],
		CertManagerCAInjector: paths["cert-manager-cainjector"],
	}, nil
}

// moduleKey identifies a build: the module's pinned versions, its own
// sources if it has any, the flags and the toolchain.
func moduleKey(modDir, ldflags string, sources []string) (string, error) {
	h := sha256.New()
	files := []string{"go.mod", "go.sum"}
	for _, dir := range sources {
		matches, err := filepath.Glob(filepath.Join(modDir, dir, "*.go"))
		if err != nil || len(matches) == 0 {
			return "", fmt.Errorf("finding sources in %s: %v", filepath.Join(modDir, dir), err)
		}
		for _, m := range matches {
			files = append(files, strings.TrimPrefix(m, modDir+string(filepath.Separator)))
		}
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(modDir, f))
		if err != nil {
			return "", fmt.Errorf("reading pinned module: %w", err)
		}
		h.Write(b)
	}
	fmt.Fprint(h, ldflags, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

func complete(dir string, packages map[string]string) bool {
	for name := range packages {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return false
		}
	}
	return true
}

// buildModule builds the module's binaries that out lacks, each to a
// temporary name first, so a pinned command added to a module builds alone
// and an interrupted build never leaves a partial binary.
func buildModule(ctx context.Context, modDir, out string, m binaryModule) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", out, err)
	}
	for name, pkg := range m.packages {
		target := filepath.Join(out, name)
		if _, err := os.Stat(target); err == nil {
			continue
		}
		args := []string{"build", "-trimpath", "-o", target + ".tmp"}
		if m.ldflags != "" {
			args = append(args, "-ldflags", m.ldflags)
		}
		cmd := exec.CommandContext(ctx, "go", append(args, pkg)...)
		cmd.Dir = modDir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off")
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building %s: %w\n%s", pkg, err, strings.TrimSpace(string(b)))
		}
		if err := os.Rename(target+".tmp", target); err != nil {
			return fmt.Errorf("moving %s into place: %w", name, err)
		}
	}
	return nil
}

// RepoRoot finds the taskgate checkout that holds the working directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "test", "clusterbin")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no taskgate checkout above %s", dir)
		}
		dir = parent
	}
}
